import COneDNN
import Foundation
import LinearAlgebra

// MARK: causal self-attention with bf16 products

/// Which kernel runs the bf16 attention's products (``Layers/attentionForwardBF16(attOut:probs:qkv:kernel:scratch:B:T:C:H:)``).
public enum BF16AttentionKernel: String, Codable, Sendable {
    /// Intel's AMX tiles (TDPBF16PS: a 16×32 by 32×16 bf16 product into 16×16 Float32 sums per
    /// instruction), on 16-row strips. Needs T a multiple of 16 and the head size a multiple of 32.
    case amx = "amx tdpbf16ps tiles"
    /// AVX512-BF16's VDPBF16PS: both products of a pair of bf16 inputs added to a Float32 lane in one
    /// instruction, twice the multiply-adds per instruction of the Float32 tiles; 4-row strips.
    case dot = "avx512_bf16 vdpbf16ps strips"
    /// The same sums from the same packed operands with Float32 fused multiply-adds, on any CPU.
    case portable = "fp32 fma strips (bf16 inputs)"
    /// Tests only: the AMX loop on an emulation of the tiles.
    case amxEmulated = "amx tiles (emulated)"

    /// The kernel for a run on this CPU, with the reason a faster one is not used (nil when none is faster).
    ///
    /// AMX is used after a self-check against its emulation (a 32×32×64 product within 1e-4). The
    /// environment variable `RIVER_BF16_ATTENTION` (`amx`, `dot` or `portable`) asks for a kernel, to
    /// compare them; one the CPU lacks is not used.
    static let best: (kernel: BF16AttentionKernel, reason: String?) = {
        let asked = ProcessInfo.processInfo.environment["RIVER_BF16_ATTENTION"] ?? ""
        let dot = rv_bf16_dot_available() != 0
        var amx = rv_bf16_amx_available() != 0
        var amxReason = "this CPU lacks AMX"
        if amx {
            let worst = rv_bf16_amx_self_check()
            if !(worst >= 0 && worst < 1e-4) {
                amx = false
                amxReason = "AMX failed its self-check (largest difference from the emulation \(worst))"
            }
        }
        let why = amx ? nil : dot ? amxReason : "this CPU lacks AMX and AVX512-BF16"
        switch asked {
        case "portable": return (.portable, "RIVER_BF16_ATTENTION=portable")
        case "dot" where dot: return (.dot, "RIVER_BF16_ATTENTION=dot")
        default: return amx ? (.amx, nil) : dot ? (.dot, why) : (.portable, why)
        }
    }()

    /// Whether this kernel can run a head of size D over T positions; the AMX tiles need whole tiles.
    func fits(T: Int, D: Int) -> Bool {
        switch self {
        case .amx, .amxEmulated: return T % 16 == 0 && D % 32 == 0
        case .dot, .portable: return true
        }
    }

    /// The kernel that runs a head of size D over T positions: this one, or the strips where AMX does not fit.
    func forShape(T: Int, D: Int) -> BF16AttentionKernel { fits(T: T, D: D) ? self : stripKernel }

    /// The 4-row kernel that stands in for AMX on shapes it does not fit.
    var stripKernel: BF16AttentionKernel {
        switch self {
        case .amx: return rv_bf16_dot_available() != 0 ? .dot : .portable
        case .amxEmulated: return .portable
        case .dot, .portable: return self
        }
    }
}

/// The attention of ``Precision/bf16``: the same causal multi-head attention as
/// ``Layers/attentionForward(attOut:probs:qkv:scratch:B:T:C:H:)``, with the inputs of its six products
/// (q·kᵀ, P·v, and the backward pass's dO·vᵀ, dS·k, Pᵀ·dO, dSᵀ·q) rounded to bf16 and their sums in Float32,
/// as PyTorch's autocast does for the batched matmuls of an attention. The softmax, its backward pass, the
/// probabilities kept for the backward pass and every output stay Float32.
///
/// The products run on packed bf16 operands that give each step two consecutive k at once
/// (bf16_attention.h): 4-row strips (VDPBF16PS, or its portable equivalent), or 16-row strips of AMX tiles.
/// Causal work is skipped as in the Float32 tiles: a strip of query rows stops at its last row's diagonal
/// rounded up to 16 keys, and Pᵀ·dO, dSᵀ·q (computed as (dOᵀ·P)ᵀ and (qᵀ·dS)ᵀ, rows d, so that P and dS pack
/// without a transpose) start each 16-key block at its first key. Per (sequence, head), a worker packs what
/// the products read into its slice of a UInt16 scratch (``attentionBF16ScratchCount(T:D:)``).
extension Layers {
    /// UInt16 elements per worker of the bf16 attention's scratch.
    static func attentionBF16ScratchCount(T: Int, D: Int) -> Int { BF16AttentionSlices(T: T, D: D).total }

    static func attentionForwardBF16(attOut: Ptr<Float>, probs: Ptr<Float>, qkv: CPtr<Float>, kernel asked: BF16AttentionKernel,
                                     scratch: Ptr<UInt16>, B: Int, T: Int, C: Int, H: Int, profile: Ptr<Double>? = nil) {
        let D = C / H, ld = 3 * C
        let scale = 1 / Float(D).squareRoot()
        let s = BF16AttentionSlices(T: T, D: D)
        let pass = BF16AttentionPass(asked, T: T, D: D)
        let tiles = pass.tiles
        pass.forEachHead(B: B, H: H, scratch: scratch, slice: s.total, profile: profile) { ws, _, clock, task, b, h in
            let qRows = ws + s.a, kPanels = ws + s.b, vPairs = ws + s.c, strip = ws + s.strip
            let q = qkv + b * T * ld + h * D, k = q + C, v = q + 2 * C
            let P = probs + task * T * T
            let o = attOut + b * T * C + h * D
            rv_bf16_rows(q, ld, T, D, D, qRows, D)
            rv_bf16_panels(k, ld, T, D, kPanels)
            rv_bf16_pairs(v, ld, T, D, D, 0, vPairs)
            clock.lap(.pack)
            causalStrips(T: T, height: tiles ? 16 : 4) { i0, rows, keys in
                let end = i0 + rows
                // S = q kᵀ / √D for these rows, keys 0..<keys
                pass.againstPanels(rows: rows, keys: keys, D: D, a: qRows + i0 * D, panels: kPanels, c: P + i0 * T, ldc: T, alpha: scale)
                clock.lap(.products)
                for i in i0..<end {
                    softmaxRow(P + i * T, count: i + 1, capacity: T)
                    (P + i * T + i + 1).update(repeating: 0, count: keys - i - 1)
                }
                clock.lap(.softmax)
                // out = P v over keys 0..<end (P is 0 right of each row's diagonal)
                rv_bf16_rows(P + i0 * T, T, rows, end, (end + 1) / 2 * 2, strip, s.stripWidth)
                clock.lap(.pack)
                pass.acrossPairs(rows: rows, end: end, D: D, a: strip, lda: s.stripWidth, pairs: vPairs, c: o + i0 * C, ldc: C, alpha: 1)
                clock.lap(.products)
            }
        }
    }

    /// dqkv[B, T, 3C] (overwritten) from dAttOut[B, T, C]; dP is scratch for one T×T block of dS per worker
    /// (``Layers/attentionGradientScratchCount(B:H:T:)`` elements), as in the Float32 backward. With
    /// `keepingScores`, dP must hold B·H·T² elements and keeps every (sequence, head)'s dS, laid out as probs,
    /// for tests that inspect it.
    static func attentionBackwardBF16(dqkv: Ptr<Float>, dP: Ptr<Float>, dAttOut: CPtr<Float>, qkv: CPtr<Float>, probs: CPtr<Float>,
                                      kernel asked: BF16AttentionKernel, scratch: Ptr<UInt16>, B: Int, T: Int, C: Int, H: Int,
                                      keepingScores: Bool = false, profile: Ptr<Double>? = nil) {
        let D = C / H, ld = 3 * C
        let scale = 1 / Float(D).squareRoot()
        let s = BF16AttentionSlices(T: T, D: D)
        let pass = BF16AttentionPass(asked, T: T, D: D)
        let (tiles, hardware, dot) = (pass.tiles, pass.hardware, pass.dot)
        pass.forEachHead(B: B, H: H, scratch: scratch, slice: s.total, profile: profile) { ws, worker, clock, task, b, h in
            let dORows = ws + s.a, vPanels = ws + s.b, kPairs = ws + s.c, strip = ws + s.strip
            let qT = ws + s.d, dOT = ws + s.e, pPairs = ws + s.f, sPairs = ws + s.g
            let q = qkv + b * T * ld + h * D, k = q + C, v = q + 2 * C
            let dq = dqkv + b * T * ld + h * D, dk = dq + C, dv = dq + 2 * C
            let P = probs + task * T * T, G = dP + (keepingScores ? task : worker) * T * T
            let dO = dAttOut + b * T * C + h * D
            rv_bf16_rows(dO, C, T, D, D, dORows, D)
            rv_bf16_panels(v, ld, T, D, vPanels)
            rv_bf16_pairs(k, ld, T, D, D, 0, kPairs)
            clock.lap(.pack)
            causalStrips(T: T, height: tiles ? 16 : 4) { i0, rows, keys in
                let end = i0 + rows
                // dP = dO vᵀ for these rows, then dS in place
                pass.againstPanels(rows: rows, keys: keys, D: D, a: dORows + i0 * D, panels: vPanels, c: G + i0 * T, ldc: T, alpha: 1)
                clock.lap(.products)
                for i in i0..<end {
                    softmaxBackwardRow(G + i * T, p: P + i * T, count: i + 1, capacity: T)
                    (G + i * T + i + 1).update(repeating: 0, count: keys - i - 1)
                }
                clock.lap(.softmax)
                // dq = dS k / √D over keys 0..<end
                rv_bf16_rows(G + i0 * T, T, rows, end, (end + 1) / 2 * 2, strip, s.stripWidth)
                // these rows' pair-rows of P and dS for dvᵀ and dkᵀ below, while they are in cache
                rv_bf16_causal_pairs(P + i0 * T, T, i0, rows, T, s.keyWidth, pPairs + i0 * s.keyWidth)
                rv_bf16_causal_pairs(G + i0 * T, T, i0, rows, T, s.keyWidth, sPairs + i0 * s.keyWidth)
                clock.lap(.pack)
                pass.acrossPairs(rows: rows, end: end, D: D, a: strip, lda: s.stripWidth, pairs: kPairs, c: dq + i0 * ld, ldc: ld, alpha: scale)
                clock.lap(.products)
            }
            // dvᵀ = dOᵀ P and dkᵀ = qᵀ dS / √D: rows d, keys j in 16-blocks, queries i from the block's first
            // key (P and dS are 0 above the diagonal); stored transposed into dv, dk.
            if tiles {
                // A = dOᵀ and qᵀ, row-major (rows d, columns i).
                rv_bf16_transposed(dO, C, T, D, dOT, s.pairedRows)
                rv_bf16_transposed(q, ld, T, D, qT, s.pairedRows)
                clock.lap(.pack)
                rv_bf16_amx(hardware, D, T, 0, T, 1, dOT, s.pairedRows, u32(pPairs), s.keyWidth, 16, dv, 1, ld, 1)
                rv_bf16_amx(hardware, D, T, 0, T, 1, qT, s.pairedRows, u32(sPairs), s.keyWidth, 16, dk, 1, ld, scale)
            } else {
                // A = the pair-rows of dO and q, read down their columns.
                rv_bf16_pairs(dO, C, T, D, D, 0, dOT)
                rv_bf16_pairs(q, ld, T, D, D, 0, qT)
                clock.lap(.pack)
                var d0 = 0
                while d0 < D {
                    let rows = Int32(min(4, D - d0))
                    rv_bf16_strip(dot, rows, T, 0, (T + 1) / 2, 1, u32(dOT) + d0, 1, D, u32(pPairs), s.keyWidth, 16,
                                  dv + d0, 1, ld, 1)
                    rv_bf16_strip(dot, rows, T, 0, (T + 1) / 2, 1, u32(qT) + d0, 1, D, u32(sPairs), s.keyWidth, 16,
                                  dk + d0, 1, ld, scale)
                    d0 += 4
                }
            }
            clock.lap(.products)
        }
    }

    /// What the forward and backward passes share: the kernel for this shape (AMX falls back to the strips
    /// on shapes it does not tile), and the loop over (sequence, head) split over the cores, each worker with
    /// its slice of the scratch, its AMX tile configuration and its profile clock.
    struct BF16AttentionPass {
        let tiles: Bool, hardware: Int32, dot: Int32

        init(_ asked: BF16AttentionKernel, T: Int, D: Int) {
            let kernel = asked.forShape(T: T, D: D)
            tiles = kernel == .amx || kernel == .amxEmulated
            hardware = kernel == .amx ? 1 : 0
            dot = kernel == .dot ? 1 : 0
        }

        /// c[r·ldc + j] = alpha · Σ_d A[r, d]·X[j, d] for the strip's rows r and keys j < keys: A its bf16 rows
        /// (D wide), X in 16-row panels (rv_bf16_panels).
        @inline(__always)
        func againstPanels(rows: Int, keys: Int, D: Int, a: Ptr<UInt16>, panels: Ptr<UInt16>, c: Ptr<Float>, ldc: Int,
                           alpha: Float) {
            if tiles {
                rv_bf16_amx(hardware, 16, keys, 0, D, 0, a, D, u32(panels), 16, 8 * D, c, ldc, 1, alpha)
            } else {
                rv_bf16_strip(dot, Int32(rows), keys, 0, D / 2, 0, u32(a), D / 2, 1, u32(panels), 16, 8 * D, c, ldc, 1, alpha)
            }
        }

        /// c[r·ldc + d] = alpha · Σ_{k < end} A[r, k]·X[k, d] for the strip's rows r and d < D: A its bf16 rows
        /// (lda wide, zero from `end` to the next pair), X in pair-rows D wide (rv_bf16_pairs).
        @inline(__always)
        func acrossPairs(rows: Int, end: Int, D: Int, a: Ptr<UInt16>, lda: Int, pairs: Ptr<UInt16>, c: Ptr<Float>, ldc: Int,
                         alpha: Float) {
            if tiles {
                rv_bf16_amx(hardware, 16, D, 0, end, 0, a, lda, u32(pairs), D, 16, c, ldc, 1, alpha)
            } else {
                rv_bf16_strip(dot, Int32(rows), D, 0, (end + 1) / 2, 0, u32(a), lda / 2, 1, u32(pairs), D, 16, c, ldc, 1, alpha)
            }
        }

        /// `body(slice, worker, clock, task, b, h)` for task = b·H + h; `worker` is the calling worker's index.
        @inline(__always)
        func forEachHead(B: Int, H: Int, scratch: Ptr<UInt16>, slice: Int, profile: Ptr<Double>?,
                         _ body: (Ptr<UInt16>, Int, inout Lap, Int, Int, Int) -> Void) {
            Parallel.chunks(B * H) { worker, tasks in
                if hardware != 0 { rv_bf16_amx_begin() }
                defer { if hardware != 0 { rv_bf16_amx_end() } }
                var clock = Lap(profile.map { $0 + 3 * worker })
                for task in tasks { body(scratch + worker * slice, worker, &clock, task, task / H, task % H) }
            }
        }
    }

    /// With a profile (3 Doubles per worker), each worker adds the seconds it spends packing operands,
    /// in the products and in the softmax (forward or backward) to its three slots.
    struct Lap {
        enum Part: Int { case pack, products, softmax }
        let slots: Ptr<Double>?
        var last: UInt64
        init(_ slots: Ptr<Double>?) {
            self.slots = slots
            last = slots == nil ? 0 : DispatchTime.now().uptimeNanoseconds
        }
        @inline(__always) mutating func lap(_ part: Part) {
            guard let slots else { return }
            let now = DispatchTime.now().uptimeNanoseconds
            slots[part.rawValue] += Double(now - last) / 1e9
            last = now
        }
    }

    /// bf16 elements as the uint32 pairs the kernels read.
    @inline(__always) static func u32(_ p: Ptr<UInt16>) -> UnsafePointer<UInt32> {
        UnsafeRawPointer(p).assumingMemoryBound(to: UInt32.self)
    }
}

/// Offsets (UInt16 elements, each a multiple of 32: 64-byte aligned) of the pieces of one worker's bf16
/// attention scratch; the forward pass uses a, b, c and strip, the backward pass all of them. Along the
/// sequence, pair-rows cover `pairedRows` = T rounded up to even (rv_bf16_pairs zeros the odd row's partner);
/// nothing reads further (the AMX kernel loads a partial last chunk from zero-padded copies).
struct BF16AttentionSlices {
    /// Row length of the packed probability strips (a multiple of 32: rows start on cache lines), of the
    /// causal pair-rows of P and dS, and T rounded up to even.
    let stripWidth: Int, keyWidth: Int, pairedRows: Int
    let a: Int, b: Int, c: Int, d: Int, e: Int, f: Int, g: Int, strip: Int, total: Int

    init(T: Int, D: Int) {
        func align(_ n: Int) -> Int { (n + 31) / 32 * 32 }
        pairedRows = (T + 1) / 2 * 2
        stripWidth = align(T)
        keyWidth = roundUp16(T)
        let rowsD = align(T * D)                   // rows of q or dO
        let panels = align(roundUp16(T) * D)       // 16-row panels of k or v
        let pairsD = align(pairedRows * D)         // pair-rows of v, k, q or dO; or qᵀ, dOᵀ (D rows of pairedRows)
        let pairsT = align(pairedRows * keyWidth)  // causal pair-rows of P or dS
        a = 0
        b = a + rowsD
        c = b + panels
        d = c + pairsD
        e = d + pairsD
        f = e + pairsD
        g = f + pairsT
        strip = g + pairsT
        total = strip + align(16 * stripWidth)
    }
}

/// A check of this CPU's bf16 attention kernel against the portable strips (`river debug-model bench
/// --precision bf16` prints it): one sequence of a model's shape, random q, k, v and dO in [−1.5, 1.5),
/// forward and backward on both. The two differ only in how the Float32 additions round and in the bf16
/// rounding of P and dS that follows, so the largest difference is ≈ 1e-3 of the largest output at most.
public enum BF16AttentionCheck {
    /// The kernel a bf16 run of `config` uses, and the largest difference of its outputs (out, dq, dk, dv)
    /// from the portable kernel's, divided by the largest output.
    public static func run(config: TransformerConfig) -> (kernel: String, relativeDifference: Double) {
        let T = config.contextLength, C = config.width, H = config.heads, D = config.headSize
        let kernel = BF16AttentionKernel.best.kernel.forShape(T: T, D: D)
        var state: UInt64 = 0x243F_6A88_85A3_08D3
        func random(_ n: Int) -> [Float] {
            (0..<n).map { _ in
                state = state &* 6364136223846793005 &+ 1442695040888963407
                return (Float(state >> 40) / Float(1 << 24) * 2 - 1) * 1.5
            }
        }
        let qkv = random(T * 3 * C), dOut = random(T * C)
        func outputs(_ k: BF16AttentionKernel) -> [Float] {
            var out = [Float](repeating: 0, count: T * C), probs = [Float](repeating: 0, count: H * T * T)
            var dP = probs, dqkv = [Float](repeating: 0, count: T * 3 * C)
            var scratch = [UInt16](repeating: 0, count: Parallel.workers * Layers.attentionBF16ScratchCount(T: T, D: D))
            scratch.withUnsafeMutableBufferPointer { ws in
                Layers.attentionForwardBF16(attOut: &out, probs: &probs, qkv: qkv, kernel: k, scratch: ws.baseAddress!,
                                            B: 1, T: T, C: C, H: H)
                Layers.attentionBackwardBF16(dqkv: &dqkv, dP: &dP, dAttOut: dOut, qkv: qkv, probs: probs, kernel: k,
                                             scratch: ws.baseAddress!, B: 1, T: T, C: C, H: H)
            }
            return out + dqkv
        }
        let a = outputs(kernel), b = outputs(.portable)
        let scale = b.reduce(0) { max($0, abs(Double($1))) }
        // NaN counts as the largest difference (Swift's max would drop it).
        let worst = zip(a, b).reduce(0.0) { w, p in
            let d = abs(Double(p.0) - Double(p.1))
            return d <= w ? w : d
        }
        return (kernel.rawValue, worst / max(scale, .leastNormalMagnitude))
    }
}
