import ArgumentParser
import Foundation
import Trainer

/// `--text FILE [--max-bytes N]` or `--tokens FILE`: the data `river eval` and every `river analyze` command
/// measure the loss on (``TokenSource``).
struct TokenSourceOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("UTF-8 text file to measure the loss on (or --tokens).", valueName: "file"))
    var text: String?

    @Option(name: .long, help: ArgumentHelp("Token ids to measure the loss on instead of --text (.npy int32/int64, or raw little-endian int32).", valueName: "file"))
    var tokens: String?

    @Option(name: .long, help: ArgumentHelp("Use only the first N bytes of the text (N ≥ 2).", valueName: "n"))
    var maxBytes: Int?

    func validate() throws {
        if let maxBytes, maxBytes < 2 { throw ValidationError("--max-bytes must be at least 2, got \(maxBytes)") }
        do { _ = try source() } catch let e as DataError { throw ValidationError(e.message) }
    }

    /// Exactly one of --text and --tokens, with --max-bytes only for a text.
    func source() throws -> TokenSource { try TokenSource(text: text, tokens: tokens, maxBytes: maxBytes) }

    /// The token stream for `checkpoint`: the text under its tokenizer, or the token file's ids.
    func tokens(for checkpoint: Checkpoint) throws -> [Int32] {
        let ids = try source().load(tokenizerJSON: checkpoint.tokenizerJSON, tokenizerSource: "tokenizer metadata of the checkpoint",
                                  vocabSize: checkpoint.config.model.vocabSize).ids
        guard ids.count >= 2 else {
            throw AnalysisError("the data '\(text ?? tokens ?? "")' has \(ids.count) token(s); at least 2 tokens (one input/target pair) are needed to measure a loss")
        }
        return ids
    }
}
