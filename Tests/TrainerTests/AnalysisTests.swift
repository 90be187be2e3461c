import Foundation
import LinearAlgebra
import RiverValley
import Testing
@testable import Trainer

/// `river analyze` foundations on a model small enough for a dense Hessian (n = 1148 parameters):
/// the Float64 loss equals `river eval`'s, Lanczos top-5 equals LAPACK on the dense Hessian built from
/// HVPs, Hutchinson's trace lies within 3 standard errors of the dense trace, the Adam-preconditioned
/// operator equals D H D, and the interpolation grid and end points.
@Suite("Checkpoint analysis", .serialized)
struct AnalysisTests {
    /// Trains a 1148-parameter model (width 4, one layer, tied embeddings, context 8) for 30 AdamW
    /// steps and returns its final checkpoint, its step-20 checkpoint and the corpus.
    nonisolated(unsafe) static let fixture: (ck: Checkpoint, mid: Checkpoint, corpus: [UInt8]) = {
        let dir = try! RunFixtures.temporaryDirectory()
        let corpus = try! RunFixtures.corpus(in: dir, bytes: 20_000)
        var cfg = RunFixtures.config(corpus: corpus, steps: 30, kind: .constant, peak: 0.02)
        cfg.model = TransformerConfig(vocabSize: 256, contextLength: 8, width: 4, layers: 1, heads: 2, mlpHidden: 4,
                                      tiedEmbeddings: true)
        cfg.schedule.warmup = 0
        cfg.checkpointAt = [20]
        let run = try! TrainingRun.create(at: dir.appendingPathComponent("run"), config: cfg)
        try! run.train()
        return (try! Checkpoint.read(from: run.checkpointURL(step: 30)),
                try! Checkpoint.read(from: run.checkpointURL(step: 20)),
                [UInt8](try! Data(contentsOf: URL(fileURLWithPath: corpus))))
    }()

    static func textLoss(bytes: Int = 120) throws -> TextLoss {
        let (ck, _, corpus) = fixture
        let tokens = try AnalysisInput.tokens(of: Array(corpus.prefix(bytes)), for: ck, source: "corpus")
        return try TextLoss(checkpoint: ck, tokens: tokens, batchSize: 3)
    }

    @Test("Float64 loss equals river eval's Float32 loss to 1e-5 relative; windows cover every token once")
    func lossMatchesEval() throws {
        let (ck, _, corpus) = Self.fixture
        let loss = try Self.textLoss()
        #expect(loss.dimension == 1148)
        let tokens = try AnalysisInput.tokens(of: Array(corpus.prefix(120)), for: ck, source: "corpus")
        let f32 = Evaluation.totalLoss(config: ck.config.model, parameters: ck.parameters, tokens: tokens).total / 119
        let f64 = loss.loss()
        #expect(abs(f64 - f32) <= 1e-5 * f32, "Float64 \(f64) vs Float32 \(f32)")
        // 119 predicted tokens with T = 8: 14 full windows (batches of 3) and a tail of 7.
        let batches = loss.windows.batches(batch: 3)
        #expect(batches.map(\.tokens).reduce(0, +) == 119 && batches.last == .init(first: 14, count: 1, length: 7))
        let (l2, g) = loss.lossAndGradient()
        #expect(l2 == f64 && g.count == 1148)
    }

    @Test("Lanczos top-5 (and bottom-5) of the HVP operator equal LAPACK on the dense Hessian to rtol 1e-6; Hutchinson within 3 SE")
    func lanczosAndTraceMatchDense() throws {
        let loss = try Self.textLoss()
        let op = TextLossHessian(loss)
        let (dense, asymmetry) = denseMatrixChecked(of: op)
        let scale = dense.data.map(abs).max()!
        #expect(asymmetry <= 1e-6 * scale, "central-difference HVPs asymmetric by \(asymmetry) (scale \(scale))")
        let exact = try symmetricEigen(dense, vectors: false).values
        let top = try lanczosEigen(op, count: 5, end: .largest, iterations: 120, seed: 3)
        for (i, v) in top.values.enumerated() {
            let e = exact[exact.count - 1 - i]
            #expect(abs(v - e) <= 1e-6 * abs(exact.last!), "top eigenvalue \(i): Lanczos \(v), LAPACK \(e)")
        }
        let bottom = try lanczosEigen(op, count: 5, end: .smallest, iterations: 120, seed: 3)
        for (i, v) in bottom.values.enumerated() {
            #expect(abs(v - exact[i]) <= 1e-6 * abs(exact.last!), "bottom eigenvalue \(i): Lanczos \(v), LAPACK \(exact[i])")
        }
        let trace = (0..<dense.rows).reduce(0.0) { $0 + dense[$1, $1] }
        let hutch = hutchinsonTrace(op, probes: 40, seed: 5)
        #expect(abs(hutch.estimate - trace) <= 3 * hutch.standardError,
                "Hutchinson \(hutch.estimate) ± \(hutch.standardError) vs dense trace \(trace)")
        #expect(hutch.standardError > 0)
    }

    @Test("hessian analysis: report fields, the preconditioned operator equals D H D (LAPACK), Adam's threshold")
    func preconditionedAnalysis() throws {
        let (ck, _, _) = Self.fixture
        let loss = try Self.textLoss()
        var o = HessianOptions()
        o.top = 3
        o.iterations = 120
        o.traceProbes = 4
        o.densityRuns = 2
        o.preconditioned = true
        let (report, density) = try HessianAnalysis.run(loss, checkpoint: ck, options: o)
        let d = try AdamPreconditioner.inverseSqrtDiagonal(ck)
        var dhd = denseMatrix(of: TextLossHessian(loss))
        for i in 0..<dhd.rows { for j in 0..<dhd.cols { dhd[i, j] *= d[i] * d[j] } }
        let exact = try symmetricEigen(dhd, vectors: false).values.reversed().map { $0 }
        for i in 0..<3 { #expect(abs(report.eigenvalues[i] - exact[i]) <= 1e-6 * exact[0], "\(report.eigenvalues[i]) vs \(exact[i])") }
        // Constant LR 0.02, β₁ = 0.9: (2 + 1.8) / (0.1 · 0.02) = 1900.
        #expect(report.lr == 0.02 && abs(report.threshold - 1900) < 1e-9)
        #expect(report.step == 30 && report.parameters == 1148 && report.tokens == 119 && report.preconditioned)
        #expect(report.trace.isFinite && report.traceStderr >= 0 && report.hvpSeconds > 0)
        let csv = try HessianAnalysis.densityCSV(density!)
        #expect(csv.hasPrefix("lambda,density\n") && csv.split(separator: "\n").count == 513)
        // P from v̂ = v/(1 − β₂ᵗ): one entry by hand.
        let v̂ = Double(ck.secondMoment[7]) / (1 - pow(0.95, 30.0))
        #expect(abs(d[7] - 1 / (v̂.squareRoot() + 1e-8).squareRoot()) <= 1e-12 * d[7])
    }

    @Test("interpolation grid holds 0 and 1 exactly; end points equal the Float32 evaluation of A and B bit for bit")
    func interpolationEnds() throws {
        let (ck, mid, corpus) = Self.fixture
        let alphas = try Interpolation.alphas(points: 21, extend: 0.25)
        #expect(alphas.count == 31 && alphas.first! == -0.25 && alphas.last! == 1.25)
        #expect(alphas.contains(0) && alphas.contains(1))
        #expect(throws: AnalysisError.self) { try Interpolation.alphas(points: 1, extend: 0) }
        #expect(throws: AnalysisError.self) { try Interpolation.alphas(points: 5, extend: .nan) }
        let tokens = try AnalysisInput.tokens(of: Array(corpus.prefix(500)), for: ck, source: "corpus")
        let rows = try Interpolation.run(from: mid, to: ck, tokens: tokens, alphas: [0, 0.5, 1])
        let a = Evaluation.totalLoss(config: mid.config.model, parameters: mid.parameters, tokens: tokens).total / 499
        let b = Evaluation.totalLoss(config: ck.config.model, parameters: ck.parameters, tokens: tokens).total / 499
        #expect(rows[0].loss == a && rows[2].loss == b)
        #expect(rows[1].loss.isFinite)
    }

    @Test("n-gram entropy by hand: Lidstone δ = 1/2 on a 6-token stream; unseen context → ln V")
    func ngramEntropy() throws {
        let stream: [Int32] = [1, 2, 1, 2, 1, 3]
        let m = try NGramModel(tokens: stream, order: 1, vocabSize: 4)
        // Context "1" was followed by 2 twice and 3 once: p = (2.5, 1.5, 0.5, 0.5) / 5.
        let p = [0.5, 0.3, 0.1, 0.1]
        let h = -p.reduce(0.0) { $0 + $1 * log($1) }
        #expect(abs(m.entropy([0, 1], before: 2) - h) < 1e-15)
        #expect(abs(m.entropy([0, 0], before: 2) - log(4.0)) < 1e-15)
        #expect(throws: AnalysisError.self) { try NGramModel(tokens: stream, order: 5, vocabSize: 4) }
    }

    @Test("token buckets partition every prediction once; weighted bucket means equal river eval's loss; model entropy by hand")
    func tokenBuckets() throws {
        let (ck, mid, corpus) = Self.fixture
        let tokens = try AnalysisInput.tokens(of: Array(corpus.prefix(400)), for: ck, source: "corpus")
        let entropy = TokenBuckets.predictiveEntropy(mid, tokens: tokens, batch: 3)
        #expect(entropy.count == 399 && entropy.allSatisfy { $0 >= 0 && $0 <= log(256.0) + 1e-9 })
        // Position 5 of window 0, recomputed from one forward pass of that window alone.
        let model = Transformer(config: mid.config.model, batchSize: 1, seed: 0)
        mid.parameters.withUnsafeBufferPointer { model.parameters.baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
        let z = model.logits(tokens: Array(tokens[0..<8]), batch: 1)[(5 * 256)..<(6 * 256)].map(Double.init)
        let lse = log(z.map { exp($0) }.reduce(0, +))
        let h = -z.map { exp($0 - lse) * ($0 - lse) }.reduce(0, +)
        #expect(abs(entropy[5] - h) < 1e-5)
        let assignment = try TokenBuckets.assign(entropy, buckets: 4)
        #expect((0..<4).map { b in assignment.filter { $0 == b }.count } == [100, 100, 100, 99])
        let rows = try TokenBuckets.rows(checkpoints: [("mid", mid), ("end", ck)], tokens: tokens, uncertainty: entropy, buckets: 4)
        #expect(rows.count == 8 && rows.prefix(4).map(\.tokens).reduce(0, +) == 399)
        for (name, c) in [("mid", mid), ("end", ck)] {
            let r = rows.filter { $0.checkpoint == name }
            let weighted = r.reduce(0.0) { $0 + Double($1.tokens) * $1.meanLoss } / 399
            let eval = Evaluation.totalLoss(config: c.config.model, parameters: c.parameters, tokens: tokens).total / 399
            #expect(abs(weighted - eval) <= 1e-12 * eval)
            #expect(zip(r, r.dropFirst()).allSatisfy { $0.uncertaintyHigh <= $1.uncertaintyLow })
        }
        #expect(throws: AnalysisError.self) { try TokenBuckets.assign(entropy, buckets: 400) }
    }

    @Test("noise trace is unbiased on Gaussian draws with a known covariance (raw and diagonally scaled)")
    func noiseUnbiased() {
        // g = μ + diag(σ) z: Tr Cov(g) = Σσ², Tr Cov(S g) = Σ (sσ)².
        let sigma = [0.5, 1.0, 2.0, 0.1, 3.0], mu = [1.0, -2.0, 0.0, 5.0, 0.5], s = [1.0, 0.5, 2.0, 10.0, 0.1]
        let exact = sigma.reduce(0) { $0 + $1 * $1 }
        let exactScaled = zip(sigma, s).reduce(0.0) { $0 + $1.0 * $1.0 * $1.1 * $1.1 }
        let rng = RandomSource(seed: 11)
        func draw() -> [Double] { (0..<5).map { mu[$0] + sigma[$0] * rng.gaussian() } }
        // Many small estimates (2 pairs each): their mean is within 3 standard errors of the truth.
        var raw: [Double] = [], scaled: [Double] = []
        for _ in 0..<4000 {
            let t = NoiseTrace.estimate(pairs: 2, scalings: [nil, s], sample: draw)
            raw.append(t[0].estimate); scaled.append(t[1].estimate)
        }
        for (values, truth) in [(raw, exact), (scaled, exactScaled)] {
            let m = Statistics.mean(values), se = Statistics.standardDeviation(values) / Double(values.count).squareRoot()
            #expect(abs(m - truth) <= 3 * se, "mean \(m) ± \(se) vs \(truth)")
        }
        // One large estimate: within 3 of its own standard errors.
        let big = NoiseTrace.estimate(pairs: 5000, sample: draw)[0]
        #expect(abs(big.estimate - exact) <= 3 * big.standardError && big.standardError < 0.05 * exact)
        #expect(big.scaled(4).estimate == 4 * big.estimate)
    }

    @Test("noise on a checkpoint: per example = B × per batch, preconditioned present for AdamW, odd --batches rejected")
    func noiseOnCheckpoint() throws {
        let (ck, _, _) = Self.fixture
        let r = try GradientNoise.run(ck, batches: 6, batchSize: 2, seed: 1)
        #expect(r.perBatch.estimate > 0 && r.perBatch.standardError > 0 && r.perExample.estimate == 2 * r.perBatch.estimate)
        #expect(r.perBatchPreconditioned != nil && r.perExamplePreconditioned!.estimate == 2 * r.perBatchPreconditioned!.estimate)
        #expect(throws: AnalysisError.self) { try GradientNoise.run(ck, batches: 5, batchSize: 2, seed: 1) }
    }
}
