import Foundation
import LinearAlgebra
import RiverValley
import Testing
@testable import Trainer

/// `"fp32Matmul": "onednn"`: an fp32 run's linear-layer GEMMs on oneDNN's Float32 matmul. Checked against the
/// OpenBLAS path (the reference bits) per layer, per model gradient and over a training run; its fallback is
/// exactly sgemm; its bits do not depend on the thread count; runs resume bit for bit; the config key.
@Suite("fp32 GEMMs on oneDNN")
struct Float32MatmulTests {
    static func relative(_ x: [Float], _ y: [Float]) -> Double {
        x.withUnsafeBufferPointer { xp in y.withUnsafeBufferPointer { MixedPrecisionTests.relative(xp, $0) } }
    }

    /// One linear layer (out = x·Wᵀ + β·out, then dx and dW += dyᵀ·x) through `engine` (nil: OpenBLAS).
    static func linear(_ engine: OneDNNMatmul?, N: Int, IC: Int, OC: Int, beta: Float) -> (out: [Float], dx: [Float], dw: [Float]) {
        let x = MixedPrecisionTests.random(N * IC, seed: 4), w = MixedPrecisionTests.random(OC * IC, seed: 5)
        let dy = MixedPrecisionTests.random(N * OC, seed: 6)
        var out = MixedPrecisionTests.random(N * OC, seed: 7), dx = [Float](repeating: 0, count: N * IC)
        var dw = MixedPrecisionTests.random(OC * IC, seed: 8)   // dW accumulates (β = 1), as in a step
        Layers.linearForward(out: &out, x: x, w: w, N: N, IC: IC, OC: OC, beta: beta, bf16: engine)
        Layers.linearBackward(dx: &dx, dw: &dw, dy: dy, x: x, w: w, N: N, IC: IC, OC: OC, bf16: engine)
        return (out, dx, dw)
    }

    @Test("per layer: output, dx and dW on oneDNN equal OpenBLAS's to 1e-6 (relative L2) at the 0.86M model's widths with N = 4096, β 0 and 1; the fallback backend is sgemm bit for bit")
    func layers() {
        guard MixedPrecisionTests.onednnLoads() else { return }
        for (IC, OC, beta) in [(128, 384, Float(0)), (344, 128, 1), (128, 688, 0), (128, 256, 0)] {
            let blas = Self.linear(nil, N: 4096, IC: IC, OC: OC, beta: beta)
            let engine = OneDNNMatmul(inputs: .float32)
            let dnn = Self.linear(engine, N: 4096, IC: IC, OC: OC, beta: beta)
            for (name, u, v) in [("out", dnn.out, blas.out), ("dx", dnn.dx, blas.dx), ("dW", dnn.dw, blas.dw)] {
                let e = Self.relative(u, v)
                #expect(e < 1e-6, "\(IC)→\(OC) β \(beta) \(name): \(e)")
            }
            #expect(engine.reports.count == 3 && engine.reports.allSatisfy {
                $0.fallbackReason == nil && !$0.kernel.hasPrefix("ref") && $0.kernel != OneDNNMatmul.float32FallbackKernel
            })
            #expect(engine.conversions == 0)  // Float32 inputs are used as they are
            let fallback = OneDNNMatmul(backend: .fallback, inputs: .float32)
            let fb = Self.linear(fallback, N: 4096, IC: IC, OC: OC, beta: beta)
            #expect(fb.out == blas.out && fb.dx == blas.dx && fb.dw == blas.dw)
            #expect(fallback.reports.allSatisfy { $0.kernel == OneDNNMatmul.float32FallbackKernel
                && $0.fallbackReason == "the fallback backend was requested" })
        }
    }

    @Test("whole model: loss within 1e-6 relative and gradient within 1e-5 (relative L2) of the OpenBLAS model, tied and untied; the attention stays Float32 (nothing converted)")
    func model() {
        guard MixedPrecisionTests.onednnLoads() else { return }
        for tied in [false, true] {
            let ref = ModelGradientTests.roughModel(tied: tied)
            let dnn = Transformer(config: ref.config, batchSize: ref.batchSize, seed: 0, fp32Matmul: .onednn)
            _ = dnn.parameters.update(fromContentsOf: ref.parameters)
            #expect(dnn.precision == .fp32 && dnn.fp32Matmul == .onednn)
            let T = ref.config.contextLength, B = ref.batchSize
            let tokens = (0..<(B * T)).map { Int32(($0 * 7 + 3) % ref.config.vocabSize) }
            let targets = (0..<(B * T)).map { Int32(($0 * 5 + 1) % ref.config.vocabSize) }
            let lr = ref.forward(tokens: tokens, targets: targets, batch: B)
            let ld = dnn.forward(tokens: tokens, targets: targets, batch: B)
            #expect(Swift.abs(lr - ld) <= 1e-6 * Swift.abs(lr), "loss OpenBLAS \(lr) oneDNN \(ld)")
            ref.backward(); dnn.backward()
            let g = Self.relative(Array(dnn.gradients), Array(ref.gradients))
            #expect(g < 1e-5, "tied \(tied): gradient \(g)")
            #expect(!dnn.matmulKernels.isEmpty && dnn.matmulKernels.allSatisfy { $0.fallbackReason == nil } && ref.matmulKernels.isEmpty)
            #expect(dnn.network.matmul?.conversions == 0)
        }
        // A bf16 model ignores the fp32 library: its GEMMs take oneDNN with bf16 inputs.
        let bf = Transformer(config: .tiny, batchSize: 1, seed: 0, precision: .bf16, fp32Matmul: .onednn)
        #expect(bf.fp32Matmul == .openblas && bf.network.matmul?.inputs == .bf16)
    }

    @Test("thread count: on oneDNN's brgemm kernels (AVX-512) one step's gradient on 1 thread equals the one on 2 threads bit for bit; on its gemm:jit kernels (AVX2) it differs by at most 1e-6 relative")
    func threadCount() {
        guard MixedPrecisionTests.onednnLoads() else { return }
        let config = TransformerConfig(vocabSize: 256, contextLength: 64, width: 64, layers: 2, heads: 2)
        let saved = BLAS.threads
        defer { BLAS.setThreads(saved) }
        var gradients: [[Float]] = [], kernels = Set<String>()
        for threads in [1, 2] {
            BLAS.setThreads(threads)
            let m = Transformer(config: config, batchSize: 8, seed: 3, fp32Matmul: .onednn)
            let n = 8 * 64
            let tokens = (0..<n).map { Int32(($0 * 31 + 7) % 256) }, targets = (0..<n).map { Int32(($0 * 17 + 2) % 256) }
            _ = m.forward(tokens: tokens, targets: targets, batch: 8)
            m.backward()
            gradients.append(Array(m.gradients))
            kernels.formUnion(m.matmulKernels.map(\.kernel))
        }
        let differing = zip(gradients[0], gradients[1]).filter { $0 != $1 }.count
        if kernels.allSatisfy({ $0.hasPrefix("brg:") }) {
            #expect(differing == 0, "\(differing) of \(gradients[0].count) gradient entries differ on \(kernels)")
        } else {
            let e = Self.relative(gradients[0], gradients[1])
            #expect(e < 1e-6, "kernels \(kernels): \(differing) entries differ, relative L2 \(e)")
        }
    }

    @Test("training: 60 steps on oneDNN (batch 32 × 32, so the weight gradients sum 1024 terms) differ from the OpenBLAS run, by at most 1e-5 nats at every step; the run resumes bit for bit on oneDNN and records its kernels and its library")
    func trainingAndResume() throws {
        guard MixedPrecisionTests.onednnLoads() else { return }
        let dir = try RunFixtures.temporaryDirectory()
        var cfg = RunFixtures.config(corpus: try RunFixtures.corpus(in: dir), steps: 60)
        cfg.checkpointEvery = 20
        cfg.batchSize = 32   // long enough sums that the two libraries round differently
        let blas = try TrainingRun.create(at: dir.appendingPathComponent("openblas"), config: cfg).train()
        cfg.fp32Matmul = .onednn
        let a = try TrainingRun.create(at: dir.appendingPathComponent("a"), config: cfg)
        let ma = try a.train()
        let worst = zip(blas, ma).map { Swift.abs($0.loss - $1.loss) }.max()!
        #expect(ma.count == 60 && worst > 0 && worst < 1e-5, "largest per-step difference \(worst)")
        let b = try TrainingRun.create(at: dir.appendingPathComponent("b"), config: cfg)
        try b.train(stopAfter: 27)
        let b2 = try TrainingRun.open(at: dir.appendingPathComponent("b"))
        #expect(b2.config.fp32Matmul == .onednn && b2.model.fp32Matmul == .onednn)
        try b2.train()
        let mb = try MetricsRecord.read(b2.metricsURL)
        let firstDifference = ma.indices.first { $0 < mb.count && !ma[$0].sameTraining(as: mb[$0]) }
        #expect(mb.count == 60 && firstDifference == nil, "first differing step: \(firstDifference.map { "\(ma[$0]) vs \(mb[$0])" } ?? "")")
        #expect(Array(a.model.parameters) == Array(b2.model.parameters) && a.optimizer.secondMoment == b2.optimizer.secondMoment)
        for run in [a, b2] {   // the resumed run wrote its own report
            let report = try JSONDecoder().decode(TrainingRun.KernelReport.self, from: Data(contentsOf: run.kernelsURL))
            #expect(report.precision == .fp32 && report.fp32Matmul == .onednn && !report.kernels.isEmpty
                    && report.kernels.allSatisfy { $0.fallbackReason == nil })
        }
        #expect(try RunConfig.load(a.directory.appendingPathComponent("config.json")).fp32Matmul == .onednn)
        // An OpenBLAS run writes no kernel report.
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("openblas/kernels.json").path))
    }

    @Test("config: fp32Matmul onednn round-trips, openblas is the default and is not written, an unknown library is an error naming the allowed ones, onednn with bf16 is rejected")
    func config() throws {
        try RunFixtures.expectOptionalKey("fp32Matmul", value: "onednn", expected: Float32Matmul.onednn, read: \.fp32Matmul,
                                          bad: "mkl", allowed: "openblas, onednn")
        var both = RunConfig()
        both.precision = .bf16
        both.fp32Matmul = .onednn
        #expect(throws: RunError.self) { try both.validate() }
        do { try both.validate() } catch { #expect("\(error)".contains("fp32 runs only"), "\(error)") }
    }
}
