import Foundation
import Testing
import LinearAlgebra
@testable import Trainer

/// The register-tiled causal attention (Kernels/Attention.swift) against a plain Float64 evaluation of
/// the textbook formulas, on shapes that reach every edge of the tiling: sequence lengths that are not
/// multiples of 4 (short row tiles) or 16 (short key panels), head sizes below, at and above 16.
///
///     P = softmax(q kᵀ/√D, causal)   out = P v
///     dv = Pᵀ dO   dP = dO vᵀ   dS = P ⊙ (dP − rowsum(P ⊙ dP))   dq = dS k/√D   dk = dSᵀ q/√D
@Suite("Attention kernels")
struct AttentionKernelTests {
    struct Shape: CustomStringConvertible, Sendable {
        let B: Int, T: Int, C: Int, H: Int
        var D: Int { C / H }
        var description: String { "B=\(B) T=\(T) C=\(C) H=\(H) (D=\(D))" }
    }

    static let shapes = [
        Shape(B: 1, T: 37, C: 64, H: 2),   // D 32: full tiles plus a 1-row tile and a 5-key panel
        Shape(B: 2, T: 64, C: 128, H: 2),  // D 64: everything aligned
        Shape(B: 1, T: 19, C: 24, H: 2),   // D 12: every column tile is short
        Shape(B: 2, T: 6, C: 40, H: 2),    // D 20: one 16-column tile and a 4-column tile, T < 16
    ]

    /// Reference results in Double for one (b, h): probs [T, T] (0 above the diagonal), out [T, D],
    /// dq, dk, dv [T, D].
    struct Reference { var probs: [Double], out: [Double], dq: [Double], dk: [Double], dv: [Double] }

    static func reference(_ s: Shape, qkv: [Float], dOut: [Float], b: Int, h: Int) -> Reference {
        let T = s.T, C = s.C, D = s.D
        func q(_ t: Int, _ d: Int) -> Double { Double(qkv[(b * T + t) * 3 * C + h * D + d]) }
        func k(_ t: Int, _ d: Int) -> Double { Double(qkv[(b * T + t) * 3 * C + C + h * D + d]) }
        func v(_ t: Int, _ d: Int) -> Double { Double(qkv[(b * T + t) * 3 * C + 2 * C + h * D + d]) }
        func g(_ t: Int, _ d: Int) -> Double { Double(dOut[(b * T + t) * C + h * D + d]) }
        let scale = 1 / Double(D).squareRoot()
        var P = [Double](repeating: 0, count: T * T)
        for i in 0..<T {
            let s = (0...i).map { j in (0..<D).reduce(0.0) { $0 + q(i, $1) * k(j, $1) } * scale }
            let m = s.max()!
            let e = s.map { exp($0 - m) }
            let z = e.reduce(0, +)
            for j in 0...i { P[i * T + j] = e[j] / z }
        }
        var out = [Double](repeating: 0, count: T * D), dv = out, dq = out, dk = out
        var dS = [Double](repeating: 0, count: T * T)
        for i in 0..<T {
            for d in 0..<D { out[i * D + d] = (0...i).reduce(0.0) { $0 + P[i * T + $1] * v($1, d) } }
            let dP = (0...i).map { j in (0..<D).reduce(0.0) { $0 + g(i, $1) * v(j, $1) } }
            let rowsum = (0...i).reduce(0.0) { $0 + P[i * T + $1] * dP[$1] }
            for j in 0...i { dS[i * T + j] = P[i * T + j] * (dP[j] - rowsum) }
        }
        for t in 0..<T {
            for d in 0..<D {
                dv[t * D + d] = (t..<T).reduce(0.0) { $0 + P[$1 * T + t] * g($1, d) }
                dq[t * D + d] = (0...t).reduce(0.0) { $0 + dS[t * T + $1] * k($1, d) } * scale
                dk[t * D + d] = (t..<T).reduce(0.0) { $0 + dS[$1 * T + t] * q($1, d) } * scale
            }
        }
        return Reference(probs: P, out: out, dq: dq, dk: dk, dv: dv)
    }

    @Test("Float32 forward, probabilities and backward match a Float64 evaluation", arguments: shapes)
    func float32MatchesReference(_ s: Shape) {
        let (B, T, C, H, D) = (s.B, s.T, s.C, s.H, s.D)
        let qkv = ModelGradientTests.random(B * T * 3 * C, seed: UInt64(7 + T), scale: 1.5)
        let dOut = ModelGradientTests.random(B * T * C, seed: UInt64(11 + T))
        // Stale values in the buffers the kernels overwrite or use as scratch must not leak into results.
        var out = [Float](repeating: .nan, count: B * T * C)
        var probs = [Float](repeating: .nan, count: B * H * T * T)
        // dS scratch: one T×T block per worker, then a guard the backward pass must not touch.
        let dSCount = Layers.attentionGradientScratchCount(B: B, H: H, T: T), guardValue: Float = 12345
        var dP = [Float](repeating: .nan, count: dSCount) + [Float](repeating: guardValue, count: 256)
        var dqkv = [Float](repeating: .nan, count: B * T * 3 * C)
        var scratch = [Float](repeating: .nan, count: Layers.attentionScratchCount(T: T, D: D))
        Layers.attentionForward(attOut: &out, probs: &probs, qkv: qkv, scratch: &scratch, B: B, T: T, C: C, H: H)
        Layers.attentionBackward(dqkv: &dqkv, dP: &dP, dAttOut: dOut, qkv: qkv, probs: probs, scratch: &scratch,
                                 B: B, T: T, C: C, H: H)
        #expect(dSCount == min(Parallel.workers, B * H) * T * T)
        #expect(dP[dSCount...].allSatisfy { $0 == guardValue }, "\(s): the backward pass wrote past its dS scratch")
        var worst = (probs: 0.0, out: 0.0, dq: 0.0, dk: 0.0, dv: 0.0)
        var maskOK = true
        for b in 0..<B {
            for h in 0..<H {
                let r = Self.reference(s, qkv: qkv, dOut: dOut, b: b, h: h)
                let P = (b * H + h) * T * T
                for i in 0..<T {
                    for j in 0...i { worst.probs = AttentionBF16Tests.worse(worst.probs, abs(Double(probs[P + i * T + j]) - r.probs[i * T + j])) }
                    // The documented layout: zeros after the diagonal up to the next multiple of 16 (or T).
                    for j in (i + 1)..<max(i + 1, min(T, (i + 16) / 16 * 16)) where probs[P + i * T + j] != 0 { maskOK = false }
                    for d in 0..<D {
                        let row = (b * T + i) * 3 * C + h * D + d
                        worst.out = AttentionBF16Tests.worse(worst.out, abs(Double(out[(b * T + i) * C + h * D + d]) - r.out[i * D + d]))
                        worst.dq = AttentionBF16Tests.worse(worst.dq, abs(Double(dqkv[row]) - r.dq[i * D + d]))
                        worst.dk = AttentionBF16Tests.worse(worst.dk, abs(Double(dqkv[row + C]) - r.dk[i * D + d]))
                        worst.dv = AttentionBF16Tests.worse(worst.dv, abs(Double(dqkv[row + 2 * C]) - r.dv[i * D + d]))
                    }
                }
            }
        }
        // Float32 sums of ≤ 64 terms of size ≲ 1 (probabilities ≤ 1, entries of qkv ≤ 1.5): a few 1e-7.
        #expect(maskOK, "probabilities right of the diagonal are not zero up to the next multiple of 16")
        #expect(worst.probs < 2e-6 && worst.out < 2e-6, "\(s): forward differs: \(worst)")
        #expect(worst.dq < 1e-5 && worst.dk < 1e-5 && worst.dv < 1e-5, "\(s): backward differs: \(worst)")
    }

    /// Equal bit patterns (NaN payloads included).
    static func sameBits<T: BinaryFloatingPoint>(_ a: T, _ b: T) -> Bool {
        a.sign == b.sign && a.exponentBitPattern == b.exponentBitPattern && a.significandBitPattern == b.significandBitPattern
    }

    /// The edge shapes, and one with more (sequence, head) pairs (24) than most machines have cores, so that
    /// workers reuse their dS block.
    static let fusedShapes = shapes + [Shape(B: 3, T: 20, C: 64, H: 8)]

    @Test("RoPE fused into the attention, head by head, has the bits of rope() and then the attention, forward and backward, Float and Double",
          arguments: fusedShapes)
    func fusedRotationMatchesSeparate(_ s: Shape) {
        guard s.D % 2 == 0 else { return }
        let qkv = ModelGradientTests.random(s.B * s.T * 3 * s.C, seed: UInt64(3 + s.T), scale: 1.5)
        let dOut = ModelGradientTests.random(s.B * s.T * s.C, seed: UInt64(5 + s.T))
        Self.fusedRotation(s, qkv: qkv, dOut: dOut)
        Self.fusedRotation(s, qkv: qkv.map(Double.init), dOut: dOut.map(Double.init))
    }

    static func fusedRotation<S: ModelScalar>(_ s: Shape, qkv: [S], dOut: [S]) {
        let (B, T, C, H, D) = (s.B, s.T, s.C, s.H, s.D)
        var cos = [S](repeating: 0, count: T * D / 2), sin = cos
        Layers.ropeTables(T: T, D: D, theta: 10_000, cos: &cos, sin: &sin)
        func run(fused: Bool) -> [S] {
            var x = qkv
            var out = [S](repeating: .nan, count: B * T * C), probs = [S](repeating: .nan, count: B * H * T * T)
            var dP = [S](repeating: .nan, count: Layers.attentionGradientScratchCount(B: B, H: H, T: T))
            var dqkv = [S](repeating: .nan, count: B * T * 3 * C)
            var scratch = [S](repeating: .nan, count: Layers.attentionScratchCount(T: T, D: D))
            if fused {
                Layers.attentionForward(attOut: &out, probs: &probs, rotating: &x, cos: cos, sin: sin, scratch: &scratch,
                                        B: B, T: T, C: C, H: H)
                Layers.attentionBackward(dqkv: &dqkv, dP: &dP, dAttOut: dOut, qkv: x, probs: probs, rotatingBack: cos, sin: sin,
                                         scratch: &scratch, B: B, T: T, C: C, H: H)
            } else {
                Layers.rope(qkv: &x, cos: cos, sin: sin, B: B, T: T, C: C, D: D, sign: 1)
                Layers.attentionForward(attOut: &out, probs: &probs, qkv: x, scratch: &scratch, B: B, T: T, C: C, H: H)
                Layers.attentionBackward(dqkv: &dqkv, dP: &dP, dAttOut: dOut, qkv: x, probs: probs, scratch: &scratch,
                                         B: B, T: T, C: C, H: H)
                Layers.rope(qkv: &dqkv, cos: cos, sin: sin, B: B, T: T, C: C, D: D, sign: -1)
            }
            return x + out + probs + dqkv
        }
        let fused = run(fused: true), separate = run(fused: false)
        #expect(fused.count == separate.count)
        let differing = zip(fused, separate).filter { !sameBits($0.0, $0.1) }.count
        #expect(differing == 0, "\(s) \(S.self): \(differing) of \(fused.count) values differ")
    }

    @Test("The softmax's shortcuts have the bits of its general paths: row maxima on the q·kᵀ tiles and softmaxRow(maximum:) against the tiles and softmaxRow(capacity:); the backward row's vector tail against its scalar tail; Float and Double, with rows of ±∞ and NaN")
    func softmaxShortcutsMatchGeneralPaths() {
        Self.softmaxShortcuts(Float.self)
        Self.softmaxShortcuts(Double.self)
    }

    static func softmaxShortcuts<S: ModelScalar>(_: S.Type) {
        let T = 48, D = 24, lda = 40
        var q = ModelGradientTests.random(T * lda, seed: 21, scale: 3).map { S($0) }
        let k = ModelGradientTests.random(T * D, seed: 22, scale: 3).map { S($0) }
        q[5 * lda + 3] = .infinity         // row 5: scores of ±∞ (and NaN where ∞ meets 0·…)
        q[17 * lda + 7] = .nan             // row 17: a NaN row
        q[30 * lda + 1] = -.infinity
        q[41 * lda + 2] = S.greatestFiniteMagnitude / 4
        var panels = [S](repeating: .nan, count: roundUp16(T) * D)
        Layers.packPanels(&panels, k, ld: D, rows: T, D: D)
        let alpha = 1 / S(D).squareRoot()
        var general = [S](repeating: .nan, count: T * T), shortcut = general
        var i0 = 0
        while i0 < T {
            let keys = min(T, roundUp16(i0 + 4))
            q.withUnsafeBufferPointer { qp in
                panels.withUnsafeBufferPointer { pp in
                    general.withUnsafeMutableBufferPointer { g in
                        Layers.tilesAgainstPanels(rows: 4, keys: keys, D: D, a: qp.baseAddress! + i0 * lda, lda: lda,
                                                  panels: pp.baseAddress!, c: g.baseAddress! + i0 * T, ldc: T, alpha: alpha)
                        for i in i0..<(i0 + 4) { Layers.softmaxRow(g.baseAddress! + i * T, count: i + 1, capacity: T) }
                    }
                    shortcut.withUnsafeMutableBufferPointer { c in
                        let m = Layers.scoresWithRowMaxima(i0: i0, keys: keys, D: D, a: qp.baseAddress! + i0 * lda, lda: lda,
                                                           panels: pp.baseAddress!, c: c.baseAddress! + i0 * T, ldc: T, alpha: alpha)
                        for r in 0..<4 { Layers.softmaxRow(c.baseAddress! + (i0 + r) * T, count: i0 + r + 1, maximum: m[r]) }
                    }
                }
            }
            i0 += 4
        }
        // Each row up to its diagonal rounded up to 16: the probabilities and the ≈1e−38 padding callers zero.
        var differing = 0, compared = 0
        for i in 0..<T {
            for j in 0..<min(T, roundUp16(i + 1)) {
                compared += 1
                if !sameBits(general[i * T + j], shortcut[i * T + j]) { differing += 1 }
            }
        }
        #expect(differing == 0, "\(S.self): \(differing) of \(compared) probabilities differ")
        // The special rows are special in both paths: row 17 is all NaN, row 5 is not all finite.
        #expect((0...17).allSatisfy { shortcut[17 * T + $0].isNaN }, "\(S.self): row 17 should be NaN")
        #expect(!(0...5).allSatisfy { shortcut[5 * T + $0].isFinite }, "\(S.self): row 5 should hold a non-finite value")

        // Backward: g = dL/dp on P's rows (zeros right of each diagonal up to the next multiple of 16).
        var P = general
        for i in 0..<T { for j in (i + 1)..<max(i + 1, min(T, roundUp16(i + 1))) { P[i * T + j] = 0 } }
        var g = ModelGradientTests.random(T * T, seed: 23, scale: 2).map { S($0) }
        g[9 * T + 4] = .infinity
        g[22 * T + 20] = .nan
        var vectorTail = g, scalarTail = g
        P.withUnsafeBufferPointer { p in
            vectorTail.withUnsafeMutableBufferPointer { v in
                for i in 0..<T { Layers.softmaxBackwardRow(v.baseAddress! + i * T, p: p.baseAddress! + i * T, count: i + 1, capacity: T) }
            }
            scalarTail.withUnsafeMutableBufferPointer { s in
                for i in 0..<T { Layers.softmaxBackwardRow(s.baseAddress! + i * T, p: p.baseAddress! + i * T, count: i + 1, capacity: i + 1) }
            }
        }
        differing = 0
        for i in 0..<T { for j in 0...i where !sameBits(vectorTail[i * T + j], scalarTail[i * T + j]) { differing += 1 } }
        #expect(differing == 0, "\(S.self): \(differing) entries of dS differ between the vector and the scalar tail")
    }

    @Test("Float64 kernels agree with the Float64 evaluation to 1e-13")
    func float64MatchesReference() {
        let s = Shape(B: 1, T: 37, C: 64, H: 2)
        let (B, T, C, H, D) = (s.B, s.T, s.C, s.H, s.D)
        let qkv32 = ModelGradientTests.random(B * T * 3 * C, seed: 5, scale: 1.5)
        let dOut32 = ModelGradientTests.random(B * T * C, seed: 6)
        let qkv = qkv32.map(Double.init), dOut = dOut32.map(Double.init)
        var out = [Double](repeating: 0, count: B * T * C), probs = [Double](repeating: 0, count: B * H * T * T)
        var dP = probs, dqkv = [Double](repeating: 0, count: B * T * 3 * C)
        var scratch = [Double](repeating: 0, count: Layers.attentionScratchCount(T: T, D: D))
        Layers.attentionForward(attOut: &out, probs: &probs, qkv: qkv, scratch: &scratch, B: B, T: T, C: C, H: H)
        Layers.attentionBackward(dqkv: &dqkv, dP: &dP, dAttOut: dOut, qkv: qkv, probs: probs, scratch: &scratch,
                                 B: B, T: T, C: C, H: H)
        var worst = 0.0
        for h in 0..<H {
            let r = Self.reference(s, qkv: qkv32, dOut: dOut32, b: 0, h: h)
            for i in 0..<T {
                for d in 0..<D {
                    let row = i * 3 * C + h * D + d
                    for e in [abs(out[i * C + h * D + d] - r.out[i * D + d]), abs(dqkv[row] - r.dq[i * D + d]),
                              abs(dqkv[row + C] - r.dk[i * D + d]), abs(dqkv[row + 2 * C] - r.dv[i * D + d])] {
                        worst = AttentionBF16Tests.worse(worst, e)
                    }
                }
            }
        }
        #expect(worst < 1e-13, "Float64 attention differs from the reference by \(worst)")
    }

    /// Sixteen lanes for the horizontal-reduction tests: each lane is one of `specials` with probability 1/4,
    /// `often(rng)` with probability 1/4, and `otherwise(rng)` for the rest.
    static func lanes(_ rng: RandomSource, specials: [Float], often: (RandomSource) -> Float,
                      otherwise: (RandomSource) -> Float) -> SIMD16<Float> {
        var v = SIMD16<Float>()
        for i in 0..<16 {
            switch rng.int(below: 4) {
            case 0: v[i] = specials[rng.int(below: specials.count)]
            case 1: v[i] = often(rng)
            default: v[i] = otherwise(rng)
            }
        }
        return v
    }

    @Test("hmax, the softmax's horizontal maximum, equals the standard library's max() (==) on 20 000 vectors with ties, ±0, ±∞, subnormals and the largest finite values, Float and Double")
    func horizontalMaximum() {
        let rng = RandomSource(seed: 11)
        let specials: [Float] = [0, -0, .infinity, -.infinity, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
                                 .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 1, -1]
        var mismatches = 0
        for trial in 0..<20_000 {
            var v = Self.lanes(rng, specials: specials, often: { Float($0.int(below: 3)) - 1 },   // many ties
                               otherwise: { Float($0.uniform() * 200 - 100) })
            if trial % 7 == 0 { v = SIMD16(repeating: -.infinity) }   // an all −∞ row (masked padding)
            if hmax(v) != v.max() { mismatches += 1 }
            let d = SIMD16<Double>(v.indices.map { Double(v[$0]) })
            if hmax(d) != d.max() { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }

    /// Same bits, or both NaN: which NaN an addition of two NaNs returns depends on the operand order the
    /// compiler picks, and no caller can tell NaNs apart (a NaN total makes its softmax row NaN either way).
    static func sameSum<T: BinaryFloatingPoint>(_ a: T, _ b: T) -> Bool {
        a.isNaN ? b.isNaN : sameBits(a, b)
    }

    @Test("laneSum, the softmax's horizontal sum, has the bits of the standard library's sum() (or both are NaN) on 20 000 vectors with ±0, ±∞, NaN, subnormals and cancelling values, Float and Double")
    func horizontalSum() {
        let rng = RandomSource(seed: 12)
        let specials: [Float] = [0, -0, .infinity, -.infinity, .nan, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
                                 .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 1e-30, -1e30]
        var mismatches = 0
        for trial in 0..<20_000 {
            // large terms that cancel (the order matters) among ordinary ones
            var v = Self.lanes(rng, specials: specials, often: { Float($0.uniform() * 2 - 1) * 1e7 },
                               otherwise: { Float($0.uniform() * 2 - 1) })
            if trial % 5 == 0 { v = SIMD16(repeating: -0.0) }         // the one case where starting from −0 matters
            if !Self.sameSum(laneSum(v), v.sum()) { mismatches += 1 }
            let d = SIMD16<Double>(v.indices.map { Double(v[$0]) })
            if !Self.sameSum(laneSum(d), d.sum()) { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }
}
