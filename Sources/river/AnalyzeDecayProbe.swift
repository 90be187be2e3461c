import ArgumentParser
import Foundation
import RiverValley
import Trainer

/// `river analyze decay-probe`: what a decay at STEP would buy, measured and predicted from the noise.
struct AnalyzeDecayProbe: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decay-probe",
        abstract: "Run a short decay branch from a run's checkpoint and compare the measured loss drop with the hill-term prediction from the gradient noise; prints JSON.",
        discussion: """
        The branch is exactly `river branch --parent RUN --step STEP [--budget B] --decay D --shape S
        --min-ratio R --out OUT`: a new run directory at --out (default RUN-probe-STEP-SHAPE-DECAY beside
        RUN; created; reused if it already holds this branch, finished or not; an error if it holds another
        run, which is left untouched). The measured
        drop is `river eval`'s loss on --text (or --tokens) at the fork checkpoint minus that of the
        branch's last checkpoint. The prediction is the hill term of the river-valley picture,
        (lr_before - lr_after) * Tr(P^-1/2 Sigma_B P^-1/2) / 4, with Sigma_B the covariance of the
        training minibatch gradient at STEP (--batches draws of the run's batch size, the batches of
        steps STEP, STEP+1, ...) and P = diag(sqrt(v_hat) + eps) from the checkpoint's Adam state
        (P = I for SGD); derivation in paper-notes/analysis.md.
        Output: {"measured_drop", "predicted_drop", "predicted_drop_stderr", "ratio" (measured/predicted),
        "loss_before", "loss_after", "lr_before", "lr_after", "noise_trace", "noise_trace_preconditioned",
        "predicted_drop_sgd", "loss_constant" and "drop_vs_constant" (against the parent's own checkpoint
        at the branch's last step, null if the parent has none), "formula", ...}.

        Example:
          river analyze decay-probe --run runs/main --step 900 --decay 100 --out runs/main-probe900 --text data/shakespeare.txt --max-bytes 65536
        """)

    @Option(name: .customLong("run"), help: ArgumentHelp("Run directory to probe (a constant-LR run, river train --out).", valueName: "run"))
    var runDirectory: String

    @Option(name: .long, help: ArgumentHelp("Checkpoint step of the run to fork the decay from.", valueName: "n"))
    var step: Int

    @Option(name: .long, help: ArgumentHelp("Branch run directory to create (or reuse, if it holds this branch); default RUN-probe-STEP-SHAPE-DECAY beside the run.", valueName: "path"))
    var out: String?

    /// --out, or a sibling of the run named after the fork and the decay, so probes of one run do not collide.
    var branchDirectory: URL {
        if let out { return URL(fileURLWithPath: out) }
        let run = URL(fileURLWithPath: runDirectory).standardizedFileURL
        let length = decay <= 1 ? "\(decay)" : "\(Int(decay))"
        return run.deletingLastPathComponent()
            .appendingPathComponent("\(run.lastPathComponent)-probe-\(step)-\(decayOptions.shape.rawValue)-\(length)")
    }

    @OptionGroup var text: TokenSourceOptions

    @Option(name: .long, help: ArgumentHelp("Total steps of the branch (its budget); default: the largest budget forking at --step.", valueName: "n"))
    var budget: Int?

    /// --decay (a fraction of the budget or whole steps), --shape, --min-ratio: as river branch.
    @OptionGroup var decayOptions: DecayOptions

    @Option(name: .long, help: ArgumentHelp("Minibatch gradients drawn for the noise trace (even, ≥ 4: independent pairs).", valueName: "n"))
    var batches: Int = 32

    @Flag(name: .long, help: "No progress bar.") var quiet = false

    var decay: Double { decayOptions.decayOrDefault }

    func validate() throws {
        if step < 1 { throw ValidationError("--step must be at least 1, got \(step)") }
        guard decay.isFinite, decay > 0, decay <= Double(ScheduleSpec.maxSteps) else {
            throw ValidationError("--decay \(decay) is not allowed: use a fraction in (0, 1] or whole steps up to \(ScheduleSpec.maxSteps)")
        }
        if !(decayOptions.minRatio.isFinite && (0...1).contains(decayOptions.minRatio)) {
            throw ValidationError("--min-ratio \(decayOptions.minRatio) is not allowed: use a ratio in [0, 1]")
        }
        if step > ScheduleSpec.maxSteps || (budget ?? 0) > ScheduleSpec.maxSteps {
            throw ValidationError("--step / --budget must be at most \(ScheduleSpec.maxSteps) (the longest schedule)")
        }
        if let budget, budget <= step { throw ValidationError("--budget \(budget) must be larger than the fork step \(step)") }
        if batches < 4 || batches % 2 != 0 { throw ValidationError("--batches must be an even number ≥ 4, got \(batches)") }
    }

    func run() throws {
        let request = BranchRequest(parent: URL(fileURLWithPath: runDirectory), step: step, budget: budget, decay: decay,
                                    shape: decayOptions.shape, minRatio: decayOptions.minRatio)
        let fork: Checkpoint
        do { fork = try Checkpoint.read(from: try request.parentCheckpoint()) }
        catch let e as BranchForkError { throw ValidationError(e.message) }
        let tokens = try text.tokens(for: fork)
        let report: DecayProbeReport
        do {
            report = try DecayProbe.run(request, branchDirectory: branchDirectory, tokens: tokens, batches: batches,
                                        progress: quiet ? nil : ProgressBar(label: "decay probe"))
        } catch let e as BranchForkError { throw ValidationError(e.message) }
        try JSONOutput.print(report)
    }
}
