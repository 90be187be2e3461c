import ArgumentParser
import Foundation
import RiverValley

struct BranchPlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "branch-plan",
        abstract: "List the WSD decay branches and the WSD-S decays for a set of budgets, with the compute each spends.",
        discussion: "Example: river branch-plan --budgets 1000,2000,4000 --decay 0.1 --decay-of cumulative")

    @Option(help: ArgumentHelp("Step budgets, increasing.", valueName: "n,..."), transform: CommaList<Int>.parse)
    var budgets: CommaList<Int>

    @Option(parsing: .unconditional,
            help: ArgumentHelp("Decay length: a fraction (≤ 1) of the budget (WSD), of the cycle or cumulative budget (WSD-S, see --decay-of), or whole steps (> 1).",
                               valueName: "length"))
    var decay: Double = ScheduleSpec.defaultDecayFraction

    @OptionGroup var convention: DecayConventionOptions

    func run() throws {
        let plan: BranchPlan
        do { plan = try BranchPlan(budgets: budgets.elements, decay: decay, convention: convention.decayOf) }
        catch let e as ScheduleError { throw ValidationError(e.description) }
        print(plan.csv, terminator: "")
    }
}
