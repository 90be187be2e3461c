import ArgumentParser
import Foundation
import RiverValley
import Trainer

/// `river analyze`: measurements on trained checkpoints (curvature, interpolation, …).
struct AnalyzeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Analyses of trained checkpoints: Hessian spectra, loss along interpolation paths, …",
        discussion: """
        Every analysis measures `river eval`'s loss (the checkpoint's tokenizer, windows of T+1 tokens
        overlapping by one, mean nats per predicted token) on --text, optionally cut to --max-bytes.
        Curvature is computed in Float64 (the Float32 weights widened; docs/analyze.md).

        Example:
          river analyze hessian --checkpoint runs/main/checkpoints/step-000300.safetensors --text data/shakespeare.txt --max-bytes 4096
        """,
        subcommands: [AnalyzeHessian.self, AnalyzeInterpolate.self, AnalyzeTokens.self, AnalyzeNoise.self, AnalyzeSharpness.self, AnalyzeDecayProbe.self, AnalyzeHVP.self])
}
