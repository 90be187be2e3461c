import Foundation
import LinearAlgebra
import RiverValley

/// How `river eval` cuts a token stream: consecutive windows of T + 1 tokens overlapping by one
/// (window k predicts tokens kT+1 … kT+T from tokens kT … kT+T−1), then one shorter tail window for the
/// remainder, so every token but the first is predicted exactly once with up to T tokens of context.
/// The loss of a text is the mean over the `predicted` = tokens − 1 predictions.
public struct EvaluationWindows: Sendable, Equatable {
    /// One forward pass: `count` windows starting at window `first`, each predicting `length` tokens.
    public struct Batch: Sendable, Equatable {
        public var first: Int
        public var count: Int
        public var length: Int
        /// Index (in the token stream) of the first input token of window `b` of this batch.
        public func start(_ b: Int, sequenceLength T: Int) -> Int { (first + b) * T }
        /// Predicted tokens in this batch.
        public var tokens: Int { count * length }
    }

    public let tokenCount: Int
    public let sequenceLength: Int
    public var predicted: Int { tokenCount - 1 }
    public var fullWindows: Int { predicted / sequenceLength }

    /// `tokenCount` must be at least 2 (one predicted token); `sequenceLength` is the model's context T.
    public init(tokenCount: Int, sequenceLength: Int) {
        precondition(tokenCount >= 2 && sequenceLength >= 1)
        self.tokenCount = tokenCount
        self.sequenceLength = sequenceLength
    }

    /// Full windows in groups of at most `batch`, then the tail window (if any) alone.
    public func batches(batch: Int) -> [Batch] {
        precondition(batch >= 1)
        var out: [Batch] = []
        var w = 0
        while w < fullWindows {
            let nb = min(batch, fullWindows - w)
            out.append(Batch(first: w, count: nb, length: sequenceLength))
            w += nb
        }
        let tail = predicted - fullWindows * sequenceLength
        if tail > 0 { out.append(Batch(first: fullWindows, count: 1, length: tail)) }
        return out
    }

    /// Writes the inputs and targets of `batch` ([count, length] row-major) from `tokens`.
    public func fill(_ batch: Batch, from tokens: [Int32], inputs x: inout [Int32], targets y: inout [Int32]) {
        let len = batch.length, T = sequenceLength
        x.removeAll(keepingCapacity: true)
        y.removeAll(keepingCapacity: true)
        for b in 0..<batch.count {
            let o = batch.start(b, sequenceLength: T)
            x.append(contentsOf: tokens[o..<(o + len)])
            y.append(contentsOf: tokens[(o + 1)..<(o + len + 1)])
        }
    }
}

/// Loss of a checkpoint on a token stream (a text encoded with the checkpoint's tokenizer, or token ids
/// from a file; see ``TokenSource``): the stream is cut into consecutive windows of T + 1 tokens
/// overlapping by one (window k predicts tokens kT+1 … kT+T), so every token but the first is predicted
/// exactly once with up to T tokens of context.
public struct Evaluation: Sendable {
    /// Mean cross-entropy in nats per predicted token.
    public var loss: Double
    /// Total nats / ln 2 / bytes of the predicted tokens; nil when the bytes are unknown (token files).
    public var bitsPerByte: Double?
    public var tokens: Int
    /// Bytes the predicted tokens stand for; nil for token files.
    public var bytes: Int?
    public var step: Int
    /// Loss of every predicted token (position i + 1 of the token stream), if requested.
    public var perToken: [Float]?
    public var targets: [Int32]?
    /// Logits of every predicted token, [tokens, vocabSize] row-major, if requested.
    public var logits: [Float]?

    /// Most logits a run keeps (2³⁰ Float32 values, 4 GiB).
    public static let maxLogits = 1 << 30

    /// Evaluates the checkpoint at `url` on `text` (encoded with its tokenizer).
    public static func run(checkpoint url: URL, text: [UInt8], batch: Int = 8, keepPerToken: Bool = false) throws -> Evaluation {
        let ck = try Checkpoint.read(from: url)
        let tokenizer = try loadTokenizer(json: ck.tokenizerJSON, source: url.path + " (tokenizer metadata)")
        return try run(ck, tokens: tokenizer.encode(text), tokenizer: tokenizer, batch: batch, keepPerToken: keepPerToken)
    }

    /// Evaluates the checkpoint at `url` on the tokens of `source`.
    public static func run(checkpoint url: URL, source: TokenSource, batch: Int = 8, keepPerToken: Bool = false,
                           keepLogits: Bool = false) throws -> Evaluation {
        let ck = try Checkpoint.read(from: url)
        let t = try source.load(tokenizerJSON: ck.tokenizerJSON, tokenizerSource: url.path + " (tokenizer metadata)",
                                vocabSize: ck.config.model.vocabSize)
        return try run(ck, tokens: t.ids, tokenizer: t.tokenizer, batch: batch, keepPerToken: keepPerToken,
                       keepLogits: keepLogits)
    }

    /// Evaluates a loaded checkpoint on `tokens` (ids in 0..<vocabSize); bytes are counted with `tokenizer`.
    public static func run(_ ck: Checkpoint, tokens: [Int32], tokenizer: (any Tokenizer)?, batch: Int = 8,
                           keepPerToken: Bool = false, keepLogits: Bool = false) throws -> Evaluation {
        try requirePrediction(tokens)
        guard batch >= 1 else { throw RunError("batch size \(batch) is not allowed: need at least 1") }
        let V = ck.config.model.vocabSize
        if let k = tokens.firstIndex(where: { $0 < 0 || Int($0) >= V }) {
            throw RunError("token id \(tokens[k]) at index \(k) is outside the model's vocabulary 0..<\(V)")
        }
        let predicted = tokens.count - 1
        if keepLogits, predicted > Self.maxLogits / V {
            throw RunError("logits of \(predicted) tokens × \(V) ids exceed the \(Self.maxLogits)-value limit of a logits file; evaluate fewer tokens")
        }
        let passBatch = passBatchSize(batch, tokenCount: tokens.count, contextLength: ck.config.model.contextLength)
        do { try ck.config.model.checkMemory(batchSize: passBatch) } catch let e as SizeLimitError {
            // An imported model's context T defaults to its max_position_embeddings, and the T² attention
            // probabilities can make a forward pass impossible: say how to get out.
            let c = ck.config.model
            throw RunError("\(e.description). The bulk of activations is \(c.layers + 1) × \(c.heads) heads × T² attention probabilities (T = \(c.contextLength)); use a smaller --batch-size, or re-import the model with a shorter --context-length")
        }
        var logits = [Float](repeating: 0, count: keepLogits ? predicted * V : 0)
        let (total, losses) = logits.withUnsafeMutableBufferPointer { out in
            totalLoss(config: ck.config.model, parameters: ck.parameters, tokens: tokens, batch: passBatch,
                      keepPerToken: keepPerToken, logits: keepLogits ? out : nil)
        }
        let bytes = tokenizer.map { tk in tokens.dropFirst().reduce(0) { $0 + tk.byteLength(of: $1) } }
        return Evaluation(loss: total / Double(predicted), bitsPerByte: bytes.map { total / log(2.0) / Double($0) },
                          tokens: predicted, bytes: bytes, step: ck.step,
                          perToken: keepPerToken ? losses : nil, targets: keepPerToken ? Array(tokens.dropFirst()) : nil,
                          logits: keepLogits ? logits : nil)
    }

    /// Throws unless `tokens` holds at least one (input, target) pair.
    public static func requirePrediction(_ tokens: [Int32]) throws {
        guard tokens.count >= 2 else {
            throw RunError("the text has \(tokens.count) token(s); at least 2 are needed to measure a loss")
        }
    }

    /// Σ of the per-token losses (nats, Float32 model) over every predicted token of `tokens`, and the
    /// per-token losses themselves when `keepPerToken`. `tokens` must hold at least 2 tokens.
    public static func totalLoss(config: TransformerConfig, parameters: [Float], tokens: [Int32], batch: Int = 8,
                                 keepPerToken: Bool = false, logits: UnsafeMutableBufferPointer<Float>? = nil)
        -> (total: Double, perToken: [Float]) {
        let b = passBatchSize(batch, tokenCount: tokens.count, contextLength: config.contextLength)
        let model = Transformer(config: config, batchSize: b, seed: 0)
        parameters.withUnsafeBufferPointer { model.parameters.baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
        return totalLoss(model: model, tokens: tokens, keepPerToken: keepPerToken, logits: logits)
    }

    /// Sequences per forward pass: at most `batch`, and no more than the stream has windows (a short token
    /// file needs a small arena). Losses do not depend on it.
    public static func passBatchSize(_ batch: Int, tokenCount: Int, contextLength T: Int) -> Int {
        max(1, min(batch, max(1, (tokenCount - 1) / T)))
    }

    /// As above, with `model`'s current parameters, in forward passes of `model.batchSize` windows.
    /// `logits`, when given, receives the logits of every predicted token ([predicted, vocabSize] row-major).
    public static func totalLoss(model: Transformer, tokens: [Int32], keepPerToken: Bool = false,
                                 logits: UnsafeMutableBufferPointer<Float>? = nil) -> (total: Double, perToken: [Float]) {
        let T = model.config.contextLength
        let windows = EvaluationWindows(tokenCount: tokens.count, sequenceLength: T)
        var losses = [Float](repeating: 0, count: keepPerToken ? windows.predicted : 0)
        var total = 0.0
        var x: [Int32] = [], y: [Int32] = []
        for b in windows.batches(batch: model.batchSize) {
            windows.fill(b, from: tokens, inputs: &x, targets: &y)
            model.forward(tokens: x, targets: y, batch: b.count)
            let l = model.lastLosses
            let offset = b.first * T
            for i in 0..<b.tokens {
                total += Double(l[i])
                if keepPerToken { losses[offset + i] = l[i] }
            }
            if let logits {
                let V = model.config.vocabSize
                (logits.baseAddress! + offset * V).update(from: model.lastLogits.baseAddress!, count: b.tokens * V)
            }
        }
        return (total, losses)
    }
}
