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
    /// with bf16 inputs and Float32 accumulation (``BF16Matmul``).
    static func linearForward<S: ModelScalar>(out: Ptr<S>, x: CPtr<S>, w: CPtr<S>, N: Int, IC: Int, OC: Int, beta: S = 0,
                                              bf16: BF16Matmul? = nil) {
        gemm(bf16, transA: false, transB: true, m: N, n: OC, k: IC, a: x, lda: IC, b: w, ldb: IC, beta: beta, c: out, ldc: OC)
    }

    /// dx[N, IC] = dy[N, OC] · W[OC, IC] (+ beta·dx);  dW[OC, IC] += dyᵀ · x. Both products in bf16 with
    /// `bf16` (the gradient accumulation into dW stays Float32).
    static func linearBackward<S: ModelScalar>(dx: Ptr<S>?, dw: Ptr<S>, dy: CPtr<S>, x: CPtr<S>, w: CPtr<S>, N: Int, IC: Int, OC: Int,
                                               dxBeta: S = 0, bf16: BF16Matmul? = nil) {
        gemm(bf16, transA: true, transB: false, m: OC, n: IC, k: N, a: dy, lda: OC, b: x, ldb: IC, beta: 1, c: dw, ldc: IC)
        if let dx {
            gemm(bf16, transA: false, transB: false, m: N, n: IC, k: OC, a: dy, lda: OC, b: w, ldb: IC, beta: dxBeta, c: dx, ldc: IC)
        }
    }

    /// C = op(A)·op(B) + beta·C (alpha 1): through `bf16` when given (S must then be Float), else S's BLAS.
    @inline(__always)
    private static func gemm<S: ModelScalar>(_ bf16: BF16Matmul?, transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                                             a: CPtr<S>, lda: Int, b: CPtr<S>, ldb: Int, beta: S, c: Ptr<S>, ldc: Int) {
        if let bf16 {
            precondition(S.self == Float.self, "bf16 GEMMs take Float32 operands")
            bf16.gemm(transA: transA, transB: transB, m: m, n: n, k: k,
                      a: UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), lda: lda,
                      b: UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), ldb: ldb,
                      beta: unsafeBitCast(beta, to: Float.self), c: UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), ldc: ldc)
            return
        }
        S.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a: a, lda: lda, b: b, ldb: ldb,
               beta: beta, c: c, ldc: ldc)
    }

    // MARK: rotary position embedding (interleaved pairs, Meta LLaMA convention)

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
                    for h in 0..<(C / D) {
                        let x = p + h * D
                        for i in 0..<half {
                            let a = x[2 * i], b = x[2 * i + 1]
                            let c = cr[i], s = sign * sr[i]
                            x[2 * i] = a * c - b * s
                            x[2 * i + 1] = a * s + b * c
                        }
                    }
                }
            }
        }
    }

    // MARK: causal self-attention

    /// Rows per query block: each block of queries only meets the keys up to its last row, which
    /// skips almost half of the T×T work of a full causal product.
    static let attentionBlock = 64

    /// attOut[B, T, C] from qkv[B, T, 3C] (q, k already rotated); probs[B, H, T, T] keeps the
    /// softmax for the backward pass (entries above the diagonal of each query block are 0;
    /// entries right of the block are not touched).
    /// P = softmax(q kᵀ / √D, causal), out = P v per head.
    static func attentionForward<S: ModelScalar>(attOut: Ptr<S>, probs: Ptr<S>, qkv: CPtr<S>, B: Int, T: Int, C: Int, H: Int) {
        let D = C / H
        let scale = 1 / S(D).squareRoot()
        BLAS.withSingleThread {
            Parallel.chunks(B * H) { _, tasks in
                for task in tasks {
                    let b = task / H, h = task % H
                    let q = qkv + b * T * 3 * C + h * D, k = q + C, v = q + 2 * C
                    let P = probs + task * T * T
                    let o = attOut + b * T * C + h * D
                    var r0 = 0
                    while r0 < T {
                        let r1 = min(T, r0 + attentionBlock), m = r1 - r0
                        S.gemm(transA: false, transB: true, m: m, n: r1, k: D, alpha: scale,
                                   a: q + r0 * 3 * C, lda: 3 * C, b: k, ldb: 3 * C, beta: 0, c: P + r0 * T, ldc: T)
                        for i in r0..<r1 {
                            softmaxRow(P + i * T, count: i + 1, capacity: T)
                            (P + i * T + i + 1).update(repeating: 0, count: r1 - i - 1)
                        }
                        S.gemm(transA: false, transB: false, m: m, n: D, k: r1, alpha: 1,
                                   a: P + r0 * T, lda: T, b: v, ldb: 3 * C, beta: 0, c: o + r0 * C, ldc: C)
                        r0 = r1
                    }
                }
            }
        }
    }

    /// dqkv[B, T, 3C] (overwritten) from dAttOut[B, T, C]; dP[B, H, T, T] is scratch.
    /// dV = Pᵀ dO;  dS = P ⊙ (dO vᵀ − rowsum(P ⊙ dO vᵀ));  dq = dS k / √D;  dk = dSᵀ q / √D.
    static func attentionBackward<S: ModelScalar>(dqkv: Ptr<S>, dP: Ptr<S>, dAttOut: CPtr<S>, qkv: CPtr<S>, probs: CPtr<S>,
                                  B: Int, T: Int, C: Int, H: Int) {
        let D = C / H
        let scale = 1 / S(D).squareRoot()
        BLAS.withSingleThread {
            Parallel.chunks(B * H) { _, tasks in
                for task in tasks {
                    let b = task / H, h = task % H
                    let q = qkv + b * T * 3 * C + h * D, k = q + C, v = q + 2 * C
                    let dq = dqkv + b * T * 3 * C + h * D, dk = dq + C, dv = dq + 2 * C
                    let P = probs + task * T * T, G = dP + task * T * T
                    let dO = dAttOut + b * T * C + h * D
                    for t in 0..<T {
                        (dk + t * 3 * C).update(repeating: 0, count: D)
                        (dv + t * 3 * C).update(repeating: 0, count: D)
                    }
                    var r0 = 0
                    while r0 < T {
                        let r1 = min(T, r0 + attentionBlock), m = r1 - r0
                        // dP = dO · vᵀ   [m, r1]
                        S.gemm(transA: false, transB: true, m: m, n: r1, k: D, alpha: 1,
                                   a: dO + r0 * C, lda: C, b: v, ldb: 3 * C, beta: 0, c: G + r0 * T, ldc: T)
                        // dv[0..<r1] += Pᵀ · dO
                        S.gemm(transA: true, transB: false, m: r1, n: D, k: m, alpha: 1,
                                   a: P + r0 * T, lda: T, b: dO + r0 * C, ldb: C, beta: 1, c: dv, ldc: 3 * C)
                        for i in r0..<r1 {
                            softmaxBackwardRow(G + i * T, p: P + i * T, count: i + 1)
                            (G + i * T + i + 1).update(repeating: 0, count: r1 - i - 1)
                        }
                        // dq = dS · k / √D ;  dk[0..<r1] += dSᵀ · q / √D
                        S.gemm(transA: false, transB: false, m: m, n: D, k: r1, alpha: scale,
                                   a: G + r0 * T, lda: T, b: k, ldb: 3 * C, beta: 0, c: dq + r0 * 3 * C, ldc: 3 * C)
                        S.gemm(transA: true, transB: false, m: r1, n: D, k: m, alpha: scale,
                                   a: G + r0 * T, lda: T, b: q + r0 * 3 * C, ldb: 3 * C, beta: 1, c: dk, ldc: 3 * C)
                        r0 = r1
                    }
                }
            }
        }
    }


    /// In place: s[0..<n] ← softmax(s[0..<n]). The row may be padded up to `capacity` ≥ n floats:
    /// lanes n..<roundUp16(n) are then overwritten with ≈1e−38 (callers zero them afterwards).
    @inline(__always) static func softmaxRow<S: ModelScalar>(_ s: Ptr<S>, count n: Int, capacity: Int) {
        let padded = (n + 15) / 16 * 16
        let full = padded <= capacity ? padded : n / 16 * 16
        if full > n { (s + n).update(repeating: -.infinity, count: full - n) }
        var mx = SIMD16<S>(repeating: -.infinity)
        var j = 0
        while j < full { mx = vmax(mx, load16(s + j)); j += 16 }
        var m = mx.max()
        for k in full..<Swift.max(full, n) { m = Swift.max(m, s[k]) }
        let mv = SIMD16<S>(repeating: m)
        var acc = SIMD16<S>()
        j = 0
        while j < full { let e = vexp(load16(s + j) - mv); store16(e, s + j); acc += e; j += 16 }
        var total = acc.sum()
        if full < n {
            let e = vexp(loadPartial(s + full, n - full, pad: -.infinity) - mv)
            storePartial(e, s + full, n - full)
            for i in 0..<(n - full) { total += e[i] }
        }
        let inv = SIMD16<S>(repeating: 1 / total)
        j = 0
        while j < full { store16(load16(s + j) * inv, s + j); j += 16 }
        for k in full..<Swift.max(full, n) { s[k] *= inv[0] }
    }

    /// In place: g[0..<n] ← p ⊙ (g − Σ p⊙g)  (backward of softmax, g = dL/dp on entry).
    @inline(__always) static func softmaxBackwardRow<S: ModelScalar>(_ g: Ptr<S>, p: CPtr<S>, count n: Int) {
        var acc = SIMD16<S>()
        var j = 0
        while j + 16 <= n { acc += load16(g + j) * load16(p + j); j += 16 }
        var dot = acc.sum()
        while j < n { dot += g[j] * p[j]; j += 1 }
        let dv = SIMD16<S>(repeating: dot)
        j = 0
        while j + 16 <= n { store16(load16(p + j) * (load16(g + j) - dv), g + j); j += 16 }
        while j < n { g[j] = p[j] * (g[j] - dot); j += 1 }
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
                var m = mx.max()
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
