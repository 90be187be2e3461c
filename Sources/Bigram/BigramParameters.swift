import Foundation
import LinearAlgebra
import RiverValley

/// Reading and writing bigram parameters as safetensors (Float64):
/// table → `W` [V, V]; factorised → `E` [V, d], `U` [d, V] and optional `b` [V].
public enum BigramParameters {
    /// Loads a table model's θ.
    public static func table(from file: SafeTensors, vocabularySize v: Int, path: String) throws -> (TableBigram, [Double]) {
        let w = try tensor(file, "W", shape: [v, v], path: path, model: "table")
        for name in ["E", "U", "b"] where file[name] != nil {
            throw BigramError.invalid("\(path): tensor '\(name)' belongs to the factorized model; the table model takes only W [\(v), \(v)]")
        }
        return (try TableBigram(vocabularySize: v), w)
    }

    /// Loads a factorised model and its θ (d from E's shape; bias iff `b` is present).
    public static func factorized(from file: SafeTensors, vocabularySize v: Int, path: String) throws -> (FactorizedBigram, [Double]) {
        guard let e = file["E"] else {
            throw BigramError.invalid("\(path): the factorized model needs tensors E [V, d], U [d, V] and optional b [V]; E is missing\(file["W"] != nil ? " (W is for --model table)" : "")")
        }
        try require(e.shape.count == 2 && e.shape[0] == v,
                    "\(path): E has shape \(e.shape); expected [V, d] with V = \(v)")
        let d = e.shape[1]
        try require(d >= 1, "\(path): E has width d = \(d); need d ≥ 1")
        let eData = try tensor(file, "E", shape: [v, d], path: path, model: "factorized")
        let u = try tensor(file, "U", shape: [d, v], path: path, model: "factorized")
        let b = file["b"] == nil ? nil : try tensor(file, "b", shape: [v], path: path, model: "factorized")
        let model = try FactorizedBigram(vocabularySize: v, width: d, bias: b != nil)
        return (model, try model.parameters(E: eData, U: u, b: b))
    }

    static func tensor(_ file: SafeTensors, _ name: String, shape: [Int], path: String, model: String) throws -> [Double] {
        guard let t = file[name] else {
            throw BigramError.invalid("\(path): tensor '\(name)' \(shape) is missing (needed by the \(model) model)")
        }
        try require(t.dtype == .f64, "\(path): tensor '\(name)' is \(t.dtype.rawValue); it must be F64 (Float64)")
        try require(t.shape == shape, "\(path): tensor '\(name)' has shape \(t.shape); expected \(shape)")
        let x = try t.doubles()
        if let bad = x.firstIndex(where: { !$0.isFinite }) {
            throw BigramError.invalid("\(path): tensor '\(name)' entry \(bad) is \(x[bad]); parameters must be finite")
        }
        return x
    }

    /// The safetensors file for a model's θ.
    public static func file<M: BigramModel>(_ model: M, _ theta: [Double]) -> SafeTensors {
        let v = model.vocabularySize
        if let f = model as? FactorizedBigram {
            let d = f.width
            var t = ["E": SafeTensor(Array(theta[0..<(v * d)]), shape: [v, d]),
                     "U": SafeTensor(Array(theta[(v * d)..<(2 * v * d)]), shape: [d, v])]
            if f.bias { t["b"] = SafeTensor(Array(theta[(2 * v * d)...]), shape: [v]) }
            return SafeTensors(tensors: t)
        }
        return SafeTensors(tensors: ["W": SafeTensor(theta, shape: [v, v])])
    }
}
