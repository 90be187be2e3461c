import Foundation
import RiverValley

/// Imports a Hugging Face LLaMA checkpoint (`config.json` plus `model.safetensors`, or shards listed in
/// `model.safetensors.index.json`) as a river checkpoint (docs/trainer-format.md, "Importing").
///
/// Names: `model.embed_tokens.weight` → `tok_embeddings.weight`; per layer i
/// `model.layers.i.self_attn.{q,k,v,o}_proj.weight` → `layers.i.attention.w{q,k,v,o}.weight`,
/// `model.layers.i.mlp.{gate,up,down}_proj.weight` → `layers.i.feed_forward.w{1,3,2}.weight`,
/// `model.layers.i.{input,post_attention}_layernorm.weight` → `layers.i.{attention,ffn}_norm.weight`;
/// `model.norm.weight` → `norm.weight`; `lm_head.weight` → `output.weight`. Both frameworks store
/// `nn.Linear` weights as [out, in], so no matrix is transposed.
///
/// RoPE: transformers rotates the pairs (j, j + D/2) of each head (`rotate_half`), river the interleaved
/// pairs (2j, 2j+1) (Meta's convention), both by the angle t·θ^(−2j/D). Moving row j of each head's block of
/// wq and wk to row 2j and row j + D/2 to row 2j + 1 makes river's rotation of the permuted q, k equal the
/// permutation of transformers' rotated q, k; q·k is a sum over the head's dimensions, so it is unchanged
/// by the common permutation, and so is the whole forward pass (``interleaveRoPERows``).
///
/// Grouped-query attention (num_key_value_heads < num_attention_heads) is not part of river's model; with
/// `expandGroupedQueryAttention` each key/value head is repeated for the query heads that share it
/// (transformers' `repeat_kv`: query head h reads key/value head h / (H / H_kv)), which gives the same
/// outputs with H_kv·(H/H_kv − 1) more key and value heads of parameters.
public enum HFLlama {
    public static let formatName = "hf-llama"

    public struct Options: Sendable {
        /// River's context length T (default: max_position_embeddings).
        public var contextLength: Int?
        public var expandGroupedQueryAttention = false
        /// Unknown config.json keys the user vouches do not change the forward pass.
        public var ignoredConfigKeys: Set<String> = []
        public init(contextLength: Int? = nil, expandGroupedQueryAttention: Bool = false, ignoredConfigKeys: Set<String> = []) {
            self.contextLength = contextLength
            self.expandGroupedQueryAttention = expandGroupedQueryAttention
            self.ignoredConfigKeys = ignoredConfigKeys
        }
    }

    /// What an import produced.
    public struct Summary: Codable, Sendable {
        public var out: String
        public var from: String
        public var source: String
        public var model: TransformerConfig
        public var parameters: Int
        /// The dtypes of the tensors read (converted to F32).
        public var dtypes: [String]
        public var expandedKeyValueHeads: Bool
    }

    /// Reads the checkpoint in `directory` and writes the river checkpoint `out` (atomically).
    @discardableResult
    public static func importCheckpoint(directory: URL, to out: URL, options: Options = Options()) throws -> Summary {
        let (ck, tensors, dtypes, configText) = try load(directory: directory, options: options)
        try ck.write(to: out, tensors: tensors, extraMetadata: [
            "import.from": formatName, "import.source": directory.path, "import.config": configText,
        ])
        return Summary(out: out.path, from: formatName, source: directory.path, model: ck.config.model,
                       parameters: ck.parameters.count, dtypes: dtypes,
                       expandedKeyValueHeads: options.expandGroupedQueryAttention)
    }

    /// The river checkpoint (step 0, no optimizer state) for the checkpoint in `directory`, its tensor
    /// table, the dtypes read and the config.json text.
    public static func load(directory: URL, options: Options = Options())
        throws -> (Checkpoint, [ParameterTensor], [String], String) {
        let dir = directory.path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw ImportError("'\(dir)' is not a directory (give the folder holding config.json and model.safetensors)")
        }
        let configURL = directory.appendingPathComponent("config.json")
        guard let configData = FileManager.default.contents(atPath: configURL.path) else {
            throw ImportError("\(dir) has no readable config.json (a Hugging Face model folder holds config.json next to its safetensors weights)")
        }
        let hf = try HFLlamaConfig.parse(configData, path: configURL.path, ignoring: options.ignoredConfigKeys)
        if hf.numKeyValueHeads != hf.numAttentionHeads && !options.expandGroupedQueryAttention {
            throw ImportError("\(configURL.path): num_key_value_heads = \(hf.numKeyValueHeads) differs from num_attention_heads = \(hf.numAttentionHeads) (grouped-query attention), which river's model does not have; pass --expand-gqa to repeat each key/value head for its \(hf.numAttentionHeads / hf.numKeyValueHeads) query heads (same outputs, more parameters)")
        }
        let model = try hf.transformerConfig(contextLength: options.contextLength)
        let weights = try WeightFiles(directory: directory)
        let layout = ParameterLayout(model)
        var params = [Float](repeating: 0, count: layout.count)
        var used: Set<String> = []
        var dtypes: Set<String> = []
        let C = hf.hiddenSize, D = hf.headDim, H = hf.numAttentionHeads, Hkv = hf.numKeyValueHeads
        let V = hf.vocabSize, F = hf.intermediateSize

        /// The HF tensor `name` as Float32 values, after checking its shape.
        func read(_ name: String, _ shape: [Int]) throws -> [Float] {
            let (t, file) = try weights.tensor(name)
            guard t.shape == shape else {
                throw ImportError("\(file): tensor \(name) has shape \(t.shape), config.json implies \(shape)")
            }
            used.insert(name)
            dtypes.insert(t.dtype.rawValue)
            return try HalfFloat.floats(t, name: name, file: file)
        }
        func store(_ values: [Float], as name: String) {
            let t = layout.tensors.first { $0.name == name }!
            precondition(values.count == t.count)
            params.replaceSubrange(t.offset..<(t.offset + t.count), with: values)
        }

        store(try read("model.embed_tokens.weight", [V, C]), as: "tok_embeddings.weight")
        for i in 0..<hf.numHiddenLayers {
            let hfp = "model.layers.\(i).", p = "layers.\(i)."
            store(try read(hfp + "input_layernorm.weight", [C]), as: p + "attention_norm.weight")
            let q = try read(hfp + "self_attn.q_proj.weight", [H * D, C])
            var k = try read(hfp + "self_attn.k_proj.weight", [Hkv * D, C])
            var v = try read(hfp + "self_attn.v_proj.weight", [Hkv * D, C])
            if Hkv != H {
                k = repeatHeads(k, heads: Hkv, times: H / Hkv, headSize: D, columns: C)
                v = repeatHeads(v, heads: Hkv, times: H / Hkv, headSize: D, columns: C)
            }
            store(interleaveRoPERows(q, heads: H, headSize: D, columns: C), as: p + "attention.wq.weight")
            store(interleaveRoPERows(k, heads: H, headSize: D, columns: C), as: p + "attention.wk.weight")
            store(v, as: p + "attention.wv.weight")
            store(try read(hfp + "self_attn.o_proj.weight", [C, H * D]), as: p + "attention.wo.weight")
            store(try read(hfp + "post_attention_layernorm.weight", [C]), as: p + "ffn_norm.weight")
            store(try read(hfp + "mlp.gate_proj.weight", [F, C]), as: p + "feed_forward.w1.weight")
            store(try read(hfp + "mlp.up_proj.weight", [F, C]), as: p + "feed_forward.w3.weight")
            store(try read(hfp + "mlp.down_proj.weight", [C, F]), as: p + "feed_forward.w2.weight")
        }
        store(try read("model.norm.weight", [C]), as: "norm.weight")
        if hf.tieWordEmbeddings {
            // Some writers store the tied head anyway; it must then equal the embedding.
            if weights.contains("lm_head.weight") {
                let head = try read("lm_head.weight", [V, C])
                let emb = Array(params[0..<(V * C)])
                guard head == emb else {
                    throw ImportError("config.json has tie_word_embeddings = true but lm_head.weight differs from model.embed_tokens.weight; set tie_word_embeddings to false to import both")
                }
            }
        } else {
            store(try read("lm_head.weight", [V, C]), as: "output.weight")
        }
        // Everything else must be a derived buffer (older transformers saved RoPE's inv_freq).
        let unexpected = weights.names.filter { !used.contains($0) && !$0.hasSuffix(".rotary_emb.inv_freq") }.sorted()
        if let first = unexpected.first {
            throw ImportError("tensor '\(first)' (in \(try weights.tensor(first).1)) is not part of a LLaMA model river can import\(unexpected.count > 1 ? " (\(unexpected.count - 1) more: \(unexpected.dropFirst().prefix(5).joined(separator: ", "))\(unexpected.count > 6 ? ", …" : ""))" : "") — biases, adapters or another architecture?")
        }

        var run = RunConfig()
        run.model = model
        run.data = DataConfig(corpus: "", tokenizer: "external", bpeVocabSize: V)
        run.optimizer = OptimizerHyperparameters(algorithm: .sgd)
        let tokenizer = "{\"type\":\"external\",\"vocabSize\":\(V),\"source\":\"\(formatName)\"}"
        let ck = Checkpoint(step: 0, optimizerSteps: 0, tokens: 0, dataSeed: 0, wallSeconds: 0, config: run,
                            tokenizerJSON: Data(tokenizer.utf8), parameters: params, firstMoment: [], secondMoment: [])
        return (ck, layout.tensors, dtypes.sorted(), String(decoding: configData, as: UTF8.self))
    }

    /// Reorders the rows of a [heads·D, columns] projection from transformers' rotate_half RoPE pairing to
    /// river's interleaved one: within each head, new row 2j = old row j and new row 2j + 1 = old row
    /// j + D/2 (j < D/2). The inverse of the permutation transformers' `convert_llama_weights_to_hf.py`
    /// applies to Meta's weights.
    public static func interleaveRoPERows(_ w: [Float], heads: Int, headSize D: Int, columns: Int) -> [Float] {
        precondition(D % 2 == 0 && w.count == heads * D * columns)
        var out = [Float](repeating: 0, count: w.count)
        for h in 0..<heads {
            for j in 0..<(D / 2) {
                for (to, from) in [(2 * j, j), (2 * j + 1, j + D / 2)] {
                    let dst = (h * D + to) * columns, src = (h * D + from) * columns
                    out.replaceSubrange(dst..<(dst + columns), with: w[src..<(src + columns)])
                }
            }
        }
        return out
    }

    /// Repeats each head block of a [heads·D, columns] projection `times` times in place (head h of the
    /// result is head h / times of the input), as transformers' `repeat_kv` does to keys and values.
    public static func repeatHeads(_ w: [Float], heads: Int, times: Int, headSize D: Int, columns: Int) -> [Float] {
        precondition(w.count == heads * D * columns)
        var out: [Float] = []
        out.reserveCapacity(w.count * times)
        for h in 0..<heads {
            let block = w[(h * D * columns)..<((h + 1) * D * columns)]
            for _ in 0..<times { out.append(contentsOf: block) }
        }
        return out
    }
}

/// The safetensors files of a Hugging Face model folder: `model.safetensors`, or the shards named by
/// `model.safetensors.index.json`'s `weight_map`.
struct WeightFiles {
    private var files: [String: SafeTensors] = [:]
    private var location: [String: String] = [:]  // tensor name → file path

    var names: [String] { Array(location.keys) }
    func contains(_ name: String) -> Bool { location[name] != nil }

    init(directory: URL) throws {
        let fm = FileManager.default
        let single = directory.appendingPathComponent("model.safetensors")
        let index = directory.appendingPathComponent("model.safetensors.index.json")
        if fm.fileExists(atPath: single.path) {
            try add(single)
            return
        }
        guard let data = fm.contents(atPath: index.path) else {
            let bin = fm.fileExists(atPath: directory.appendingPathComponent("pytorch_model.bin").path)
            throw ImportError("\(directory.path) holds neither model.safetensors nor model.safetensors.index.json\(bin ? " (pytorch_model.bin is not read: re-save the model with save_pretrained(..., safe_serialization=True))" : "")")
        }
        guard case .object(let root)? = try? JSONDecoder().decode(JSONValue.self, from: data),
              case .object(let map)? = root["weight_map"] else {
            throw ImportError("\(index.path): not a JSON object with a \"weight_map\" of tensor name → shard file")
        }
        var shardOf: [String: String] = [:]
        for (name, v) in map {
            guard case .string(let file) = v, !file.isEmpty, !file.contains("/"), file != "..", file != "." else {
                throw ImportError("\(index.path): weight_map entry '\(name)' = \(v) is not a file name in the model folder")
            }
            shardOf[name] = file
        }
        for file in Set(shardOf.values).sorted() {
            let url = directory.appendingPathComponent(file)
            guard fm.fileExists(atPath: url.path) else {
                throw ImportError("\(index.path) lists shard '\(file)', which is missing from \(directory.path)")
            }
            try add(url)
        }
        for (name, file) in shardOf.sorted(by: { $0.key < $1.key }) {
            let path = directory.appendingPathComponent(file).path
            guard location[name] == path else {
                throw ImportError("\(index.path) places tensor '\(name)' in \(file), but \(location[name].map { "it is in \($0)" } ?? "no shard holds it")")
            }
        }
    }

    private mutating func add(_ url: URL) throws {
        let st = try SafeTensors.read(from: url)
        files[url.path] = st
        for name in st.tensors.keys {
            if let other = location[name] {
                throw ImportError("tensor '\(name)' is in both \(other) and \(url.path)")
            }
            location[name] = url.path
        }
    }

    /// The tensor and the file it is in, or an error naming the missing tensor.
    func tensor(_ name: String) throws -> (SafeTensor, String) {
        guard let path = location[name], let t = files[path]?.tensors[name] else {
            let where_ = Set(files.keys).sorted().map { URL(fileURLWithPath: $0).lastPathComponent }.joined(separator: ", ")
            throw ImportError("tensor '\(name)' is missing (read \(where_); a LLaMA checkpoint needs it)")
        }
        return (t, path)
    }
}

/// IEEE 754 binary16 and bfloat16 → Float32, exactly (every half or bfloat16 value is a Float32 value).
enum HalfFloat {
    /// binary16: sign, 5 exponent bits (bias 15), 10 fraction bits; subnormals are fraction·2⁻²⁴.
    static func float(f16 h: UInt16) -> Float {
        let sign: UInt32 = UInt32(h >> 15) << 31
        let exponent = UInt32((h >> 10) & 0x1F), fraction = UInt32(h & 0x3FF)
        switch exponent {
        case 0:
            let magnitude = Float(fraction) * 0x1p-24
            return sign == 0 ? magnitude : -magnitude
        case 31: return Float(bitPattern: sign | 0x7F80_0000 | fraction << 13)       // ±inf, NaN
        default: return Float(bitPattern: sign | (exponent + 112) << 23 | fraction << 13)  // rebias 15 → 127
        }
    }

    /// bfloat16 is the upper half of a Float32.
    static func float(bf16 b: UInt16) -> Float { Float(bitPattern: UInt32(b) << 16) }

    /// The values of an F32, F16 or BF16 tensor as Float32.
    static func floats(_ t: SafeTensor, name: String, file: String) throws -> [Float] {
        let n = t.count
        switch t.dtype {
        case .f32: return try t.floats()
        case .f16, .bf16:
            let f16 = t.dtype == .f16
            return t.bytes.withUnsafeBytes { raw in
                (0..<n).map { i in
                    let bits = UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                    return f16 ? float(f16: bits) : float(bf16: bits)
                }
            }
        default:
            throw ImportError("\(file): tensor \(name) has dtype \(t.dtype.rawValue) (allowed: F32, F16, BF16)")
        }
    }
}
