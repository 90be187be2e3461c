import Foundation
import LinearAlgebra
import RiverValley

/// Everything the population loss needs at one θ: logits, softmax, per-context losses and the logit
/// gradient G = πᵢ(qᵢ − Pᵢ).
public struct BigramEvaluation: Sendable {
    public let logits: [Double]
    /// qᵢⱼ = softmax(Zᵢ)ⱼ, row-major V×V.
    public let probabilities: [Double]
    /// ℓᵢ = lse(Zᵢ) − Σⱼ Pᵢⱼ Zᵢⱼ, the cross-entropy of context i.
    public let rowLoss: [Double]
    /// L = Σᵢ πᵢ ℓᵢ.
    public let loss: Double
    /// Gᵢⱼ = ∂L/∂Zᵢⱼ = πᵢ(qᵢⱼ − Pᵢⱼ).
    public let logitGradient: [Double]
}

/// The exact population cross-entropy of a bigram model on a bigram language, in Float64.
///
/// A `Landscape`, so the core's river tracer, dynamics and spectra apply unchanged. Value, gradient
/// and HVP are analytic; the dense Hessian is assembled analytically for the two built-in models.
public struct BigramObjective<M: BigramModel>: Landscape {
    public let model: M
    public let data: BigramDistribution

    public init(model: M, data: BigramDistribution) throws {
        try require(model.vocabularySize == data.vocabularySize,
                    "model vocabulary \(model.vocabularySize) does not match the data's V = \(data.vocabularySize)")
        self.model = model
        self.data = data
    }

    public var dimension: Int { model.parameterCount }
    var v: Int { data.vocabularySize }

    public func evaluate(_ theta: [Double]) -> BigramEvaluation {
        precondition(theta.count == dimension, "θ has \(theta.count) entries, the model has \(dimension)")
        let z = model.logits(theta)
        let v = self.v
        var q = [Double](repeating: 0, count: v * v)
        var rowLoss = [Double](repeating: 0, count: v)
        var g = [Double](repeating: 0, count: v * v)
        var loss = 0.0
        let p = data.transitions.data
        z.withUnsafeBufferPointer { zp in
            q.withUnsafeMutableBufferPointer { qp in
                for i in 0..<v {
                    let lse = Softmax.apply(UnsafeBufferPointer(rebasing: zp[(i * v)..<((i + 1) * v)]),
                                            into: UnsafeMutableBufferPointer(rebasing: qp[(i * v)..<((i + 1) * v)]))
                    var dot = 0.0
                    for j in 0..<v where p[i * v + j] > 0 { dot += p[i * v + j] * zp[i * v + j] }
                    rowLoss[i] = lse - dot
                    let w = data.frequencies[i]
                    loss += w * rowLoss[i]
                    for j in 0..<v { g[i * v + j] = w * (qp[i * v + j] - p[i * v + j]) }
                }
            }
        }
        return BigramEvaluation(logits: z, probabilities: q, rowLoss: rowLoss, loss: loss, logitGradient: g)
    }

    public func value(at w: [Double]) -> Double { evaluate(w).loss }

    public func gradient(at w: [Double], into gradient: inout [Double]) {
        gradient = model.pullback(w, evaluate(w).logitGradient)
    }

    /// A·dZ with A the logit Hessian: row i ↦ πᵢ(qᵢ ⊙ dZᵢ − qᵢ (qᵢ·dZᵢ)).
    func logitHessianApply(_ q: [Double], _ dz: [Double]) -> [Double] {
        let v = self.v
        var out = [Double](repeating: 0, count: v * v)
        for i in 0..<v {
            let w = data.frequencies[i]
            if w == 0 { continue }
            var s = 0.0
            for j in 0..<v { s += q[i * v + j] * dz[i * v + j] }
            for j in 0..<v { out[i * v + j] = w * q[i * v + j] * (dz[i * v + j] - s) }
        }
        return out
    }

    /// ∇²L(θ)·u using a precomputed evaluation at θ.
    public func hessianVectorProduct(_ e: BigramEvaluation, at theta: [Double], _ u: [Double]) -> [Double] {
        let dz = model.pushforward(theta, u)
        var out = model.pullback(theta, logitHessianApply(e.probabilities, dz))
        if !(model is TableBigram) {
            let s = model.secondOrder(theta, e.logitGradient, u)
            for p in out.indices { out[p] += s[p] }
        }
        return out
    }

    public func hessianVectorProduct(at w: [Double], _ u: [Double]) -> [Double] {
        hessianVectorProduct(evaluate(w), at: w, u)
    }

    /// The dense Hessian, assembled analytically for `TableBigram` and `FactorizedBigram`
    /// (column by column from HVPs for any other model).
    public func hessian(at w: [Double]) -> Matrix { hessian(evaluate(w), at: w) }

    public func hessian(_ e: BigramEvaluation, at w: [Double]) -> Matrix {
        if model is TableBigram { return tableHessian(e) }
        if let f = model as? FactorizedBigram { return factorizedHessian(f, e, w) }
        return denseMatrix(of: BigramHessian(self, at: w))
    }

    func tableHessian(_ e: BigramEvaluation) -> Matrix {
        let v = self.v, n = v * v
        var h = Matrix(rows: n, cols: n)
        for i in 0..<v {
            let w = data.frequencies[i]
            for j in 0..<v {
                let qj = e.probabilities[i * v + j]
                for k in 0..<v { h[i * v + j, i * v + k] = -w * qj * e.probabilities[i * v + k] }
                h[i * v + j, i * v + j] += w * qj
            }
        }
        return h
    }

    func factorizedHessian(_ f: FactorizedBigram, _ e: BigramEvaluation, _ theta: [Double]) -> Matrix {
        let v = self.v, d = f.width, n = f.parameterCount, oU = f.offsetU, oB = f.offsetB
        let q = e.probabilities, g = e.logitGradient
        var h = Matrix(rows: n, cols: n)
        var ua = [Double](repeating: 0, count: d * v)
        var uq = [Double](repeating: 0, count: d)
        for a in 0..<v {
            let w = data.frequencies[a]
            for k in 0..<d {
                var s = 0.0
                for j in 0..<v { s += theta[oU + k * v + j] * q[a * v + j] }
                uq[k] = s
                for j in 0..<v { ua[k * v + j] = w * q[a * v + j] * (theta[oU + k * v + j] - uq[k]) }
            }
            for k in 0..<d {
                let r = a * d + k
                for l in 0..<d {
                    var s = 0.0
                    for j in 0..<v { s += ua[k * v + j] * theta[oU + l * v + j] }
                    h[r, a * d + l] = s
                    let eal = theta[a * d + l]
                    for j in 0..<v {
                        var x = ua[k * v + j] * eal
                        if k == l { x += g[a * v + j] }
                        h[r, oU + l * v + j] = x
                        h[oU + l * v + j, r] = x
                    }
                }
                if f.bias {
                    for j in 0..<v {
                        h[r, oB + j] = ua[k * v + j]
                        h[oB + j, r] = ua[k * v + j]
                    }
                }
            }
        }
        // Shared block (U and b together, index k·V + j with k = d for the bias):
        // D − RᵀR, D[(k,j),(l,j)] = Σₐ πₐ Ẽₐₖ Ẽₐₗ qₐⱼ, R[a,(k,j)] = √πₐ Ẽₐₖ qₐⱼ, Ẽₐ = (Eₐ, 1).
        let dd = d + (f.bias ? 1 : 0), m = dd * v
        func et(_ a: Int, _ k: Int) -> Double { k < d ? theta[a * d + k] : 1 }
        var r = [Double](repeating: 0, count: v * m)
        for a in 0..<v {
            let s = data.frequencies[a].squareRoot()
            for k in 0..<dd { let x = s * et(a, k); for j in 0..<v { r[a * m + k * v + j] = x * q[a * v + j] } }
        }
        var rtr = [Double](repeating: 0, count: m * m)
        r.withUnsafeBufferPointer { rp in
            rtr.withUnsafeMutableBufferPointer { o in
                BLAS.dgemm(transA: true, transB: false, m: m, n: m, k: v, alpha: 1, a: rp.baseAddress!, lda: m,
                           b: rp.baseAddress!, ldb: m, beta: 0, c: o.baseAddress!, ldc: m)
            }
        }
        for x in 0..<m { for y in 0..<m { h[oU + x, oU + y] = -rtr[x * m + y] } }
        for j in 0..<v {
            for k in 0..<dd {
                for l in k..<dd {
                    var s = 0.0
                    for a in 0..<v { s += data.frequencies[a] * et(a, k) * et(a, l) * q[a * v + j] }
                    h[oU + k * v + j, oU + l * v + j] += s
                    if l != k { h[oU + l * v + j, oU + k * v + j] += s }
                }
            }
        }
        return h
    }

    /// Tr ∇²L(θ), exactly (no dense matrix): table Σᵢ πᵢ(1 − |qᵢ|²); factorised
    /// Σₐ πₐ[Σₖ(Σⱼ qₐⱼ Uₖⱼ² − (U qₐ)ₖ²) + (|Eₐ|² + [bias])(1 − |qₐ|²)].
    public func hessianTrace(_ e: BigramEvaluation, at theta: [Double]) -> Double {
        let v = self.v
        var t = 0.0
        for a in 0..<v {
            let w = data.frequencies[a]
            if w == 0 { continue }
            var q2 = 0.0
            for j in 0..<v { q2 += e.probabilities[a * v + j] * e.probabilities[a * v + j] }
            if model is TableBigram {
                t += w * (1 - q2)
            } else if let f = model as? FactorizedBigram {
                let d = f.width
                var s = 0.0
                for k in 0..<d {
                    var uq = 0.0, uuq = 0.0
                    for j in 0..<v {
                        let u = theta[f.offsetU + k * v + j], qq = e.probabilities[a * v + j]
                        uq += u * qq
                        uuq += u * u * qq
                    }
                    s += uuq - uq * uq
                }
                var e2 = f.bias ? 1.0 : 0.0
                for k in 0..<d { e2 += theta[a * d + k] * theta[a * d + k] }
                t += w * (s + e2 * (1 - q2))
            }
        }
        if model is TableBigram || model is FactorizedBigram { return t }
        return hessian(e, at: theta).trace
    }

    public func hessianTrace(at theta: [Double]) -> Double { hessianTrace(evaluate(theta), at: theta) }
}

/// ∇²L(θ) of a bigram objective at a fixed θ as a `SymmetricOperator`, so Lanczos, Hutchinson and SLQ
/// apply directly. The softmax is computed once, at construction.
public struct BigramHessian<M: BigramModel>: SymmetricOperator {
    public let objective: BigramObjective<M>
    public let point: [Double]
    public let evaluation: BigramEvaluation
    public init(_ objective: BigramObjective<M>, at point: [Double]) {
        self.objective = objective
        self.point = point
        self.evaluation = objective.evaluate(point)
    }
    public var dimension: Int { objective.dimension }
    public func apply(_ v: [Double]) -> [Double] { objective.hessianVectorProduct(evaluation, at: point, v) }
}
