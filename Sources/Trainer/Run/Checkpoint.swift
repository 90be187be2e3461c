import Foundation
import RiverValley

/// A training checkpoint as a safetensors file (documented in docs/trainer-format.md):
///
/// - every parameter tensor under its model name (``Transformer/tensors``), F32;
/// - optimizer state per tensor, PyTorch names: `optimizer.exp_avg.<name>`, `optimizer.exp_avg_sq.<name>`
///   (adam, adamw) or `optimizer.momentum_buffer.<name>` (momentum);
/// - `train.state`, I64 [5]: [step, optimizer step count, tokens seen, data seed (bit pattern), data
///   position (= step: batches are a pure function of (data seed, step))];
/// - metadata: "format" = "river-checkpoint-1", "step", "tokens", "wall_seconds", "config" (the run's
///   config.json), "tokenizer" (tokenizer.json), "arithmetic" (``Transformer/arithmetic`` of the process that
///   trained it; absent in checkpoints from before it was recorded and in imports), plus the CRC-32 checksums
///   the writer adds.
public struct Checkpoint {
    public static let format = "river-checkpoint-1"
    public var step: Int
    public var optimizerSteps: Int
    public var tokens: Int
    public var dataSeed: UInt64
    public var wallSeconds: Double
    public var config: RunConfig
    public var tokenizerJSON: Data
    /// Flat buffers in the model's parameter layout.
    public var parameters: [Float]
    public var firstMoment: [Float]
    public var secondMoment: [Float]
    /// ``Transformer/arithmetic`` of the process that wrote it (nil when unknown).
    public var arithmetic: String? = nil

    /// File name of the checkpoint after `step` updates.
    public static func fileName(step: Int) -> String {
        let s = String(step)
        return "step-" + String(repeating: "0", count: max(0, 6 - s.count)) + s + ".safetensors"
    }

    /// Step number encoded in a checkpoint file name, or nil.
    public static func step(fromFileName name: String) -> Int? {
        guard name.hasPrefix("step-"), name.hasSuffix(".safetensors") else { return nil }
        return Int(name.dropFirst(5).dropLast(12))
    }

    static func optimizerNames(_ alg: OptimizerAlgorithm) -> (String?, String?) {
        switch alg {
        case .sgd: return (nil, nil)
        case .momentum: return ("optimizer.momentum_buffer.", nil)
        case .adam, .adamw: return ("optimizer.exp_avg.", "optimizer.exp_avg_sq.")
        }
    }

    /// Writes the checkpoint; `extraMetadata` adds entries (e.g. an import's provenance) next to the
    /// standard ones, which it cannot replace.
    public func write(to url: URL, tensors: [ParameterTensor], extraMetadata: [String: String] = [:]) throws {
        var st = SafeTensors()
        let (firstName, secondName) = Self.optimizerNames(config.optimizer.algorithm)
        for t in tensors {
            let r = t.offset..<(t.offset + t.count)
            st[t.name] = parameters[r].withUnsafeBufferPointer { SafeTensor($0, shape: t.shape) }
            if let f = firstName, !firstMoment.isEmpty {
                st[f + t.name] = firstMoment[r].withUnsafeBufferPointer { SafeTensor($0, shape: t.shape) }
            }
            if let s = secondName, !secondMoment.isEmpty {
                st[s + t.name] = secondMoment[r].withUnsafeBufferPointer { SafeTensor($0, shape: t.shape) }
            }
        }
        st["train.state"] = SafeTensor([Int64(step), Int64(optimizerSteps), Int64(tokens),
                                        Int64(bitPattern: dataSeed), Int64(step)], shape: [5])
        st.metadata = [
            "format": Self.format, "step": String(step), "tokens": String(tokens),
            "wall_seconds": String(wallSeconds),
            "config": String(decoding: try config.json(), as: UTF8.self),
            "tokenizer": String(decoding: tokenizerJSON, as: UTF8.self),
        ]
        if let arithmetic { st.metadata["arithmetic"] = arithmetic }
        st.metadata.merge(extraMetadata) { standard, _ in standard }
        try st.write(to: url)
    }

    /// Reads and validates a checkpoint (checksums, format, every tensor present with its shape).
    public static func read(from url: URL) throws -> Checkpoint {
        let st = try SafeTensors.read(from: url)
        let path = url.path
        guard st.metadata["format"] == format else {
            throw RunError("\(path): not a river checkpoint (metadata format is \(st.metadata["format"].map { "'\($0)'" } ?? "missing"), expected '\(format)')")
        }
        guard let cj = st.metadata["config"] else { throw RunError("\(path): checkpoint has no config metadata") }
        let config: RunConfig
        do { config = try JSONDecoder().decode(RunConfig.self, from: Data(cj.utf8)) }
        catch { throw RunError("\(path): checkpoint config is unreadable: \(error)") }
        // The header's config decides every allocation below: a corrupt one is an error, not a trap.
        do { try config.model.validate() } catch { throw RunError("\(path): checkpoint config: \(error)") }
        let state = try st.tensor("train.state", path: path).int64s()
        guard state.count == 5 else { throw RunError("\(path): train.state has \(state.count) values, expected 5") }
        let layout = ParameterLayout(config.model)
        var params = [Float](repeating: 0, count: layout.count)
        let (firstName, secondName) = optimizerNames(config.optimizer.algorithm)
        var m = firstName == nil ? [Float]() : params
        var v = secondName == nil ? [Float]() : params
        func load(_ name: String, _ t: ParameterTensor, into buf: inout [Float]) throws {
            let s = try st.tensor(name, path: path)
            guard s.shape == t.shape else {
                throw RunError("\(path): tensor \(name) has shape \(s.shape), the config needs \(t.shape)")
            }
            try buf[t.offset..<(t.offset + t.count)].withUnsafeMutableBufferPointer { try s.copyFloats(into: $0) }
        }
        for t in layout.tensors {
            try load(t.name, t, into: &params)
            if let f = firstName { try load(f + t.name, t, into: &m) }
            if let s = secondName { try load(s + t.name, t, into: &v) }
        }
        return Checkpoint(step: Int(state[0]), optimizerSteps: Int(state[1]), tokens: Int(state[2]),
                          dataSeed: UInt64(bitPattern: state[3]),
                          wallSeconds: Double(st.metadata["wall_seconds"] ?? "0") ?? 0, config: config,
                          tokenizerJSON: Data((st.metadata["tokenizer"] ?? #"{"type":"byte","vocabSize":256}"#).utf8),
                          parameters: params, firstMoment: m, secondMoment: v, arithmetic: st.metadata["arithmetic"])
    }
}
