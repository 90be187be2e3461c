import Foundation
import LinearAlgebra
import RiverValley

/// Loss split by context class and into river and hill parts, at one θ.
///
/// River/hill split (function space, per context i with support Sᵢ = {j : Pᵢⱼ > 0}): the river
/// coordinate is the mass qᵢ(Sᵢ) the model puts on possible successors; relaxing every hill direction at
/// fixed river coordinate sets qᵢ on Sᵢ to qᵢ(Sᵢ)·Pᵢ, which is the exact minimiser, leaving
///   river lossᵢ = −log qᵢ(Sᵢ) + H(Pᵢ),   hill lossᵢ = KL(Pᵢ ‖ qᵢ(·|Sᵢ)) = ℓᵢ − river lossᵢ.
/// Deterministic contexts have no hill part; a Dirichlet row (full support) has no river part.
/// `distanceToRiver` is the logit-space distance to the set where Zᵢ restricted to Sᵢ equals log Pᵢ + c.
public struct BigramMetrics: Sendable, Codable {
    public var loss: Double
    public var entropyFloor: Double
    public var excess: Double { loss - entropyFloor }
    /// π-weighted mean loss within each class (nan if the class is empty).
    public var deterministicLoss: Double
    public var uncertainLoss: Double
    /// π-weighted mean excess (loss − entropy) within each class.
    public var deterministicExcess: Double
    public var uncertainExcess: Double
    /// Each class's share of the total excess: Σ_{i∈class} πᵢ(ℓᵢ − Hᵢ); the two sum to `excess`.
    public var deterministicContribution: Double
    public var uncertainContribution: Double
    public var riverLoss: Double
    public var hillLoss: Double
    public var distanceToRiver: Double
}

extension BigramObjective {
    public func metrics(_ e: BigramEvaluation) -> BigramMetrics {
        let v = self.v
        let p = data.transitions.data
        var sum = [TokenClass: (w: Double, loss: Double, excess: Double)]()
        var hill = 0.0, dist2 = 0.0
        for i in 0..<v {
            let w = data.frequencies[i]
            let h = data.entropy(ofRow: i)
            let c = data.tokenClass(ofRow: i)
            let acc = sum[c] ?? (0, 0, 0)
            sum[c] = (acc.w + w, acc.loss + w * e.rowLoss[i], acc.excess + w * (e.rowLoss[i] - h))
            var qs = 0.0, n = 0, dmean = 0.0
            for j in 0..<v where p[i * v + j] > 0 {
                qs += e.probabilities[i * v + j]
                n += 1
                dmean += e.logits[i * v + j] - log(p[i * v + j])
            }
            dmean /= Double(n)
            var kl = 0.0
            for j in 0..<v where p[i * v + j] > 0 {
                let pj = p[i * v + j]
                // log(pⱼ qS / qⱼ) with log qⱼ = zⱼ − lse, stable for tiny qⱼ.
                let logq = e.logits[i * v + j] - (e.rowLoss[i] + dot(p, e.logits, row: i))
                kl += pj * (log(pj) + log(qs) - logq)
                let dd = e.logits[i * v + j] - log(pj) - dmean
                dist2 += dd * dd
            }
            hill += w * max(kl, 0)
        }
        func mean(_ c: TokenClass, _ k: KeyPath<(w: Double, loss: Double, excess: Double), Double>) -> Double {
            guard let a = sum[c], a.w > 0 else { return .nan }
            return a[keyPath: k] / a.w
        }
        return BigramMetrics(
            loss: e.loss, entropyFloor: data.entropyFloor,
            deterministicLoss: mean(.deterministic, \.loss), uncertainLoss: mean(.uncertain, \.loss),
            deterministicExcess: mean(.deterministic, \.excess), uncertainExcess: mean(.uncertain, \.excess),
            deterministicContribution: sum[.deterministic]?.excess ?? 0,
            uncertainContribution: sum[.uncertain]?.excess ?? 0,
            riverLoss: e.loss - hill, hillLoss: hill, distanceToRiver: dist2.squareRoot())
    }

    public func metrics(at theta: [Double]) -> BigramMetrics { metrics(evaluate(theta)) }

    private func dot(_ p: [Double], _ z: [Double], row i: Int) -> Double {
        var s = 0.0
        for j in 0..<v where p[i * v + j] > 0 { s += p[i * v + j] * z[i * v + j] }
        return s
    }

    /// Per-context curvature: the trace of the Hessian of that context's own loss ℓᵢ with respect to the
    /// parameters it owns (table: its logit row, 1 − |qᵢ|²; factorised: its embedding row,
    /// tr U(diag qᵢ − qᵢqᵢᵀ)Uᵀ). Frequency-free, so it can be compared with the row's entropy.
    public func tokenCurvature(_ e: BigramEvaluation, at theta: [Double]) -> [Double] {
        let v = self.v
        return (0..<v).map { i in
            if let f = model as? FactorizedBigram {
                var s = 0.0
                for k in 0..<f.width {
                    var uq = 0.0, uuq = 0.0
                    for j in 0..<v {
                        let u = theta[f.offsetU + k * v + j], q = e.probabilities[i * v + j]
                        uq += u * q
                        uuq += u * u * q
                    }
                    s += uuq - uq * uq
                }
                return s
            }
            var q2 = 0.0
            for j in 0..<v { q2 += e.probabilities[i * v + j] * e.probabilities[i * v + j] }
            return 1 - q2
        }
    }

    /// How an eigenvector's squared mass splits over parameters owned by uncertain contexts,
    /// deterministic contexts, and shared parameters (U, b).
    public func eigenvectorMass(_ u: [Double]) -> (uncertain: Double, deterministic: Double, shared: Double) {
        let classes = data.classes
        var unc = 0.0, det = 0.0, sh = 0.0
        for (p, x) in u.enumerated() {
            let m = x * x
            if let o = model.owner(ofParameter: p) {
                if classes[o] == .uncertain { unc += m } else { det += m }
            } else { sh += m }
        }
        let t = unc + det + sh
        return t > 0 ? (unc / t, det / t, sh / t) : (0, 0, 0)
    }
}
