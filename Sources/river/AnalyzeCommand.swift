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

/// `--text FILE [--max-bytes N]` or `--tokens FILE`: the data every analysis evaluates on (``TokenSource``,
/// exactly as `river eval`).
struct AnalysisTextOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("UTF-8 text file to measure the loss on (or --tokens).", valueName: "file"))
    var text: String?

    @Option(name: .long, help: ArgumentHelp("Token ids to measure the loss on instead of --text (.npy int32/int64, or raw little-endian int32).", valueName: "file"))
    var tokens: String?

    @Option(name: .long, help: ArgumentHelp("Use only the first N bytes of the text (N ≥ 2).", valueName: "n"))
    var maxBytes: Int?

    func validate() throws {
        if let maxBytes, maxBytes < 2 { throw ValidationError("--max-bytes must be at least 2, got \(maxBytes)") }
        if text == nil, tokens == nil { throw ValidationError("give the data to analyse: --text FILE or --tokens FILE") }
        if let text, let tokens { throw ValidationError("give either --text or --tokens, not both (got --text '\(text)' and --tokens '\(tokens)')") }
    }

    /// The token stream for `checkpoint`: the text under its tokenizer, or the token file's ids.
    func tokens(for checkpoint: Checkpoint) throws -> [Int32] {
        let source = try TokenSource(text: text, tokens: tokens, maxBytes: maxBytes)
        let ids = try source.load(tokenizerJSON: checkpoint.tokenizerJSON, tokenizerSource: "tokenizer metadata of the checkpoint",
                                  vocabSize: checkpoint.config.model.vocabSize).ids
        guard ids.count >= 2 else {
            throw AnalysisError("the data '\(text ?? tokens ?? "")' has \(ids.count) token(s); at least 2 tokens (one input/target pair) are needed to measure a loss")
        }
        return ids
    }
}
