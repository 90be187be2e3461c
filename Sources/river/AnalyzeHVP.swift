import ArgumentParser
import Foundation
import LinearAlgebra
import RiverValley
import Trainer

/// `river analyze hvp` (hidden): one Float64 Hessian-vector product on a checkpoint, dumped for the
/// PyTorch double-backprop test (python/tests/test_analyze_torch.py).
struct AnalyzeHVP: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hvp",
        abstract: "Developer tool: loss, gradient and one Hessian-vector product in Float64, as safetensors.",
        discussion: """
        Writes F64 tensors `loss` [1], and per model tensor NAME: `grad.NAME`, `v.NAME` (the direction:
        standard normal from --seed) and `hv.NAME` (H v by central differences of Float64 gradients).

        Example:
          river analyze hvp --checkpoint runs/tiny/checkpoints/step-000020.safetensors --text corpus.txt --max-bytes 2000 --seed 1 --out hv.safetensors
        """,
        shouldDisplay: false)

    @Option(name: .long, help: ArgumentHelp("Checkpoint file (RUN/checkpoints/step-NNNNNN.safetensors).", valueName: "file"))
    var checkpoint: String

    @OptionGroup var text: TokenSourceOptions

    @Option(name: .long, help: ArgumentHelp("Seed of the direction v (standard normal entries).", valueName: "seed"))
    var seed: UInt64 = 0

    @Option(name: .long, help: ArgumentHelp("Central-difference step h along the unit direction.", valueName: "x"))
    var finiteDifferenceStep: Double = 1e-5

    @Option(name: .long, help: ArgumentHelp("Sequences per forward pass.", valueName: "n"))
    var batchSize: Int = 4

    @Option(name: .long, help: ArgumentHelp("Output safetensors file.", valueName: "path"))
    var out: String

    @Option(name: .customLong("repeat"), help: ArgumentHelp("After the first (warm-up) product, time this many more and print their seconds as JSON (benchmarks).", valueName: "n"))
    var repeats: Int = 0

    func validate() throws {
        if !(finiteDifferenceStep.isFinite && finiteDifferenceStep > 0) {
            throw ValidationError("--finite-difference-step must be finite and > 0, got \(finiteDifferenceStep)")
        }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        if repeats < 0 { throw ValidationError("--repeat must be ≥ 0, got \(repeats)") }
    }

    func run() throws {
        let ck = try AnalysisInput.checkpoint(checkpoint)
        let loss = try TextLoss(checkpoint: ck, tokens: try text.tokens(for: ck), batchSize: batchSize)
        loss.finiteDifferenceStep = finiteDifferenceStep
        var v = [Double](repeating: 0, count: loss.dimension)
        RandomSource(seed: seed).fillGaussian(&v)
        let (value, gradient) = loss.lossAndGradient()
        let hv = loss.hessianVectorProduct(v)
        var seconds: [Double] = []
        for _ in 0..<repeats {
            let t0 = DispatchTime.now().uptimeNanoseconds
            _ = loss.hessianVectorProduct(v)
            seconds.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        var out: [String: SafeTensor] = ["loss": SafeTensor([value], shape: [1])]
        for t in loss.tensors {
            let r = t.offset..<(t.offset + t.count)
            out["grad." + t.name] = SafeTensor(Array(gradient[r]), shape: t.shape)
            out["v." + t.name] = SafeTensor(Array(v[r]), shape: t.shape)
            out["hv." + t.name] = SafeTensor(Array(hv[r]), shape: t.shape)
        }
        try SafeTensors(tensors: out).write(to: URL(fileURLWithPath: self.out))
        if repeats > 0 {
            struct Timing: Encodable { var hvp_seconds: [Double]; var parameters: Int; var tokens: Int }
            try JSONOutput.print(Timing(hvp_seconds: seconds, parameters: loss.dimension, tokens: loss.windows.predicted))
        }
    }

}
