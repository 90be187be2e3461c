import Bigram
import LinearAlgebra
import RiverValley
import Testing

/// Analytic gradient, Hessian and HVP against central finite differences (Float64).
/// Step h = 1e-5 ≈ ε^{1/3}: truncation O(h²) and round-off O(ε/h) both ≈ 1e-10 relative, far below 1e-6.
@Suite("Bigram derivatives")
struct BigramDerivativeTests {
    let h = 1e-5

    func fdGradient<M: BigramModel>(_ obj: BigramObjective<M>, _ theta: [Double]) -> [Double] {
        (0..<theta.count).map { p in
            var a = theta, b = theta
            a[p] += h; b[p] -= h
            return (obj.value(at: a) - obj.value(at: b)) / (2 * h)
        }
    }

    func fdHessian<M: BigramModel>(_ obj: BigramObjective<M>, _ theta: [Double]) -> Matrix {
        let n = theta.count
        var m = Matrix(rows: n, cols: n)
        for p in 0..<n {
            var a = theta, b = theta
            a[p] += h; b[p] -= h
            let ga = obj.gradient(at: a), gb = obj.gradient(at: b)
            for r in 0..<n { m[r, p] = (ga[r] - gb[r]) / (2 * h) }
        }
        return m
    }

    func check<M: BigramModel>(_ obj: BigramObjective<M>, seed: UInt64) throws {
        let theta = Fixtures.randomVector(obj.dimension, seed: seed, scale: 0.7)
        let g = obj.gradient(at: theta)
        #expect(Fixtures.relativeError(g, fdGradient(obj, theta)) <= 1e-6)
        let hAnalytic = obj.hessian(at: theta)
        let hFD = fdHessian(obj, theta)
        #expect(Fixtures.relativeError(hAnalytic.data, hFD.data) <= 1e-6)
        // Symmetric to round-off, as assembled (no symmetrisation step).
        let scale = hAnalytic.data.map(abs).max()!
        #expect(hAnalytic.asymmetry <= 1e-14 * scale)
        // HVP = dense Hessian · v to round-off.
        let u = Fixtures.randomVector(obj.dimension, seed: seed + 1)
        #expect(Fixtures.relativeError(obj.hessianVectorProduct(at: theta, u), hAnalytic.apply(u)) <= 1e-12)
        // The HVP operator, materialised column by column, is symmetric before symmetrising.
        let checked = denseMatrixChecked(of: BigramHessian(obj, at: theta))
        #expect(checked.asymmetryBefore <= 1e-13 * scale)
        // Exact trace formula = trace of the dense Hessian.
        #expect(abs(obj.hessianTrace(at: theta) - hAnalytic.trace) <= 1e-12 * max(1, abs(hAnalytic.trace)))
    }

    @Test func tableModel() throws {
        let data = try Fixtures.mixed()
        try check(BigramObjective(model: TableBigram(vocabularySize: 6), data: data), seed: 1)
    }

    @Test func factorizedWithBias() throws {
        let data = try Fixtures.mixed()
        try check(BigramObjective(model: FactorizedBigram(vocabularySize: 6, width: 3, bias: true), data: data), seed: 2)
    }

    @Test func factorizedWithoutBias() throws {
        let data = try Fixtures.mixed(seed: 11, v: 7)
        try check(BigramObjective(model: FactorizedBigram(vocabularySize: 7, width: 2, bias: false), data: data), seed: 3)
    }

    /// Block-union spectrum of the table = dsyevd of the full dense table Hessian; Lanczos top-5 of the
    /// factorised HVP operator = dense top-5 (rtol 1e-8 on this small, well-separated problem).
    @Test func spectraAgree() throws {
        let data = try Fixtures.mixed()
        let table = try BigramObjective(model: TableBigram(vocabularySize: 6), data: data)
        let wt = Fixtures.randomVector(36, seed: 4)
        let et = table.evaluate(wt)
        let union = try table.hessianEigenvalues(et, at: wt)
        let dense = try symmetricEigen(table.hessian(at: wt), vectors: false).values
        #expect(zip(union, dense).allSatisfy { abs($0 - $1) <= 1e-13 })

        let fact = try BigramObjective(model: FactorizedBigram(vocabularySize: 6, width: 3), data: data)
        let wf = Fixtures.randomVector(fact.dimension, seed: 5)
        let ef = fact.evaluate(wf)
        let top = try fact.hessianTop(ef, at: wf, count: 5)
        let lanczos = try fact.hessianTop(ef, at: wf, count: 5, denseLimit: 0, lanczosIterations: fact.dimension)
        #expect(top.count == 5 && zip(top, top.dropFirst()).allSatisfy { $0 >= $1 })
        #expect(zip(top, lanczos).allSatisfy { abs($0 - $1) <= 1e-8 * abs(top[0]) })
    }
}
