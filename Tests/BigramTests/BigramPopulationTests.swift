import Bigram
import Foundation
import LinearAlgebra
import RiverValley
import Testing

@Suite("Bigram population quantities")
struct BigramPopulationTests {
    /// For the full table the optimum is W = log P (rows with full support): loss = entropy floor to
    /// round-off and the gradient vanishes; Σᵢ πᵢ H(Pᵢ) is computed independently here.
    @Test func tableOptimumIsEntropyFloor() throws {
        let data = try SyntheticBigramSpec(vocabularySize: 8, mix: [(.dirichlet(entropy: 0.5), 1), (.dirichlet(entropy: 1.8), 1)],
                                           frequencies: .zipf(exponent: 1.2), seed: 3).generate()
        let obj = try BigramObjective(model: TableBigram(vocabularySize: 8), data: data)
        let w = data.transitions.data.map { log($0) }
        var floor = 0.0
        for i in 0..<8 {
            var h = 0.0
            for j in 0..<8 { let p = data.transitions[i, j]; h -= p * log(p) }
            floor += data.frequencies[i] * h
        }
        let e = obj.evaluate(w)
        #expect(abs(e.loss - floor) <= 1e-12)
        #expect(abs(data.entropyFloor - floor) <= 1e-13)
        #expect(BLAS.norm(obj.gradient(at: w)) <= 1e-13)
        // Any perturbation raises the loss (strict minimum up to the per-row shift).
        var w2 = w; w2[3] += 1e-3
        #expect(obj.value(at: w2) > e.loss)
        // At the optimum the hill loss is zero and class excesses vanish.
        let m = obj.metrics(e)
        #expect(abs(m.hillLoss) <= 1e-12 && abs(m.excess) <= 1e-12)
    }

    /// Deterministic and uniform-k rows have no finite optimum: along the river (margin m → ∞) the loss
    /// tends to the floor; at margin m a deterministic row loses log(1 + (V−1)e^{−m}) (closed form).
    @Test func riverApproachesFloor() throws {
        let data = try Fixtures.mixed()
        let obj = try BigramObjective(model: TableBigram(vocabularySize: 6), data: data)
        let v = 6
        for m in [5.0, 20.0, 200.0] {
            var w = [Double](repeating: 0, count: v * v)
            for i in 0..<v { for j in 0..<v { let p = data.transitions[i, j]; w[i * v + j] = p > 0 ? log(p) + m : 0 } }
            let e = obj.evaluate(w)
            for i in 0..<v where data.tokenClass(ofRow: i) == .deterministic {
                #expect(abs(e.rowLoss[i] - log1p(Double(v - 1) * exp(-m))) <= 1e-12)
            }
            let met = obj.metrics(e)
            #expect(met.hillLoss <= 1e-9)  // hills relaxed exactly; only river excess left
            #expect(abs(met.deterministicContribution + met.uncertainContribution - met.excess) <= 1e-12)
        }
        #expect(obj.value(at: [Double](repeating: 0, count: 36)) - data.entropyFloor > 0.1)
    }

    /// Softmax stays finite and exact for logits of any size.
    @Test func stableSoftmax() throws {
        let q = Softmax.probabilities([1000, 0, -1000])
        #expect(q[0] == 1 && q[1] == exp(-1000.0) && q[2] == 0)
        #expect(abs(Softmax.logSumExp([1e300, 1e300]) - 1e300) <= 1e284)
        #expect(abs(Softmax.logSumExp([800, 800]) - (800 + log(2))) <= 1e-12)
        #expect(Softmax.probabilities([-1e308, -1e308]) == [0.5, 0.5])
        // Loss at huge logits: a deterministic row with margin 1e6 has loss 0 (not NaN); a wrong one 1e6.
        let p = Matrix(rows: 2, cols: 2, data: [1, 0, 0, 1])
        let data = try BigramDistribution(transitions: p)
        let obj = try BigramObjective(model: TableBigram(vocabularySize: 2), data: data)
        let e = obj.evaluate([1e6, 0, 1e6, 0])
        #expect(e.rowLoss[0] == 0 && e.rowLoss[1] == 1e6 && e.loss.isFinite)
        let g = obj.gradient(at: [1e6, 0, 1e6, 0])
        #expect(g.allSatisfy { $0.isFinite })
    }

    /// The exact noise trace (closed form) equals the trace of the covariance operator's dense matrix;
    /// at the table's optimum the one-sample covariance equals the Hessian (Fisher = Hessian).
    @Test func gradientCovariance() throws {
        let data = try Fixtures.mixed()
        for model in [try FactorizedBigram(vocabularySize: 6, width: 3) as any BigramModel, try TableBigram(vocabularySize: 6)] {
            func run<M: BigramModel>(_ m: M) throws {
                let obj = try BigramObjective(model: m, data: data)
                let w = Fixtures.randomVector(obj.dimension, seed: 9, scale: 0.5)
                let cov = denseMatrixChecked(of: BigramGradientCovariance(obj, at: w))
                let tr = obj.gradientNoiseTrace(obj.evaluate(w), at: w)
                #expect(abs(cov.matrix.trace - tr) <= 1e-12 * tr)
                #expect(cov.asymmetryBefore <= 1e-13)
                #expect(try symmetricEigen(cov.matrix, vectors: false).values[0] >= -1e-12)  // PSD
            }
            try run(model)
        }
        let full = try SyntheticBigramSpec(vocabularySize: 5, mix: [(.dirichlet(entropy: 1.2), 1)], seed: 2).generate()
        let obj = try BigramObjective(model: TableBigram(vocabularySize: 5), data: full)
        let w = full.transitions.data.map { log($0) }
        let cov = denseMatrix(of: BigramGradientCovariance(obj, at: w))
        #expect(Fixtures.relativeError(cov.data, obj.hessian(at: w).data) <= 1e-12)
    }

    /// The mean of many minibatch gradients matches the exact gradient within its standard error:
    /// every component within 5 SE; the batch variance matches the exact TrΣ/B within 5%.
    @Test func minibatchGradientsUnbiased() throws {
        let data = try Fixtures.mixed()
        let obj = try BigramObjective(model: FactorizedBigram(vocabularySize: 6, width: 3), data: data)
        let w = Fixtures.randomVector(obj.dimension, seed: 12, scale: 0.5)
        let exact = obj.gradient(at: w)
        let sampler = BigramSampler(data, seed: 5)
        let batches = 4000, b = 8, n = obj.dimension
        var sum = [Double](repeating: 0, count: n), sq = [Double](repeating: 0, count: n)
        let e = obj.evaluate(w)
        for _ in 0..<batches {
            let g = obj.model.pullback(w, obj.minibatchLogitGradient(e, batch: sampler.batch(b)))
            for k in 0..<n { sum[k] += g[k]; sq[k] += g[k] * g[k] }
        }
        var dist2 = 0.0, variance = 0.0
        for k in 0..<n {
            let mean = sum[k] / Double(batches)
            let sd = (sq[k] / Double(batches) - mean * mean).squareRoot()
            variance += sd * sd
            let se = sd / Double(batches).squareRoot()
            #expect(abs(mean - exact[k]) <= 5 * se + 1e-15)
            dist2 += (mean - exact[k]) * (mean - exact[k])
        }
        // The batch covariance is Σ/B: the summed component variances estimate TrΣ/B (within 5%).
        let trace = obj.gradientNoiseTrace(e, at: w)
        #expect(abs(variance * Double(b) / trace - 1) <= 0.05)
        // ‖mean − g‖² has expectation TrΣ/(B·N); a weighted χ², so only a loose two-sided bound.
        let expected = trace / Double(b * batches)
        #expect(dist2 / expected > 0.1 && dist2 / expected < 4, "ratio \(dist2 / expected)")
    }

    /// The sampler's empirical pair frequencies match πᵢPᵢⱼ (each within 5 binomial SE).
    @Test func samplerMatchesDistribution() throws {
        let data = try Fixtures.mixed()
        let s = BigramSampler(data, seed: 1)
        let n = 200_000
        var counts = [Int](repeating: 0, count: 36)
        for _ in 0..<n { let (i, j) = s.sample(); counts[i * 6 + j] += 1 }
        for i in 0..<6 { for j in 0..<6 {
            let p = data.frequencies[i] * data.transitions[i, j]
            let se = (p * (1 - p) / Double(n)).squareRoot()
            #expect(abs(Double(counts[i * 6 + j]) / Double(n) - p) <= 5 * se + 1e-12)
        } }
    }
}
