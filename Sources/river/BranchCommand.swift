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
          river branch --from runs/main --step 900 --budget 1000 --out runs/main-b1000
        """)

    @Option(name: .long, help: "Parent run directory.") var from: String
    @Option(name: .long, help: "Checkpoint step of the parent to fork from.") var step: Int
    @Option(name: .long, help: "Branch run directory to create.") var out: String
    @Option(name: .long, help: "Total steps of the branch (its budget); default: the largest budget forking at --step, floor(step / (1 - decay)) for a fraction.") var budget: Int?
    @Option(name: .long, help: "Decay length: a fraction (<= 1) of the budget or whole steps (> 1).") var decay: Double = 0.1
    @Option(name: .long, help: "Decay shape: linear, cosine, 1-sqrt, exp, inv.") var shape: String = "inv"
    @Option(name: .long, help: "Floor of the decay as a fraction of the peak.") var minRatio: Double = 0.1
    @Flag(name: .long, help: "No progress bar.") var quiet = false

    func validate() throws {
        guard DecayShape(rawValue: shape) != nil else {
            throw ValidationError("--shape '\(shape)' is not allowed (allowed: \(DecayShape.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        if step < 1 { throw ValidationError("--step must be at least 1, got \(step)") }
        if let budget, budget <= step { throw ValidationError("--budget \(budget) must be larger than the fork step \(step)") }
    }

    func run() throws {
        let parentDir = URL(fileURLWithPath: from)
        let parent = try RunConfig.load(parentDir.appendingPathComponent("config.json"))
        let checkpoints = parentDir.appendingPathComponent("checkpoints")
        if !FileManager.default.fileExists(atPath: checkpoints.appendingPathComponent(Checkpoint.fileName(step: step)).path) {
            let have = ((try? FileManager.default.contentsOfDirectory(atPath: checkpoints.path)) ?? [])
                .compactMap(Checkpoint.step(fromFileName:)).sorted().map(String.init).joined(separator: ", ")
            throw ValidationError("parent run \(from) has no checkpoint at step \(step) (it has: \(have.isEmpty ? "none" : have))")
        }
        var cfg = parent
        // The fork arithmetic and the branch schedule (with the parent's warmup in whole steps) come from
        // DecayBranch, the one source of truth for WSD branches.
        let branch: DecayBranch
        do { branch = try budget.map { try DecayBranch(budget: $0, decay: decay) } ?? DecayBranch.forking(at: step, decay: decay) }
        catch { throw ValidationError("--step \(step), --budget \(budget.map(String.init) ?? "default"), --decay \(decay): \(error)") }
        guard branch.forkStep == step else {
            throw ValidationError("a WSD branch of budget \(branch.budget) with decay \(decay) (\(branch.decaySteps) steps) forks at step \(branch.forkStep), not \(step); pass --budget or --decay so that budget - decay steps = \(step)")
        }
        cfg.schedule = try branch.schedule(continuing: parent.schedule, shape: DecayShape(rawValue: shape)!, minRatio: minRatio)
        let budget = branch.budget
        cfg.parent = ParentRef(run: parentDir.path, step: step)
        cfg.evalAt = [budget]
        cfg.checkpointAt = []
        let training = try TrainingRun.create(at: URL(fileURLWithPath: out), config: cfg)
        try training.train(progress: quiet ? nil : ProgressBar(label: "branch"))
        let last = try MetricsRecord.read(training.metricsURL).last
        FileHandle.standardOutput.write(Data("{\"run\":\"\(out)\",\"step\":\(training.step),\"val_loss\":\(last?.valLoss.map { "\($0)" } ?? "null")}\n".utf8))
    }
}
