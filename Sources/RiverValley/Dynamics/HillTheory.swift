import Foundation

/// Closed forms for SGD in the hills (paper §3; paper-notes/paper.md §2.3; standard
/// linear-systems algebra): SGD on L = ½ yᵀHy with gradient noise of covariance Σ and constant η
/// has iterate covariance C obeying C ← (I − ηH) C (I − ηH) + η²Σ.
public enum HillTheory {
    public struct Unstable: Error, CustomStringConvertible, Equatable {
        public let lr: Double
        public let curvature: Double
        public var description: String {
            "no stationary state: lr × curvature = \(lr) × \(curvature) = \(lr * curvature) is outside (0, 2)"
        }
    }

    /// Exact stationary excess loss ½Tr(HC) for diagonal H: Σᵢ ησᵢ²/(2(2 − ηλᵢ)). Throws if some ηλᵢ ∉ (0, 2).
    public static func stationaryHillLoss(lr: Double, curvatures: [Double], noiseVariances: [Double]) throws -> Double {
        precondition(curvatures.count == noiseVariances.count, "one noise variance per curvature")
        var total = 0.0
        for (lam, s2) in zip(curvatures, noiseVariances) {
            guard lr * lam > 0 && lr * lam < 2 else { throw Unstable(lr: lr, curvature: lam) }
            total += lr * s2 / (2 * (2 - lr * lam))
        }
        return total
    }

    /// The small-η approximation η·TrΣ/4.
    public static func approximateHillLoss(lr: Double, noiseTrace: Double) -> Double { lr * noiseTrace / 4 }

    /// Stationary covariance C = (I−ηH)C(I−ηH) + η²Σ by vectorisation: (I − A⊗A) vec C = η² vec Σ with
    /// A = I − ηH, solved by LAPACK dgesv (d² unknowns: for d up to ~40).
    public static func stationaryCovarianceKronecker(hessian h: Matrix, noise sigma: Matrix, lr: Double) throws -> Matrix {
        let d = h.rows
        var a = Matrix.identity(d)
        for i in 0..<d { for j in 0..<d { a[i, j] -= lr * h[i, j] } }
        let n = d * d
        var system = Matrix.identity(n)
        // Row-major vec: vec(A C Aᵀ)[i*d + j] = Σ_{k,l} A[i,k] A[j,l] C[k,l].
        for i in 0..<d { for j in 0..<d { for k in 0..<d { for l in 0..<d {
            system[i * d + j, k * d + l] -= a[i, k] * a[j, l]
        } } } }
        let rhs = Matrix(rows: n, cols: 1, data: sigma.data.map { lr * lr * $0 })
        let c = try solve(system, rhs)
        return Matrix(rows: d, cols: d, data: c.data)
    }

    /// The same C by diagonalising H = QΛQᵀ (dsyevd): C̃ᵢⱼ = η²Σ̃ᵢⱼ / (1 − (1−ηλᵢ)(1−ηλⱼ)), C = QC̃Qᵀ.
    /// Throws `Unstable` when some ηλᵢ ∉ (0, 2).
    public static func stationaryCovarianceDiagonalised(hessian h: Matrix, noise sigma: Matrix, lr: Double) throws -> Matrix {
        let e = try symmetricEigen(h)
        for lam in e.values where !(lr * lam > 0 && lr * lam < 2) { throw Unstable(lr: lr, curvature: lam) }
        let q = e.vectors!
        var st = BLAS.matmul(BLAS.matmul(q, sigma, transposeA: true), q)
        let d = h.rows
        for i in 0..<d { for j in 0..<d {
            st[i, j] *= lr * lr / (1 - (1 - lr * e.values[i]) * (1 - lr * e.values[j]))
        } }
        return BLAS.matmul(BLAS.matmul(q, st), q, transposeB: true)
    }

    /// ½ Tr(H C): the expected excess loss of a covariance C.
    public static func excessLoss(hessian h: Matrix, covariance c: Matrix) -> Double {
        0.5 * BLAS.matmul(h, c).trace
    }

    /// The exact expected hill loss of SGD on diagonal hills under any schedule, from the per-direction
    /// recursion E y² ← (1 − ηₜλ)² E y² + ηₜ²σ² (noise and iterate independent). Returns the value after
    /// each update t = 0..<lrs.count.
    public static func expectedHillLoss(lrs: [Double], curvatures: [Double], noiseVariances: [Double],
                                        initialSquares: [Double]) -> [Double] {
        var v = initialSquares
        var out = [Double](repeating: 0, count: lrs.count)
        for (t, eta) in lrs.enumerated() {
            var total = 0.0
            for i in v.indices {
                let f = 1 - eta * curvatures[i]
                v[i] = f * f * v[i] + eta * eta * noiseVariances[i]
                total += 0.5 * curvatures[i] * v[i]
            }
            out[t] = total
        }
        return out
    }
}
