/// One named tensor inside the flat parameter (and gradient) buffer.
///
/// Layout of the flat buffer, in this order, every tensor row-major and contiguous
/// (C = width, F = mlpHidden, V = vocabSize, PyTorch `nn.Linear` convention: weight is [out, in],
/// y = x · Wᵀ):
///
/// | name                                  | shape   |
/// |---------------------------------------|---------|
/// | `tok_embeddings.weight`               | [V, C]  |
/// | per layer i:                          |         |
/// | `layers.i.attention_norm.weight`      | [C]     |
/// | `layers.i.attention.wq.weight`        | [C, C]  |
/// | `layers.i.attention.wk.weight`        | [C, C]  |
/// | `layers.i.attention.wv.weight`        | [C, C]  |
/// | `layers.i.attention.wo.weight`        | [C, C]  |
/// | `layers.i.ffn_norm.weight`            | [C]     |
/// | `layers.i.feed_forward.w1.weight`     | [F, C]  | (gate: silu(x·w1ᵀ))
/// | `layers.i.feed_forward.w3.weight`     | [F, C]  | (up)
/// | `layers.i.feed_forward.w2.weight`     | [C, F]  | (down)
/// | `norm.weight`                         | [C]     |
/// | `output.weight`                       | [V, C]  | (absent when embeddings are tied)
///
/// The names are Meta's LLaMA names. wq, wk, wv are adjacent so they form one [3C, C] matrix
/// (one GEMM computes q, k and v); w1 and w3 likewise form one [2F, C] matrix.
public struct ParameterTensor: Sendable, Equatable, Codable {
    public var name: String
    public var shape: [Int]
    /// Offset in elements (Float32) from the start of the flat buffer.
    public var offset: Int
    public var count: Int { shape.reduce(1, *) }

    public init(name: String, shape: [Int], offset: Int) {
        self.name = name
        self.shape = shape
        self.offset = offset
    }
}

/// Offsets of one block's tensors in the flat buffer.
struct LayerOffsets {
    var attentionNorm: Int
    var wqkv: Int  // wq, wk, wv: [3C, C]
    var wo: Int
    var ffnNorm: Int
    var w13: Int  // w1, w3: [2F, C]
    var w2: Int
}

/// The flat buffer's table of tensors for a config.
struct ParameterLayout {
    var tensors: [ParameterTensor] = []
    var embedding = 0
    var layers: [LayerOffsets] = []
    var finalNorm = 0
    /// Offset of the output projection (== `embedding` when tied).
    var output = 0
    var count = 0

    init(_ c: TransformerConfig) {
        let C = c.width, F = c.mlpHidden, V = c.vocabSize
        var offset = 0
        var tensors: [ParameterTensor] = []
        func add(_ name: String, _ shape: [Int]) -> Int {
            let t = ParameterTensor(name: name, shape: shape, offset: offset)
            tensors.append(t)
            offset += t.count
            return t.offset
        }
        embedding = add("tok_embeddings.weight", [V, C])
        for i in 0..<c.layers {
            let p = "layers.\(i)."
            let an = add(p + "attention_norm.weight", [C])
            let wq = add(p + "attention.wq.weight", [C, C])
            _ = add(p + "attention.wk.weight", [C, C])
            _ = add(p + "attention.wv.weight", [C, C])
            let wo = add(p + "attention.wo.weight", [C, C])
            let fn = add(p + "ffn_norm.weight", [C])
            let w1 = add(p + "feed_forward.w1.weight", [F, C])
            _ = add(p + "feed_forward.w3.weight", [F, C])
            let w2 = add(p + "feed_forward.w2.weight", [C, F])
            layers.append(LayerOffsets(attentionNorm: an, wqkv: wq, wo: wo, ffnNorm: fn, w13: w1, w2: w2))
        }
        finalNorm = add("norm.weight", [C])
        output = c.tiedEmbeddings ? embedding : add("output.weight", [V, C])
        count = offset
        self.tensors = tensors
    }
}
