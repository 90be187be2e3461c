import ArgumentParser
import Foundation
import RiverValley
import Trainer

struct BranchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "branch",
        abstract: "Start a WSD decay branch from a checkpoint of a (constant-LR) main run and train it.",
        discussion: """
        The branch is a new run directory whose schedule is WSD with `steps` = --budget: it equals the
        parent's LR until the fork step (checked), then decays for --decay (a fraction of the budget or
        whole steps) with --shape to --min-ratio·peak. It starts from the parent's checkpoint at --step
        (parameters and optimizer state) and sees the same batches the parent would have.
        Resume an interrupted branch with `river train --out DIR --resume`.

        Example:
          river branch --parent runs/main --step 900 --budget 1000 --out runs/main-b1000
        """)

    @Option(name: .customLong("parent"), help: ArgumentHelp("Parent run directory (a constant-LR main run).", valueName: "dir"))
    var parentRun: String?
    /// Deprecated spelling of --parent (`river import --from` names a checkpoint format).
    @Option(name: .customLong("from"), help: .hidden) var deprecatedFrom: String?
    @Option(name: .long, help: ArgumentHelp("Checkpoint step of the parent to fork from.", valueName: "n")) var step: Int
    @Option(name: .long, help: ArgumentHelp("Branch run directory to create.", valueName: "path")) var out: String
    @Option(name: .long, help: ArgumentHelp("Total steps of the branch (its budget); default: the largest budget forking at --step, floor(step / (1 - decay)) for a fraction.", valueName: "n")) var budget: Int?
    /// --decay (a fraction of the budget or whole steps), --shape, --min-ratio.
    @OptionGroup var decayOptions: DecayOptions
    @Flag(name: .long, help: "No progress bar.") var quiet = false

    /// The parent run directory (validated present).
    var from: String { parentRun! }
    var decay: Double { decayOptions.decayOrDefault }
    var shape: DecayShape { decayOptions.shape }
    var minRatio: Double { decayOptions.minRatio }

    mutating func validate() throws {
        parentRun = try Deprecated.merge(old: "--from", oldValue: deprecatedFrom, new: "--parent", newValue: parentRun)
        deprecatedFrom = nil
        guard parentRun != nil else { throw ValidationError("--parent is required (the run directory to branch from)") }
        if step < 1 { throw ValidationError("--step must be at least 1, got \(step)") }
        // Bounded before any Double→Int conversion of the decay or the budget arithmetic.
        guard decay.isFinite, decay > 0, decay <= Double(ScheduleSpec.maxSteps) else {
            throw ValidationError("--decay \(decay) is not allowed: use a fraction in (0, 1] or whole steps up to \(ScheduleSpec.maxSteps)")
        }
        if step > ScheduleSpec.maxSteps || (budget ?? 0) > ScheduleSpec.maxSteps {
            throw ValidationError("--step / --budget must be at most \(ScheduleSpec.maxSteps) (the longest schedule)")
        }
        if let budget, budget <= step { throw ValidationError("--budget \(budget) must be larger than the fork step \(step)") }
    }

    func run() throws {
        // The fork arithmetic, the branch schedule and the checks live in BranchRequest (Trainer), shared
        // with `river analyze decay-probe` and the experiments; DecayBranch is the one fork formula.
        let request = BranchRequest(parent: URL(fileURLWithPath: from), step: step, budget: budget, decay: decay,
                                    shape: shape, minRatio: minRatio)
        let training: TrainingRun
        do { training = try request.create(at: URL(fileURLWithPath: out)) }
        catch let e as BranchForkError { throw ValidationError(e.message) }
        try training.train(progress: quiet ? nil : ProgressBar(label: "branch"))
        let last = try MetricsRecord.read(training.metricsURL).last
        try JSONOutput.print(RunSummary(run: out, step: training.step, loss: last.map { Double($0.loss) }, valLoss: last?.valLoss))
    }
}
