import Foundation
import LinearAlgebra

/// Forward/backward pairs of the transformer's layers (llm.c style), on raw row-major buffers of a
/// ``ModelScalar`` (Float32 for training, Float64 for curvature analysis).
///
/// Shapes use N = batch·T rows (tokens), C = width, F = MLP hidden, V = vocabulary, H = heads,
/// D = head size. Backward functions *accumulate* (`+=`) into parameter gradients and into the
/// gradient of the residual stream; they overwrite their other outputs. No function allocates.
typealias Ptr<T> = UnsafeMutablePointer<T>
typealias CPtr<T> = UnsafePointer<T>

enum Layers {
    // MARK: token embedding

    /// out[N, C] = wte[tokens[n], :]
    static func embeddingForward<S: ModelScalar>(out: Ptr<S>, tokens: UnsafePointer<Int32>, wte: CPtr<S>, N: Int, C: Int) {
        for n in 0..<N {
            (out + n * C).update(from: wte + Int(tokens[n]) * C, count: C)
        }
    }

    /// dwte[tokens[n], :] += dout[n, :]
    static func embeddingBackward<S: ModelScalar>(dwte: Ptr<S>, dout: CPtr<S>, tokens: UnsafePointer<Int32>, N: Int, C: Int) {
        // Split the columns between the cores: rows of dwte can repeat, columns never collide.
        Parallel.chunks(C / 16 + (C % 16 == 0 ? 0 : 1), minPerWorker: 8) { _, blocks in
            let c0 = blocks.lowerBound * 16, c1 = min(C, blocks.upperBound * 16)
            for n in 0..<N {
                let d = dwte + Int(tokens[n]) * C, g = dout + n * C
                for c in c0..<c1 { d[c] += g[c] }
            }
        }
    }

    // MARK: RMSNorm

    /// out[N, C] = x · rstd · w with rstd[n] = 1 / sqrt(mean_c x[n, c]² + eps).
    static func rmsnormForward<S: ModelScalar>(out: Ptr<S>, rstd: Ptr<S>, x: CPtr<S>, weight: CPtr<S>, N: Int, C: Int, eps: S) {
        Parallel.chunks(N, minPerWorker: 16) { _, rows in
            for n in rows {
                let xr = x + n * C, o = out + n * C
                var acc = SIMD16<S>()
                var c = 0
                while c + 16 <= C { let v = load16(xr + c); acc += v * v; c += 16 }
                var ss = acc.sum()
                while c < C { ss += xr[c] * xr[c]; c += 1 }
                let r = 1 / (ss / S(C) + eps).squareRoot()
                rstd[n] = r
                c = 0
                while c + 16 <= C { store16(load16(xr + c) * r * load16(weight + c), o + c); c += 16 }
                while c < C { o[c] = xr[c] * r * weight[c]; c += 1 }
            }
        }
    }

    /// dx[N, C] += rstd·(w⊙dy) − x · rstd³/C · Σ_c w⊙dy⊙x ;  dweight[C] += Σ_n dy ⊙ x · rstd.
    /// `scratch` holds `Parallel.workers · C` floats for per-core partial dweight sums.
    static func rmsnormBackward<S: ModelScalar>(dx: Ptr<S>, dweight: Ptr<S>, dy: CPtr<S>, x: CPtr<S>, weight: CPtr<S>, rstd: CPtr<S>,
                                N: Int, C: Int, scratch: Ptr<S>) {
        scratch.update(repeating: 0, count: Parallel.workers * C)
        Parallel.chunks(N, minPerWorker: 16) { w, rows in
            let dw = scratch + w * C
            for n in rows {
                let xr = x + n * C, g = dy + n * C, d = dx + n * C
                let r = rstd[n]
                var acc = SIMD16<S>()
                var c = 0
                while c + 16 <= C {
                    let xv = load16(xr + c), gv = load16(g + c)
                    acc += load16(weight + c) * gv * xv
                    store16(load16(dw + c) + gv * xv * r, dw + c)
                    c += 16
                }
                var dot = acc.sum()
                while c < C { dot += weight[c] * g[c] * xr[c]; dw[c] += g[c] * xr[c] * r; c += 1 }
                let k = dot * r * r * r / S(C)
                c = 0
                while c + 16 <= C {
                    store16(load16(d + c) + load16(weight + c) * load16(g + c) * r - load16(xr + c) * k, d + c)
                    c += 16
                }
                while c < C { d[c] += weight[c] * g[c] * r - xr[c] * k; c += 1 }
            }
        }
        for w in 0..<Parallel.workers {
            let s = scratch + w * C
            for c in 0..<C { dweight[c] += s[c] }
        }
    }

    // MARK: linear layers (PyTorch convention: W is [out, in], y = x · Wᵀ)

    /// out[N, OC] = x[N, IC] · W[OC, IC]ᵀ + beta · out. With `bf16` (Float models only) the product runs
    /// with bf16 inputs and Float32 accumulation (``OneDNNMatmul``); x and W must then stay unchanged until
    /// the next `bf16.beginPass()` (their bf16 copies are reused by the backward pass).
    static func linearForward<S: ModelScalar>(out: Ptr<S>, x: CPtr<S>, w: CPtr<S>, N: Int, IC: Int, OC: Int, beta: S = 0,
                                              bf16: OneDNNMatmul? = nil) {
        gemm(bf16, transA: false, transB: true, m: N, n: OC, k: IC, a: x, lda: IC, b: w, ldb: IC, beta: beta, c: out, ldc: OC,
             aKind: .stable, bKind: .stable)
    }

    /// dx[N, IC] = dy[N, OC] · W[OC, IC] (+ beta·dx);  dW[OC, IC] += dyᵀ · x. Both products in bf16 with
    /// `bf16` (the gradient accumulation into dW stays Float32); dy is converted once for both.
    static func linearBackward<S: ModelScalar>(dx: Ptr<S>?, dw: Ptr<S>, dy: CPtr<S>, x: CPtr<S>, w: CPtr<S>, N: Int, IC: Int, OC: Int,
                                               dxBeta: S = 0, bf16: OneDNNMatmul? = nil) {
        gemm(bf16, transA: true, transB: false, m: OC, n: IC, k: N, a: dy, lda: OC, b: x, ldb: IC, beta: 1, c: dw, ldc: IC,
             aKind: .sharedWithAdjacentCalls, bKind: .stable)
        if let dx {
            gemm(bf16, transA: false, transB: false, m: N, n: IC, k: OC, a: dy, lda: OC, b: w, ldb: IC, beta: dxBeta, c: dx, ldc: IC,
                 aKind: .sharedWithAdjacentCalls, bKind: .stable)
        }
    }

    /// C = op(A)·op(B) + beta·C (alpha 1): through `bf16` when given (S must then be Float), else S's BLAS.
    @inline(__always)
    private static func gemm<S: ModelScalar>(_ bf16: OneDNNMatmul?, transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                                             a: CPtr<S>, lda: Int, b: CPtr<S>, ldb: Int, beta: S, c: Ptr<S>, ldc: Int,
                                             aKind: OneDNNMatmul.Operand, bKind: OneDNNMatmul.Operand) {
        if let bf16 {
            precondition(S.self == Float.self, "bf16 GEMMs take Float32 operands")
            bf16.gemm(transA: transA, transB: transB, m: m, n: n, k: k,
                      a: UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), lda: lda,
                      b: UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), ldb: ldb,
                      beta: unsafeBitCast(beta, to: Float.self), c: UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), ldc: ldc,
                      aKind: aKind, bKind: bKind)
            return
        }
        S.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a: a, lda: lda, b: b, ldb: ldb,
               beta: beta, c: c, ldc: ldc)
    }

    // MARK: rotary position embedding (interleaved pairs, Meta LLaMA convention)

    /// One head's rotation at one position: x[0..<2·half] in pairs, cos and sin of the position's angles
    /// (`cr`, `sr`: [half]). ``rope(qkv:cos:sin:B:T:C:D:sign:)`` and the attention's fused rotation
    /// (``attentionForward(attOut:probs:rotating:cos:sin:scratch:B:T:C:H:)``) both come here.
    @inline(__always)
    static func rotatePairs<S: ModelScalar>(_ x: Ptr<S>, cos cr: CPtr<S>, sin sr: CPtr<S>, half: Int, sign: S) {
        // Eight pairs at a time: even lanes a, odd lanes b (the same expressions as the tail).
        var i = 0
        while i + 8 <= half {
            var v = load16(x + 2 * i)
            let a = v.evenHalf, b = v.oddHalf
            let c = load8(cr + i), s = load8(sr + i) * sign
            v.evenHalf = a * c - b * s
            v.oddHalf = a * s + b * c
            store16(v, x + 2 * i)
            i += 8
        }
        while i < half {
            let a = x[2 * i], b = x[2 * i + 1]
            let c = cr[i], s = sign * sr[i]
            x[2 * i] = a * c - b * s
            x[2 * i + 1] = a * s + b * c
            i += 1
        }
    }

    /// The rotation tables of ``rope(qkv:cos:sin:B:T:C:D:sign:)``: cos[t·D/2 + i] and sin[t·D/2 + i] of the angle
    /// t·θ^(−2i/D) for t < T, i < D/2, computed in Double and rounded once to S.
    static func ropeTables<S: ModelScalar>(T: Int, D: Int, theta: Double, cos: Ptr<S>, sin: Ptr<S>) {
        for t in 0..<T {
            for i in 0..<(D / 2) {
                let angle = Double(t) * Foundation.pow(theta, -2.0 * Double(i) / Double(D))
                cos[t * D / 2 + i] = S(Foundation.cos(angle))
                sin[t * D / 2 + i] = S(Foundation.sin(angle))
            }
        }
    }

    /// Rotates q and k of qkv[B, T, 3C] in place: for head h, pair i = (2i, 2i+1) of token t,
    /// (a, b) ← (a·cos − b·sin, a·sin + b·cos) with angle t·θ^(−2i/D). `sign = −1` applies the inverse
    /// rotation (the backward pass of the forward rotation).
    /// cos, sin: [T, D/2].
    static func rope<S: ModelScalar>(qkv: Ptr<S>, cos: CPtr<S>, sin: CPtr<S>, B: Int, T: Int, C: Int, D: Int, sign: S) {
        let half = D / 2
        Parallel.chunks(B * T, minPerWorker: 16) { _, rows in
            for row in rows {
                let t = row % T
                let cr = cos + t * half, sr = sin + t * half
                let base = qkv + row * 3 * C
                for part in 0..<2 {  // q, then k
                    let p = base + part * C
                    for h in 0..<(C / D) { rotatePairs(p + h * D, cos: cr, sin: sr, half: half, sign: sign) }
                }
            }
        }
    }

    // MARK: SwiGLU

    /// act[N, F] = silu(h[:, :F]) ⊙ h[:, F:] for h = h13[N, 2F] (gate, up), silu(a) = a·σ(a).
    static func swigluForward<S: ModelScalar>(act: Ptr<S>, h13: CPtr<S>, N: Int, F: Int) {
        @inline(__always) func kernel(_ av: SIMD16<S>, _ uv: SIMD16<S>) -> SIMD16<S> { av / (1 + vexp(-av)) * uv }
        Parallel.chunks(N, minPerWorker: 16) { _, rows in
            for n in rows {
                let a = h13 + n * 2 * F, u = a + F, o = act + n * F
                var j = 0
                while j + 16 <= F { store16(kernel(load16(a + j), load16(u + j)), o + j); j += 16 }
                if j < F {
                    let w = F - j
                    storePartial(kernel(loadPartial(a + j, w, pad: 0), loadPartial(u + j, w, pad: 0)), o + j, w)
                }
            }
        }
    }

    /// dh13[N, 2F] from dact[N, F]:  d gate = dact·u·σ(a)(1 + a(1 − σ(a))),  d up = dact·silu(a).
    static func swigluBackward<S: ModelScalar>(dh13: Ptr<S>, dact: CPtr<S>, h13: CPtr<S>, N: Int, F: Int) {
        @inline(__always) func kernel(_ av: SIMD16<S>, _ uv: SIMD16<S>, _ gv: SIMD16<S>) -> (SIMD16<S>, SIMD16<S>) {
            let sig = 1 / (1 + vexp(-av))
            return (gv * uv * sig * (1 + av * (1 - sig)), gv * av * sig)
        }
        Parallel.chunks(N, minPerWorker: 16) { _, rows in
            for n in rows {
                let a = h13 + n * 2 * F, u = a + F, g = dact + n * F
                let da = dh13 + n * 2 * F, du = da + F
                var j = 0
                while j + 16 <= F {
                    let (x, y) = kernel(load16(a + j), load16(u + j), load16(g + j))
                    store16(x, da + j); store16(y, du + j)
                    j += 16
                }
                if j < F {
                    let w = F - j
                    let (x, y) = kernel(loadPartial(a + j, w, pad: 0), loadPartial(u + j, w, pad: 0),
                                        loadPartial(g + j, w, pad: 0))
                    storePartial(x, da + j, w); storePartial(y, du + j, w)
                }
            }
        }
    }

    // MARK: softmax cross-entropy

    /// losses[n] = logsumexp(logits[n, :]) − logits[n, targets[n]];  lse[n] keeps logsumexp.
    static func crossEntropyForward<S: ModelScalar>(losses: Ptr<S>, lse: Ptr<S>, logits: CPtr<S>, targets: UnsafePointer<Int32>,
                                    N: Int, V: Int) {
        Parallel.chunks(N, minPerWorker: 16) { _, rows in
            for n in rows {
                let l = logits + n * V
                var mx = SIMD16<S>(repeating: -.infinity)
                var j = 0
                while j + 16 <= V { mx = vmax(mx, load16(l + j)); j += 16 }
                var m = hmax(mx)
                while j < V { m = Swift.max(m, l[j]); j += 1 }
                let mv = SIMD16<S>(repeating: m)
                var acc = SIMD16<S>()
                j = 0
                while j + 16 <= V { acc += vexp(load16(l + j) - mv); j += 16 }
                if j < V { acc += vexp(loadPartial(l + j, V - j, pad: -.infinity) - mv) }
                // The clamped exp turns −∞ padding into ≈1e−38 per lane: far below Float resolution of the sum.
                let s = m + vlog(acc.sum())
                lse[n] = s
                losses[n] = s - l[Int(targets[n])]
            }
        }
    }

    /// dlogits[N, V] = scale · (softmax(logits) − onehot(targets)), with softmax = exp(logits − lse).
    static func crossEntropyBackward<S: ModelScalar>(dlogits: Ptr<S>, logits: CPtr<S>, lse: CPtr<S>, targets: UnsafePointer<Int32>,
                                     N: Int, V: Int, scale: S) {
        Parallel.chunks(N, minPerWorker: 16) { _, rows in
            for n in rows {
                let l = logits + n * V, d = dlogits + n * V
                let sv = SIMD16<S>(repeating: lse[n])
                var j = 0
                while j + 16 <= V { store16(vexp(load16(l + j) - sv) * scale, d + j); j += 16 }
                if j < V {
                    storePartial(vexp(loadPartial(l + j, V - j, pad: 0) - sv) * scale, d + j, V - j)
                }
                d[Int(targets[n])] -= scale
            }
        }
    }
}
