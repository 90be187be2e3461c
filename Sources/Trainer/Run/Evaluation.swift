import Foundation
import RiverValley

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

    /// Refuses a model whose activations cannot fit in this machine's memory instead of failing to
    /// allocate them: a lower bound on the Float32 activations of a forward pass over `batch` sequences of
    /// T tokens is (L + 1)·B·H·T² (attention probabilities) + 2·B·T·V (logits) + L·B·T·(7C + 3F).
    /// An imported model's context T defaults to its max_position_embeddings, which can make T² dominate.
    static func checkMemory(_ c: TransformerConfig, batch B: Int) throws {
        func product(_ xs: Int...) -> Int? {
            var p = 1
            for x in xs { let (r, o) = p.multipliedReportingOverflow(by: x); if o { return nil }; p = r }
            return p
        }
        let T = c.contextLength, L = c.layers
        let terms = [product(L + 1, B, c.heads, T, T), product(2, B, T, c.vocabSize),
                     product(L, B, T, 7 * c.width + 3 * c.mlpHidden)]
        let floats = terms.reduce(Int?(0)) { acc, t in
            guard let acc, let t else { return nil }
            let (r, o) = acc.addingReportingOverflow(t)
            return o ? nil : r
        }
        let available = Double(ProcessInfo.processInfo.physicalMemory)
        let needed = floats.map { Double($0) * 4 } ?? .infinity
        guard needed <= available else {
            let gib = { (x: Double) in String(format: "%.1f GiB", x / 1_073_741_824) }
            throw RunError("evaluating \(B) sequence(s) of \(T) tokens needs at least \(needed.isFinite ? gib(needed) : "more memory than can be addressed") of activations (\(L) layers × \(c.heads) heads × T² attention probabilities), more than this machine's \(gib(available)); use a smaller --batch, or re-import the model with a shorter --context-length")
        }
    }

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
        guard tokens.count >= 2 else {
            throw RunError("the data has \(tokens.count) token(s); at least 2 are needed to measure a loss")
        }
        let T = ck.config.model.contextLength, V = ck.config.model.vocabSize
        if let k = tokens.firstIndex(where: { $0 < 0 || Int($0) >= V }) {
            throw RunError("token id \(tokens[k]) at index \(k) is outside the model's vocabulary 0..<\(V)")
        }
        let predicted = tokens.count - 1
        if keepLogits, predicted > Self.maxLogits / V {
            throw RunError("logits of \(predicted) tokens × \(V) ids exceed the \(Self.maxLogits)-value limit of a logits file; evaluate fewer tokens")
        }
        // No more sequences per pass than there are windows (a short token file needs a small arena).
        let batch = max(1, min(batch, max(1, predicted / T)))
        try checkMemory(ck.config.model, batch: batch)
        let model = Transformer(config: ck.config.model, batchSize: batch, seed: 0)
        ck.parameters.withUnsafeBufferPointer { model.parameters.baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
        let fullWindows = predicted / T
        var losses = [Float](repeating: 0, count: keepPerToken ? predicted : 0)
        var logits = [Float](repeating: 0, count: keepLogits ? predicted * V : 0)
        var total = 0.0
        var x = [Int32](repeating: 0, count: batch * T), y = x
        var w = 0
        func runBatch(_ nb: Int, _ len: Int, _ first: Int) {
            for b in 0..<nb {
                let o = (first + b) * T
                for t in 0..<len { x[b * len + t] = tokens[o + t]; y[b * len + t] = tokens[o + t + 1] }
            }
            let xs = Array(x[0..<(nb * len)]), ys = Array(y[0..<(nb * len)])
            model.forward(tokens: xs, targets: ys, batch: nb)
            let l = model.lastLosses
            for i in 0..<(nb * len) {
                total += Double(l[i])
                if keepPerToken { losses[(first * T) + i] = l[i] }
            }
            if keepLogits {
                let start = first * T * V
                logits.withUnsafeMutableBufferPointer { dst in
                    (dst.baseAddress! + start).update(from: model.lastLogits.baseAddress!, count: nb * len * V)
                }
            }
        }
        while w < fullWindows {
            let nb = min(batch, fullWindows - w)
            runBatch(nb, T, w)
            w += nb
        }
        let tail = predicted - fullWindows * T
        if tail > 0 { runBatch(1, tail, fullWindows) }
        let bytes = tokenizer.map { tk in tokens.dropFirst().reduce(0) { $0 + tk.byteLength(of: $1) } }
        return Evaluation(loss: total / Double(predicted), bitsPerByte: bytes.map { total / log(2.0) / Double($0) },
                          tokens: predicted, bytes: bytes, step: ck.step,
                          perToken: keepPerToken ? losses : nil, targets: keepPerToken ? Array(tokens.dropFirst()) : nil,
                          logits: keepLogits ? logits : nil)
    }
}
