import Foundation
import RiverValley

/// The shape of a LLaMA-style decoder-only transformer.
///
/// JSON keys are the property names (`vocabSize`, `contextLength`, `width`, `layers`, `heads`,
/// `mlpHidden`, `tiedEmbeddings`, `ropeTheta`, `normEpsilon`); together with the tensor table of
/// ``Transformer/tensors`` they are all another framework needs to rebuild the model
/// (see `python/reference/llama.py`).
public struct TransformerConfig: Codable, Sendable, Equatable, CustomStringConvertible {
    /// Number of token ids (256 for byte-level text).
    public var vocabSize: Int
    /// Longest sequence the model is trained on (T); RoPE tables are built for this many positions.
    public var contextLength: Int
    /// Model width d (the residual stream, C in llm.c notation).
    public var width: Int
    /// Number of transformer blocks.
    public var layers: Int
    /// Number of attention heads; `width / heads` is the head size and must be even (RoPE pairs).
    public var heads: Int
    /// Hidden size of the SwiGLU MLP (LLaMA: 8/3 · width, rounded up to a multiple of 8).
    public var mlpHidden: Int
    /// Whether the output projection reuses the token embedding matrix.
    public var tiedEmbeddings: Bool
    /// RoPE base θ: pair i of a head rotates by position · θ^(−2i/headSize).
    public var ropeTheta: Double
    /// ε inside RMSNorm: x / sqrt(mean(x²) + ε) · g.
    public var normEpsilon: Double

    public init(vocabSize: Int = 256, contextLength: Int, width: Int, layers: Int, heads: Int,
                mlpHidden: Int? = nil, tiedEmbeddings: Bool = false, ropeTheta: Double = 10_000,
                normEpsilon: Double = 1e-5) {
        self.vocabSize = vocabSize
        self.contextLength = contextLength
        self.width = width
        self.layers = layers
        self.heads = heads
        self.mlpHidden = mlpHidden ?? TransformerConfig.llamaHidden(width: width)
        self.tiedEmbeddings = tiedEmbeddings
        self.ropeTheta = ropeTheta
        self.normEpsilon = normEpsilon
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case vocabSize, contextLength, width, layers, heads, mlpHidden, tiedEmbeddings, ropeTheta, normEpsilon
    }

    /// Decodes every key (all are required) and rejects unknown ones: a misspelt key is an
    /// `UnknownKeyError` naming it and the nearest allowed key, not a silently ignored setting.
    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(allowed: CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        contextLength = try c.decode(Int.self, forKey: .contextLength)
        width = try c.decode(Int.self, forKey: .width)
        layers = try c.decode(Int.self, forKey: .layers)
        heads = try c.decode(Int.self, forKey: .heads)
        mlpHidden = try c.decode(Int.self, forKey: .mlpHidden)
        tiedEmbeddings = try c.decode(Bool.self, forKey: .tiedEmbeddings)
        ropeTheta = try c.decode(Double.self, forKey: .ropeTheta)
        normEpsilon = try c.decode(Double.self, forKey: .normEpsilon)
    }

    /// LLaMA's SwiGLU hidden size: 8/3 · width rounded up to a multiple of 8.
    /// A width outside 1...2⁵⁶ (which `validate` rejects anyway) is returned as is instead of overflowing.
    public static func llamaHidden(width: Int) -> Int {
        guard width >= 1, width <= 1 << 56 else { return width }
        return ((8 * width + 2) / 3 + 7) / 8 * 8
    }

    /// Head size `width / heads`.
    public var headSize: Int { width / max(heads, 1) }

    // MARK: presets

    /// A very small model for unit and golden tests (≈ 12k parameters, byte vocabulary).
    public static let tiny = TransformerConfig(vocabSize: 256, contextLength: 16, width: 16, layers: 2, heads: 2,
                                               mlpHidden: 40)
    /// The default trainer model: byte-level, ≈ 1.9M parameters (width 192, 4 layers, 6 heads of 32),
    /// context 256; learns the plays in minutes on 2 cores.
    public static let `default` = TransformerConfig(vocabSize: 256, contextLength: 256, width: 192, layers: 4,
                                                    heads: 6)
    /// The 3.3M-parameter benchmark shape (width 256, 4 layers, 4 heads, context 256, untied).
    public static let small3M = TransformerConfig(vocabSize: 256, contextLength: 256, width: 256, layers: 4,
                                                  heads: 4)
    /// The 0.86M-parameter benchmark shape (width 128, 4 layers, 4 heads, context 128, untied).
    public static let small086M = TransformerConfig(vocabSize: 256, contextLength: 128, width: 128, layers: 4,
                                                    heads: 4)
    /// ≈ 11M parameters (width 384, 6 layers, 6 heads, context 256).
    public static let medium10M = TransformerConfig(vocabSize: 256, contextLength: 256, width: 384, layers: 6,
                                                    heads: 6)
    /// ≈ 19M parameters (width 512, 6 layers, 8 heads, context 512).
    public static let large20M = TransformerConfig(vocabSize: 256, contextLength: 512, width: 512, layers: 6,
                                                   heads: 8)

    /// Presets by name, for `--model NAME` style options.
    public static let presets: [String: TransformerConfig] = [
        "tiny": .tiny, "default": .default, "small3M": .small3M, "small086M": .small086M,
        "medium10M": .medium10M, "large20M": .large20M,
    ]

    // MARK: validation

    /// Checks every field; throws a ``TransformerConfigError`` naming the bad value and what is allowed.
    public func validate() throws {
        func fail(_ m: String) -> TransformerConfigError { TransformerConfigError(message: m) }
        guard vocabSize >= 2 else { throw fail("vocabSize must be at least 2, got \(vocabSize)") }
        guard vocabSize <= Int(Int32.max) else { throw fail("vocabSize must fit in Int32, got \(vocabSize)") }
        guard contextLength >= 1 else { throw fail("contextLength must be at least 1, got \(contextLength)") }
        guard width >= 2 else { throw fail("width must be at least 2, got \(width)") }
        guard layers >= 1 else { throw fail("layers must be at least 1, got \(layers)") }
        guard heads >= 1 else { throw fail("heads must be at least 1, got \(heads)") }
        guard width % heads == 0 else {
            throw fail("heads (\(heads)) must divide width (\(width))")
        }
        guard headSize % 2 == 0 else {
            throw fail("head size width/heads = \(width)/\(heads) = \(headSize) must be even (RoPE rotates pairs)")
        }
        guard mlpHidden >= 1 else { throw fail("mlpHidden must be at least 1, got \(mlpHidden)") }
        guard ropeTheta.isFinite, ropeTheta > 1 else { throw fail("ropeTheta must be finite and > 1, got \(ropeTheta)") }
        guard normEpsilon.isFinite, normEpsilon > 0 else {
            throw fail("normEpsilon must be finite and > 0, got \(normEpsilon)")
        }
        // Bound the sizes in Double arithmetic first, so the exact Int count below cannot overflow.
        let approx = approximateParameterCount
        guard approx <= 1.0e9 else {
            throw fail("model has about \(String(format: "%.3g", approx)) parameters (vocabSize \(vocabSize), width \(width), layers \(layers), mlpHidden \(mlpHidden)); at most 1e9 allowed")
        }
        guard contextLength <= 1_000_000 else {
            throw fail("contextLength must be at most 1000000, got \(contextLength)")
        }
        let params = Transformer.parameterCount(for: self)
        guard params <= 1_000_000_000 else { throw fail("model has \(params) parameters; at most 1e9 allowed") }
    }

    /// V·C (+ C·V untied) + L·(4C² + 3CF + 2C) + C in Double arithmetic (no overflow for any input):
    /// the parameter count of ``ParameterLayout`` up to the small norm terms.
    var approximateParameterCount: Double {
        let v = Double(vocabSize), c = Double(width), f = Double(mlpHidden), l = Double(layers)
        return v * c * (tiedEmbeddings ? 1 : 2) + l * (4 * c * c + 3 * c * f + 2 * c) + c
    }

    /// Bytes a ``Transformer`` of this shape allocates for `batchSize` sequences: parameters, gradients
    /// and two optimizer moments (Float32), plus the activation arena of `Network.swift`'s
    /// `Activations` (residual streams, q/k/v, attention probabilities B·H·T² per layer, MLP, logits
    /// N·V, and their backward scratch, of which one T×T block of dS per attention worker), with N = B·T.
    /// Double arithmetic, so no product overflows.
    public func memoryBytes(batchSize: Int) -> Double {
        let b = Double(batchSize), t = Double(contextLength), c = Double(width), f = Double(mlpHidden)
        let v = Double(vocabSize), l = Double(layers), h = Double(heads)
        let n = b * t
        let dSBlocks = Double(Layers.attentionGradientBlocks(B: batchSize, H: heads))
        let activations = n * c * (8 * l + 7) + n * f * (3 * l + 3) + 2 * n * v + b * h * t * t * l + dSBlocks * t * t
            + n * (2 * l + 6) + t * c
        return 4 * (4 * approximateParameterCount + activations)
    }

    /// Throws `SizeLimitError` when a model of this shape with `batchSize` sequences does not fit the
    /// `MemoryBudget` (half of physical memory).
    public func checkMemory(batchSize: Int) throws {
        guard batchSize >= 1 else { throw TransformerConfigError(message: "batch size must be at least 1, got \(batchSize)") }
        let bytes = memoryBytes(batchSize: batchSize)
        guard bytes <= Double(MemoryBudget.limitBytes) else {
            throw SizeLimitError("a transformer (vocab \(vocabSize), context \(contextLength), width \(width), \(layers) layers, \(heads) heads, mlp \(mlpHidden)) with batch size \(batchSize) needs \(MemoryBudget.formatBytes(bytes)) for parameters, optimizer state and activations; the limit is \(MemoryBudget.limitDescription)")
        }
    }

    public var description: String {
        "vocab \(vocabSize), context \(contextLength), width \(width), \(layers) layers, \(heads) heads, "
            + "mlp \(mlpHidden), \(tiedEmbeddings ? "tied" : "untied") embeddings, "
            + "\(Transformer.parameterCount(for: self)) parameters"
    }
}

/// A bad ``TransformerConfig`` value.
public struct TransformerConfigError: Error, CustomStringConvertible, LocalizedError {
    public let message: String
    public var description: String { "invalid model config: \(message)" }
    public var errorDescription: String? { description }
}
