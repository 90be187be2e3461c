import COneDNN
import Foundation
import LinearAlgebra
import Testing
@testable import Trainer

/// The bf16 attention (Kernels/AttentionBF16.swift) on every kernel this CPU can run: its six products
/// against Float64 sums of the same bf16-rounded inputs, its softmax and softmax backward against Float64,
/// and the whole against the Float32 attention.
///
/// The products' inputs that the kernels compute themselves (P for P·v and Pᵀ·dO, dS for dS·k and dSᵀ·q)
/// are taken from the kernels' own Float32 outputs and rounded here with ``BFloat16/round(_:)``: the reference
/// then differs only in the order and precision of the additions.
@Suite("bf16 attention kernels")
struct AttentionBF16Tests {
    typealias Shape = AttentionKernelTests.Shape

    static let shapes = AttentionKernelTests.shapes + [
        Shape(B: 2, T: 48, C: 64, H: 2),   // D 32, T a multiple of 16 but not of 32: AMX's last chunk is half zeros
        Shape(B: 1, T: 64, C: 128, H: 2),  // D 64, two chunks of 32 along the head
        Shape(B: 2, T: 21, C: 12, H: 2),   // D 6: the dv, dk strips end with 2 rows; 3-pair panels
        Shape(B: 1, T: 9, C: 4, H: 2),     // D 2: one pair per row
    ]

    /// The kernels to check on this CPU (the hardware ones only where it has them).
    static var kernels: [BF16AttentionKernel] {
        var k: [BF16AttentionKernel] = [.portable, .amxEmulated]
        if rv_bf16_dot_available() != 0 { k.append(.dot) }
        if rv_bf16_amx_available() != 0 { k.append(.amx) }
        return k
    }

    struct Result { var out, probs, dS, dqkv: [Float] }

    /// One forward and backward pass. With `keepingScores` every head's dS is kept (B·H·T², laid out as
    /// probs); without, the backward pass gets one T×T block per worker followed by a guard it must not touch.
    static func run(_ s: Shape, kernel: BF16AttentionKernel, qkv: [Float], dOut: [Float], keepingScores: Bool = true) -> Result {
        let (B, T, C, H, D) = (s.B, s.T, s.C, s.H, s.D)
        let dSCount = keepingScores ? B * H * T * T : Layers.attentionGradientScratchCount(B: B, H: H, T: T)
        let dSGuard: Float = 12345
        // Stale values in the buffers the kernels overwrite or use as scratch must not leak into results.
        var r = Result(out: .init(repeating: .nan, count: B * T * C), probs: .init(repeating: .nan, count: B * H * T * T),
                       dS: .init(repeating: .nan, count: dSCount) + .init(repeating: dSGuard, count: 256),
                       dqkv: .init(repeating: .nan, count: B * T * 3 * C))
        // Past the workers' slices, a guard that no kernel may touch.
        let used = Parallel.workers * Layers.attentionBF16ScratchCount(T: T, D: D), guardCount = 256
        var scratch = [UInt16](repeating: 0x7FC1, count: used + guardCount)
        r.out.withUnsafeMutableBufferPointer { out in
            r.probs.withUnsafeMutableBufferPointer { probs in
                r.dS.withUnsafeMutableBufferPointer { dS in
                    r.dqkv.withUnsafeMutableBufferPointer { dqkv in
                        scratch.withUnsafeMutableBufferPointer { ws in
                            Layers.attentionForwardBF16(attOut: out.baseAddress!, probs: probs.baseAddress!, qkv: qkv, kernel: kernel,
                                                        scratch: ws.baseAddress!, B: B, T: T, C: C, H: H)
                            Layers.attentionBackwardBF16(dqkv: dqkv.baseAddress!, dP: dS.baseAddress!, dAttOut: dOut, qkv: qkv,
                                                         probs: probs.baseAddress!, kernel: kernel, scratch: ws.baseAddress!,
                                                         B: B, T: T, C: C, H: H, keepingScores: keepingScores)
                        }
                    }
                }
            }
        }
        #expect(scratch[used...].allSatisfy { $0 == 0x7FC1 }, "\(s) \(kernel): a kernel wrote past the scratch")
        #expect(r.dS[dSCount...].allSatisfy { $0 == dSGuard }, "\(s) \(kernel): the backward pass wrote past its dS scratch")
        return r
    }

    @Test("dS in one block per worker gives the bits of dS kept per head (out, P and dqkv), on every kernel this CPU runs",
          arguments: shapes + [Shape(B: 3, T: 20, C: 64, H: 8)])
    func perWorkerScoresMatchKeptScores(_ s: Shape) {
        let qkv = ModelGradientTests.random(s.B * s.T * 3 * s.C, seed: UInt64(13 + s.T), scale: 1.5)
        let dOut = ModelGradientTests.random(s.B * s.T * s.C, seed: UInt64(17 + s.T))
        for kernel in Self.kernels {
            let kept = Self.run(s, kernel: kernel, qkv: qkv, dOut: dOut)
            let perWorker = Self.run(s, kernel: kernel, qkv: qkv, dOut: dOut, keepingScores: false)
            let a = kept.out + kept.probs + kept.dqkv, b = perWorker.out + perWorker.probs + perWorker.dqkv
            let differing = zip(a, b).filter { $0.0.bitPattern != $0.1.bitPattern }.count
            #expect(differing == 0, "\(s) \(kernel): \(differing) of \(a.count) values differ")
        }
    }

    /// The larger of two differences, NaN counting as the largest (Swift's `max` would drop it).
    static func worse(_ a: Double, _ b: Double) -> Double { b.isNaN || b > a ? b : a }

    @Test("each product equals the Float64 sum of its bf16-rounded inputs (≤ 1e-5), the softmax and its backward pass match Float64 (≤ 5e-6, 1e-5), on every kernel this CPU runs and every edge of the tiling",
          arguments: shapes)
    func productsMatchRoundedReference(_ s: Shape) {
        let (B, T, C, H, D) = (s.B, s.T, s.C, s.H, s.D)
        let qkv = ModelGradientTests.random(B * T * 3 * C, seed: UInt64(7 + T), scale: 1.5)
        let dOut = ModelGradientTests.random(B * T * C, seed: UInt64(11 + T))
        let scale = 1 / Double(D).squareRoot()
        func r(_ x: Float) -> Double { Double(BFloat16.round(x)) }
        for kernel in Self.kernels {
            let k = Self.run(s, kernel: kernel, qkv: qkv, dOut: dOut)
            var worst = (probs: 0.0, out: 0.0, dS: 0.0, dq: 0.0, dk: 0.0, dv: 0.0)
            var maskOK = true
            for b in 0..<B {
                for h in 0..<H {
                    func q(_ t: Int, _ d: Int) -> Float { qkv[(b * T + t) * 3 * C + h * D + d] }
                    func key(_ t: Int, _ d: Int) -> Float { qkv[(b * T + t) * 3 * C + C + h * D + d] }
                    func v(_ t: Int, _ d: Int) -> Float { qkv[(b * T + t) * 3 * C + 2 * C + h * D + d] }
                    func g(_ t: Int, _ d: Int) -> Float { dOut[(b * T + t) * C + h * D + d] }
                    let base = (b * H + h) * T * T
                    func P(_ i: Int, _ j: Int) -> Float { j <= i ? k.probs[base + i * T + j] : 0 }
                    func dS(_ i: Int, _ j: Int) -> Float { j <= i ? k.dS[base + i * T + j] : 0 }
                    for i in 0..<T {
                        // softmax of the rounded-input scores
                        let scores = (0...i).map { j in (0..<D).reduce(0.0) { $0 + r(q(i, $1)) * r(key(j, $1)) } * scale }
                        let m = scores.max()!, e = scores.map { Foundation.exp($0 - m) }, z = e.reduce(0, +)
                        for j in 0...i { worst.probs = Self.worse(worst.probs, abs(Double(P(i, j)) - e[j] / z)) }
                        for j in (i + 1)..<max(i + 1, min(T, (i + 16) / 16 * 16)) where k.probs[base + i * T + j] != 0 { maskOK = false }
                        // dS from the kernel's P and the rounded-input dP
                        let dP = (0...i).map { j in (0..<D).reduce(0.0) { $0 + r(g(i, $1)) * r(v(j, $1)) } }
                        let rowsum = (0...i).reduce(0.0) { $0 + Double(P(i, $1)) * dP[$1] }
                        for j in 0...i { worst.dS = Self.worse(worst.dS, abs(Double(dS(i, j)) - Double(P(i, j)) * (dP[j] - rowsum))) }
                        for d in 0..<D {
                            let out = (0...i).reduce(0.0) { $0 + r(P(i, $1)) * r(v($1, d)) }
                            let dq = (0...i).reduce(0.0) { $0 + r(dS(i, $1)) * r(key($1, d)) } * scale
                            let dk = (i..<T).reduce(0.0) { $0 + r(dS($1, i)) * r(q($1, d)) } * scale
                            let dv = (i..<T).reduce(0.0) { $0 + r(P($1, i)) * r(g($1, d)) }
                            let row = (b * T + i) * 3 * C + h * D + d
                            worst.out = Self.worse(worst.out, abs(Double(k.out[(b * T + i) * C + h * D + d]) - out))
                            worst.dq = Self.worse(worst.dq, abs(Double(k.dqkv[row]) - dq))
                            worst.dk = Self.worse(worst.dk, abs(Double(k.dqkv[row + C]) - dk))
                            worst.dv = Self.worse(worst.dv, abs(Double(k.dqkv[row + 2 * C]) - dv))
                        }
                    }
                }
            }
            #expect(maskOK, "\(s) \(kernel): probabilities right of the diagonal are not zero up to the next multiple of 16")
            #expect(worst.probs < 5e-6 && worst.dS < 1e-5, "\(s) \(kernel): softmax or its backward pass differs: \(worst)")
            #expect(worst.out < 1e-5 && worst.dq < 1e-5 && worst.dk < 1e-5 && worst.dv < 1e-5, "\(s) \(kernel): a product differs: \(worst)")
        }
    }

    @Test("the bf16 attention differs from the Float32 one by bf16 rounding: relative L2 between 1e-5 and 1e-2 on every output")
    func closeToFloat32() {
        let s = Shape(B: 2, T: 64, C: 128, H: 2)
        let (B, T, C, H, D) = (s.B, s.T, s.C, s.H, s.D)
        let qkv = ModelGradientTests.random(B * T * 3 * C, seed: 3, scale: 1.5)
        let dOut = ModelGradientTests.random(B * T * C, seed: 4)
        var out = [Float](repeating: 0, count: B * T * C), probs = [Float](repeating: 0, count: B * H * T * T)
        var dP = probs, dqkv = [Float](repeating: 0, count: B * T * 3 * C)
        var scratch = [Float](repeating: 0, count: Layers.attentionScratchCount(T: T, D: D))
        Layers.attentionForward(attOut: &out, probs: &probs, qkv: qkv, scratch: &scratch, B: B, T: T, C: C, H: H)
        Layers.attentionBackward(dqkv: &dqkv, dP: &dP, dAttOut: dOut, qkv: qkv, probs: probs, scratch: &scratch, B: B, T: T, C: C, H: H)
        func rel(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Double {
            let num = zip(a, b).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
            return (num / b.reduce(0.0) { $0 + Double($1) * Double($1) }).squareRoot()
        }
        for kernel in Self.kernels {
            let k = Self.run(s, kernel: kernel, qkv: qkv, dOut: dOut)
            let errors = [rel(k.out[...], out[...]), rel(k.dqkv[...], dqkv[...])]
            #expect(errors.allSatisfy { $0 > 1e-5 && $0 < 1e-2 }, "\(kernel): relative L2 of out, dqkv \(errors)")
        }
    }

    @Test("kernel choice: AVX512-BF16 and AMX are detected as /proc/cpuinfo lists them; the AMX tiles pass their self-check where present; the fallback backend runs the portable strips; shapes AMX does not tile fall back to strips, with the reason")
    func kernelChoice() throws {
        let info = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flags = Set((info.split(separator: "\n").first { $0.hasPrefix("flags") } ?? "").split(separator: " ").map(String.init))
        #expect((rv_bf16_dot_available() != 0) == ["avx512_bf16", "avx512bw", "avx512vl"].allSatisfy(flags.contains))
        // AMX needs the flags, and Linux's permission too (arch_prctl can refuse it): available implies the flags.
        if rv_bf16_amx_available() != 0 { #expect(["amx_bf16", "amx_tile"].allSatisfy(flags.contains)) }
        if !["amx_bf16", "amx_tile"].allSatisfy(flags.contains) { #expect(rv_bf16_amx_available() == 0) }
        let check = rv_bf16_amx_self_check()
        if rv_bf16_amx_available() != 0 { #expect(check >= 0 && check < 1e-4, "AMX self-check: \(check)") } else { #expect(check == -1) }
        let expected: BF16AttentionKernel = rv_bf16_amx_available() != 0 ? .amx : rv_bf16_dot_available() != 0 ? .dot : .portable
        if ProcessInfo.processInfo.environment["RIVER_BF16_ATTENTION"] == nil {
            #expect(OneDNNMatmul().attentionKernel == expected)
        }
        #expect(OneDNNMatmul(backend: .fallback).attentionKernel == .portable)
        #expect(BF16AttentionKernel.amx.fits(T: 256, D: 64) && BF16AttentionKernel.amx.fits(T: 128, D: 32))
        #expect(!BF16AttentionKernel.amx.fits(T: 37, D: 32) && !BF16AttentionKernel.amx.fits(T: 64, D: 48))

        // Through a model: the report names the attention's kernel, per shape.
        let config = TransformerConfig.tiny
        let model = Transformer(config: config, batchSize: 2, seed: 1, precision: .bf16, bf16Backend: .fallback)
        let tokens = [Int32](repeating: 3, count: 2 * config.contextLength)
        _ = model.forward(tokens: tokens, targets: tokens, batch: 2)
        let report = model.matmulKernels.filter { $0.shape.hasPrefix("attention") }
        #expect(report.count == 1 && report[0].kernel == BF16AttentionKernel.portable.rawValue
                && report[0].fallbackReason == "the fallback backend was requested", "\(report)")
    }
}

