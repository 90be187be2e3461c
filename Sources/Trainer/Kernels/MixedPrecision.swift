import COneDNN
import Foundation
import LinearAlgebra

/// The arithmetic of a training run's matrix products (the `precision` key of a run config).
///
/// - `fp32`: every linear layer's GEMM in Float32 through OpenBLAS (the default; choosing bf16 elsewhere
///   changes nothing in it).
/// - `bf16`: the linear layers' GEMMs (forward, and both products of their backward pass) take their
///   inputs rounded to bfloat16 and accumulate in Float32, as PyTorch's `torch.autocast(dtype=bfloat16)`
///   does on CPUs with AMX. Master weights, gradients, AdamW, norms, softmax, the loss and every
///   reduction stay in Float32; outputs of the products are Float32 (autocast rounds them to bf16 — we keep
///   the extra precision because it costs nothing here). The attention's six per-head products take bf16
///   inputs too (``Layers/attentionForwardBF16(attOut:probs:qkv:kernel:scratch:B:T:C:H:profile:)``); its
///   softmax and the probabilities kept for the backward pass stay Float32.
public enum Precision: String, Codable, CaseIterable, Sendable {
    case fp32, bf16
}

/// Where bf16 GEMMs may run. `automatic`: oneDNN where it has a non-reference kernel, else the sgemm
/// fallback. `fallback`: the sgemm path for every shape (tests, and comparing the two).
public enum BF16Backend: String, CaseIterable, Sendable { case automatic, fallback }

/// Which code ran one shape of oneDNN-path GEMM (bf16, or Float32 with `fp32Matmul: onednn`).
public struct MatmulKernelReport: Codable, Equatable, Sendable {
    /// "m×n×k", with the transposes as op letters: "NT" = A · Bᵀ.
    public var shape: String
    /// oneDNN's implementation name (e.g. "brg:avx512_core_amx"), or "sgemm(bf16-rounded inputs)" (bf16) / "sgemm" (Float32).
    public var kernel: String
    /// Why oneDNN did not run this shape (nil when it did).
    public var fallbackReason: String?
}

/// Which library computes the linear layers' GEMMs of an fp32 run (the `fp32Matmul` key of a run config).
///
/// - `openblas`: OpenBLAS's sgemm (the default; its results are the project's reference bits).
/// - `onednn`: oneDNN's Float32 matmul primitive (its brgemm kernels on AVX-512 CPUs, `gemm:jit` on AVX2),
///   one primitive per shape, created once. Its kernels write C directly, where OpenBLAS first scales C by β
///   in a separate pass; on a 2-core Zen 4 a 0.86M step's 51 GEMMs took 0.119 instead of 0.136 s
///   (docs/machine-facts.md, "fp32 GEMMs on oneDNN"). Products with k ≤ 384 came out bit-identical to
///   sgemm's SkylakeX kernels there; longer sums (k = 688, and the weight gradients' k = batch·T) differ in the last bits
///   (≈ 1e-6 relative), because the two libraries block a long sum differently. Resuming stays bit-exact.
///   On the brgemm kernels the bits do not depend on the thread count either; `gemm:jit`'s do (in the last
///   bits), so on AVX2 CPUs a run resumes bit for bit only on the same thread count. Where oneDNN is
///   missing or offers only its reference kernel, a shape falls back to sgemm and `kernels.json` says why.
///
/// bf16 runs always take oneDNN (``Precision/bf16``); the key applies to fp32 runs only.
public enum Float32Matmul: String, Codable, CaseIterable, Sendable {
    case openblas, onednn
}

/// GEMMs on oneDNN's matmul primitive, one cached primitive per shape: with bfloat16 inputs and Float32
/// accumulation (``Precision/bf16``), or with Float32 inputs (``Float32Matmul/onednn``).
///
/// bf16 inputs: per shape (transposes, m, n, k, leading dimensions, β), the first call asks oneDNN for a
/// bf16 matmul; when oneDNN is missing, has no bf16 kernel on this CPU (oneDNN 2.6 has none below AVX-512), or offers
/// only its reference implementation (`ref:any`, far slower than sgemm), that shape falls back — for good,
/// and the report says why — to OpenBLAS's sgemm on inputs rounded to bf16 values. Both paths compute the
/// same thing: a product of two bf16 numbers has at most 16 significant bits, so it is exact in Float32, and
/// only the accumulation order differs. The fallback is therefore numerically faithful, but it is not fast:
/// it adds a rounding pass over both inputs to an fp32 GEMM. On a CPU without a bf16 matmul unit the bf16
/// path cannot be faster than fp32, and the speed gain exists only where oneDNN finds AMX or AVX512-BF16.
///
/// Float32 inputs: the same per-shape primitives without any conversion; a shape oneDNN cannot run (or runs
/// only on its reference kernel) falls back to plain sgemm, which is then exactly the `openblas` path.
///
/// Not thread-safe: one instance per model, used from the thread that runs the model.
final class OneDNNMatmul {
    typealias Backend = BF16Backend

    struct Key: Hashable {
        var transA: Bool, transB: Bool
        var m: Int, n: Int, k: Int, lda: Int, ldb: Int, ldc: Int
        var beta: Float
    }

    private enum Plan {
        case onednn(OpaquePointer)
        case fallback
    }

    /// What the products take: bf16-rounded inputs (``Precision/bf16``), or the Float32 values as they are.
    enum Inputs { case bf16, float32 }

    let backend: Backend
    let inputs: Inputs
    private var plans: [Key: Plan] = [:]
    /// One report per shape, in the order the shapes were first used.
    private(set) var reports: [MatmulKernelReport] = []

    /// How long an operand's Float32 values stay as they are, which decides whether its bf16 copy is kept.
    enum Operand {
        /// Unchanged until the next ``beginPass()``: a weight matrix, or a forward-pass activation that the
        /// backward pass multiplies again. Converted once per pass, then taken from the cache.
        case stable
        /// Unchanged between consecutive calls that hand the same buffer with this kind: the next call
        /// reuses this call's copy (a layer's dy, used by the dW product and at once by the dx product).
        case sharedWithAdjacentCalls
        /// Anything else: converted at every call.
        case volatile
    }

    /// The bf16 copy (oneDNN) or bf16-rounded Float32 copy (fallback) of one operand.
    private final class Converted {
        var bits = Scratch<UInt16>(), rounded = Scratch<Float>()
        var count = 0
        var pass = -1
        deinit { bits.free(); rounded.free() }
    }

    // Copies of the stable operands, by address, kept across passes (the same buffers recur every step);
    // `pass` says whether a copy belongs to the current pass.
    private var stableCopies: [UnsafeRawPointer: Converted] = [:]
    // Copies for the operands that are not stable (a call may have two, and may keep the previous call's
    // shared one), and which operand each of this call and the previous call used. The two lists keep
    // their capacity and swap at the end of a call, so a step allocates nothing here after its first call.
    private struct TransientUse { var address: UnsafeRawPointer, count: Int, copy: Int, shared: Bool }
    private var transientCopies = [Converted(), Converted(), Converted()]
    private var lastTransient: [TransientUse] = [], thisCall: [TransientUse] = []
    private var pass = 0
    /// Conversions done and skipped since creation (tests, and the bench's account of the bf16 overhead).
    private(set) var conversions = 0, conversionsSkipped = 0
    /// When true, ``convertSeconds`` accumulates the wall time of the conversions (the bench's profile).
    var profiling = false
    var convertSeconds = 0.0
    /// Tests only: false converts every operand at every call (the reference the reuse is checked against).
    var reusesCopies = true

    /// `inputs` `.float32` runs the products on the Float32 values (``Float32Matmul/onednn``); the attention
    /// then stays with the network's Float32 kernels and ``attentionKernel`` is unused.
    init(backend: Backend = .automatic, inputs: Inputs = .bf16) {
        self.backend = backend
        self.inputs = inputs
        if inputs == .float32 {   // no bf16 attention to choose, so no AMX self-check either
            (attentionKernel, attentionReason) = (.portable, "unused: with Float32 inputs the attention runs on the network's Float32 kernels")
        } else if backend == .fallback {
            (attentionKernel, attentionReason) = (.portable, "the fallback backend was requested")
        } else {
            (attentionKernel, attentionReason) = BF16AttentionKernel.best
        }
    }

    deinit {
        for case .onednn(let p) in plans.values { rv_onednn_matmul_destroy(p) }
    }

    /// The kernel of the attention's bf16 products (automatic backend): AMX tiles where the CPU has AMX,
    /// VDPBF16PS where it has AVX512-BF16, else the portable strips.
    let attentionKernel: BF16AttentionKernel
    /// Why a faster attention kernel is not used (nil when none is faster on this CPU).
    let attentionReason: String?
    private var attentionScratch = Scratch<UInt16>()
    // While profiling: per worker, seconds spent packing, in the products and in the softmax.
    private var attentionProfileSlots = Scratch<Double>()
    private var attentionProfile: Ptr<Double>? {
        guard profiling else { return nil }
        if attentionProfileSlots.pointer == nil {
            attentionProfileSlots.reserve(3 * Parallel.workers).initialize(repeating: 0, count: 3 * Parallel.workers)
        }
        return attentionProfileSlots.pointer
    }

    /// While ``profiling``: CPU seconds (summed over the cores) of the bf16 attention spent packing operands,
    /// in the products and in the softmax and its backward pass, since the last reset.
    var attentionCPUSeconds: (pack: Double, products: Double, softmax: Double) {
        guard let p = attentionProfileSlots.pointer else { return (0, 0, 0) }
        var t = (0.0, 0.0, 0.0)
        for w in 0..<Parallel.workers { t.0 += p[3 * w]; t.1 += p[3 * w + 1]; t.2 += p[3 * w + 2] }
        return t
    }

    func resetAttentionProfile() {
        attentionProfileSlots.pointer?.update(repeating: 0, count: 3 * Parallel.workers)
    }
    // The attention shapes already reported (a struct key: no allocation per call).
    private struct AttentionShape: Hashable { var T: Int, D: Int }
    private var attentionShapes: Set<AttentionShape> = []

    /// Causal self-attention with bf16 product inputs (``Layers/attentionForwardBF16(attOut:probs:qkv:kernel:scratch:B:T:C:H:)``);
    /// the arguments are those of ``Layers/attentionForward(attOut:probs:qkv:scratch:B:T:C:H:)`` less its
    /// scratch. S must be Float.
    func attentionForward<S: ModelScalar>(attOut: Ptr<S>, probs: Ptr<S>, qkv: CPtr<S>, B: Int, T: Int, C: Int, H: Int) {
        let scratch = attentionScratch(T: T, D: C / H)
        Layers.attentionForwardBF16(attOut: float(attOut), probs: float(probs), qkv: float(qkv), kernel: attentionKernel,
                                    scratch: scratch, B: B, T: T, C: C, H: H, profile: attentionProfile)
    }

    /// The backward pass of ``attentionForward(attOut:probs:qkv:B:T:C:H:)``.
    func attentionBackward<S: ModelScalar>(dqkv: Ptr<S>, dP: Ptr<S>, dAttOut: CPtr<S>, qkv: CPtr<S>, probs: CPtr<S>,
                                           B: Int, T: Int, C: Int, H: Int) {
        let scratch = attentionScratch(T: T, D: C / H)
        Layers.attentionBackwardBF16(dqkv: float(dqkv), dP: float(dP), dAttOut: float(dAttOut), qkv: float(qkv),
                                     probs: float(probs), kernel: attentionKernel, scratch: scratch, B: B, T: T, C: C, H: H,
                                     profile: attentionProfile)
    }

    private func attentionScratch(T: Int, D: Int) -> Ptr<UInt16> {
        if attentionShapes.insert(AttentionShape(T: T, D: D)).inserted {
            let kernel = attentionKernel.forShape(T: T, D: D)
            let reason = kernel == attentionKernel ? attentionReason
                : "AMX tiles need T a multiple of 16 and a head size a multiple of 32 (T \(T), head size \(D))"
            reports.append(MatmulKernelReport(shape: "attention T=\(T) D=\(D)", kernel: kernel.rawValue, fallbackReason: reason))
        }
        return attentionScratch.reserve(Parallel.workers * Layers.attentionBF16ScratchCount(T: T, D: D))
    }

    private func float<S: ModelScalar>(_ p: Ptr<S>) -> Ptr<Float> {
        precondition(S.self == Float.self, "the bf16 attention takes Float32 operands")
        return UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)
    }

    private func float<S: ModelScalar>(_ p: CPtr<S>) -> CPtr<Float> {
        precondition(S.self == Float.self, "the bf16 attention takes Float32 operands")
        return UnsafeRawPointer(p).assumingMemoryBound(to: Float.self)
    }

    /// Starts a forward pass: every stable operand's copy is stale from here on (the optimizer has moved the
    /// weights, the activations are about to be overwritten). ``Network/forward`` calls it first thing.
    func beginPass() {
        pass += 1
        lastTransient.removeAll(keepingCapacity: true)
    }

    /// C[m, n] = op(A) · op(B) + β·C on row-major matrices (op = transpose when asked), A and B rounded to
    /// bf16, products accumulated in Float32. A must be contiguous: `(transA ? k : m)` rows of `lda`;
    /// likewise B. `aKind`/`bKind` say how long each operand stays unchanged (``Operand``); a wrong
    /// `.stable` would multiply stale values, so only the network's own buffers are marked so.
    func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
              b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
              aKind: Operand = .volatile, bKind: Operand = .volatile) {
        let key = Key(transA: transA, transB: transB, m: m, n: n, k: k, lda: lda, ldb: ldb, ldc: ldc, beta: beta)
        let plan = plans[key] ?? makePlan(key)
        let aCount = (transA ? k : m) * lda, bCount = (transB ? n : k) * ldb
        thisCall.removeAll(keepingCapacity: true)
        if case .onednn = plan { rv_onednn_set_threads(Int32(BLAS.threads)) }
        switch plan {
        case .onednn(let p) where inputs == .float32:
            let status = rv_onednn_matmul_run(p, a, b, c)
            precondition(status == 0, "oneDNN matmul \(describe(key)) failed with status \(status)")
        case .onednn(let p):
            let ap = converted(a, aCount, aKind, bits: true).bits.pointer!
            let bp = converted(b, bCount, bKind, bits: true).bits.pointer!
            let status = rv_onednn_matmul_run(p, ap, bp, c)
            precondition(status == 0, "oneDNN matmul \(describe(key)) failed with status \(status)")
        case .fallback where inputs == .float32:
            BLAS.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a: a, lda: lda, b: b, ldb: ldb,
                       beta: beta, c: c, ldc: ldc)
        case .fallback:
            let ap = converted(a, aCount, aKind, bits: false).rounded.pointer!
            let bp = converted(b, bCount, bKind, bits: false).rounded.pointer!
            BLAS.sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1, a: ap, lda: lda, b: bp, ldb: ldb,
                       beta: beta, c: c, ldc: ldc)
        }
        swap(&lastTransient, &thisCall)
    }

    /// The bf16 copy of `count` values at `source` — bf16 bits for oneDNN (`bits`), bf16-rounded Float32
    /// for the fallback — converted now or taken from this pass's copies.
    private func converted(_ source: UnsafePointer<Float>, _ count: Int, _ kind: Operand, bits: Bool) -> Converted {
        // A copy holds one of the two forms; a copy in the other form does not count.
        func usable(_ c: Converted) -> Bool { bits ? c.bits.pointer != nil : c.rounded.pointer != nil }
        let address = UnsafeRawPointer(source)
        let copy: Converted
        switch reusesCopies ? kind : .volatile {
        case .stable:
            if let known = stableCopies[address] { copy = known } else { copy = Converted(); stableCopies[address] = copy }
            if copy.pass == pass && copy.count == count && usable(copy) {
                conversionsSkipped += 1
                return copy
            }
            copy.pass = pass
        case .sharedWithAdjacentCalls, .volatile:
            let shared = kind == .sharedWithAdjacentCalls && reusesCopies
            if shared, let hit = lastTransient.first(where: { $0.shared && $0.address == address && $0.count == count }),
               usable(transientCopies[hit.copy]) {
                conversionsSkipped += 1
                thisCall.append(TransientUse(address: address, count: count, copy: hit.copy, shared: true))
                return transientCopies[hit.copy]
            }
            // A copy that neither this call's other operand nor the previous call's shared ones hold.
            let free = transientCopies.indices.first { i in
                !thisCall.contains { $0.copy == i } && !lastTransient.contains { $0.shared && $0.copy == i }
            } ?? transientCopies.count
            if free == transientCopies.count { transientCopies.append(Converted()) }
            copy = transientCopies[free]
            thisCall.append(TransientUse(address: address, count: count, copy: free, shared: shared))
        }
        copy.count = count
        conversions += 1
        let t0 = profiling ? DispatchTime.now().uptimeNanoseconds : 0
        defer { if profiling { convertSeconds += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 } }
        if bits {
            copy.rounded.free()
            let dst = copy.bits.reserve(count)
            Self.parallelConvert(count) { lo, n in rv_f32_to_bf16(source + lo, dst + lo, n) }
        } else {
            copy.bits.free()
            let dst = copy.rounded.reserve(count)
            Self.parallelConvert(count) { lo, n in rv_round_f32_to_bf16(source + lo, dst + lo, n) }
        }
        return copy
    }

    /// Splits a conversion over the trainer's cores from 2¹⁹ values per core up; below that, waking the
    /// workers costs more than it saves (2-core Zen 4, a step's conversions: 10.7 ms split at 2¹⁵ per
    /// core, 5.6 ms on one core, 4.8 ms at 2¹⁹ per core, at the 0.86M shape; 11, 12.4, 10–11.5 ms at 3.3M).
    private static func parallelConvert(_ count: Int, _ body: (Int, Int) -> Void) {
        Parallel.chunks(count, minPerWorker: 1 << 19) { _, r in body(r.lowerBound, r.count) }
    }

    private func makePlan(_ key: Key) -> Plan {
        var plan = Plan.fallback
        var reason: String
        var kernel = inputs == .float32 ? Self.float32FallbackKernel : Self.fallbackKernel
        if backend == .fallback {
            reason = "the fallback backend was requested"
        } else {
            var impl = [CChar](repeating: 0, count: 128), why = [CChar](repeating: 0, count: 512)
            let p = rv_onednn_matmul_create(inputs == .float32 ? 0 : 1, key.transA ? 1 : 0, key.transB ? 1 : 0, key.m, key.n, key.k,
                                            key.lda, key.ldb, key.ldc, key.beta, &impl, impl.count, &why, why.count)
            let name = Self.text(impl)
            reason = Self.text(why)
            if let p {
                if name.hasPrefix("ref") {
                    rv_onednn_matmul_destroy(p)
                    reason = "oneDNN \(Self.onednnVersion) offers only its reference kernel '\(name)' on this CPU (ISA \(Self.onednnISA)), slower than sgemm"
                } else {
                    plan = .onednn(p)
                    kernel = name
                    reason = ""
                }
            }
        }
        plans[key] = plan
        reports.append(MatmulKernelReport(shape: describe(key), kernel: kernel, fallbackReason: reason.isEmpty ? nil : reason))
        return plan
    }

    /// A NUL-terminated C string written into a fixed buffer, as text.
    static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static let fallbackKernel = "sgemm(bf16-rounded inputs)"
    static let float32FallbackKernel = "sgemm"

    private func describe(_ k: Key) -> String {
        "\(k.m)×\(k.n)×\(k.k) \(k.transA ? "T" : "N")\(k.transB ? "T" : "N")\(k.beta == 0 ? "" : " β=\(k.beta)")"
    }

    /// oneDNN's version ("unavailable" when it cannot be loaded) and its view of the CPU.
    static var onednnVersion: String { String(cString: rv_onednn_version()) }
    static var onednnISA: String { String(cString: rv_onednn_isa()) }
}

/// A grow-only buffer, 64-byte aligned (a cache line; AMX tile rows are 64 bytes).
private struct Scratch<T> {
    private(set) var pointer: UnsafeMutablePointer<T>?
    private var capacity = 0

    mutating func reserve(_ count: Int) -> UnsafeMutablePointer<T> {
        if count > capacity || pointer == nil {
            pointer?.deallocate()
            let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<T>.stride, alignment: 64)
            pointer = raw.bindMemory(to: T.self, capacity: max(count, 1))
            capacity = max(count, 1)
        }
        return pointer!
    }

    mutating func free() { pointer?.deallocate(); pointer = nil; capacity = 0 }
}

/// bfloat16 rounding of Float32 values (round to nearest even; NaN stays NaN, ±∞ stays ±∞).
public enum BFloat16 {
    /// The Float32 value of bf16(x).
    public static func round(_ x: Float) -> Float {
        var v = x, r: Float = 0
        rv_round_f32_to_bf16(&v, &r, 1)
        return r
    }

    /// The bf16 bit pattern of x.
    public static func bits(_ x: Float) -> UInt16 {
        var v = x, r: UInt16 = 0
        rv_f32_to_bf16(&v, &r, 1)
        return r
    }

    /// Rounds `values` in place.
    public static func round(_ values: UnsafeMutableBufferPointer<Float>) {
        guard let p = values.baseAddress else { return }
        rv_round_f32_to_bf16(p, p, values.count)
    }
}
