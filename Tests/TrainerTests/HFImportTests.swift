import Foundation
import Testing
@testable import Trainer

/// transformers' RoPE (`apply_rotary_pos_emb` with `rotate_half`) on one head vector at position t:
/// out[j] = x[j]·cos_j − x[j+D/2]·sin_j, out[j+D/2] = x[j+D/2]·cos_j + x[j]·sin_j, angle_j = t·θ^(−2j/D).
private func rotateHalfRoPE(_ x: [Double], t: Int, theta: Double) -> [Double] {
    let D = x.count, half = D / 2
    var out = x
    for j in 0..<half {
        let a = Double(t) * pow(theta, -2.0 * Double(j) / Double(D))
        out[j] = x[j] * cos(a) - x[j + half] * sin(a)
        out[j + half] = x[j + half] * cos(a) + x[j] * sin(a)
    }
    return out
}

private func matVec(_ w: [Float], rows: Int, cols: Int, _ x: [Float]) -> [Float] {
    (0..<rows).map { r in (0..<cols).reduce(Float(0)) { $0 + w[r * cols + $1] * x[$1] } }
}

/// The error message of `body`, or nil when it does not throw an ImportError.
private func importErrorMessage(_ body: () throws -> Any) -> String? {
    do { _ = try body(); return nil } catch let e as ImportError { return e.message } catch { return nil }
}

@Suite("Hugging Face LLaMA import")
struct HFImportTests {
    @Test("rotate_half RoPE then the row permutation equals the permutation then river's interleaved RoPE kernel")
    func ropePermutation() {
        var g = SplitMix64(seed: 7)
        func r() -> Float { Float(Double(g.next() >> 11) / Double(1 << 53) * 2 - 1) }
        let H = 2, D = 8, C = H * D, T = 6, theta = 10_000.0
        let wq = (0..<(C * C)).map { _ in r() }, wk = (0..<(C * C)).map { _ in r() }, x = (0..<C).map { _ in r() }
        let pq = HFLlama.interleaveRoPERows(wq, heads: H, headSize: D, columns: C)
        let pk = HFLlama.interleaveRoPERows(wk, heads: H, headSize: D, columns: C)
        // river: q, k from the permuted weights, rotated in place by Layers.rope at every position t < T.
        var qkv = [Float](repeating: 0, count: T * 3 * C)
        let rq = matVec(pq, rows: C, cols: C, x), rk = matVec(pk, rows: C, cols: C, x)
        for t in 0..<T {
            qkv.replaceSubrange((t * 3 * C)..<(t * 3 * C + C), with: rq)
            qkv.replaceSubrange((t * 3 * C + C)..<(t * 3 * C + 2 * C), with: rk)
        }
        var cosT = [Float](repeating: 0, count: T * D / 2), sinT = cosT
        for t in 0..<T {
            for i in 0..<(D / 2) {
                let a = Double(t) * pow(theta, -2.0 * Double(i) / Double(D))
                cosT[t * D / 2 + i] = Float(cos(a)); sinT[t * D / 2 + i] = Float(sin(a))
            }
        }
        qkv.withUnsafeMutableBufferPointer { p in
            cosT.withUnsafeBufferPointer { c in
                sinT.withUnsafeBufferPointer { s in
                    Layers.rope(qkv: p.baseAddress!, cos: c.baseAddress!, sin: s.baseAddress!, B: 1, T: T, C: C, D: D, sign: 1)
                }
            }
        }
        // transformers: q, k from the original weights, rotate_half RoPE per head (in Double).
        let hq = matVec(wq, rows: C, cols: C, x), hk = matVec(wk, rows: C, cols: C, x)
        for t in 0..<T {
            var scoreHF = [Double](repeating: 0, count: H), scoreRiver = scoreHF
            for h in 0..<H {
                let head = (h * D)..<((h + 1) * D)
                let q = rotateHalfRoPE(hq[head].map(Double.init), t: t, theta: theta)
                let k = rotateHalfRoPE(hk[head].map(Double.init), t: t, theta: theta)
                for j in 0..<(D / 2) {  // river row 2j holds HF row j, row 2j+1 holds HF row j + D/2
                    for (riverRow, hfRow) in [(2 * j, j), (2 * j + 1, j + D / 2)] {
                        #expect(abs(Double(qkv[t * 3 * C + h * D + riverRow]) - q[hfRow]) < 1e-5)
                        #expect(abs(Double(qkv[t * 3 * C + C + h * D + riverRow]) - k[hfRow]) < 1e-5)
                    }
                }
                scoreHF[h] = zip(q, k).reduce(0) { $0 + $1.0 * $1.1 }
                scoreRiver[h] = (0..<D).reduce(0.0) { $0 + Double(qkv[t * 3 * C + h * D + $1]) * Double(qkv[t * 3 * C + C + h * D + $1]) }
                #expect(abs(scoreHF[h] - scoreRiver[h]) < 1e-4, "attention score q·k of head \(h) at t=\(t)")
            }
        }
    }

    @Test("the RoPE row permutation on a labelled matrix, and repeat_kv's head order")
    func permutationLayout() {
        // Rows labelled by index: a [2 heads · 4, 1] matrix.
        let w = (0..<8).map(Float.init)
        #expect(HFLlama.interleaveRoPERows(w, heads: 2, headSize: 4, columns: 1) == [0, 2, 1, 3, 4, 6, 5, 7])
        // Two KV heads of size 2 with 1 column, each repeated for 3 query heads.
        #expect(HFLlama.repeatHeads([1, 2, 3, 4], heads: 2, times: 3, headSize: 2, columns: 1)
            == [1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4])
    }

    @Test("binary16 and bfloat16 convert exactly (all 65536 half patterns against Swift's Float16)")
    func halfConversion() {
        for bits in 0...UInt16.max {
            let ours = HalfFloat.float(f16: bits), reference = Float(Float16(bitPattern: bits))
            if reference.isNaN { #expect(ours.isNaN); continue }
            #expect(ours.bitPattern == reference.bitPattern, "f16 0x\(String(bits, radix: 16))")
        }
        #expect(HalfFloat.float(bf16: 0x3F80) == 1)
        #expect(HalfFloat.float(bf16: 0xC040) == -3)
        #expect(HalfFloat.float(bf16: 0x0001) == Float(bitPattern: 0x0001_0000))
        #expect(HalfFloat.float(bf16: 0x7F80) == .infinity)
    }

    static let base = """
    {"architectures": ["LlamaForCausalLM"], "attention_bias": false, "attention_dropout": 0.0, "bos_token_id": 1,
     "dtype": "float32", "eos_token_id": 2, "head_dim": 8, "hidden_act": "silu", "hidden_size": 32,
     "initializer_range": 0.02, "intermediate_size": 48, "max_position_embeddings": 16, "mlp_bias": false,
     "model_type": "llama", "num_attention_heads": 4, "num_hidden_layers": 2, "num_key_value_heads": 4,
     "pad_token_id": null, "pretraining_tp": 1, "rms_norm_eps": 1e-06,
     "rope_parameters": {"rope_theta": 500000.0, "rope_type": "default"}, "tie_word_embeddings": true,
     "transformers_version": "5.24.0", "use_cache": true, "vocab_size": 64}
    """

    /// The base config with `key` set to the JSON `value` (nil removes it).
    static func config(_ changes: [String: String?]) -> Data {
        var obj = try! JSONSerialization.jsonObject(with: Data(base.utf8)) as! [String: Any]
        for (k, v) in changes {
            obj[k] = v.map { try! JSONSerialization.jsonObject(with: Data($0.utf8), options: .fragmentsAllowed) }
        }
        return try! JSONSerialization.data(withJSONObject: obj)
    }

    @Test("config.json: a transformers 5 file and a transformers 4 file (rope_theta, rope_scaling null) map to river's config")
    func parsesConfig() throws {
        let c = try HFLlamaConfig.parse(Data(Self.base.utf8), path: "config.json")
        let m = try c.transformerConfig()
        #expect(m == TransformerConfig(vocabSize: 64, contextLength: 16, width: 32, layers: 2, heads: 4, mlpHidden: 48,
                                       tiedEmbeddings: true, ropeTheta: 500_000, normEpsilon: 1e-6))
        let v4 = Self.config(["rope_parameters": nil, "rope_theta": "10000.0", "rope_scaling": "null", "head_dim": nil,
                              "tie_word_embeddings": "false", "torch_dtype": "\"bfloat16\""])
        let c4 = try HFLlamaConfig.parse(v4, path: "config.json")
        #expect(c4.ropeTheta == 10_000 && !c4.tieWordEmbeddings)
        #expect(try c.transformerConfig(contextLength: 8).contextLength == 8)
        // SmolLM-style keys (nanotron): rope_interleaved false, is_llama_config, transformers.js_config.
        let smol = Self.config(["rope_interleaved": "false", "is_llama_config": "true",
                                "transformers.js_config": #"{"kv_cache_dtype": {"fp16": "float16"}}"#])
        #expect(try HFLlamaConfig.parse(smol, path: "config.json") == c)
        #expect(importErrorMessage { try c.transformerConfig(contextLength: 17) }?.contains("must be in 1...16") == true)
    }

    @Test("unsupported settings are errors naming the key and its value", arguments: [
        (["rope_parameters": #"{"rope_theta": 10000.0, "rope_type": "linear", "factor": 2.0}"#], "'rope_parameters.factor' = 2"),
        (["rope_parameters": #"{"rope_theta": 10000.0, "rope_type": "llama3"}"#], "'rope_parameters.rope_type' = \"llama3\""),
        (["rope_scaling": #"{"type": "linear", "factor": 4.0}"#], #"'rope_scaling' = {"factor":4,"type":"linear"}"#),
        (["attention_bias": "true"], "'attention_bias' = true is not supported"),
        (["mlp_bias": "true"], "'mlp_bias' = true is not supported"),
        (["hidden_act": "\"gelu\""], "'hidden_act' = \"gelu\" is not supported"),
        (["rope_interleaved": "true"], "'rope_interleaved' = true is not supported"),
        (["model_type": "\"mistral\""], "'model_type' = \"mistral\""),
        (["head_dim": "16"], "'head_dim' = 16 is not supported"),
        (["sliding_window": "4096"], "unknown config key 'sliding_window' = 4096"),
        (["quantization_config": #"{"bits": 4}"#], "quantized checkpoints are not supported"),
        (["hidden_size": nil], "'hidden_size' is missing"),
        (["hidden_size": "32.5"], "'hidden_size' = 32.5 must be a positive integer"),
        (["num_attention_heads": "5"], "num_attention_heads = 5 does not divide hidden_size = 32"),
        (["num_key_value_heads": "3"], "num_key_value_heads = 3 does not divide num_attention_heads = 4"),
        (["tie_word_embeddings": "1"], "'tie_word_embeddings' = 1 must be true or false"),
        (["rms_norm_eps": "0"], "'rms_norm_eps' = 0.0 must be > 0"),
        (["vocab_size": "1000000000", "hidden_size": "32"], "more than 1000000000 parameters"),
    ] as [([String: String?], String)])
    func rejectsUnsupported(_ changes: [String: String?], _ expected: String) {
        let message = importErrorMessage {
            try HFLlamaConfig.parse(Self.config(changes), path: "config.json").transformerConfig()
        }
        #expect(message?.contains(expected) == true, "got \(message ?? "no ImportError")")
    }

    @Test("an unknown key the user vouches for is ignored")
    func ignoredKey() throws {
        let data = Self.config(["my_note": "\"hello\""])
        #expect(importErrorMessage { try HFLlamaConfig.parse(data, path: "c") }?.contains("--ignore-config-key my_note") == true)
        #expect(try HFLlamaConfig.parse(data, path: "c", ignoring: ["my_note"]).hiddenSize == 32)
    }
}
