import Foundation

/// Where the uncertainty of a next-token distribution comes from (`--uncertainty`).
public enum UncertaintySource: Equatable, Sendable, CustomStringConvertible {
    /// Entropy of a smoothed order-k n-gram model estimated on the training split of the checkpoint's run.
    case ngram
    /// Predictive entropy of a reference checkpoint.
    case model(String)

    /// Parses `ngram` or `model:PATH`.
    public init?(argument: String) {
        if argument == "ngram" { self = .ngram; return }
        guard argument.hasPrefix("model:"), argument.count > 6 else { return nil }
        self = .model(String(argument.dropFirst(6)))
    }

    public var description: String {
        switch self {
        case .ngram: return "ngram"
        case .model(let path): return "model:" + path
        }
    }
}

/// A smoothed order-k n-gram next-token model: p(x | c) = (n(c, x) + δ) / (n(c) + δV), with c the k
/// previous tokens (positions before the stream's start are a padding symbol, in training and in use)
/// and δ = 1/2 (Lidstone smoothing with the Krichevsky–Trofimov constant: every context has a proper,
/// strictly positive distribution, and unseen contexts get the uniform one, entropy ln V).
public struct NGramModel: Sendable {
    public let order: Int
    public let vocabSize: Int
    public let delta: Double
    private var counts: [UInt64: [Int32: Int]] = [:]
    private var totals: [UInt64: Int] = [:]

    /// Counts every (context, next token) pair of `tokens`. `order` in 0…4, vocabulary ≤ 65535.
    public init(tokens: [Int32], order: Int, vocabSize: Int, delta: Double = 0.5) throws {
        guard (0...4).contains(order) else { throw AnalysisError("--order must be in 0...4, got \(order)") }
        guard vocabSize <= 65_535 else { throw AnalysisError("the n-gram model needs a vocabulary ≤ 65535 tokens, got \(vocabSize)") }
        self.order = order
        self.vocabSize = vocabSize
        self.delta = delta
        for i in 0..<tokens.count {
            let key = Self.context(tokens, before: i, order: order)
            counts[key, default: [:]][tokens[i], default: 0] += 1
            totals[key, default: 0] += 1
        }
    }

    /// The k tokens before position `i`, packed 16 bits each (0xFFFF pads before the start).
    @inline(__always) static func context(_ tokens: [Int32], before i: Int, order k: Int) -> UInt64 {
        var key: UInt64 = 0
        for j in stride(from: i - k, to: i, by: 1) {
            key = key << 16 | (j >= 0 ? UInt64(UInt16(truncatingIfNeeded: tokens[j])) : 0xFFFF)
        }
        return key
    }

    /// Entropy (nats) of p(· | the k tokens before position `i` of `tokens`).
    public func entropy(_ tokens: [Int32], before i: Int) -> Double {
        let key = Self.context(tokens, before: i, order: order)
        let V = Double(vocabSize)
        guard let seen = counts[key], let n = totals[key] else { return Foundation.log(V) }
        let denominator = Double(n) + delta * V
        var h = 0.0
        for (_, c) in seen {
            let p = (Double(c) + delta) / denominator
            h -= p * Foundation.log(p)
        }
        let unseen = V - Double(seen.count)
        if unseen > 0 {
            let p0 = delta / denominator
            h -= unseen * p0 * Foundation.log(p0)
        }
        return h
    }
}

/// One row of `river analyze tokens`.
public struct TokenBucketRow: Sendable, Equatable {
    public var checkpoint: String
    public var step: Int
    public var bucket: Int
    public var uncertaintyLow: Double
    public var uncertaintyHigh: Double
    public var tokens: Int
    public var meanLoss: Double
}

/// Per-bucket losses of checkpoints, every predicted token bucketed by the uncertainty of its
/// next-token distribution — the paper's token-uncertainty picture (§4: deterministic tokens improve
/// during the stable phase, uncertain ones during the decay) measured on a real model.
public enum TokenBuckets {
    /// The uncertainty (nats) of each of the tokens.count − 1 predictions (position i predicts token i+1).
    public static func uncertainty(_ source: UncertaintySource, tokens: [Int32], reference: Checkpoint?,
                                   trainingTokens: [Int32]?, order: Int, batch: Int = 8) throws -> [Double] {
        switch source {
        case .ngram:
            guard let trainingTokens, let vocab = reference?.config.model.vocabSize else {
                throw AnalysisError("the n-gram uncertainty needs the training split of the checkpoint's corpus")
            }
            let model = try NGramModel(tokens: trainingTokens, order: order, vocabSize: vocab)
            return (1..<tokens.count).map { model.entropy(tokens, before: $0) }
        case .model:
            guard let ck = reference else { throw AnalysisError("model uncertainty needs a reference checkpoint") }
            return predictiveEntropy(ck, tokens: tokens, batch: batch)
        }
    }

    /// H = logsumexp(z) − Σ softmax(z)·z of the checkpoint's logits z at every predicted position
    /// (Float32 forward as `river eval`, entropy in Double).
    public static func predictiveEntropy(_ ck: Checkpoint, tokens: [Int32], batch: Int = 8) -> [Double] {
        let c = ck.config.model
        let model = Transformer(config: c, batchSize: Evaluation.passBatchSize(batch, tokenCount: tokens.count,
                                                                                contextLength: c.contextLength), seed: 0)
        ck.parameters.withUnsafeBufferPointer { model.parameters.baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
        let windows = EvaluationWindows(tokenCount: tokens.count, sequenceLength: c.contextLength)
        var out = [Double](repeating: 0, count: windows.predicted)
        var x: [Int32] = [], y: [Int32] = []
        let V = c.vocabSize
        for b in windows.batches(batch: max(1, batch)) {
            windows.fill(b, from: tokens, inputs: &x, targets: &y)
            let logits = model.logits(tokens: x, batch: b.count)
            for r in 0..<b.tokens {
                let z = logits[(r * V)..<((r + 1) * V)]
                let m = Double(z.max()!)
                var s = 0.0, sz = 0.0
                for v in z { let e = Foundation.exp(Double(v) - m); s += e; sz += e * Double(v) }
                out[b.first * c.contextLength + r] = m + Foundation.log(s) - sz / s
            }
        }
        return out
    }

    /// Assigns each prediction to one of `buckets` equal-count buckets by rank of uncertainty (ties by
    /// position): bucket b holds ranks [b·n/B, (b+1)·n/B). Every prediction lands in exactly one bucket.
    public static func assign(_ uncertainty: [Double], buckets B: Int) throws -> [Int] {
        let n = uncertainty.count
        guard B >= 1 else { throw AnalysisError("--buckets must be at least 1, got \(B)") }
        guard B <= n else { throw AnalysisError("--buckets \(B) exceeds the \(n) predicted tokens of the text") }
        let order = uncertainty.indices.sorted { (uncertainty[$0], $0) < (uncertainty[$1], $1) }
        var bucket = [Int](repeating: 0, count: n)
        for (rank, i) in order.enumerated() { bucket[i] = rank * B / n }
        return bucket
    }

    /// Rows for each checkpoint: per bucket its uncertainty range, token count and mean loss
    /// (`river eval`'s per-token losses).
    public static func rows(checkpoints: [(name: String, checkpoint: Checkpoint)], tokens: [Int32],
                            uncertainty: [Double], buckets B: Int, batch: Int = 8) throws -> [TokenBucketRow] {
        let assignment = try assign(uncertainty, buckets: B)
        var lo = [Double](repeating: .infinity, count: B), hi = [Double](repeating: -.infinity, count: B)
        var count = [Int](repeating: 0, count: B)
        for (i, b) in assignment.enumerated() {
            lo[b] = min(lo[b], uncertainty[i]); hi[b] = max(hi[b], uncertainty[i]); count[b] += 1
        }
        var out: [TokenBucketRow] = []
        for (name, ck) in checkpoints {
            let losses = Evaluation.totalLoss(config: ck.config.model, parameters: ck.parameters, tokens: tokens,
                                              batch: batch, keepPerToken: true).perToken
            var sum = [Double](repeating: 0, count: B)
            for (i, b) in assignment.enumerated() { sum[b] += Double(losses[i]) }
            for b in 0..<B {
                out.append(TokenBucketRow(checkpoint: name, step: ck.step, bucket: b, uncertaintyLow: lo[b],
                                          uncertaintyHigh: hi[b], tokens: count[b], meanLoss: sum[b] / Double(count[b])))
            }
        }
        return out
    }

    /// The training split of the checkpoint's corpus under its tokenizer (the n-gram's training data).
    public static func trainingTokens(of ck: Checkpoint) throws -> [Int32] {
        let (_, dataset) = try TrainingRun.loadData(ck.config, tokenizerJSON: ck.tokenizerJSON)
        return dataset.train
    }
}
