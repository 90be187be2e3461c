import Foundation

/// The loss along the straight line between two checkpoints' weights,
/// w(α) = (1 − α)·w_A + α·w_B, evaluated exactly as `river eval` does (the Float32 model, the same
/// windows and batching), so α = 0 and α = 1 reproduce `river eval` of A and of B bit for bit.
///
/// The grid has `points` values α = i/(points − 1) on [0, 1], continued with the same spacing while
/// α ≥ −extend and α ≤ 1 + extend; α = 0 and α = 1 are always grid points. w(α) is formed in Float64
/// and rounded once to Float32 (exact at α = 0 and 1).
public enum Interpolation {
    /// The α grid (ascending).
    public static func alphas(points: Int, extend: Double) throws -> [Double] {
        guard points >= 2 else { throw AnalysisError("--points must be at least 2 (α = 0 and α = 1), got \(points)") }
        guard points <= 100_000 else { throw AnalysisError("--points \(points) is not allowed: at most 100000 points on [0, 1]") }
        guard extend.isFinite, extend >= 0 else { throw AnalysisError("--extend must be finite and ≥ 0, got \(extend)") }
        let spacing = 1 / Double(points - 1)
        let beyond = Int((extend / spacing + 1e-9).rounded(.down))
        guard beyond <= 100_000 else { throw AnalysisError("--extend \(extend) with --points \(points) asks for \(2 * beyond + points) points; at most 200000 allowed") }
        return (-beyond...(points - 1 + beyond)).map { Double($0) / Double(points - 1) }
    }

    /// (α, mean loss in nats per predicted token) for every α of the grid.
    public static func run(from a: Checkpoint, to b: Checkpoint, tokens: [Int32], alphas: [Double], batch: Int = 8)
        throws -> [(alpha: Double, loss: Double)] {
        try AnalysisInput.requireSameArchitecture([a, b], names: ["--from", "--to"])
        try Evaluation.requirePrediction(tokens)
        let passBatch = Evaluation.passBatchSize(batch, tokenCount: tokens.count, contextLength: a.config.model.contextLength)
        try a.config.model.checkMemory(batchSize: passBatch)
        let model = Transformer(config: a.config.model, batchSize: passBatch, seed: 0)
        let predicted = Double(tokens.count - 1)
        return alphas.map { alpha in
            let p = model.parameters
            for i in 0..<p.count {
                p[i] = Float((1 - alpha) * Double(a.parameters[i]) + alpha * Double(b.parameters[i]))
            }
            return (alpha, Evaluation.totalLoss(model: model, tokens: tokens).total / predicted)
        }
    }
}
