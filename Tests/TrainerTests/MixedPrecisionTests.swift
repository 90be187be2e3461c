import COneDNN
import Foundation
import LinearAlgebra
import RiverValley
import Testing
@testable import Trainer

/// The bf16 path (`"precision": "bf16"`): rounding, the GEMM engine and its oneDNN plumbing, which kernel ran,
/// closeness to fp32 per layer, per model gradient and over a training run, and bit-exact resume.
@Suite("bf16 mixed precision")
struct MixedPrecisionTests {
    /// bf16(x) by arithmetic, independent of the bit trick in the C code: x rounded to 8 significant bits,
    /// ties to even, with Float32's exponent range (subnormal spacing 2^−133), overflow to ±∞.
    static func referenceRound(_ x: Float) -> Float {
        if x.isNaN || x.isInfinite || x == 0 { return x }
        let d = Double(x)
        let e = max(Int(Foundation.floor(Foundation.log2(Swift.abs(d)))), -126)
        let ulp = Double(sign: .plus, exponent: e - 7, significand: 1)
        let r = (d / ulp).rounded(.toNearestOrEven) * ulp
        // The largest finite bf16 is (2 − 2^−7)·2^127; anything that rounds above it is ±∞.
        let maxFinite = Double(sign: .plus, exponent: 127, significand: 2 - 0x1p-7)
        if Swift.abs(r) > maxFinite { return r > 0 ? .infinity : -.infinity }
        return Float(r)
    }

    @Test("bf16 rounding is round-to-nearest-even: ties, subnormals, overflow, NaN, ±0, and 200k random values against an arithmetic reference")
    func rounding() {
        // 1 + 2^−8 is a tie between 1 and 1 + 2^−7: even → 1. 1 + 3·2^−8 ties up to 1 + 2^−6.
        #expect(BFloat16.round(1 + 0x1p-8) == 1)
        #expect(BFloat16.round(1 + 3 * 0x1p-8) == 1 + 0x1p-6)
        #expect(BFloat16.round(1 + 0x1p-8 + 0x1p-20) == 1 + 0x1p-7)
        #expect(BFloat16.bits(1) == 0x3F80 && BFloat16.bits(-2) == 0xC000)
        #expect(BFloat16.round(.greatestFiniteMagnitude) == .infinity)
        #expect(BFloat16.round(-.infinity) == -.infinity)
        #expect(BFloat16.round(.nan).isNaN && BFloat16.round(Float(bitPattern: 0x7F80_0001)).isNaN)
        #expect(BFloat16.round(-0.0).sign == .minus && BFloat16.round(-0.0) == 0)
        #expect(BFloat16.round(Float.leastNonzeroMagnitude) == 0)   // 2^−149 is below half of 2^−133
        #expect(BFloat16.round(0x1p-133) == 0x1p-133)
        var g = SplitMix64(seed: 11)
        var mismatches: [Float] = []
        for i in 0..<200_000 {
            // Random bit patterns cover every exponent; every 4th draw is a value with exactly a tie bit.
            var bits = UInt32(truncatingIfNeeded: g.next())
            if i % 4 == 0 { bits = (bits & 0xFFFF_0000) | 0x8000 }
            let x = Float(bitPattern: bits)
            if x.isNaN { continue }
            let r = BFloat16.round(x), ref = Self.referenceRound(x)
            if !(r == ref && r.bitPattern & 0xFFFF == 0) { mismatches.append(x) }
        }
        #expect(mismatches.isEmpty, "first mismatches: \(mismatches.prefix(5))")
    }

    /// Row-major m×n = op(A)·op(B) + β·C in Float64.
    static func referenceGEMM(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, a: [Float], lda: Int, b: [Float], ldb: Int,
                              beta: Float, c: [Float], ldc: Int) -> [Double] {
        var out = [Double](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    let av = transA ? a[p * lda + i] : a[i * lda + p]
                    let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
                    s += Double(av) * Double(bv)
                }
                out[i * n + j] = s + Double(beta) * Double(c[i * ldc + j])
            }
        }
        return out
    }

    static func random(_ n: Int, seed: UInt64) -> [Float] { ModelGradientTests.random(n, seed: seed) }

    /// Loads oneDNN, recording a test failure that says how to install it when it cannot be loaded.
    static func onednnLoads() -> Bool {
        var why = [CChar](repeating: 0, count: 256)
        let loaded = rv_onednn_load(&why, why.count)
        #expect(loaded == 0, "oneDNN must be installed (scripts/setup.sh installs libdnnl-dev): \(OneDNNMatmul.text(why))")
        return loaded == 0
    }

    /// Runs `engine` on every transpose pair and β ∈ {0, 1, 0.5} and returns the worst error relative to
    /// the largest |entry| of the Float64 reference computed on `inputs(a)`, `inputs(b)`.
    static func worstError(_ engine: OneDNNMatmul, pad: Int, inputs: (Float) -> Float) -> Double {
        let m = 37, n = 23, k = 19
        var worst = 0.0
        for transA in [false, true] {
            for transB in [false, true] {
                for beta: Float in [0, 1, 0.5] {
                    let lda = (transA ? m : k) + pad, ldb = (transB ? k : n) + pad, ldc = n + pad
                    let a = random((transA ? k : m) * lda, seed: 1), b = random((transB ? n : k) * ldb, seed: 2)
                    var c = random(m * ldc, seed: 3)
                    let ref = referenceGEMM(transA: transA, transB: transB, m: m, n: n, k: k, a: a.map(inputs), lda: lda,
                                            b: b.map(inputs), ldb: ldb, beta: beta, c: c, ldc: ldc)
                    engine.gemm(transA: transA, transB: transB, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb,
                                beta: beta, c: &c, ldc: ldc)
                    let scale = ref.map { Swift.abs($0) }.max()!
                    for i in 0..<m { for j in 0..<n { worst = max(worst, Swift.abs(Double(c[i * ldc + j]) - ref[i * n + j]) / scale) } }
                }
            }
        }
        return worst
    }

    @Test("oneDNN matmul plumbing (transposes as strides, padded leading dimensions, β as a sum post-op, one primitive per shape) equals a Float64 GEMM to 1e-6, run with Float32 inputs so it is checked on any CPU")
    func onednnPlumbing() {
        guard Self.onednnLoads() else { return }
        let engine = OneDNNMatmul(inputs: .float32)
        let worst = Self.worstError(engine, pad: 3, inputs: { $0 })
        #expect(worst < 1e-6, "worst relative error \(worst)")
        #expect(engine.reports.count == 12)      // 4 transpose pairs × 3 values of β, each created once
        #expect(engine.reports.allSatisfy { $0.fallbackReason == nil && $0.kernel != OneDNNMatmul.float32FallbackKernel })
        _ = Self.worstError(engine, pad: 3, inputs: { $0 })
        #expect(engine.reports.count == 12)      // cached: no new primitive for a shape already seen
    }

    @Test("a bf16 GEMM equals the Float64 product of the bf16-rounded inputs to Float32 accumulation error (≤ 1e-6), on whichever kernel this CPU gets, and differs from fp32 by bf16 rounding (≤ 2^-7)")
    func bf16GEMM() {
        for backend in BF16Backend.allCases {
            let engine = OneDNNMatmul(backend: backend)
            let exact = Self.worstError(engine, pad: 0, inputs: BFloat16.round)
            #expect(exact < 1e-6, "\(backend): worst error against the rounded-input product \(exact)")
            let vsFP32 = Self.worstError(OneDNNMatmul(backend: backend), pad: 0, inputs: { $0 })
            #expect(vsFP32 > 1e-5 && vsFP32 < 0x1p-7, "\(backend): error against the fp32 product \(vsFP32)")
        }
    }

    @Test("kernel report: each shape names the kernel that ran; a fallback says why (here: no oneDNN bf16 kernel below AVX-512, or the fallback backend was asked for)")
    func kernelReport() {
        let auto = OneDNNMatmul(backend: .automatic)
        _ = Self.worstError(auto, pad: 0, inputs: { $0 })
        #expect(auto.reports.count == 12)
        for r in auto.reports {
            if r.kernel == OneDNNMatmul.fallbackKernel {
                #expect(r.fallbackReason.map { !$0.isEmpty } == true, "\(r)")
            } else {
                #expect(r.fallbackReason == nil && !r.kernel.hasPrefix("ref"), "\(r)")
            }
        }
        let isa = OneDNNMatmul.onednnISA
        if isa == "avx2" || isa == "avx" || isa == "sse41" {
            #expect(auto.reports.allSatisfy { $0.kernel == OneDNNMatmul.fallbackKernel && $0.fallbackReason!.contains("unimplemented") })
        }
        let forced = OneDNNMatmul(backend: .fallback)
        _ = Self.worstError(forced, pad: 0, inputs: { $0 })
        #expect(forced.reports.allSatisfy { $0.kernel == OneDNNMatmul.fallbackKernel && $0.fallbackReason == "the fallback backend was requested" })
    }

    /// Relative L2 distance.
    static func relative(_ x: UnsafeBufferPointer<Float>, _ y: UnsafeBufferPointer<Float>) -> Double {
        var num = 0.0, den = 0.0
        for i in x.indices { num += Double(x[i] - y[i]) * Double(x[i] - y[i]); den += Double(y[i]) * Double(y[i]) }
        return (num / den).squareRoot()
    }

    @Test("per layer: every linear layer's output, dx and dW in bf16 are within 1% (relative L2) of fp32, and the whole model's loss within 0.005 nats and gradient within 3%")
    func layersAndModel() throws {
        for tied in [false, true] {
            let fp = ModelGradientTests.roughModel(tied: tied)
            let bf = Transformer(config: fp.config, batchSize: fp.batchSize, seed: 0, precision: .bf16)
            _ = bf.parameters.update(fromContentsOf: fp.parameters)
            let T = fp.config.contextLength, B = fp.batchSize
            let tokens = (0..<(B * T)).map { Int32(($0 * 7 + 3) % fp.config.vocabSize) }
            let targets = (0..<(B * T)).map { Int32(($0 * 5 + 1) % fp.config.vocabSize) }
            let lf = fp.forward(tokens: tokens, targets: targets, batch: B)
            let lb = bf.forward(tokens: tokens, targets: targets, batch: B)
            #expect(Swift.abs(lf - lb) < 0.005, "loss fp32 \(lf) bf16 \(lb)")
            let logits = Self.relative(bf.lastLogits, fp.lastLogits)
            #expect(logits < 0.02, "logits \(logits)")
            fp.backward(); bf.backward()
            let g = Self.relative(UnsafeBufferPointer(bf.gradients), UnsafeBufferPointer(fp.gradients))
            #expect(g < 0.03, "tied \(tied): gradient \(g)")
            #expect(!bf.matmulKernels.isEmpty && fp.matmulKernels.isEmpty)
        }
        // One linear layer on its own: out = x·Wᵀ, then dx and dW.
        let N = 64, IC = 48, OC = 40
        let x = Self.random(N * IC, seed: 4), w = Self.random(OC * IC, seed: 5), dy = Self.random(N * OC, seed: 6)
        func run(_ engine: OneDNNMatmul?) -> (out: [Float], dx: [Float], dw: [Float]) {
            var out = [Float](repeating: 0, count: N * OC), dx = [Float](repeating: 0, count: N * IC), dw = [Float](repeating: 0, count: OC * IC)
            Layers.linearForward(out: &out, x: x, w: w, N: N, IC: IC, OC: OC, bf16: engine)
            Layers.linearBackward(dx: &dx, dw: &dw, dy: dy, x: x, w: w, N: N, IC: IC, OC: OC, bf16: engine)
            return (out, dx, dw)
        }
        let f = run(nil), b = run(OneDNNMatmul())
        for (name, u, v) in [("out", b.out, f.out), ("dx", b.dx, f.dx), ("dW", b.dw, f.dw)] {
            let e = u.withUnsafeBufferPointer { up in v.withUnsafeBufferPointer { Self.relative(up, $0) } }
            #expect(e > 1e-4 && e < 0.01, "\(name): \(e)")
        }
    }

    @Test("bf16 copies: per pass, x and W are converted once and dy once for its two products; three steps with reuse are bit-identical to converting every operand at every call")
    func copiesAreReusedExactly() throws {
        for backend in BF16Backend.allCases {
            let rough = ModelGradientTests.roughModel(tied: false)
            let models = (0..<2).map { _ in
                let m = Transformer(config: rough.config, batchSize: rough.batchSize, seed: 0, precision: .bf16, bf16Backend: backend)
                _ = m.parameters.update(fromContentsOf: rough.parameters)
                return m
            }
            let engine = try #require(models[0].network.matmul), reference = try #require(models[1].network.matmul)
            reference.reusesCopies = false
            let T = rough.config.contextLength, B = rough.batchSize, V = rough.config.vocabSize
            for step in 0..<3 {
                let tokens = (0..<(B * T)).map { Int32(($0 * 7 + 3 * step + 1) % V) }
                let targets = (0..<(B * T)).map { Int32(($0 * 5 + step) % V) }
                let losses = models.map { $0.forward(tokens: tokens, targets: targets, batch: B) }
                #expect(losses[0].bitPattern == losses[1].bitPattern, "\(backend) step \(step): loss \(losses)")
                for m in models { m.backward() }
                #expect(Array(models[0].gradients) == Array(models[1].gradients), "\(backend) step \(step): gradients differ")
                // A plain SGD step, so the next pass multiplies new weights (stale copies would show).
                for m in models { for i in m.parameters.indices { m.parameters[i] -= 0.05 * m.gradients[i] } }
            }
            // Per pass: 4 products per layer and the output layer; the forward converts x and W of each, the
            // backward converts dy once and reuses x, W and dy: 3 conversions and 3 reuses per product.
            let products = 3 * (4 * rough.config.layers + 1)
            #expect(engine.conversions == products * 3 && engine.conversionsSkipped == products * 3,
                    "\(backend): \(engine.conversions) conversions, \(engine.conversionsSkipped) reused")
            #expect(reference.conversions == products * 6 && reference.conversionsSkipped == 0)
        }
    }

    @Test("bf16 copies: a stable operand is converted again after beginPass, a volatile one at every call, a shared one reused only by the very next call with the same buffer")
    func copyLifetimes() {
        let m = 24, n = 20, k = 16
        let a = UnsafeMutableBufferPointer<Float>.allocate(capacity: m * k), b = UnsafeMutableBufferPointer<Float>.allocate(capacity: k * n)
        let other = UnsafeMutableBufferPointer<Float>.allocate(capacity: m * k)
        let c = UnsafeMutableBufferPointer<Float>.allocate(capacity: m * n), want = UnsafeMutableBufferPointer<Float>.allocate(capacity: m * n)
        defer { for p in [a, b, other, c, want] { p.deallocate() } }
        _ = other.update(fromContentsOf: Self.random(m * k, seed: 30))
        for backend in BF16Backend.allCases {
            let engine = OneDNNMatmul(backend: backend), fresh = OneDNNMatmul(backend: backend)
            fresh.reusesCopies = false
            var version: UInt64 = 0
            func refill() {   // new values in A and B (the same buffers)
                version += 1
                _ = a.update(fromContentsOf: Self.random(m * k, seed: 40 + version))
                _ = b.update(fromContentsOf: Self.random(k * n, seed: 80 + version))
            }
            func product(_ e: OneDNNMatmul, _ x: UnsafeMutableBufferPointer<Float>, _ out: UnsafeMutableBufferPointer<Float>,
                         _ ak: OneDNNMatmul.Operand, _ bk: OneDNNMatmul.Operand) {
                e.gemm(transA: false, transB: false, m: m, n: n, k: k, a: x.baseAddress!, lda: k, b: b.baseAddress!, ldb: n,
                       beta: 0, c: out.baseAddress!, ldc: n, aKind: ak, bKind: bk)
            }
            func check(_ x: UnsafeMutableBufferPointer<Float>, _ ak: OneDNNMatmul.Operand, _ bk: OneDNNMatmul.Operand, _ what: String) {
                product(engine, x, c, ak, bk)
                product(fresh, x, want, .volatile, .volatile)
                #expect(Array(c) == Array(want), "\(backend): \(what)")
            }
            engine.beginPass(); refill()
            check(a, .stable, .stable, "first stable use")
            let converted = engine.conversions
            check(a, .stable, .stable, "stable reuse in the same pass")
            #expect(engine.conversions == converted && engine.conversionsSkipped == 2)
            engine.beginPass(); refill()
            check(a, .stable, .stable, "stable after beginPass")
            #expect(engine.conversions == converted + 2)
            refill()
            check(a, .volatile, .volatile, "volatile after a change")
            refill()
            check(a, .volatile, .volatile, "volatile after another change")
            check(a, .sharedWithAdjacentCalls, .volatile, "shared, first")
            let before = engine.conversionsSkipped
            check(a, .sharedWithAdjacentCalls, .volatile, "shared, the next call")
            #expect(engine.conversionsSkipped == before + 1)
            check(other, .volatile, .volatile, "a call in between")
            refill()
            check(a, .sharedWithAdjacentCalls, .volatile, "shared after a call in between and a change")
            #expect(engine.conversionsSkipped == before + 1)
        }
    }

    @Test("per step: 300 steps of training in bf16 end within 0.02 nats of fp32 (training and validation loss), step by step within 0.05")
    func trainingCurve() throws {
        let dir = try RunFixtures.temporaryDirectory()
        var cfg = RunFixtures.config(corpus: try RunFixtures.corpus(in: dir), steps: 300, peak: 3e-3)
        cfg.evalEvery = 100
        cfg.checkpointEvery = 0
        let fp = try TrainingRun.create(at: dir.appendingPathComponent("fp32"), config: cfg).train()
        cfg.precision = .bf16
        let run = try TrainingRun.create(at: dir.appendingPathComponent("bf16"), config: cfg)
        let bf = try run.train()
        func tail(_ r: [MetricsRecord]) -> Double { r.suffix(50).map(\.loss).reduce(0, +) / 50 }
        #expect(Swift.abs(tail(fp) - tail(bf)) < 0.02, "mean training loss over the last 50 steps: fp32 \(tail(fp)) bf16 \(tail(bf))")
        #expect(Swift.abs(fp.last!.valLoss! - bf.last!.valLoss!) < 0.02, "validation: fp32 \(fp.last!.valLoss!) bf16 \(bf.last!.valLoss!)")
        let worst = zip(fp, bf).map { Swift.abs($0.loss - $1.loss) }.max()!
        #expect(worst < 0.05, "largest per-step difference \(worst)")
        #expect(bf.last!.valLoss! < 4.0)          // it trained
        // The run says which kernels ran, and its config keeps the precision.
        let report = try JSONDecoder().decode(TrainingRun.KernelReport.self, from: Data(contentsOf: run.kernelsURL))
        #expect(report.precision == .bf16 && !report.kernels.isEmpty)
        #expect(try RunConfig.load(run.directory.appendingPathComponent("config.json")).precision == .bf16)
    }

    @Test("bf16 runs resume bit for bit (metrics, parameters, Adam moments)")
    func resumeIsExact() throws {
        let dir = try RunFixtures.temporaryDirectory()
        var cfg = RunFixtures.config(corpus: try RunFixtures.corpus(in: dir))
        cfg.precision = .bf16
        let a = try TrainingRun.create(at: dir.appendingPathComponent("a"), config: cfg)
        try a.train()
        let b = try TrainingRun.create(at: dir.appendingPathComponent("b"), config: cfg)
        try b.train(stopAfter: 17)
        let b2 = try TrainingRun.open(at: dir.appendingPathComponent("b"))
        #expect(b2.config.precision == .bf16)
        try b2.train()
        let ma = try MetricsRecord.read(a.metricsURL), mb = try MetricsRecord.read(b2.metricsURL)
        let firstDifference = ma.indices.first { $0 < mb.count && !ma[$0].sameTraining(as: mb[$0]) }
        #expect(ma.count == 30 && firstDifference == nil, "first differing step: \(firstDifference.map { "\(ma[$0]) vs \(mb[$0])" } ?? "")")
        let sameParameters = Array(a.model.parameters) == Array(b2.model.parameters)
        let sameMoments = a.optimizer.secondMoment == b2.optimizer.secondMoment
        #expect(sameParameters && sameMoments)
        // And it is not the fp32 run.
        cfg.precision = .fp32
        let c = try TrainingRun.create(at: dir.appendingPathComponent("c"), config: cfg)
        try c.train()
        let differs = Array(c.model.parameters) != Array(a.model.parameters)
        #expect(differs)
    }

    @Test("config: precision bf16 round-trips, fp32 is the default and is not written (old configs hash the same), anything else is an error naming the allowed values")
    func config() throws {
        try RunFixtures.expectOptionalKey("precision", value: "bf16", expected: Precision.bf16, read: \.precision,
                                          bad: "fp16", allowed: "fp32, bf16")
    }
}
