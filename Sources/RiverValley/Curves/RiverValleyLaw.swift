import Foundation

/// The river-valley law (ours; derivation in paper-notes/curves.md, from Wen et al. arXiv 2410.05192 §3):
///
///     L(t) = L0 + A·S1(t)^(−α) + Σ_{j=1,2} B_j·H_j(t)
///     H_j(t) = a_{j,t}·H_j(t−1) + (1 − a_{j,t})·η_t,   a_{j,t} = exp(−κ_j·η_t),   H_j(−1) = 0
///     S1(t) = Σ_{τ=0}^{t} η_τ
///
/// The river term is a power law in river time S1; each hill term is the level of a hill direction with
/// curvature scale κ_j, whose stationary loss is proportional to the LR and which relaxes toward it
/// exponentially in river time (rate κ_j per unit of Σ η: the exact solution of dH/dS = κ(η − H) over a
/// step of constant η). Parameters [L0, A, α, B1, κ1, B2, κ2], all positive; one evaluation is one O(T)
/// pass (the κ-gradients by forward recursion).
public struct RiverValleyLaw: LossCurveLaw {
    public init() {}
    public var kind: CurveLawKind { .riverValley }
    public var parameterNames: [String] { ["L0", "A", "alpha", "B1", "kappa1", "B2", "kappa2"] }
    public var domains: [ParameterDomain] { Array(repeating: .positive, count: 7) }

    public func evaluate(_ p: [Double], on run: CurveRun, at steps: [Int], gradient: Bool) -> (values: [Double], jacobian: [[Double]]) {
        let (L0, A, alpha, B1, k1, B2, k2) = (p[0], p[1], p[2], p[3], p[4], p[5], p[6])
        var values = [Double](repeating: 0, count: steps.count)
        var jac = gradient ? [[Double]](repeating: [Double](repeating: 0, count: 7), count: steps.count) : []
        let eta = run.lrs
        var h1 = 0.0, h2 = 0.0, d1 = 0.0, d2 = 0.0  // H_j and dH_j/dκ_j
        var t = -1
        var lastEta = -1.0, a1 = 1.0, a2 = 1.0  // the decay factors, recomputed only when η changes
        for (i, step) in steps.enumerated() {
            while t < step {
                t += 1
                let e = eta[t]
                if e != lastEta { a1 = exp(-k1 * e); a2 = exp(-k2 * e); lastEta = e }
                // dH/dκ = (da/dκ)(H_prev − η) + a·dH_prev/dκ, da/dκ = −η·a.
                d1 = -e * a1 * (h1 - e) + a1 * d1
                d2 = -e * a2 * (h2 - e) + a2 * d2
                h1 = a1 * h1 + (1 - a1) * e
                h2 = a2 * h2 + (1 - a2) * e
            }
            let pt = run.prefix[step]
            let sPow = exp(-alpha * log(pt))
            values[i] = L0 + A * sPow + B1 * h1 + B2 * h2
            if gradient { jac[i] = [1, sPow, -A * sPow * log(pt), h1, B1 * d1, h2, B2 * d2] }
        }
        return (values, jac)
    }

    /// The reduced law's hill coefficient split over a fast and a slow scale; κ·η_peak sets the
    /// relaxation per step, so scales are chosen relative to the peak LR (1/(κ·η) steps to relax).
    public func starts(from b: ReducedLaw.Parameters) -> [[Double]] {
        let inv = 1 / b.peak
        return [(0.0003, 0.003), (0.001, 0.01), (0.0001, 0.002), (0.003, 0.03)].map { slow, fast in
            [b.L0, b.A, b.alpha, b.B / 2, slow * inv, b.B / 2, fast * inv]
        }
    }
}
