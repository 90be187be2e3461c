import Foundation
import LinearAlgebra
import RiverValley

extension BigramObjective {
    /// Spectra of the table model's V Hessian blocks πᵢ(diag qᵢ − qᵢqᵢᵀ) (LAPACK `dsyevd` per block);
    /// the Hessian's spectrum is their union. Eigenvalues ascending per block.
    public func tableBlockSpectra(_ e: BigramEvaluation, vectors: Bool = false) throws -> [SymmetricEigen] {
        precondition(model is TableBigram, "block spectra exist for the table model only")
        let v = self.v
        return try (0..<v).map { i in
            let w = data.frequencies[i]
            var a = Matrix(rows: v, cols: v)
            for j in 0..<v {
                let qj = e.probabilities[i * v + j]
                for k in 0..<v { a[j, k] = -w * qj * e.probabilities[i * v + k] }
                a[j, j] += w * qj
            }
            return try symmetricEigen(a, vectors: vectors)
        }
    }

    /// The full Hessian spectrum, ascending: block union for the table, `dsyevd` of the analytic dense
    /// Hessian otherwise (sizes up to a few thousand parameters).
    public func hessianEigenvalues(_ e: BigramEvaluation, at theta: [Double]) throws -> [Double] {
        if model is TableBigram { return try tableBlockSpectra(e).flatMap(\.values).sorted() }
        return try symmetricEigen(hessian(e, at: theta), vectors: false).values
    }

    /// The `count` largest Hessian eigenvalues, descending. Exact (block union or dense `dsyevd`) up to
    /// `denseLimit` parameters for the factorised model; Lanczos with full reorthogonalisation beyond.
    public func hessianTop(_ e: BigramEvaluation, at theta: [Double], count: Int = 5,
                           denseLimit: Int = 3000, lanczosIterations: Int = 80, seed: UInt64 = 0) throws -> [Double] {
        let n = dimension
        let k = min(count, n)
        if model is TableBigram || n <= denseLimit {
            let all = try hessianEigenvalues(e, at: theta)
            return Array(all.suffix(k).reversed())
        }
        let ritz = try lanczosEigen(BigramHessian(self, at: theta), count: k, end: .largest,
                                    iterations: max(lanczosIterations, 2 * k), seed: seed)
        return ritz.values
    }

    /// The largest Hessian eigenvalue by Lanczos (full reorthogonalisation) on the HVP operator.
    public func topEigenvalue(_ e: BigramEvaluation, at theta: [Double], iterations: Int = 30) throws -> Double {
        return try lanczosEigen(BigramHessian(self, at: theta), count: 1, end: .largest,
                                iterations: min(iterations, dimension)).values[0]
    }
}
