import Foundation
import LinearAlgebra
import RiverValley

/// One checkpoint's row of `river analyze sharpness`.
public struct SharpnessRow: Sendable {
    public var step: Int
    /// Learning rate of the update that produced the checkpoint, lr(step − 1).
    public var lr: Double
    /// Float64 loss on the text.
    public var loss: Double
    /// Largest Hessian eigenvalues (descending; `lambdaMax` = the first).
    public var eigenvalues: [Double]
    /// Largest eigenvalues of P^(−1/2) H P^(−1/2) (NaN without Adam state).
    public var preconditioned: [Double]
    /// Adam's edge of stability (2 + 2β₁)/((1 − β₁)·lr) (NaN for other optimizers).
    public var threshold: Double
}

/// Sharpness (λ_max of the Hessian, raw and Adam-preconditioned) of every checkpoint of a run, against
/// Adam's stability threshold — the quantity the paper's river-valley picture ties to the learning rate.
public enum Sharpness {
    /// The checkpoint files of a run directory, ascending by step.
    public static func checkpointFiles(run: String) throws -> [(step: Int, path: String)] {
        let dir = URL(fileURLWithPath: run).appendingPathComponent("checkpoints")
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: dir.path) else {
            throw AnalysisError("'\(run)' is not a run directory (no checkpoints/ folder): give a `river train --out` directory")
        }
        let found = names.compactMap { n in Checkpoint.step(fromFileName: n).map { ($0, dir.appendingPathComponent(n).path) } }
            .sorted { $0.0 < $1.0 }
        guard !found.isEmpty else { throw AnalysisError("run '\(run)' has no checkpoints yet") }
        return found.map { (step: $0.0, path: $0.1) }
    }

    /// The row of one checkpoint: `top` largest eigenvalues by Lanczos (`iterations` steps, `seed`).
    public static func row(_ ck: Checkpoint, tokens: [Int32], top: Int, iterations: Int, seed: UInt64,
                           batchSize: Int = 4) throws -> SharpnessRow {
        guard top >= 1, iterations >= top else {
            throw AnalysisError("need --top ≥ 1 and --iterations ≥ --top, got \(top) and \(iterations)")
        }
        try HessianAnalysis.checkLanczos(iterations: iterations, dimension: Transformer.parameterCount(for: ck.config.model))
        let loss = try TextLoss(checkpoint: ck, tokens: tokens, batchSize: batchSize)
        let h = TextLossHessian(loss)
        let raw = try lanczosEigen(h, count: top, iterations: iterations, seed: seed).values
        let lr = try AdamPreconditioner.learningRate(ck)
        var pre = [Double](repeating: .nan, count: top), threshold = Double.nan
        if let d = try? AdamPreconditioner.inverseSqrtDiagonal(ck) {
            pre = try lanczosEigen(ScaledOperator(h, scale: d), count: top, iterations: iterations, seed: seed).values
            threshold = AdamPreconditioner.stabilityThreshold(beta1: ck.config.optimizer.beta1, lr: lr)
        }
        return SharpnessRow(step: ck.step, lr: lr, loss: loss.loss(), eigenvalues: raw, preconditioned: pre,
                            threshold: threshold)
    }

    /// CSV header and line: step,lr,loss,lambda_max,lambda_max_preconditioned,threshold, then for
    /// top K > 1 the further eigenvalues lambda_2…lambda_K and lambda_2_preconditioned….
    public static func csvHeader(top: Int) -> [String] {
        var h = ["step", "lr", "loss", "lambda_max", "lambda_max_preconditioned", "threshold"]
        if top > 1 {
            for k in 2...top { h.append("lambda_\(k)") }
            for k in 2...top { h.append("lambda_\(k)_preconditioned") }
        }
        return h
    }

    public static func csvCells(_ r: SharpnessRow) -> [CSVTable.Cell] {
        [.i(r.step), .n(r.lr), .n(r.loss), .n(r.eigenvalues[0]), .n(r.preconditioned[0]), .n(r.threshold)]
            + r.eigenvalues.dropFirst().map { .n($0) } + r.preconditioned.dropFirst().map { .n($0) }
    }
}
