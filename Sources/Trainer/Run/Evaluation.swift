import Foundation
import RiverValley

/// Loss of a checkpoint on a text: the text is tokenized with the checkpoint's tokenizer and cut into
/// consecutive windows of T + 1 tokens overlapping by one (window k predicts tokens kT+1 … kT+T), so
/// every token but the first is predicted exactly once with up to T tokens of context.
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
        guard tokens.count >= 2 else {
            throw RunError("the text has \(tokens.count) token(s); at least 2 are needed to measure a loss")
        }
        let T = ck.config.model.contextLength
        guard batch >= 1 else { throw RunError("batch size \(batch) is not allowed: need at least 1") }
        try ck.config.model.checkMemory(batchSize: batch)
        let model = Transformer(config: ck.config.model, batchSize: max(1, batch), seed: 0)
        ck.parameters.withUnsafeBufferPointer { model.parameters.baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
        let predicted = tokens.count - 1
        let fullWindows = predicted / T
        var losses = [Float](repeating: 0, count: keepPerToken ? predicted : 0)
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
        }
        while w < fullWindows {
            let nb = min(batch, fullWindows - w)
            runBatch(nb, T, w)
            w += nb
        }
        let tail = predicted - fullWindows * T
        if tail > 0 { runBatch(1, tail, fullWindows) }
        let bytes = tokens.dropFirst().reduce(0) { $0 + tokenizer.byteLength(of: $1) }
        return Evaluation(loss: total / Double(predicted), bitsPerByte: total / log(2.0) / Double(bytes),
                          tokens: predicted, bytes: bytes, step: ck.step,
                          perToken: keepPerToken ? losses : nil, targets: keepPerToken ? Array(tokens.dropFirst()) : nil)
    }
}
