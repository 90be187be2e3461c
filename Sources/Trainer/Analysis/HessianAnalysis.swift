import Foundation
import LinearAlgebra
import RiverValley

/// The diagonal preconditioner of a checkpoint's Adam/AdamW state and its edge of stability.
public enum AdamPreconditioner {
    /// d = P^(−1/2) for P = diag(√v̂ + ε), v̂ = v / (1 − β₂ᵗ) the bias-corrected second moment after t
    /// optimizer steps (torch.optim.Adam's denominator). Throws unless the checkpoint holds Adam state.
    public static func inverseSqrtDiagonal(_ ck: Checkpoint) throws -> [Double] {
        let o = ck.config.optimizer
        guard o.algorithm == .adam || o.algorithm == .adamw else {
            throw AnalysisError("the checkpoint was trained with \(o.algorithm.rawValue); the preconditioned Hessian needs Adam or AdamW state (optimizer.exp_avg_sq)")
        }
        guard ck.optimizerSteps >= 1, ck.secondMoment.count == ck.parameters.count else {
            throw AnalysisError("the checkpoint holds no Adam second moment yet (optimizer steps: \(ck.optimizerSteps)); use a checkpoint after at least one step")
        }
        let correction = 1 - Foundation.pow(o.beta2, Double(ck.optimizerSteps))
        return ck.secondMoment.map { v in 1 / ((Double(v) / correction).squareRoot() + o.epsilon).squareRoot() }
    }

    /// Adam's edge of stability for the preconditioned sharpness, (2 + 2β₁) / ((1 − β₁)·η)
    /// (Cohen et al. 2022, §3: EMA-momentum GD is stable on a quadratic iff λ < (2 + 2β₁)/((1 − β₁)η)).
    public static func stabilityThreshold(beta1: Double, lr: Double) -> Double {
        (2 + 2 * beta1) / ((1 - beta1) * lr)
    }

    /// The learning rate of the update that produced the checkpoint: lr(step − 1) of its schedule.
    public static func learningRate(_ ck: Checkpoint) throws -> Double {
        try ck.config.schedule.build().lr(at: max(ck.step - 1, 0))
    }
}

/// What `river analyze hessian` computes.
public struct HessianOptions: Sendable {
    /// Number of extreme eigenvalues (K).
    public var top = 5
    /// Largest (descending) or smallest (ascending, `--bottom`).
    public var end: SpectrumEnd = .largest
    /// Lanczos steps (M ≥ K), also the SLQ steps.
    public var iterations = 30
    /// Hutchinson probes for the trace (0: no trace).
    public var traceProbes = 10
    /// SLQ runs for the spectral density (0: no density).
    public var densityRuns = 0
    /// Analyse P^(−1/2) H P^(−1/2) with the checkpoint's Adam preconditioner.
    public var preconditioned = false
    public var seed: UInt64 = 0
    public init() {}
}

/// The output of `river analyze hessian` (printed through the CLI's one JSON writer, which writes a
/// non-finite number such as the unpreconditioned `threshold` as `null`).
public struct HessianReport: Encodable, Sendable {
    public var step: Int
    /// Float64 loss at the checkpoint (nats per predicted token).
    public var loss: Double
    /// K extreme eigenvalues, descending (largest) or ascending (smallest).
    public var eigenvalues: [Double]
    /// ‖A y − θ y‖ of each Ritz pair: an eigenvalue lies within this distance of θ.
    public var residuals: [Double]
    public var trace: Double
    public var traceStderr: Double
    /// Mean wall seconds per Hessian-vector product.
    public var hvpSeconds: Double
    public var hvps: Int
    public var parameters: Int
    public var tokens: Int
    public var preconditioned: Bool
    /// Learning rate of the last update, and the stability threshold for the analysed operator
    /// ((2 + 2β₁)/((1 − β₁)η) when preconditioned; NaN otherwise).
    public var lr: Double
    public var threshold: Double

    enum CodingKeys: String, CodingKey {
        case step, loss, eigenvalues, residuals, trace, traceStderr = "trace_stderr", hvpSeconds = "hvp_seconds"
        case hvps, parameters, tokens, preconditioned, lr, threshold
    }
}

/// Top-k / bottom-k eigenvalues (Lanczos with full reorthogonalisation), Hutchinson trace and SLQ density
/// of a checkpoint's Hessian on a text — the project's one spectral engine on ``TextLossHessian``.
public enum HessianAnalysis {
    public static func run(_ loss: TextLoss, checkpoint ck: Checkpoint, options o: HessianOptions) throws
        -> (report: HessianReport, density: SpectralDensity?) {
        guard o.top >= 1 else { throw AnalysisError("--top must be at least 1, got \(o.top)") }
        guard o.iterations >= o.top else {
            throw AnalysisError("--iterations (\(o.iterations)) must be at least --top (\(o.top))")
        }
        guard o.traceProbes >= 0, o.densityRuns >= 0 else { throw AnalysisError("probe and run counts must be ≥ 0") }
        try HessianAnalysis.checkLanczos(iterations: o.iterations, dimension: loss.dimension)
        guard o.traceProbes <= 100_000, o.densityRuns <= 100_000 else {
            throw AnalysisError("--trace-probes \(o.traceProbes) / --probes \(o.densityRuns): at most 100000 each")
        }
        let lr = try AdamPreconditioner.learningRate(ck)
        let hessian = TextLossHessian(loss)
        let value = loss.loss()
        func analyse<A: SymmetricOperator>(_ op: A) throws -> (HessianReport, SpectralDensity?) {
            let ritz = try lanczosEigen(op, count: o.top, end: o.end, iterations: o.iterations, seed: o.seed)
            let trace = o.traceProbes > 0 ? hutchinsonTrace(op, probes: o.traceProbes, seed: o.seed &+ 1) : nil
            let density = o.densityRuns > 0
                ? try stochasticLanczosQuadrature(op, iterations: o.iterations, runs: o.densityRuns, seed: o.seed &+ 2) : nil
            let report = HessianReport(
                step: ck.step, loss: value, eigenvalues: ritz.values, residuals: ritz.residuals,
                trace: trace?.estimate ?? .nan, traceStderr: trace?.standardError ?? .nan,
                hvpSeconds: loss.secondsPerHVP, hvps: loss.hvpCount, parameters: loss.dimension,
                tokens: loss.windows.predicted, preconditioned: o.preconditioned, lr: lr,
                threshold: o.preconditioned ? AdamPreconditioner.stabilityThreshold(beta1: ck.config.optimizer.beta1, lr: lr) : .nan)
            return (report, density)
        }
        if o.preconditioned {
            return try analyse(ScaledOperator(hessian, scale: try AdamPreconditioner.inverseSqrtDiagonal(ck)))
        }
        return try analyse(hessian)
    }

    /// Most Lanczos steps an analysis takes: each is one Hessian-vector product (two Float64 gradients of the
    /// whole text) and full reorthogonalisation keeps every Lanczos vector, so more steps than this are
    /// neither affordable nor useful for extreme eigenvalues or a density.
    public static let maxLanczosIterations = 1000

    /// Throws unless `iterations` Lanczos steps fit: at most ``maxLanczosIterations`` and the dimension, and
    /// the basis (iterations × dimension Float64 values) within the memory budget.
    public static func checkLanczos(iterations: Int, dimension: Int) throws {
        guard iterations <= min(maxLanczosIterations, dimension) else {
            throw AnalysisError("--iterations \(iterations) is not allowed: at most \(min(maxLanczosIterations, dimension)) (\(maxLanczosIterations), and no more than the \(dimension) parameters)")
        }
        try MemoryBudget.check("a Lanczos basis of \(iterations) vectors × \(dimension) parameters (Float64)",
                               elements: [iterations, dimension], bytesPerElement: 8)
    }

    /// The density as CSV `lambda,density` (Gaussian-smoothed SLQ, `SpectralDensity.smoothed`).
    public static func densityCSV(_ density: SpectralDensity, points: Int = 512) throws -> String {
        let (grid, phi) = try density.smoothed(points: points)
        var table = CSVTable(["lambda", "density"])
        for (x, y) in zip(grid, phi) { table.append([.n(x), .n(y)]) }
        return table.text
    }
}
