import LinearAlgebra

/// Seeded random symmetric test matrices.
public enum RandomMatrices {
    /// A Gaussian-orthogonal-ensemble-like matrix: Aᵢᵢ ~ N(0, 2/n), Aᵢⱼ = Aⱼᵢ ~ N(0, 1/n) for i < j.
    ///
    /// With this scaling the spectrum approaches Wigner's semicircle on [−2, 2] as n grows. Entries are
    /// drawn row by row over the lower triangle (i ≥ j) from one `RandomSource(seed:)`, so the same seed
    /// gives the same matrix on every machine. Throws `SizeLimitError` when n is negative or the n×n
    /// matrix does not fit the `MemoryBudget`.
    public static func goe(size n: Int, seed: UInt64) throws -> Matrix {
        guard n >= 0 else { throw SizeLimitError("random symmetric matrix size N = \(n) is not allowed: need N ≥ 0") }
        var a = try Matrix.checkedZeros(rows: n, cols: n, what: "random symmetric matrix N = \(n)")
        let rng = RandomSource(seed: seed)
        let offScale = n > 0 ? (1.0 / Double(n)).squareRoot() : 0
        for i in 0..<n {
            for j in 0..<i {
                let x = offScale * rng.gaussian()
                a[i, j] = x
                a[j, i] = x
            }
            a[i, i] = 2.0.squareRoot() * offScale * rng.gaussian()
        }
        return a
    }

    /// A Wishart matrix XᵀX / samples with X a samples×n standard normal matrix (row by row).
    ///
    /// Positive semi-definite; its spectrum follows Marchenko–Pastur with ratio n / samples.
    public static func wishart(size n: Int, samples: Int, seed: UInt64) -> Matrix {
        precondition(n >= 0 && samples > 0, "wishart needs n >= 0 and samples > 0, got \(n), \(samples)")
        let rng = RandomSource(seed: seed)
        var x = Matrix(rows: samples, cols: n)
        rng.fillGaussian(&x.data)
        var w = BLAS.matmul(x, x, transposeA: true)
        for i in w.data.indices { w.data[i] /= Double(samples) }
        w.symmetrize()
        return w
    }

    /// Q diag(values) Qᵀ with Q a seeded random orthogonal matrix (eigenvectors of a GOE matrix).
    ///
    /// A symmetric matrix with exactly the given spectrum (to round-off), for SLQ and trace tests.
    public static func withSpectrum(_ values: [Double], seed: UInt64) throws -> Matrix {
        let n = values.count
        let q = try symmetricEigen(try goe(size: n, seed: seed), vectors: true).vectors!
        var qd = q
        for i in 0..<n { for j in 0..<n { qd[i, j] *= values[j] } }
        var a = BLAS.matmul(qd, q, transposeB: true)
        a.symmetrize()
        return a
    }
}
