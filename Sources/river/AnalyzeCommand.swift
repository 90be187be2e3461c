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
        subcommands: [AnalyzeHessian.self, AnalyzeInterpolate.self, AnalyzeTokens.self, AnalyzeNoise.self, AnalyzeSharpness.self, AnalyzeHVP.self])
}

/// `--text FILE [--max-bytes N]`: the text every analysis evaluates on.
struct AnalysisTextOptions: ParsableArguments {
    @Option(name: .long, help: "UTF-8 text file to measure the loss on.")
    var text: String

    @Option(name: .long, help: "Use only the first N bytes of the text (N ≥ 2).")
    var maxBytes: Int?

    func validate() throws {
        if let maxBytes, maxBytes < 2 { throw ValidationError("--max-bytes must be at least 2, got \(maxBytes)") }
    }

    /// The text's tokens under `checkpoint`'s tokenizer.
    func tokens(for checkpoint: Checkpoint) throws -> [Int32] {
        let bytes = try AnalysisInput.textBytes(text, maxBytes: maxBytes)
        return try AnalysisInput.tokens(of: bytes, for: checkpoint, source: "'\(text)'")
    }
}

/// Writes `value` as one line of JSON on stdout (Codable; non-finite numbers as null).
func printJSON<T: Encodable>(_ value: T) throws {
    let enc = JSONEncoder()
    enc.outputFormatting = [.sortedKeys]
    var data = try enc.encode(value)
    data.append(0x0A)
    FileHandle.standardOutput.write(data)
}
