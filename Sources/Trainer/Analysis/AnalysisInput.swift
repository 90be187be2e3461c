import Foundation
import RiverValley

/// A checkpoint-analysis error: a missing or unreadable input, or inputs that do not fit together.
public struct AnalysisError: Error, CustomStringConvertible, LocalizedError {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
    public var errorDescription: String? { message }
}

/// Loading what every `river analyze` command reads: checkpoints and the text they are evaluated on.
///
/// The text goes through the checkpoint's own tokenizer (its metadata), like `river eval`; commands take
/// the token ids, so another token source (a `--tokens` file) can feed the same analyses.
public enum AnalysisInput {
    /// Reads a checkpoint; a missing file or a damaged/foreign one is an ``AnalysisError`` naming the path.
    public static func checkpoint(_ path: String) throws -> Checkpoint {
        guard FileManager.default.fileExists(atPath: path) else {
            throw AnalysisError("checkpoint '\(path)' does not exist (expected a river train checkpoint, RUN/checkpoints/step-NNNNNN.safetensors)")
        }
        do { return try Checkpoint.read(from: URL(fileURLWithPath: path)) } catch {
            throw AnalysisError("checkpoint '\(path)' cannot be read: \(error)")
        }
    }

    /// The text tokenized with `checkpoint`'s tokenizer; at least one (input, target) pair is required.
    public static func tokens(of bytes: [UInt8], for checkpoint: Checkpoint, source: String) throws -> [Int32] {
        let tokenizer = try loadTokenizer(json: checkpoint.tokenizerJSON, source: "tokenizer metadata of the checkpoint")
        let tokens = tokenizer.encode(bytes)
        guard tokens.count >= 2 else {
            throw AnalysisError("the text \(source) has \(tokens.count) token(s) (\(bytes.count) bytes); at least 2 tokens (one input/target pair) are needed to measure a loss")
        }
        return tokens
    }

    /// Throws unless the checkpoints share one model architecture and tokenizer (for analyses that
    /// combine them); `names` label them in the message.
    public static func requireSameArchitecture(_ checkpoints: [Checkpoint], names: [String]) throws {
        guard let first = checkpoints.first else { return }
        for (ck, name) in zip(checkpoints, names).dropFirst() {
            guard ck.config.model == first.config.model else {
                throw AnalysisError("checkpoints have different architectures: \(names[0]) is \(first.config.model), \(name) is \(ck.config.model)")
            }
            guard ck.tokenizerJSON == first.tokenizerJSON else {
                throw AnalysisError("checkpoints have different tokenizers: \(names[0]) and \(name)")
            }
        }
    }
}
