import Foundation
import LinearAlgebra
import Testing
@testable import Trainer

/// Finite-difference checks of every layer's backward pass, and of the whole model.
///
/// Each layer check contracts the layer's output with fixed random weights r, L = Σ r ⊙ out
/// (accumulated in Double), and compares the analytic gradient (the layer's backward with dout = r)
/// with the central difference (L(x + h) − L(x − h)) / 2h on the Float32 kernel. The Float32
/// forward limits the difference to ~1e-3 relative accuracy, so the tolerance is stated relative to
/// the largest gradient entry: max |fd − analytic| ≤ tol · max(1, max |analytic|).
@Suite("Transformer gradients")
struct ModelGradientTests {
    /// Deterministic pseudo-random Floats in [-scale, scale) (SplitMix64).
    static func random(_ n: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var s = seed
        return (0..<n).map { _ in
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            return (Float(z >> 40) / Float(1 << 24) * 2 - 1) * scale
        }
    }

    static func dot(_ a: [Float], _ b: [Float]) -> Double {
        zip(a, b).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }

    /// Largest |fd − analytic| over `indices`, relative to max(1, max |analytic|).
    static func fdError(_ x: inout [Float], analytic: [Float], indices: [Int], h: Float,
                        loss: ([Float]) -> Double) -> Double {
        var worst = 0.0
        let scale = max(1, analytic.map { abs(Double($0)) }.max() ?? 0)
        for i in indices {
            let x0 = x[i]
            x[i] = x0 + h
            let lp = loss(x)
            x[i] = x0 - h
            let lm = loss(x)
            x[i] = x0
            let fd = (lp - lm) / (2 * Double(h))
            worst = max(worst, abs(fd - Double(analytic[i])) / scale)
        }
        return worst
    }

    @Test("RMSNorm backward matches finite differences (x and gain; C = 20 exercises the SIMD tail)")
    func rmsnorm() {
        for C in [20, 32] {
            let N = 3
            var x = Self.random(N * C, seed: 1, scale: 2)
            var w = Self.random(C, seed: 2).map { 1 + $0 / 2 }
            let r = Self.random(N * C, seed: 3)
            func forward(_ x: [Float], _ w: [Float]) -> Double {
                var out = [Float](repeating: 0, count: N * C), rstd = [Float](repeating: 0, count: N)
                Layers.rmsnormForward(out: &out, rstd: &rstd, x: x, weight: w, N: N, C: C, eps: 1e-5)
                return Self.dot(out, r)
            }
            var out = [Float](repeating: 0, count: N * C), rstd = [Float](repeating: 0, count: N)
            Layers.rmsnormForward(out: &out, rstd: &rstd, x: x, weight: w, N: N, C: C, eps: 1e-5)
            var dx = [Float](repeating: 0, count: N * C), dw = [Float](repeating: 0, count: C)
            var scratch = [Float](repeating: 0, count: Parallel.workers * C)
            Layers.rmsnormBackward(dx: &dx, dweight: &dw, dy: r, x: x, weight: w, rstd: rstd, N: N, C: C,
                                   scratch: &scratch)
            let wFixed = w, xFixed = x
            let ex = Self.fdError(&x, analytic: dx, indices: Array(0..<(N * C)), h: 1e-2) { forward($0, wFixed) }
            let ew = Self.fdError(&w, analytic: dw, indices: Array(0..<C), h: 1e-2) { forward(xFixed, $0) }
            #expect(ex < 2e-3, "RMSNorm dx, C = \(C): relative error \(ex)")
            #expect(ew < 2e-3, "RMSNorm dweight, C = \(C): relative error \(ew)")
        }
    }

    @Test("SwiGLU backward matches finite differences (F = 21)")
    func swiglu() {
        let N = 3, F = 21
        var h = Self.random(N * 2 * F, seed: 4, scale: 3)
        let r = Self.random(N * F, seed: 5)
        func forward(_ h: [Float]) -> Double {
            var act = [Float](repeating: 0, count: N * F)
            Layers.swigluForward(act: &act, h13: h, N: N, F: F)
            return Self.dot(act, r)
        }
        var dh = [Float](repeating: 0, count: N * 2 * F)
        Layers.swigluBackward(dh13: &dh, dact: r, h13: h, N: N, F: F)
        let e = Self.fdError(&h, analytic: dh, indices: Array(0..<(N * 2 * F)), h: 1e-2, loss: forward)
        #expect(e < 2e-3, "SwiGLU relative error \(e)")
    }

    @Test("Softmax cross-entropy backward matches finite differences (V = 37)")
    func crossEntropy() {
        let N = 4, V = 37
        var logits = Self.random(N * V, seed: 6, scale: 4)
        let targets: [Int32] = [0, 36, 17, 5]
        func forward(_ l: [Float]) -> Double {
            var losses = [Float](repeating: 0, count: N), lse = [Float](repeating: 0, count: N)
            Layers.crossEntropyForward(losses: &losses, lse: &lse, logits: l, targets: targets, N: N, V: V)
            return losses.reduce(0.0) { $0 + Double($1) } / Double(N)
        }
        var losses = [Float](repeating: 0, count: N), lse = [Float](repeating: 0, count: N)
        Layers.crossEntropyForward(losses: &losses, lse: &lse, logits: logits, targets: targets, N: N, V: V)
        // Loss against a Double reference.
        for n in 0..<N {
            let row = logits[(n * V)..<((n + 1) * V)].map(Double.init)
            let m = row.max()!
            let ref = m + log(row.map { exp($0 - m) }.reduce(0, +)) - row[Int(targets[n])]
            #expect(abs(Double(losses[n]) - ref) < 1e-5 * max(1, abs(ref)), "CE row \(n): \(losses[n]) vs \(ref)")
        }
        var d = [Float](repeating: 0, count: N * V)
        Layers.crossEntropyBackward(dlogits: &d, logits: logits, lse: lse, targets: targets, N: N, V: V,
                                    scale: 1 / Float(N))
        let e = Self.fdError(&logits, analytic: d, indices: Array(0..<(N * V)), h: 1e-2, loss: forward)
        #expect(e < 1e-3, "cross-entropy relative error \(e)")
    }

    @Test("RoPE's eight-pair vector loop gives the scalar formula's bits (D 32: vectors only; D 20: vectors and a tail)",
          arguments: [32, 20])
    func ropeVectorLoopIsBitExact(_ D: Int) {
        let B = 2, T = 9, C = 2 * D, half = D / 2
        let cosT = (0..<(T * half)).map { Float(cos(Double($0) * 0.37)) }, sinT = (0..<(T * half)).map { Float(sin(Double($0) * 0.37)) }
        let x = Self.random(B * T * 3 * C, seed: 21)
        for sign: Float in [1, -1] {
            var y = x
            Layers.rope(qkv: &y, cos: cosT, sin: sinT, B: B, T: T, C: C, D: D, sign: sign)
            var ref = x
            for row in 0..<(B * T) {
                let t = row % T
                for part in 0..<2 {
                    for h in 0..<(C / D) {
                        let base = row * 3 * C + part * C + h * D
                        for i in 0..<half {
                            let a = x[base + 2 * i], b = x[base + 2 * i + 1]
                            let c = cosT[t * half + i], s = sign * sinT[t * half + i]
                            ref[base + 2 * i] = a * c - b * s
                            ref[base + 2 * i + 1] = a * s + b * c
                        }
                    }
                }
            }
            #expect(y.map(\.bitPattern) == ref.map(\.bitPattern), "D = \(D), sign \(sign): vector RoPE differs from the scalar formula")
        }
    }

    @Test("RoPE backward is the inverse rotation (finite differences; rotation preserves norms)")
    func rope() {
        let B = 2, T = 5, C = 8, D = 4
        let half = D / 2
        var cosT = [Float](repeating: 0, count: T * half), sinT = cosT
        Layers.ropeTables(T: T, D: D, theta: 10_000, cos: &cosT, sin: &sinT)
        var x = Self.random(B * T * 3 * C, seed: 7)
        let r = Self.random(B * T * 3 * C, seed: 8)
        func forward(_ x: [Float]) -> Double {
            var y = x
            Layers.rope(qkv: &y, cos: cosT, sin: sinT, B: B, T: T, C: C, D: D, sign: 1)
            return Self.dot(y, r)
        }
        var y = x
        Layers.rope(qkv: &y, cos: cosT, sin: sinT, B: B, T: T, C: C, D: D, sign: 1)
        let n0 = Self.dot(x, x), n1 = Self.dot(y, y)
        #expect(abs(n0 - n1) < 1e-5 * n0, "rotation changed the norm: \(n0) → \(n1)")
        var g = r
        Layers.rope(qkv: &g, cos: cosT, sin: sinT, B: B, T: T, C: C, D: D, sign: -1)
        let e = Self.fdError(&x, analytic: g, indices: Array(0..<x.count), h: 1e-2, loss: forward)
        #expect(e < 1e-3, "RoPE relative error \(e)")
    }

    @Test("Causal attention backward matches finite differences (T = 80: five 16-key panels, twenty 4-row tiles)")
    func attention() {
        let B = 2, T = 80, C = 8, H = 2
        var scratch = [Float](repeating: 0, count: Layers.attentionScratchCount(T: T, D: C / H))
        var qkv = Self.random(B * T * 3 * C, seed: 9, scale: 1.5)
        let r = Self.random(B * T * C, seed: 10)
        var probs = [Float](repeating: 0, count: B * H * T * T)
        func forward(_ qkv: [Float]) -> Double {
            var out = [Float](repeating: 0, count: B * T * C)
            Layers.attentionForward(attOut: &out, probs: &probs, qkv: qkv, scratch: &scratch, B: B, T: T, C: C, H: H)
            return Self.dot(out, r)
        }
        // Forward against a direct Double evaluation of softmax(q kᵀ/√D, causal) v.
        var out = [Float](repeating: 0, count: B * T * C)
        Layers.attentionForward(attOut: &out, probs: &probs, qkv: qkv, scratch: &scratch, B: B, T: T, C: C, H: H)
        let D = C / H
        var worst = 0.0
        for b in 0..<B {
            for h in 0..<H {
                for i in [0, 1, 63, 64, 79] {
                    let q = (0..<D).map { Double(qkv[(b * T + i) * 3 * C + h * D + $0]) }
                    var s = (0...i).map { j in
                        (0..<D).reduce(0.0) { $0 + q[$1] * Double(qkv[(b * T + j) * 3 * C + C + h * D + $1]) } / sqrt(Double(D))
                    }
                    let m = s.max()!
                    s = s.map { exp($0 - m) }
                    let z = s.reduce(0, +)
                    for d in 0..<D {
                        let ref = (0...i).reduce(0.0) { $0 + s[$1] / z * Double(qkv[(b * T + $1) * 3 * C + 2 * C + h * D + d]) }
                        worst = max(worst, abs(ref - Double(out[(b * T + i) * C + h * D + d])))
                    }
                }
            }
        }
        #expect(worst < 1e-5, "attention forward differs from the Double reference by \(worst)")
        var dqkv = [Float](repeating: 0, count: B * T * 3 * C)
        var dP = [Float](repeating: 0, count: B * H * T * T)
        Layers.attentionForward(attOut: &out, probs: &probs, qkv: qkv, scratch: &scratch, B: B, T: T, C: C, H: H)
        let p = probs
        Layers.attentionBackward(dqkv: &dqkv, dP: &dP, dAttOut: r, qkv: qkv, probs: p, scratch: &scratch, B: B, T: T, C: C, H: H)
        let indices = Array(stride(from: 0, to: qkv.count, by: 7))
        let e = Self.fdError(&qkv, analytic: dqkv, indices: indices, h: 1e-2, loss: forward)
        #expect(e < 2e-3, "attention relative error \(e)")
    }

    @Test("Linear backward matches finite differences (dx and dW)")
    func linear() {
        let N = 5, IC = 7, OC = 6
        var x = Self.random(N * IC, seed: 11), w = Self.random(OC * IC, seed: 12)
        let r = Self.random(N * OC, seed: 13)
        func forward(_ x: [Float], _ w: [Float]) -> Double {
            var out = [Float](repeating: 0, count: N * OC)
            Layers.linearForward(out: &out, x: x, w: w, N: N, IC: IC, OC: OC)
            return Self.dot(out, r)
        }
        var dx = [Float](repeating: 0, count: N * IC), dw = [Float](repeating: 0, count: OC * IC)
        Layers.linearBackward(dx: &dx, dw: &dw, dy: r, x: x, w: w, N: N, IC: IC, OC: OC)
        let wf = w, xf = x
        let ex = Self.fdError(&x, analytic: dx, indices: Array(0..<x.count), h: 1e-2) { forward($0, wf) }
        let ew = Self.fdError(&w, analytic: dw, indices: Array(0..<w.count), h: 1e-2) { forward(xf, $0) }
        #expect(ex < 1e-3 && ew < 1e-3, "linear relative errors dx \(ex), dW \(ew)")
    }

    /// A tiny model with larger-than-init weights, so attention and SwiGLU are far from linear.
    static func roughModel(tied: Bool) -> Transformer {
        var c = TransformerConfig.tiny
        c.tiedEmbeddings = tied
        let m = Transformer(config: c, batchSize: 2, seed: 42)
        let noise = random(m.parameterCount, seed: 99, scale: 0.5)
        for t in m.tensors {
            for i in t.offset..<(t.offset + t.count) {
                m.parameters[i] = t.name.hasSuffix("norm.weight") ? 1 + noise[i] / 2 : noise[i]
            }
        }
        return m
    }

    @Test("Whole model: every tensor's gradient matches finite differences of the loss (tied and untied)",
          arguments: [false, true])
    func wholeModel(tied: Bool) {
        let m = Self.roughModel(tied: tied)
        let T = m.config.contextLength, B = 2
        let tokens = (0..<(B * T)).map { Int32(($0 * 37 + 11) % 256) }
        let targets = (0..<(B * T)).map { Int32(($0 * 53 + 5) % 256) }
        m.forward(tokens: tokens, targets: targets, batch: B)
        m.backward()
        let grads = Array(m.gradients)
        for t in m.tensors {
            // The 4 entries with the largest gradient, plus one with a small one.
            let idx = (t.offset..<(t.offset + t.count)).sorted { abs(grads[$0]) > abs(grads[$1]) }
            let check = Array(idx.prefix(4)) + [idx[idx.count / 2]]
            let tscale = max(1e-3, Double(abs(grads[idx[0]])))
            var worst = 0.0
            for i in check {
                let p0 = m.parameters[i]
                let h: Float = 1e-2
                m.parameters[i] = p0 + h
                let lp = Double(m.forward(tokens: tokens, targets: targets, batch: B))
                m.parameters[i] = p0 - h
                let lm = Double(m.forward(tokens: tokens, targets: targets, batch: B))
                m.parameters[i] = p0
                let fd = (lp - lm) / (2 * Double(h))
                worst = max(worst, abs(fd - Double(grads[i])) / tscale)
            }
            #expect(worst < 1e-2, "\(t.name): relative error \(worst) (largest |grad| \(tscale))")
        }
    }

    @Test("Causal: changing token t leaves the logits of positions < t unchanged; prefixes give the same logits")
    func causalMask() {
        let c = TransformerConfig(vocabSize: 64, contextLength: 96, width: 16, layers: 2, heads: 2, mlpHidden: 24)
        let m = Transformer(config: c, batchSize: 1, seed: 3)
        let T = 96, V = 64
        var tokens = (0..<T).map { Int32(($0 * 7 + 3) % 64) }
        let base = m.logits(tokens: tokens, batch: 1)
        for t in [5, 63, 64, 70, 95] {
            let saved = tokens[t]
            tokens[t] = (saved + 1) % 64
            let changed = m.logits(tokens: tokens, batch: 1)
            tokens[t] = saved
            let before = zip(base[0..<(t * V)], changed[0..<(t * V)]).map { abs($0 - $1) }.max() ?? 0
            let at = zip(base[(t * V)..<((t + 1) * V)], changed[(t * V)..<((t + 1) * V)]).map { abs($0 - $1) }.max()!
            #expect(before <= 1e-6, "changing token \(t) moved earlier logits by \(before)")
            #expect(at > 1e-4, "changing token \(t) did not change its own logits")
        }
        let prefix = Array(tokens[0..<40])
        let short = m.logits(tokens: prefix, batch: 1)
        let diff = zip(short, base[0..<(40 * V)]).map { abs($0 - $1) }.max()!
        #expect(diff <= 1e-5, "prefix logits differ by \(diff)")
    }

    @Test("Initialisation is a function of the seed; norms start at 1; init std is 0.02")
    func initialisation() {
        let a = Transformer(config: .tiny, batchSize: 1, seed: 7)
        let b = Transformer(config: .tiny, batchSize: 1, seed: 7)
        let c = Transformer(config: .tiny, batchSize: 1, seed: 8)
        #expect(Array(a.parameters) == Array(b.parameters))
        #expect(Array(a.parameters) != Array(c.parameters))
        let emb = a.view(a.tensor(named: "tok_embeddings.weight")!, in: a.parameters)
        let std = (emb.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(emb.count)).squareRoot()
        #expect(abs(std - 0.02) < 0.002, "embedding std \(std)")
        #expect(a.view(a.tensor(named: "layers.1.ffn_norm.weight")!, in: a.parameters).allSatisfy { $0 == 1 })
    }

    @Test("Parameter counts and tensor table match the closed form")
    func parameterCounts() {
        func closedForm(_ c: TransformerConfig) -> Int {
            let C = c.width, F = c.mlpHidden, V = c.vocabSize
            return V * C * (c.tiedEmbeddings ? 1 : 2) + c.layers * (2 * C + 4 * C * C + 3 * C * F) + C
        }
        for (name, c) in TransformerConfig.presets {
            #expect(Transformer.parameterCount(for: c) == closedForm(c), "\(name)")
        }
        #expect(Transformer.parameterCount(for: .small3M) == 3_295_488)
        #expect(Transformer.parameterCount(for: .small086M) == 857_216)
        let m = Transformer(config: .tiny, batchSize: 1, seed: 1)
        var offset = 0
        for t in m.tensors {
            #expect(t.offset == offset, "\(t.name) offset")
            offset += t.count
        }
        #expect(offset == m.parameterCount)
        #expect(m.tensors.first?.name == "tok_embeddings.weight" && m.tensors.last?.name == "output.weight")
    }

    @Test("Bad configs fail with a message naming the value")
    func validation() {
        var c = TransformerConfig.tiny
        c.heads = 3
        #expect(throws: TransformerConfigError.self) { try c.validate() }
        do { try c.validate() } catch { #expect("\(error)".contains("heads (3) must divide width (16)")) }
        c = .tiny
        c.width = 18; c.heads = 6  // head size 3: odd
        do { try c.validate() } catch { #expect("\(error)".contains("must be even")) }
        c = .tiny
        c.vocabSize = 1
        #expect(throws: TransformerConfigError.self) { try c.validate() }
        for (_, p) in TransformerConfig.presets { #expect(throws: Never.self) { try p.validate() } }
    }

    @Test("Gradient clipping follows torch.nn.utils.clip_grad_norm_")
    func clipping() {
        var g: [Float] = [3, 4] + [Float](repeating: 0, count: 30)
        let norm = g.withUnsafeMutableBufferPointer { GradientClipping.clip($0, maxNorm: 1) }
        #expect(abs(norm - 5) < 1e-12)
        let coef = Float(1 / (5 + 1e-6))
        #expect(g[0] == 3 * coef && g[1] == 4 * coef)
        let n2 = g.withUnsafeMutableBufferPointer { GradientClipping.clip($0, maxNorm: 10) }
        #expect(abs(n2 - 1) < 1e-6 && g[0] == 3 * coef)
    }
}
