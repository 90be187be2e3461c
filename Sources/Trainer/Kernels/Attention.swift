import Foundation
import LinearAlgebra

// MARK: causal self-attention

/// Causal multi-head self-attention, forward and backward, on its own register tiles instead of BLAS.
///
/// Per (sequence, head) the products are T×T×D with D = 32…64. With one OpenBLAS call per 64-row query
/// block, each block computed the whole square up to its last row: 62.5% of T² at T = 256, 75% at T = 128.
/// Here every product is a loop of 4×16 tiles (four rows, sixteen columns, four `SIMD16` accumulators, one
/// fused multiply-add per row per step), and each 4-row tile stops at its last row's diagonal rounded up
/// to 16 columns: 53% of T² at T = 256, 56% at T = 128. The tiles run at about the rate OpenBLAS reached on
/// the blocks (≈ 48 against ≈ 52 GFLOP/s on two 2 GHz EPYC cores), so the gain is the skipped work: the
/// attention phase of a training step is 20–30% shorter (docs/machine-facts.md, "Attention on register
/// tiles"). The only packing is one copy of K (or V) per (sequence, head) into 16-key panels, for the
/// products whose right operand is transposed.
///
/// Within each tile the sums run over k in ascending order, one tile per output element, so the result
/// does not depend on the thread count.
extension Layers {
    /// Elements of `scratch` that ``attentionForward(attOut:probs:qkv:scratch:B:T:C:H:)`` and
    /// ``attentionBackward(dqkv:dP:dAttOut:qkv:probs:scratch:B:T:C:H:)`` need: one panel copy of K (or V)
    /// per worker thread.
    static func attentionScratchCount(T: Int, D: Int) -> Int { Parallel.workers * roundUp16(T) * D }

    /// attOut[B, T, C] from qkv[B, T, 3C] (q, k already rotated); probs[B, H, T, T] keeps the softmax for
    /// the backward pass. Row i of a head's probabilities holds P[i, 0...i], then zeros up to column
    /// min(T, i + 1 rounded up to 16); the columns after that are not touched.
    /// P = softmax(q kᵀ / √D, causal), out = P v per head.
    static func attentionForward<S: ModelScalar>(attOut: Ptr<S>, probs: Ptr<S>, qkv: CPtr<S>, scratch: Ptr<S>,
                                                 B: Int, T: Int, C: Int, H: Int) {
        attentionForward(attOut: attOut, probs: probs, qkv: UnsafeMutablePointer(mutating: qkv), rotary: nil,
                         scratch: scratch, B: B, T: T, C: C, H: H)
    }

    /// ``rope(qkv:cos:sin:B:T:C:D:sign:)`` (sign +1) and then
    /// ``attentionForward(attOut:probs:qkv:scratch:B:T:C:H:)``, with the rotation done head by head just
    /// before the head's attention, while its rows of q and k are in cache: the same bits, and qkv is left
    /// rotated as `rope` leaves it, for the backward pass.
    static func attentionForward<S: ModelScalar>(attOut: Ptr<S>, probs: Ptr<S>, rotating qkv: Ptr<S>, cos: CPtr<S>,
                                                 sin: CPtr<S>, scratch: Ptr<S>, B: Int, T: Int, C: Int, H: Int) {
        attentionForward(attOut: attOut, probs: probs, qkv: qkv, rotary: (cos, sin), scratch: scratch, B: B, T: T, C: C, H: H)
    }

    @inline(__always)
    static func attentionForward<S: ModelScalar>(attOut: Ptr<S>, probs: Ptr<S>, qkv: Ptr<S>, rotary: (CPtr<S>, CPtr<S>)?,
                                                 scratch: Ptr<S>, B: Int, T: Int, C: Int, H: Int) {
        let D = C / H, ld = 3 * C
        let scale = 1 / S(D).squareRoot()
        forEachHead(B: B, T: T, C: C, H: H, scratch: scratch) { kPanels, _, task, b, h in
            let q = qkv + b * T * ld + h * D, k = q + C, v = q + 2 * C
            let P = probs + task * T * T
            let o = attOut + b * T * C + h * D
            if let (cos, sin) = rotary { rotateRows(q, k, ld: ld, T: T, D: D, cos: cos, sin: sin, sign: 1) }
            packPanels(kPanels, k, ld: ld, rows: T, D: D)
            causalStrips(T: T) { i0, rows, keys in
                let end = i0 + rows
                // S = q kᵀ / √D for these rows, keys 0..<keys, then the softmax of each row
                if rows == 4 && keys % 16 == 0 {
                    // Whole 4×16 tiles: the row maxima come out of the tiles' registers.
                    let m = scoresWithRowMaxima(i0: i0, keys: keys, D: D, a: q + i0 * ld, lda: ld, panels: kPanels,
                                                c: P + i0 * T, ldc: T, alpha: scale)
                    for r in 0..<4 {
                        let i = i0 + r
                        softmaxRow(P + i * T, count: i + 1, maximum: m[r])
                        (P + i * T + i + 1).update(repeating: 0, count: keys - i - 1)
                    }
                } else {
                    tilesAgainstPanels(rows: rows, keys: keys, D: D, a: q + i0 * ld, lda: ld, panels: kPanels,
                                       c: P + i0 * T, ldc: T, alpha: scale)
                    for i in i0..<end {
                        softmaxRow(P + i * T, count: i + 1, capacity: T)
                        (P + i * T + i + 1).update(repeating: 0, count: keys - i - 1)
                    }
                }
                // out = P v over keys 0..<end (P is 0 right of each row's diagonal)
                tilesAcrossColumns(rows: rows, D: D, k0: 0, k1: end, a: P + i0 * T, aRow: T, aK: 1, b: v, ldb: ld,
                                   c: o + i0 * C, ldc: C, alpha: 1)
            }
        }
    }

    /// dqkv[B, T, 3C] (overwritten) from dAttOut[B, T, C]. dP is scratch for one T×T block of dS per worker
    /// (``attentionGradientScratchCount(B:H:T:)`` elements): each (sequence, head) builds its dS there and
    /// uses it up before the next, so the block stays in the core's L2 instead of a B·H·T² buffer that is
    /// written to memory and read back once per layer.
    /// dV = Pᵀ dO;  dS = P ⊙ (dO vᵀ − rowsum(P ⊙ dO vᵀ));  dq = dS k / √D;  dk = dSᵀ q / √D.
    static func attentionBackward<S: ModelScalar>(dqkv: Ptr<S>, dP: Ptr<S>, dAttOut: CPtr<S>, qkv: CPtr<S>, probs: CPtr<S>,
                                                  scratch: Ptr<S>, B: Int, T: Int, C: Int, H: Int) {
        attentionBackward(dqkv: dqkv, dP: dP, dAttOut: dAttOut, qkv: qkv, probs: probs, rotary: nil, scratch: scratch,
                          B: B, T: T, C: C, H: H)
    }

    /// ``attentionBackward(dqkv:dP:dAttOut:qkv:probs:scratch:B:T:C:H:)`` and then the backward pass of the
    /// rotation, ``rope(qkv:cos:sin:B:T:C:D:sign:)`` with sign −1 on dqkv, done head by head as soon as the
    /// head's dq and dk are complete: the same bits.
    static func attentionBackward<S: ModelScalar>(dqkv: Ptr<S>, dP: Ptr<S>, dAttOut: CPtr<S>, qkv: CPtr<S>, probs: CPtr<S>,
                                                  rotatingBack cos: CPtr<S>, sin: CPtr<S>, scratch: Ptr<S>,
                                                  B: Int, T: Int, C: Int, H: Int) {
        attentionBackward(dqkv: dqkv, dP: dP, dAttOut: dAttOut, qkv: qkv, probs: probs, rotary: (cos, sin), scratch: scratch,
                          B: B, T: T, C: C, H: H)
    }

    @inline(__always)
    static func attentionBackward<S: ModelScalar>(dqkv: Ptr<S>, dP: Ptr<S>, dAttOut: CPtr<S>, qkv: CPtr<S>, probs: CPtr<S>,
                                                  rotary: (CPtr<S>, CPtr<S>)?, scratch: Ptr<S>,
                                                  B: Int, T: Int, C: Int, H: Int) {
        let D = C / H, ld = 3 * C
        let scale = 1 / S(D).squareRoot()
        forEachHead(B: B, T: T, C: C, H: H, scratch: scratch) { vPanels, worker, task, b, h in
            let q = qkv + b * T * ld + h * D, k = q + C, v = q + 2 * C
            let dq = dqkv + b * T * ld + h * D, dk = dq + C, dv = dq + 2 * C
            let P = probs + task * T * T, G = dP + worker * T * T
            let dO = dAttOut + b * T * C + h * D
            packPanels(vPanels, v, ld: ld, rows: T, D: D)
            causalStrips(T: T) { i0, rows, keys in
                let end = i0 + rows
                // dP = dO vᵀ for these rows, then dS in place
                tilesAgainstPanels(rows: rows, keys: keys, D: D, a: dO + i0 * C, lda: C, panels: vPanels,
                                   c: G + i0 * T, ldc: T, alpha: 1)
                for i in i0..<end {
                    softmaxBackwardRow(G + i * T, p: P + i * T, count: i + 1, capacity: T)
                    (G + i * T + i + 1).update(repeating: 0, count: keys - i - 1)
                }
                // dq = dS k / √D over keys 0..<end
                tilesAcrossColumns(rows: rows, D: D, k0: 0, k1: end, a: G + i0 * T, aRow: T, aK: 1, b: k, ldb: ld,
                                   c: dq + i0 * ld, ldc: ld, alpha: scale)
            }
            // dv = Pᵀ dO and dk = dSᵀ q / √D, key rows j0..<j0+4 over queries i ≥ j0 (P and dS are 0 for i < j)
            causalStrips(T: T) { j0, rows, _ in
                tilesAcrossColumns(rows: rows, D: D, k0: j0, k1: T, a: P + j0, aRow: 1, aK: T, b: dO, ldb: C,
                                   c: dv + j0 * ld, ldc: ld, alpha: 1)
                tilesAcrossColumns(rows: rows, D: D, k0: j0, k1: T, a: G + j0, aRow: 1, aK: T, b: q, ldb: ld,
                                   c: dk + j0 * ld, ldc: ld, alpha: scale)
            }
            if let (cos, sin) = rotary { rotateRows(dq, dk, ld: ld, T: T, D: D, cos: cos, sin: sin, sign: -1) }
        }
    }

    /// One head's q and k rows (or dq and dk), rotated in place as ``rope(qkv:cos:sin:B:T:C:D:sign:)`` rotates
    /// them: row t of each at `x + t·ld`.
    @inline(__always)
    static func rotateRows<S: ModelScalar>(_ x: Ptr<S>, _ y: Ptr<S>, ld: Int, T: Int, D: Int, cos: CPtr<S>, sin: CPtr<S>,
                                           sign: S) {
        let half = D / 2
        for t in 0..<T {
            rotatePairs(x + t * ld, cos: cos + t * half, sin: sin + t * half, half: half, sign: sign)
            rotatePairs(y + t * ld, cos: cos + t * half, sin: sin + t * half, half: half, sign: sign)
        }
    }

    /// Elements of the dS scratch of ``attentionBackward(dqkv:dP:dAttOut:qkv:probs:scratch:B:T:C:H:)`` (and of
    /// its bf16 twin): one T×T block per worker that has a (sequence, head) to do.
    static func attentionGradientScratchCount(B: Int, H: Int, T: Int) -> Int { attentionGradientBlocks(B: B, H: H) * T * T }

    /// How many T×T blocks of dS that scratch holds: one per worker that has a (sequence, head) to do,
    /// min(workers, B·H), without forming B·H when either factor alone reaches the worker count (the memory
    /// estimate asks this of any batch size a config names, before refusing one too large).
    static func attentionGradientBlocks(B: Int, H: Int) -> Int {
        let w = Parallel.workers
        return B >= w || H >= w ? w : min(w, B * H)
    }

    /// `body(panels, worker, task, b, h)` for every (sequence b, head h), task = b·H + h, split over the cores;
    /// `panels` is the calling worker's slice of `scratch` (roundUp16(T)·D elements), `worker` its index
    /// (< min(Parallel.workers, B·H)).
    @inline(__always)
    static func forEachHead<S: ModelScalar>(B: Int, T: Int, C: Int, H: Int, scratch: Ptr<S>,
                                            _ body: (Ptr<S>, Int, Int, Int, Int) -> Void) {
        let panelCount = roundUp16(T) * (C / H)
        Parallel.chunks(B * H) { worker, tasks in
            for task in tasks { body(scratch + worker * panelCount, worker, task, task / H, task % H) }
        }
    }

    /// `body(i0, rows, keys)` for the strips of `height` rows (4 for the register tiles, 16 for AMX tiles) of a
    /// causal T×T product: rows i0..<i0+rows meet keys 0..<keys, the strip's last diagonal rounded up to 16
    /// (at most T).
    @inline(__always)
    static func causalStrips(T: Int, height: Int = 4, _ body: (Int, Int, Int) -> Void) {
        var i0 = 0
        while i0 < T {
            let rows = min(height, T - i0)
            body(i0, rows, min(T, roundUp16(i0 + rows)))
            i0 += rows
        }
    }

    /// c[r·ldc + j] = alpha · Σ_d a[r·lda + d] · key_j[d] for j < keys: a strip of ≤ 4 rows against the
    /// 16-key panels of ``packPanels(_:_:ld:rows:D:)``.
    @inline(__always)
    static func tilesAgainstPanels<S: ModelScalar>(rows: Int, keys: Int, D: Int, a: CPtr<S>, lda: Int, panels: CPtr<S>,
                                                   c: Ptr<S>, ldc: Int, alpha: S) {
        var j0 = 0
        while j0 < keys {
            tile(rows: rows, width: min(16, keys - j0), k0: 0, k1: D, a: a, aRow: lda, aK: 1, b: panels + j0 * D, ldb: 16,
                 c: c + j0, ldc: ldc, alpha: alpha)
            j0 += 16
        }
    }

    /// The scores of four query rows i0..<i0+4 against keys 0..<keys (a multiple of 16) in whole 4×16 tiles,
    /// as ``tilesAgainstPanels(rows:keys:D:a:lda:panels:c:ldc:alpha:)`` computes them, with the softmax's first
    /// pass done on the tiles' registers: in each row's diagonal tile the lanes right of the diagonal are
    /// stored as −∞, and the row's maximum is folded over its tiles up to the diagonal in key order.
    /// These are the values, the order of the folds and the final ``hmax(_:)`` of the pass in
    /// ``softmaxRow(_:count:capacity:)``, so the same maxima and the same stored row. Tiles right of a row's
    /// diagonal tile are stored as computed (callers zero them).
    @inline(__always)
    static func scoresWithRowMaxima<S: ModelScalar>(i0: Int, keys: Int, D: Int, a: CPtr<S>, lda: Int, panels: CPtr<S>,
                                                     c: Ptr<S>, ldc: Int, alpha: S) -> SIMD4<S> {
        var m = (SIMD16<S>(repeating: -.infinity), SIMD16<S>(repeating: -.infinity),
                 SIMD16<S>(repeating: -.infinity), SIMD16<S>(repeating: -.infinity))
        var j0 = 0
        while j0 < keys {
            var t = tile4x16(k0: 0, k1: D, a: a, aRow: lda, aK: 1, b: panels + j0 * D, ldb: 16, alpha: alpha)
            // Row r's keys are 0...i0 + r: lanes from i0 + r + 1 − j0 on lie right of its diagonal.
            @inline(__always) func fold(_ v: inout SIMD16<S>, _ m: inout SIMD16<S>, _ r: Int) {
                let valid = i0 + r + 1 - j0
                guard valid > 0 else { return }
                if valid < 16 { for l in valid..<16 { v[l] = -.infinity } }
                m = vmax(m, v)
            }
            fold(&t.0, &m.0, 0)
            fold(&t.1, &m.1, 1)
            fold(&t.2, &m.2, 2)
            fold(&t.3, &m.3, 3)
            store16(t.0, c + j0)
            store16(t.1, c + ldc + j0)
            store16(t.2, c + 2 * ldc + j0)
            store16(t.3, c + 3 * ldc + j0)
            j0 += 16
        }
        return SIMD4(hmax(m.0), hmax(m.1), hmax(m.2), hmax(m.3))
    }

    /// c[r·ldc + d] = alpha · Σ_{k0 ≤ k < k1} a[r·aRow + k·aK] · b[k·ldb + d] for d < D: a strip of ≤ 4 rows
    /// across all D columns, 16 at a time.
    @inline(__always)
    static func tilesAcrossColumns<S: ModelScalar>(rows: Int, D: Int, k0: Int, k1: Int, a: CPtr<S>, aRow: Int, aK: Int,
                                                   b: CPtr<S>, ldb: Int, c: Ptr<S>, ldc: Int, alpha: S) {
        var d0 = 0
        while d0 < D {
            tile(rows: rows, width: min(16, D - d0), k0: k0, k1: k1, a: a, aRow: aRow, aK: aK, b: b + d0, ldb: ldb,
                 c: c + d0, ldc: ldc, alpha: alpha)
            d0 += 16
        }
    }

    /// c[r·ldc + j] = alpha · Σ_{k0 ≤ k < k1} a[r·aRow + k·aK] · b[k·ldb + j]  for r < rows ≤ 4, j < width ≤ 16:
    /// one register tile. `aRow`/`aK` give both A and Aᵀ (a key-major column of P is `aRow = 1, aK = T`).
    @inline(__always)
    static func tile<S: ModelScalar>(rows: Int, width: Int, k0: Int, k1: Int, a: CPtr<S>, aRow: Int, aK: Int,
                                     b: CPtr<S>, ldb: Int, c: Ptr<S>, ldc: Int, alpha: S) {
        if rows == 4 && width == 16 {
            let t = tile4x16(k0: k0, k1: k1, a: a, aRow: aRow, aK: aK, b: b, ldb: ldb, alpha: alpha)
            store16(t.0, c)
            store16(t.1, c + ldc)
            store16(t.2, c + 2 * ldc)
            store16(t.3, c + 3 * ldc)
            return
        }
        // Edge tiles (fewer than 4 rows, or fewer than 16 columns): one row at a time, same sums.
        for r in 0..<rows {
            var acc = SIMD16<S>()
            var pa = a + r * aRow + k0 * aK, pb = b + k0 * ldb
            for _ in k0..<k1 {
                acc.addProduct(pa[0], width == 16 ? load16(pb) : loadPartial(pb, width, pad: 0))
                pa += aK
                pb += ldb
            }
            if width == 16 { store16(acc * alpha, c + r * ldc) } else { storePartial(acc * alpha, c + r * ldc, width) }
        }
    }

    /// The four rows of a full 4×16 tile, alpha · Σ_{k0 ≤ k < k1} a[r·aRow + k·aK] · b[k·ldb + j], still in
    /// registers: four `SIMD16` accumulators, one fused multiply-add per row per step, k ascending.
    @inline(__always)
    static func tile4x16<S: ModelScalar>(k0: Int, k1: Int, a: CPtr<S>, aRow: Int, aK: Int, b: CPtr<S>, ldb: Int,
                                         alpha: S) -> (SIMD16<S>, SIMD16<S>, SIMD16<S>, SIMD16<S>) {
        var c0 = SIMD16<S>(), c1 = SIMD16<S>(), c2 = SIMD16<S>(), c3 = SIMD16<S>()
        var pa = a + k0 * aK, pb = b + k0 * ldb
        let a1 = aRow, a2 = 2 * aRow, a3 = 3 * aRow
        for _ in k0..<k1 {
            let bv = load16(pb)
            c0.addProduct(pa[0], bv)
            c1.addProduct(pa[a1], bv)
            c2.addProduct(pa[a2], bv)
            c3.addProduct(pa[a3], bv)
            pa += aK
            pb += ldb
        }
        return (c0 * alpha, c1 * alpha, c2 * alpha, c3 * alpha)
    }

    /// Copies `rows` rows of D values (row stride `ld`) into panels of 16 rows, transposed:
    /// dst[p·16·D + d·16 + r] = src[(16p + r)·ld + d], zero for 16p + r ≥ rows.
    /// The loop runs over d outside the 16 rows, so the stores are contiguous and each d asks for all 16
    /// rows at once: this is the first read of K (or V) in the phase, and the rows come from L3.
    @inline(__always)
    static func packPanels<S: ModelScalar>(_ dst: Ptr<S>, _ src: CPtr<S>, ld: Int, rows: Int, D: Int) {
        for p in 0..<(roundUp16(rows) / 16) {
            let panel = dst + p * 16 * D, first = src + p * 16 * ld
            let n = min(16, rows - p * 16)
            for d in 0..<D {
                let out = panel + d * 16, col = first + d
                for r in 0..<n { out[r] = col[r * ld] }
                for r in n..<16 { out[r] = 0 }
            }
        }
    }

    /// In place: s[0..<n] ← softmax(s[0..<n]). The row may be padded up to `capacity` ≥ n floats:
    /// lanes n..<roundUp16(n) are then overwritten with ≈1e−38 (callers zero them afterwards).
    @inline(__always) static func softmaxRow<S: ModelScalar>(_ s: Ptr<S>, count n: Int, capacity: Int) {
        let padded = roundUp16(n)
        let full = padded <= capacity ? padded : n / 16 * 16
        if full > n { (s + n).update(repeating: -.infinity, count: full - n) }
        var mx = SIMD16<S>(repeating: -.infinity)
        var j = 0
        while j < full { mx = vmax(mx, load16(s + j)); j += 16 }
        var m = hmax(mx)
        for k in full..<Swift.max(full, n) { m = Swift.max(m, s[k]) }
        softmaxRow(s, count: n, full: full, maximum: m)
    }

    /// ``softmaxRow(_:count:capacity:)`` after its first pass, for a row that has room up to roundUp16(n),
    /// with lanes n..<roundUp16(n) already −∞ and `maximum` the row's maximum
    /// (``scoresWithRowMaxima(i0:keys:D:a:lda:panels:c:ldc:alpha:)``).
    @inline(__always) static func softmaxRow<S: ModelScalar>(_ s: Ptr<S>, count n: Int, maximum m: S) {
        softmaxRow(s, count: n, full: roundUp16(n), maximum: m)
    }

    /// The exponentials, their sum and the division: lanes 0..<full in groups of 16 (any past n are −∞),
    /// then n − full scalars when the row has no room for its last group.
    @inline(__always) static func softmaxRow<S: ModelScalar>(_ s: Ptr<S>, count n: Int, full: Int, maximum m: S) {
        let mv = SIMD16<S>(repeating: m)
        var acc = SIMD16<S>()
        var j = 0
        while j < full { let e = vexp(load16(s + j) - mv); store16(e, s + j); acc += e; j += 16 }
        var total = laneSum(acc)
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
    /// When the row has room (`capacity` ≥ n rounded up to 16), the last, partial group of 16 is done as one
    /// vector: its products are rounded as the scalar ones and added to the sum one by one in the same order,
    /// so the bits are those of the scalar tail. The lanes from n up to the multiple of 16 are then
    /// overwritten with junk (p ⊙ (g − Σ), ±0 when both are finite); callers zero them.
    @inline(__always) static func softmaxBackwardRow<S: ModelScalar>(_ g: Ptr<S>, p: CPtr<S>, count n: Int, capacity: Int) {
        var acc = SIMD16<S>()
        var j = 0
        while j + 16 <= n { acc += load16(g + j) * load16(p + j); j += 16 }
        var dot = laneSum(acc)
        let full = j, vectorTail = n > full && full + 16 <= capacity
        if vectorTail {
            let products = load16(g + full) * load16(p + full)
            for t in 0..<(n - full) { dot += products[t] }
        } else {
            while j < n { dot += g[j] * p[j]; j += 1 }
        }
        let dv = SIMD16<S>(repeating: dot)
        let end = vectorTail ? full + 16 : full
        j = 0
        while j < end { store16(load16(p + j) * (load16(g + j) - dv), g + j); j += 16 }
        while j < n { g[j] = p[j] * (g[j] - dot); j += 1 }
    }
}

/// n rounded up to a multiple of 16.
@inline(__always) func roundUp16(_ n: Int) -> Int { (n + 15) / 16 * 16 }
