import ArgumentParser
import Foundation
import RiverValley

struct BranchPlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "branch-plan",
        abstract: "List the WSD decay branches and the WSD-S decays for a set of budgets, with the compute each spends.",
        discussion: "Example: river branch-plan --budgets 1000,2000,4000 --decay 0.1 --decay-of cumulative")

    @Option(help: "Step budgets, comma-separated and increasing.")
    var budgets: String

    @Option(help: "Decay length: a fraction (≤ 1) or whole steps (> 1).")
    var decay: Double = ScheduleSpec.defaultDecayFraction

    @Option(name: .customLong("decay-of"), help: "WSD-S decay per cycle or of the cumulative budget: cycle, cumulative.")
    var decayOf: DecayConvention = .cumulative

    func run() throws {
        let list = try budgets.split(separator: ",").map { s -> Int in
            guard let v = Int(s.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--budgets '\(budgets)': '\(s)' is not a whole number of steps")
            }
            return v
        }
        do {
            let plan = try BranchPlan(budgets: list, decay: decay, convention: decayOf)
            print(plan.csv, terminator: "")
        } catch let e as ScheduleError {
            throw ValidationError(e.description)
        }
    }
}
