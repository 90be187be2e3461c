import Foundation
import LinearAlgebra
import RiverValley
import Testing

/// Tolerances follow pytorch-hessian-eigenthings' tests (paper-notes/paper.md §8); the reference is LAPACK `dsyevd`.
@Suite struct LanczosTests {
    /// 40×40 Wishart XᵀX/n with X 40×40 (Marchenko–Pastur ratio 1), as in eigenthings.
    static let wishart = RandomMatrices.wishart(size: 40, samples: 40, seed: 11)

    @Test func topFiveMatchDenseToRtol1e5() throws {
        let a = Self.wishart
        let dense = try symmetricEigen(a, vectors: false).values.reversed().map { $0 }
        let ritz = try lanczosEigen(DenseOperator(a), count: 5, end: .largest, iterations: 30, seed: 3)
        #expect(ritz.values.count == 5)
        for i in 0..<5 {
            // rtol 1e-5, atol 1e-7 (numpy.allclose convention).
            #expect(abs(ritz.values[i] - dense[i]) <= 1e-7 + 1e-5 * abs(dense[i]), "λ\(i): \(ritz.values[i]) vs \(dense[i])")
            #expect(ritz.residuals[i] < 1e-4 * abs(ritz.values[i]), "residual \(ritz.residuals[i])")
        }
        // Ritz basis orthonormal to 1e-4.
        let gram = BLAS.matmul(ritz.vectors, ritz.vectors, transposeB: true)
        for i in 0..<5 { for j in 0..<5 { #expect(abs(gram[i, j] - (i == j ? 1 : 0)) < 1e-4) } }
    }

    /// eigenthings' smallest-algebraic case: a 60×60 Wishart shifted by −0.5·I (so the bottom
    /// eigenvalues are O(1), not ≈0), 60 steps, bottom 3 within rtol 1e-3 (atol 1e-5) of dsyevd.
    @Test func bottomEigenvaluesMatchDenseToRtol1e3() throws {
        var a = RandomMatrices.wishart(size: 60, samples: 60, seed: 2)
        for i in 0..<60 { a[i, i] -= 0.5 }
        let dense = try symmetricEigen(a, vectors: false).values
        let ritz = try lanczosEigen(DenseOperator(a), count: 3, end: .smallest, iterations: 60, seed: 2)
        for i in 0..<3 {
            #expect(abs(ritz.values[i] - dense[i]) <= 1e-5 + 1e-3 * abs(dense[i]), "\(ritz.values[i]) vs \(dense[i])")
        }
        #expect(zip(ritz.values, ritz.values.dropFirst()).allSatisfy { $0 <= $1 })
    }

    @Test func sameSeedSameOutput() throws {
        let op = DenseOperator(Self.wishart)
        let a = try lanczosEigen(op, count: 5, iterations: 20, seed: 42)
        let b = try lanczosEigen(op, count: 5, iterations: 20, seed: 42)
        #expect(a.values == b.values && a.vectors == b.vectors && a.residuals == b.residuals)
    }

    /// diag(3,3,3,1,1,…): the Krylov space of a single start vector is invariant after 2 steps; the
    /// restart recovers the multiplicity, and iterating past n stops at n.
    @Test func invariantSubspaceRecoversMultiplicity() throws {
        let d = [3.0, 3, 3] + Array(repeating: 1.0, count: 7)
        let op = DenseOperator(Matrix.diagonal(d))
        let ritz = try lanczosEigen(op, count: 4, iterations: 50, seed: 1)
        #expect(ritz.steps <= 10 && ritz.hitInvariantSubspace)
        for (v, e) in zip(ritz.values, [3.0, 3, 3, 1]) { #expect(abs(v - e) < 1e-12) }
        let t = lanczosTridiagonal(op, steps: 8, seed: 1, restartOnInvariant: false)
        #expect(t.steps == 2 && t.hitInvariantSubspace)
    }
}

@Suite struct DenseSpectrumTests {
    /// An operator known only through its action: the dense matrix rebuilt from A eⱼ equals A.
    struct Tridiagonal: SymmetricOperator {
        let dimension: Int
        func apply(_ v: [Double]) -> [Double] {
            (0..<dimension).map { i in 2 * v[i] - (i > 0 ? v[i - 1] : 0) - (i + 1 < dimension ? v[i + 1] : 0) }
        }
    }

    @Test func denseMatrixOfOperatorMatchesClosedForm() throws {
        // The 1-D Laplacian: eigenvalues 2 − 2cos(kπ/(n+1)), k = 1…n, to 1e-13.
        let n = 25
        let spectrum = try denseSpectrum(of: Tridiagonal(dimension: n)).values
        for k in 1...n {
            let exact = 2 - 2 * cos(Double(k) * Double.pi / Double(n + 1))
            #expect(abs(spectrum[k - 1] - exact) < 1e-13)
        }
    }

    @Test func goeIsSymmetricAndSeeded() throws {
        let a = try RandomMatrices.goe(size: 300, seed: 5)
        #expect(a.asymmetry == 0)
        #expect(try a == RandomMatrices.goe(size: 300, seed: 5) && a != RandomMatrices.goe(size: 300, seed: 6))
        // Semicircle on [−2, 2]: the edge eigenvalue lies within 0.2 of 2 at n = 300 (Tracy–Widom
        // fluctuations are O(n^(−2/3)) ≈ 0.02).
        let values = try symmetricEigen(a, vectors: false).values
        #expect(abs(values.last! - 2) < 0.2 && abs(values.first! + 2) < 0.2)
    }
}

@Suite struct TraceTests {
    /// Within 3 standard errors over 400 probes for 5 seeds. For one random seed the CLT puts the chance
    /// of |error| > 3 SE at ≈0.3% (a little more with an estimated SE: ≈0.3–0.5%), so ≈2% for five; the
    /// seeds are fixed, so the test is deterministic.
    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func hutchinsonWithinThreeStandardErrors(seed: UInt64) {
        let a = LanczosTests.wishart
        let est = hutchinsonTrace(DenseOperator(a), probes: 400, seed: seed)
        #expect(est.standardError > 0)
        #expect(abs(est.estimate - a.trace) <= 3 * est.standardError,
                "\(est.estimate) ± \(est.standardError) vs \(a.trace)")
    }

    /// Hutch++ within 5% of the exact trace (eigenthings), here on a matrix with a decaying spectrum.
    @Test func hutchPlusPlusWithinFivePercent() throws {
        let values = (0..<100).map { 1 / Double($0 + 1) }
        let a = try RandomMatrices.withSpectrum(values, seed: 9)
        let est = hutchPlusPlusTrace(DenseOperator(a), matvecs: 60, seed: 2)
        #expect(abs(est.estimate - a.trace) < 0.05 * a.trace, "\(est.estimate) vs \(a.trace)")
    }
}

@Suite struct SpectralDensityTests {
    /// 60×60 matrix with two clusters of 30 eigenvalues around 1 and 5 (spread ±0.05).
    static func twoClusters() throws -> Matrix {
        let values = (0..<60).map { (i: Int) -> Double in
            let centre: Double = i < 30 ? 1 : 5
            return centre + 0.1 * (Double(i % 30) / 29 - 0.5)
        }
        return try RandomMatrices.withSpectrum(values, seed: 4)
    }

    @Test func weightsSumToOneAndDensityIntegratesToOne() throws {
        let slq = try stochasticLanczosQuadrature(DenseOperator(try Self.twoClusters()), iterations: 20, runs: 10, seed: 7)
        for run in slq.runs { #expect(abs(run.weights.reduce(0, +) - 1) < 1e-6) }
        let (grid, density) = try slq.smoothed()
        let h = grid[1] - grid[0]
        let integral = h * (density.reduce(0, +) - 0.5 * (density.first! + density.last!))
        #expect(abs(integral - 1) < 0.05, "∫φ = \(integral)")
    }

    @Test func twoClustersCarryHalfTheMassEach() throws {
        let slq = try stochasticLanczosQuadrature(DenseOperator(try Self.twoClusters()), iterations: 20, runs: 10, seed: 7)
        let (grid, density) = try slq.smoothed()
        let h = grid[1] - grid[0]
        let low = grid.indices.filter { grid[$0] < 3 }, high = grid.indices.filter { grid[$0] >= 3 }
        let massLow = h * low.map { density[$0] }.reduce(0, +), massHigh = h * high.map { density[$0] }.reduce(0, +)
        #expect(abs(massLow - 0.5) < 0.15 && abs(massHigh - 0.5) < 0.15, "\(massLow), \(massHigh)")
        let peakLow = grid[low.max { density[$0] < density[$1] }!]
        let peakHigh = grid[high.max { density[$0] < density[$1] }!]
        #expect(abs(peakLow - 1) < 0.3 && abs(peakHigh - 5) < 0.3, "peaks \(peakLow), \(peakHigh)")
    }
}
