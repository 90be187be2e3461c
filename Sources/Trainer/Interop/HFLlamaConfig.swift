import Foundation

/// A Hugging Face `LlamaConfig` (`config.json` next to the weights), reduced to what river's model can
/// represent. Defaults are `transformers.LlamaConfig`'s for keys a file may omit.
///
/// River's model (docs/trainer-format.md) is LLaMA without biases, SwiGLU MLP with SiLU, RMSNorm, and
/// unscaled RoPE with head size `hidden_size / num_attention_heads`; every key that would change that
/// forward pass is checked, and an unknown key is an error (it might change the model), unless the caller
/// lists it as ignorable.
public struct HFLlamaConfig: Sendable, Equatable {
    public var hiddenSize: Int
    public var numAttentionHeads: Int
    /// Key/value heads; fewer than the query heads is grouped-query attention (GQA).
    public var numKeyValueHeads: Int
    public var intermediateSize: Int
    public var numHiddenLayers: Int
    public var vocabSize: Int
    public var maxPositionEmbeddings: Int
    public var rmsNormEps: Double
    public var ropeTheta: Double
    public var tieWordEmbeddings: Bool

    /// Head size D = hidden_size / num_attention_heads.
    public var headDim: Int { hiddenSize / numAttentionHeads }

    /// Keys that describe the file, the tokenizer or generation, not the forward pass.
    public static let descriptiveKeys: Set<String> = [
        "architectures", "bos_token_id", "eos_token_id", "pad_token_id", "dtype", "torch_dtype",
        "transformers_version", "use_cache", "initializer_range", "_name_or_path", "output_attentions",
        "output_hidden_states", "return_dict", "tokenizer_class", "transformers.js_config",
        // Written by nanotron / SmolLM; transformers' LlamaForCausalLM does not read it.
        "is_llama_config",
        // Dropout is off at evaluation; pretraining_tp only splits the same products into slices.
        "attention_dropout", "pretraining_tp",
    ]
    /// Keys this type reads and checks.
    public static let modelKeys: Set<String> = [
        "model_type", "hidden_size", "num_attention_heads", "num_key_value_heads", "head_dim", "intermediate_size",
        "num_hidden_layers", "vocab_size", "max_position_embeddings", "rms_norm_eps", "rope_theta", "rope_scaling",
        "rope_parameters", "rope_interleaved", "tie_word_embeddings", "hidden_act", "attention_bias", "mlp_bias",
    ]

    /// Parses `config.json` bytes (`path` labels errors); `ignoring` lists unknown keys the user vouches
    /// do not change the forward pass. GQA (num_key_value_heads < num_attention_heads) is accepted here;
    /// the importer decides whether to expand it.
    public static func parse(_ data: Data, path: String, ignoring: Set<String> = []) throws -> HFLlamaConfig {
        func fail(_ m: String) -> ImportError { ImportError("\(path): \(m)") }
        guard case .object(let c)? = try? JSONDecoder().decode(JSONValue.self, from: data) else {
            throw fail("not a JSON object (a Hugging Face config.json)")
        }
        let unknown = c.keys.filter { !modelKeys.contains($0) && !descriptiveKeys.contains($0) && !ignoring.contains($0) }.sorted()
        if let k = unknown.first {
            if k == "quantization_config" { throw fail("quantized checkpoints are not supported (config.json has quantization_config = \(c[k]!))") }
            throw fail("unknown config key '\(k)' = \(c[k]!)\(unknown.count > 1 ? " (also: \(unknown.dropFirst().joined(separator: ", ")))" : ""); river reads \(modelKeys.sorted().joined(separator: ", ")) and ignores \(descriptiveKeys.sorted().joined(separator: ", ")). If '\(k)' does not change the model's forward pass, pass --ignore-config-key \(k)")
        }
        func present(_ k: String) -> JSONValue? { c[k].flatMap { $0 == .null ? nil : $0 } }
        func int(_ k: String, default d: Int? = nil) throws -> Int {
            guard let v = present(k) else {
                if let d { return d }
                throw fail("config key '\(k)' is missing (a positive integer is required)")
            }
            guard case .number(let x) = v, let i = Int(exactly: x), i >= 1 else {
                throw fail("config key '\(k)' = \(v) must be a positive integer")
            }
            return i
        }
        func double(_ k: String, _ v: JSONValue?) throws -> Double? {
            guard let v, v != .null else { return nil }
            guard case .number(let x) = v, x.isFinite else { throw fail("config key '\(k)' = \(v) must be a finite number") }
            return x
        }
        func bool(_ k: String, default d: Bool) throws -> Bool {
            guard let v = present(k) else { return d }
            guard case .bool(let b) = v else { throw fail("config key '\(k)' = \(v) must be true or false") }
            return b
        }
        func require(_ k: String, equals allowed: String, default d: String) throws {
            let v = present(k) ?? .string(d)
            guard v == .string(allowed) else {
                throw fail("config key '\(k)' = \(v) is not supported (river's model needs \"\(allowed)\")")
            }
        }

        try require("model_type", equals: "llama", default: "llama")
        try require("hidden_act", equals: "silu", default: "silu")
        for k in ["attention_bias", "mlp_bias"] where try bool(k, default: false) {
            throw fail("config key '\(k)' = true is not supported (river's linear layers have no bias)")
        }
        // nanotron's flag (SmolLM): false is transformers' rotate_half layout, the one converted here.
        if try bool("rope_interleaved", default: false) {
            throw fail("config key 'rope_interleaved' = true is not supported (transformers ignores it and rotates halves; the weights' RoPE layout is ambiguous — convert the checkpoint to transformers' layout first)")
        }
        let hidden = try int("hidden_size"), heads = try int("num_attention_heads")
        let kv = try int("num_key_value_heads", default: heads)
        guard hidden % heads == 0 else {
            throw fail("num_attention_heads = \(heads) does not divide hidden_size = \(hidden)")
        }
        guard heads % kv == 0 else {
            throw fail("num_key_value_heads = \(kv) does not divide num_attention_heads = \(heads)")
        }
        if let hd = present("head_dim") {
            guard hd == .number(Double(hidden / heads)) else {
                throw fail("config key 'head_dim' = \(hd) is not supported (river's head size is hidden_size / num_attention_heads = \(hidden / heads))")
            }
        }

        // RoPE: transformers ≤ 4.x writes rope_theta and rope_scaling; 5.x writes rope_parameters.
        var theta = try double("rope_theta", present("rope_theta"))
        if let rs = present("rope_scaling") {
            guard case .object(let d) = rs, (d["rope_type"] ?? d["type"]) == .string("default"),
                  d.keys.allSatisfy({ $0 == "rope_type" || $0 == "type" }) else {
                throw fail("config key 'rope_scaling' = \(rs) is not supported (river's RoPE is unscaled: rope_scaling must be null)")
            }
        }
        if let rp = present("rope_parameters") {
            guard case .object(let d) = rp else { throw fail("config key 'rope_parameters' = \(rp) must be an object") }
            for (k, v) in d.sorted(by: { $0.key < $1.key }) {
                switch k {
                case "rope_type":
                    guard v == .string("default") else {
                        throw fail("config key 'rope_parameters.rope_type' = \(v) is not supported (allowed: \"default\", unscaled RoPE)")
                    }
                case "rope_theta":
                    let t = try double("rope_parameters.rope_theta", v)
                    if let theta, let t, theta != t {
                        throw fail("rope_theta = \(theta) and rope_parameters.rope_theta = \(t) disagree")
                    }
                    theta = t ?? theta
                default:
                    throw fail("config key 'rope_parameters.\(k)' = \(v) is not supported (river's RoPE is unscaled; allowed keys: rope_type, rope_theta)")
                }
            }
        }
        let eps = try double("rms_norm_eps", present("rms_norm_eps")) ?? 1e-6
        guard eps > 0 else { throw fail("config key 'rms_norm_eps' = \(eps) must be > 0") }
        let ropeTheta = theta ?? 10_000
        guard ropeTheta > 1 else { throw fail("rope_theta = \(ropeTheta) must be > 1") }
        return HFLlamaConfig(hiddenSize: hidden, numAttentionHeads: heads, numKeyValueHeads: kv,
                             intermediateSize: try int("intermediate_size"), numHiddenLayers: try int("num_hidden_layers"),
                             vocabSize: try int("vocab_size"),
                             maxPositionEmbeddings: try int("max_position_embeddings", default: 2048),
                             rmsNormEps: eps, ropeTheta: ropeTheta,
                             tieWordEmbeddings: try bool("tie_word_embeddings", default: false))
    }

    /// River's model config for this LLaMA, with context length `contextLength` (default
    /// max_position_embeddings; at most that).
    public func transformerConfig(contextLength: Int? = nil) throws -> TransformerConfig {
        let T = contextLength ?? maxPositionEmbeddings
        guard T >= 1, T <= maxPositionEmbeddings else {
            throw ImportError("context length \(T) must be in 1...\(maxPositionEmbeddings) (the model's max_position_embeddings)")
        }
        // Parameter count with overflow-checked arithmetic, before TransformerConfig.validate multiplies
        // the sizes: V·C·(1 or 2) + L·(4C² + 3CF + 2C) + C.
        func product(_ xs: Int...) -> Int? {
            var p = 1
            for x in xs { let (r, o) = p.multipliedReportingOverflow(by: x); if o { return nil }; p = r }
            return p
        }
        let C = hiddenSize, limit = 1_000_000_000
        let terms = [product(vocabSize, C, tieWordEmbeddings ? 1 : 2), product(numHiddenLayers, 4, C, C),
                     product(numHiddenLayers, 3, C, intermediateSize), product(numHiddenLayers, 2, C), C]
        guard terms.allSatisfy({ $0 != nil && $0! <= limit }), terms.reduce(0, { $0 + $1! }) <= limit else {
            throw ImportError("the model has more than \(limit) parameters (hidden_size \(C), \(numHiddenLayers) layers, intermediate_size \(intermediateSize), vocab_size \(vocabSize)); river's model allows at most \(limit)")
        }
        let c = TransformerConfig(vocabSize: vocabSize, contextLength: T, width: hiddenSize, layers: numHiddenLayers,
                                  heads: numAttentionHeads, mlpHidden: intermediateSize,
                                  tiedEmbeddings: tieWordEmbeddings, ropeTheta: ropeTheta, normEpsilon: rmsNormEps)
        do { try c.validate() } catch { throw ImportError("the imported model is not one river can run: \(error)") }
        return c
    }
}

/// A JSON value as written (numbers as Double), printed back as compact JSON in error messages.
enum JSONValue: Decodable, Equatable, CustomStringConvertible {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let x = try? c.decode(Double.self) { self = .number(x) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    var description: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .number(let x): return x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x)
        case .string(let s): return "\"\(s)\""
        case .array(let a): return "[" + a.map(\.description).joined(separator: ",") + "]"
        case .object(let o): return "{" + o.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}"
        }
    }
}

/// An import failure (bad or unsupported input); the message names the file, the key or tensor, the
/// value and what is allowed.
public struct ImportError: Error, CustomStringConvertible, LocalizedError {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
    public var errorDescription: String? { message }
}
