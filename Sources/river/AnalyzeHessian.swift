import ArgumentParser
import Foundation
import RiverValley
import Trainer

/// `river analyze hessian`: extreme eigenvalues, trace and spectral density of a checkpoint's Hessian.
struct AnalyzeHessian: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hessian",
        abstract: "Top-k (or bottom-k) Hessian eigenvalues, trace and SLQ density of a checkpoint's loss on a text.",
        discussion: """
        Prints JSON {"step", "loss", "eigenvalues", "residuals", "trace", "trace_stderr", "hvp_seconds",
        "hvps", "parameters", "tokens", "preconditioned", "lr", "threshold"}. Eigenvalues come from
        Lanczos with full reorthogonalisation (--iterations steps, descending; ascending with --bottom),
        each with its residual ‖Hy − θy‖; the trace from --trace-probes Rademacher probes (Hutchinson)
        with its standard error. Hessian-vector products are central differences of Float64 gradients.
        --preconditioned analyses P^(-1/2) H P^(-1/2), P = diag(sqrt(v_hat) + eps) from the checkpoint's
        Adam state, and reports Adam's stability threshold (2 + 2 beta1)/((1 - beta1) lr) at the LR of
        the checkpoint's last update. --density writes the SLQ spectral density as CSV lambda,density.

        Example:
          river analyze hessian --checkpoint runs/main/checkpoints/step-000300.safetensors \\
            --text data/shakespeare.txt --max-bytes 4096 --top 5 --iterations 30 --trace-probes 10
        """)

    @Option(name: .long, help: ArgumentHelp("Checkpoint file (RUN/checkpoints/step-NNNNNN.safetensors).", valueName: "file"))
    var checkpoint: String

    @OptionGroup var text: TokenSourceOptions

    @Option(name: .long, help: ArgumentHelp("Number of extreme eigenvalues K.", valueName: "n"))
    var top: Int = 5

    @Flag(name: .long, help: "The smallest eigenvalues (ascending) instead of the largest.")
    var bottom = false

    @Option(name: .long, help: ArgumentHelp("Lanczos steps M (≥ K); also the steps of each SLQ run.", valueName: "n"))
    var iterations: Int = 30

    @Option(name: .long, help: ArgumentHelp("Hutchinson probes for the trace (0: skip the trace).", valueName: "n"))
    var traceProbes: Int = 10

    @Option(name: .long, help: ArgumentHelp("Write the SLQ spectral density here (CSV lambda,density).", valueName: "path"))
    var density: String?

    @Option(name: .long, help: ArgumentHelp("SLQ probes for --density: Lanczos runs from independent random start vectors.", valueName: "n"))
    var probes: Int = 4

    @Flag(name: .long, help: "Analyse the Adam-preconditioned Hessian P^(-1/2) H P^(-1/2) and report Adam's stability threshold.")
    var preconditioned = false

    @Option(name: .long, help: ArgumentHelp("Sequences per forward pass (memory grows with it).", valueName: "n"))
    var batchSize: Int = 4

    @Option(name: .long, help: ArgumentHelp("Seed of the Lanczos start vector and the probes (integer ≥ 0).", valueName: "seed"))
    var seed: UInt64 = 0

    func validate() throws {
        if top < 1 { throw ValidationError("--top must be at least 1, got \(top)") }
        if iterations < top { throw ValidationError("--iterations (\(iterations)) must be at least --top (\(top))") }
        if traceProbes < 0 { throw ValidationError("--trace-probes must be ≥ 0, got \(traceProbes)") }
        if probes < 1 { throw ValidationError("--probes must be at least 1, got \(probes)") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
    }

    func run() throws {
        let ck = try AnalysisInput.checkpoint(checkpoint)
        let tokens = try text.tokens(for: ck)
        let loss = try TextLoss(checkpoint: ck, tokens: tokens, batchSize: batchSize)
        var o = HessianOptions()
        o.top = top
        o.end = bottom ? .smallest : .largest
        o.iterations = iterations
        o.traceProbes = traceProbes
        o.densityRuns = density == nil ? 0 : probes
        o.preconditioned = preconditioned
        o.seed = seed
        let (report, spectrum) = try HessianAnalysis.run(loss, checkpoint: ck, options: o)
        if let density, let spectrum {
            try AtomicFile.write(HessianAnalysis.densityCSV(spectrum), to: URL(fileURLWithPath: density))
        }
        try JSONOutput.print(report)
    }
}
