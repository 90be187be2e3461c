import Foundation
import LinearAlgebra
import RiverValley

/// Draws (context, next) pairs from the bigram language: context ~ π, next ~ P(context, ·).
/// Walker alias tables, so each draw costs two uniforms and O(1) work. Seeded.
public final class BigramSampler: @unchecked Sendable {
    public let data: BigramDistribution
    let rng: RandomSource
    let contextTable: AliasTable
    let rowTables: [AliasTable]

    public init(_ data: BigramDistribution, seed: UInt64) {
        self.data = data
        rng = RandomSource(seed: seed)
        contextTable = AliasTable(data.frequencies)
        let v = data.vocabularySize
        rowTables = (0..<v).map { AliasTable(data.transitions.row($0)) }
    }

    public func sample() -> (context: Int, next: Int) {
        let i = contextTable.draw(rng.uniform(), rng.uniform())
        return (i, rowTables[i].draw(rng.uniform(), rng.uniform()))
    }

    public func batch(_ size: Int) -> [(context: Int, next: Int)] { (0..<size).map { _ in sample() } }

    /// An independent sampler in the same state: it draws exactly what this one would draw next
    /// (a decay branch sees the same data stream as the main run it forks from).
    public func copy() -> BigramSampler {
        let c = BigramSampler(data, contextTable: contextTable, rowTables: rowTables, seed: rng.seed)
        c.rng.restore(rng.state())
        return c
    }

    private init(_ data: BigramDistribution, contextTable: AliasTable, rowTables: [AliasTable], seed: UInt64) {
        self.data = data
        rng = RandomSource(seed: seed)
        self.contextTable = contextTable
        self.rowTables = rowTables
    }
}

/// Walker's alias method for a discrete distribution.
struct AliasTable: Sendable {
    let probability: [Double]
    let alias: [Int]

    init(_ weights: [Double]) {
        let n = weights.count
        let total = weights.reduce(0, +)
        var scaled = weights.map { $0 / total * Double(n) }
        var prob = [Double](repeating: 1, count: n), alias = Array(0..<n)
        var small = scaled.indices.filter { scaled[$0] < 1 }, large = scaled.indices.filter { scaled[$0] >= 1 }
        while let s = small.popLast(), let l = large.popLast() {
            prob[s] = scaled[s]
            alias[s] = l
            scaled[l] -= 1 - scaled[s]
            if scaled[l] < 1 { small.append(l) } else { large.append(l) }
        }
        // Leftovers are 1 up to round-off; a zero-weight entry never ends up in `large`.
        self.probability = prob
        self.alias = alias
    }

    func draw(_ u1: Double, _ u2: Double) -> Int {
        let n = probability.count
        let k = min(Int(u1 * Double(n)), n - 1)
        return u2 < probability[k] ? k : alias[k]
    }
}

extension BigramObjective {
    /// The logit gradient of the mean cross-entropy over a batch: row i gets Σ_{s: iₛ=i}(qᵢ − e_{jₛ})/B.
    public func minibatchLogitGradient(_ e: BigramEvaluation, batch: [(context: Int, next: Int)]) -> [Double] {
        let v = self.v
        var g = [Double](repeating: 0, count: v * v)
        let w = 1 / Double(batch.count)
        for (i, j) in batch {
            for k in 0..<v { g[i * v + k] += w * e.probabilities[i * v + k] }
            g[i * v + j] -= w
        }
        return g
    }

    /// The minibatch stochastic gradient at θ (unbiased for the population gradient).
    public func minibatchGradient(_ theta: [Double], batch: [(context: Int, next: Int)]) -> [Double] {
        let e = evaluate(theta)
        return model.pullback(theta, minibatchLogitGradient(e, batch: batch))
    }

    /// Applies the one-sample gradient covariance Σ = E[g gᵀ] − ḡḡᵀ (g the gradient of one drawn pair)
    /// to u: Σu = Jᵀ C (J u) − ḡ (ḡ·u), with C row-block πᵢ[(qᵢ−Pᵢ)(qᵢ−Pᵢ)ᵀ + diag Pᵢ − PᵢPᵢᵀ].
    /// A batch of B pairs has covariance Σ/B.
    public func gradientCovarianceApply(_ e: BigramEvaluation, at theta: [Double], _ u: [Double]) -> [Double] {
        let v = self.v
        let p = data.transitions.data
        let dz = model.pushforward(theta, u)
        var c = [Double](repeating: 0, count: v * v)
        for i in 0..<v {
            let w = data.frequencies[i]
            if w == 0 { continue }
            var rq = 0.0, pp = 0.0
            for j in 0..<v {
                rq += (e.probabilities[i * v + j] - p[i * v + j]) * dz[i * v + j]
                pp += p[i * v + j] * dz[i * v + j]
            }
            for j in 0..<v {
                let pj = p[i * v + j]
                c[i * v + j] = w * ((e.probabilities[i * v + j] - pj) * rq + pj * (dz[i * v + j] - pp))
            }
        }
        var out = model.pullback(theta, c)
        let gbar = model.pullback(theta, e.logitGradient)
        var gu = 0.0
        for k in u.indices { gu += gbar[k] * u[k] }
        for k in out.indices { out[k] -= gbar[k] * gu }
        return out
    }

    /// Tr Σ of the one-sample gradient: E|g|² − |ḡ|², exact.
    public func gradientNoiseTrace(_ e: BigramEvaluation, at theta: [Double]) -> Double {
        let v = self.v
        let p = data.transitions.data
        var second = 0.0
        for i in 0..<v {
            let w = data.frequencies[i]
            if w == 0 { continue }
            // E_j |r|² with r = qᵢ − e_j: |q − P|² + 1 − |P|².
            var r2 = 1.0
            for j in 0..<v {
                let d = e.probabilities[i * v + j] - p[i * v + j]
                r2 += d * d - p[i * v + j] * p[i * v + j]
            }
            if let f = model as? FactorizedBigram {
                // E|U r|² = |U(q−P)|² + Σⱼ Pⱼ|U₍:,ⱼ₎|² − |U P|².
                var ur = 0.0
                for k in 0..<f.width {
                    var a = 0.0, b = 0.0, c = 0.0
                    for j in 0..<v {
                        let u = theta[f.offsetU + k * v + j], pj = p[i * v + j]
                        a += u * (e.probabilities[i * v + j] - pj)
                        b += pj * u * u
                        c += u * pj
                    }
                    ur += a * a + b - c * c
                }
                var e2 = f.bias ? 1.0 : 0.0
                for k in 0..<f.width { e2 += theta[i * f.width + k] * theta[i * f.width + k] }
                second += w * (ur + e2 * r2)
            } else if model is TableBigram {
                second += w * r2
            } else {
                preconditionFailure("gradientNoiseTrace supports the table and factorised models")
            }
        }
        let gbar = model.pullback(theta, e.logitGradient)
        return second - gbar.reduce(0) { $0 + $1 * $1 }
    }
}

/// The one-sample gradient covariance Σ of a bigram objective at θ, as a `SymmetricOperator`
/// (so Lanczos/Hutchinson/dense apply; restrict to hill directions by projecting).
public struct BigramGradientCovariance<M: BigramModel>: SymmetricOperator {
    public let objective: BigramObjective<M>
    public let point: [Double]
    public let evaluation: BigramEvaluation
    public init(_ objective: BigramObjective<M>, at point: [Double]) {
        self.objective = objective
        self.point = point
        evaluation = objective.evaluate(point)
    }
    public var dimension: Int { objective.dimension }
    public func apply(_ v: [Double]) -> [Double] { objective.gradientCovarianceApply(evaluation, at: point, v) }
}
