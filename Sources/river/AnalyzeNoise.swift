import ArgumentParser
import Foundation
import RiverValley
import Trainer

/// `river analyze noise`: the trace of the minibatch-gradient covariance at a checkpoint.
struct AnalyzeNoise: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "noise",
        abstract: "Trace of the minibatch-gradient noise covariance at a checkpoint (raw and Adam-preconditioned); prints JSON.",
        discussion: """
        Draws --batches minibatches of --batch-size windows from the training split of the checkpoint's
        run (as training draws them, from --seed) and estimates Tr Cov(g) from independent pairs:
        E[|g_a - g_b|^2 / 2] = Tr Cov(g) exactly; the standard error is the pairs' standard deviation over
        sqrt(pairs). Output: {"step", "batch_size", "batches", "trace_per_batch", "trace_per_example"
        (= batch_size x per batch), and both for g / (sqrt(v_hat) + eps) with the checkpoint's Adam state
        ("..._preconditioned", null for other optimizers)}, each {"estimate", "stderr"}.

        Example:
          river analyze noise --checkpoint runs/main/checkpoints/step-000300.safetensors --batches 32 --batch-size 8
        """)

    @Option(name: .long, help: ArgumentHelp("Checkpoint file (RUN/checkpoints/step-NNNNNN.safetensors); its run's corpus must be readable.", valueName: "file"))
    var checkpoint: String

    @Option(name: .long, help: ArgumentHelp("Minibatches drawn (even, ≥ 4: they form independent pairs).", valueName: "n"))
    var batches: Int = 32

    @Option(name: .long, help: ArgumentHelp("Windows (sequences) per minibatch.", valueName: "n"))
    var batchSize: Int = 8

    @Option(name: .long, help: ArgumentHelp("Seed of the minibatch draws (integer ≥ 0).", valueName: "seed"))
    var seed: UInt64 = 0

    func validate() throws {
        if batches < 4 || batches % 2 != 0 { throw ValidationError("--batches must be an even number ≥ 4, got \(batches)") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
    }

    func run() throws {
        let ck = try AnalysisInput.checkpoint(checkpoint)
        try JSONOutput.print(try GradientNoise.run(ck, batches: batches, batchSize: batchSize, seed: seed))
    }
}
