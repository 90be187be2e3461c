import Foundation

/// The LR-annealing ("momentum") law of Tissue et al. (arXiv 2408.11029, eq. (1)):
///
///     L(t) = L0 + A·S1(t)^(−α) − C·S2(t)
///     S1(t) = Σ_{τ=0}^{t} η_τ,   S2(t) = Σ_{i=1}^{t} m_i,   m_i = λ·m_{i−1} + (η_{i−1} − η_i),  m_0 = 0
///
/// (S2 is the annealing area: each LR drop is remembered with weight λ^(i−k)). S1 uses the same
/// convention as the Multi-Power Law here (the warmup included, η_t counted at step t), so the two laws
/// see the same river time. Parameters [L0, A, α, C, λ]; λ ∈ (0, 1), the others positive.
/// One evaluation is one O(T) pass (with dm_i/dλ = m_{i−1} + λ·dm_{i−1}/dλ for the gradient).
public struct MomentumLaw: LossCurveLaw {
    public init() {}
    public var kind: CurveLawKind { .momentum }
    public var parameterNames: [String] { ["L0", "A", "alpha", "C", "lambda"] }
    public var domains: [ParameterDomain] { [.positive, .positive, .positive, .positive, .unit] }

    public func evaluate(_ p: [Double], on run: CurveRun, at steps: [Int], gradient: Bool) -> (values: [Double], jacobian: [[Double]]) {
        let (L0, A, alpha, C, lambda) = (p[0], p[1], p[2], p[3], p[4])
        var values = [Double](repeating: 0, count: steps.count)
        var jac = gradient ? [[Double]](repeating: [Double](repeating: 0, count: 5), count: steps.count) : []
        let eta = run.lrs
        var m = 0.0, dm = 0.0, s2 = 0.0, ds2 = 0.0
        var t = 0
        for (i, step) in steps.enumerated() {
            while t < step {
                t += 1
                dm = m + lambda * dm
                m = lambda * m + (eta[t - 1] - eta[t])
                s2 += m
                ds2 += dm
            }
            let pt = run.prefix[step]
            let sPow = exp(-alpha * log(pt))
            values[i] = L0 + A * sPow - C * s2
            if gradient { jac[i] = [1, sPow, -A * sPow * log(pt), -s2, -C * ds2] }
        }
        return (values, jac)
    }

    /// The reduced law's hill coefficient B matches a saturated annealing area: C/(1 − λ) ≈ B.
    public func starts(from b: ReducedLaw.Parameters) -> [[Double]] {
        [0.999, 0.99, 0.9995].map { lambda in [b.L0, b.A, b.alpha, b.B * (1 - lambda), lambda] }
    }
}
