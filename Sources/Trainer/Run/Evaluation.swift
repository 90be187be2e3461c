import Foundation
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

/// Loss of a checkpoint on a text: the text is tokenized with the checkpoint's tokenizer and cut into
/// ``EvaluationWindows`` (windows of T + 1 tokens overlapping by one), so every token but the first is
/// predicted exactly once with up to T tokens of context.
public struct Evaluation: Sendable {
    /// Mean cross-entropy in nats per predicted token.
    public var loss: Double
    /// Total nats / ln 2 / bytes of the predicted tokens.
    public var bitsPerByte: Double
    public var tokens: Int
    public var bytes: Int
    public var step: Int
    /// Loss of every predicted token (position i + 1 of the token stream), if requested.
    public var perToken: [Float]?
    public var targets: [Int32]?

    /// Evaluates the checkpoint at `url` on `text`.
    public static func run(checkpoint url: URL, text: [UInt8], batch: Int = 8, keepPerToken: Bool = false) throws -> Evaluation {
        let ck = try Checkpoint.read(from: url)
        let tokenizer = try loadTokenizer(json: ck.tokenizerJSON, source: url.path + " (tokenizer metadata)")
        let tokens = tokenizer.encode(text)
        try requirePrediction(tokens)
        guard batch >= 1 else { throw RunError("batch size \(batch) is not allowed: need at least 1") }
        try ck.config.model.checkMemory(batchSize: batch)
        let (total, losses) = totalLoss(config: ck.config.model, parameters: ck.parameters, tokens: tokens,
                                        batch: batch, keepPerToken: keepPerToken)
        let predicted = tokens.count - 1
        let bytes = tokens.dropFirst().reduce(0) { $0 + tokenizer.byteLength(of: $1) }
        return Evaluation(loss: total / Double(predicted), bitsPerByte: total / log(2.0) / Double(bytes),
                          tokens: predicted, bytes: bytes, step: ck.step,
                          perToken: keepPerToken ? losses : nil, targets: keepPerToken ? Array(tokens.dropFirst()) : nil)
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
                                 keepPerToken: Bool = false) -> (total: Double, perToken: [Float]) {
        let model = Transformer(config: config, batchSize: max(1, batch), seed: 0)
        parameters.withUnsafeBufferPointer { model.parameters.baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
        return totalLoss(model: model, tokens: tokens, keepPerToken: keepPerToken)
    }

    /// As above, with `model`'s current parameters, in forward passes of `model.batchSize` windows.
    public static func totalLoss(model: Transformer, tokens: [Int32], keepPerToken: Bool = false)
        -> (total: Double, perToken: [Float]) {
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
        }
        return (total, losses)
    }
}
