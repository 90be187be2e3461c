import Foundation
import Testing
import LinearAlgebra

@Suite struct OpenBLASKernelTests {
    /// docs/machine-facts.md: Debian's OpenBLAS falls back to Prescott (SSE3) kernels unless OPENBLAS_CORETYPE is set.
    /// The test command exports it; this catches a forgotten setting.
    @Test func openBLASUsesFastKernels() {
        let core = BLAS.coreName
        if OpenBLASCore.recommendedCoreType() != nil {
            #expect(core.lowercased() != "prescott", "OpenBLAS runs Prescott kernels: set OPENBLAS_CORETYPE")
        }
    }
}

@Suite struct EigenTests {
    @Test func eigenvaluesOfKnownMatrix() throws {
        // [[2,1],[1,2]] has eigenvalues 1 and 3 with eigenvectors (1,-1)/√2 and (1,1)/√2.
        let a = Matrix(rows: 2, cols: 2, data: [2, 1, 1, 2])
        let e = try symmetricEigen(a)
        #expect(abs(e.values[0] - 1) < 1e-14 && abs(e.values[1] - 3) < 1e-14)
        let v1 = e.vector(1)
        #expect(abs(abs(v1[0]) - 1 / 2.0.squareRoot()) < 1e-14 && abs(v1[0] - v1[1]) < 1e-14)
    }

    @Test func residualsAndOrthonormalityOnRandomMatrix() throws {
        let n = 60
        let rng = RandomSource(seed: 7)
        var a = Matrix(rows: n, cols: n)
        for i in 0..<n { for j in 0...i { let x = rng.gaussian(); a[i, j] = x; a[j, i] = x } }
        let e = try symmetricEigen(a)
        let v = e.vectors!
        // ‖A v − λ v‖ ≤ 1e-12·‖A‖ for every pair, VᵀV = I to 1e-12.
        let scale = e.values.map(abs).max()!
        for i in 0..<n {
            let vi = v.column(i)
            let av = a.apply(vi)
            let r = zip(av, vi).map { $0 - e.values[i] * $1 }
            #expect(BLAS.norm(r) < 1e-12 * scale)
        }
        let vtv = BLAS.matmul(v, v, transposeA: true)
        for i in 0..<n { for j in 0..<n { #expect(abs(vtv[i, j] - (i == j ? 1 : 0)) < 1e-12) } }
        #expect(zip(e.values, e.values.dropFirst()).allSatisfy { $0 <= $1 })
        // Trace is preserved.
        #expect(abs(e.values.reduce(0, +) - a.trace) < 1e-10)
    }

    @Test func tridiagonalMatchesDense() throws {
        let d = [2.0, 3, 4, 5], off = [0.5, -1, 0.25]
        var a = Matrix(rows: 4, cols: 4)
        for i in 0..<4 { a[i, i] = d[i] }
        for i in 0..<3 { a[i, i + 1] = off[i]; a[i + 1, i] = off[i] }
        let t = try tridiagonalEigen(diagonal: d, offDiagonal: off)
        let dense = try symmetricEigen(a, vectors: false)
        for (x, y) in zip(t.values, dense.values) { #expect(abs(x - y) < 1e-13) }
    }

    @Test func nonFiniteInputIsRejected() {
        let a = Matrix(rows: 2, cols: 2, data: [1, .nan, .nan, 1])
        #expect(throws: LinearAlgebraError.self) { try symmetricEigen(a) }
    }

    @Test func solversAgree() throws {
        let a = Matrix(rows: 3, cols: 3, data: [4, 1, 0, 1, 3, 1, 0, 1, 2])
        let b = Matrix(rows: 3, cols: 1, data: [1, 2, 3])
        let x1 = try solve(a, b), x2 = try solveSymmetric(a, b)
        let r = a.apply(x1.data)
        for i in 0..<3 { #expect(abs(r[i] - b.data[i]) < 1e-13 && abs(x1.data[i] - x2.data[i]) < 1e-13) }
    }
}

@Suite struct RandomAndStatisticsTests {
    @Test func sameSeedSameStream() {
        let a = RandomSource(seed: 42), b = RandomSource(seed: 42)
        for _ in 0..<100 { #expect(a.gaussian() == b.gaussian()) }
    }

    @Test func stateRoundTrip() {
        let a = RandomSource(seed: 3)
        _ = a.gaussian()
        let s = a.state()
        let x = (0..<5).map { _ in a.uniform() }
        a.restore(s)
        #expect((0..<5).map { _ in a.uniform() } == x)
    }

    @Test func gaussianMomentsWithinErrorBars() {
        // Mean of 1e5 N(0,1) draws has standard error 1/√n ≈ 0.0032; allow 4 SE.
        let rng = RandomSource(seed: 1)
        let n = 100_000
        let xs = (0..<n).map { _ in rng.gaussian() }
        #expect(abs(Statistics.mean(xs)) < 4 / Double(n).squareRoot())
        // Var estimate SE ≈ √(2/n) ≈ 0.0045.
        #expect(abs(Statistics.standardDeviation(xs) - 1) < 4 * (0.5 / Double(n)).squareRoot() + 1e-3)
    }

    @Test func spearmanOfMonotoneIsOne() {
        let x = (0..<20).map(Double.init)
        #expect(abs(Statistics.spearman(x, x.map { exp($0 / 5) }) - 1) < 1e-12)
        #expect(abs(Statistics.spearman(x, x.map { -$0 * $0 }) + 1) < 1e-12)
    }
}

@Suite struct LeastSquaresAndQuantileTests {
    @Test("dgels least squares: exact data recovers its coefficients; noisy data gives the normal-equation solution and its RSS")
    func leastSquaresMatchesNormalEquations() throws {
        let n = 40
        var a = Matrix(rows: n, cols: 3)
        var exact = [Double](repeating: 0, count: n), noisy = exact
        for i in 0..<n {
            let t = Double(i) / 7
            a[i, 0] = 1; a[i, 1] = log(1 + t); a[i, 2] = sin(t)
            exact[i] = 0.5 - 2 * a[i, 1] + 3 * a[i, 2]
            noisy[i] = exact[i] + 0.01 * cos(13 * t)
        }
        let (x, rss) = try leastSquares(a, exact)
        #expect(zip(x, [0.5, -2, 3]).allSatisfy { abs($0 - $1) < 1e-12 } && rss < 1e-20)
        // Normal equations AᵀA x = Aᵀb solved independently (dsysv).
        var ata = Matrix(rows: 3, cols: 3), atb = Matrix(rows: 3, cols: 1)
        for i in 0..<n { for j in 0..<3 {
            atb[j, 0] += a[i, j] * noisy[i]
            for k in 0..<3 { ata[j, k] += a[i, j] * a[i, k] }
        } }
        let ref = try solveSymmetric(ata, atb)
        let (y, rss2) = try leastSquares(a, noisy)
        #expect((0..<3).allSatisfy { abs(y[$0] - ref[$0, 0]) < 1e-9 })
        let direct = (0..<n).reduce(0.0) { s, i in
            let r = noisy[i] - (y[0] * a[i, 0] + y[1] * a[i, 1] + y[2] * a[i, 2]); return s + r * r
        }
        #expect(abs(rss2 - direct) < 1e-12)
    }

    @Test("Student-t quantiles match scipy.stats.t.ppf (95% two-sided intervals from 2, 3 and 10 seeds)")
    func studentT() {
        #expect(abs(Statistics.studentTQuantile(0.975, df: 1) - 12.706204736174694) < 1e-9)
        #expect(abs(Statistics.studentTQuantile(0.975, df: 2) - 4.302652729749462) < 1e-9)
        #expect(abs(Statistics.studentTQuantile(0.975, df: 9) - 2.262157162798205) < 1e-9)
    }
}
