import Foundation
import LinearAlgebra

/// A LLaMA-style decoder-only transformer with hand-written forward and backward passes, generic over
/// its element type: ``Transformer`` is `Network<Float>` (training), `TextLoss` evaluates `Network<Double>`
/// (curvature analysis of a checkpoint: the Float32 weights widened, every operation in Float64).
///
///     x₀ = tok_embeddings[tokens]
///     for each layer:  h = x + wo · Attention(RoPE(wq·n), RoPE(wk·n), wv·n),  n = RMSNorm(x)·g₁
///                      x = h + w2 · (silu(w1·m) ⊙ w3·m),                       m = RMSNorm(h)·g₂
///     logits = output · (RMSNorm(x)·g_f)            (output = tok_embeddings when tied)
///
/// Attention is causal and multi-head; RoPE rotates interleaved pairs (2i, 2i+1) of each head by
/// t·θ^(−2i/D) (Meta's LLaMA convention; `python/reference/llama.py` does the same).
///
/// All parameters live in one flat buffer (``parameters``), all gradients in another of the same
/// layout (``gradients``); ``tensors`` names the pieces (the safetensors layout). Every activation
/// is allocated once in `init` for `batchSize` sequences of `config.contextLength` tokens: a training
/// step (``forward(tokens:targets:batch:)`` then ``backward()``) does not allocate. GEMMs run on
/// OpenBLAS threads; attention and elementwise kernels split batch×heads or rows across the cores.
final class Network<S: ModelScalar> {
    typealias Phase = TransformerPhase
    let config: TransformerConfig
    /// Largest batch (sequences) a forward pass may use.
    let batchSize: Int
    let parameterCount: Int
    /// All parameters, laid out as ``tensors`` says.
    let parameters: UnsafeMutableBufferPointer<S>
    /// dLoss/dparameters from the last ``backward()``, same layout as ``parameters``.
    let gradients: UnsafeMutableBufferPointer<S>
    /// Named views into the flat buffers (names, shapes, offsets in elements).
    let tensors: [ParameterTensor]
    let layout: ParameterLayout

    // Activations (see `Activations` for shapes).
    let act: Activations<S>
    /// Batch size and sequence length of the last forward pass; `hasTargets` when it computed a loss.
    private(set) var lastBatch = 0
    private(set) var lastSequenceLength = 0
    private var hasTargets = false

    /// The linear layers' GEMMs and the attention's products in bf16 (``Precision/bf16``), or the linear layers' GEMMs
    /// on oneDNN in Float32 (``Float32Matmul/onednn``; the attention keeps its Float32 kernels); Float networks only; nil for the
    /// network's own precision.
    var matmul: OneDNNMatmul? { didSet { matmul?.profiling = profiling } }
    /// The engine whose kernels run the attention's products in bf16: `matmul` when it takes bf16 inputs, else nil
    /// (the attention then runs on the Float32 kernels of ``Layers``).
    var bf16Attention: OneDNNMatmul? { matmul?.inputs == .bf16 ? matmul : nil }

    /// When true, ``phaseSeconds`` accumulates wall time per kind of kernel (for benchmarks).
    var profiling = false { didSet { matmul?.profiling = profiling } }
    /// Seconds spent per ``TransformerPhase`` since the last reset (only while ``profiling``); the bf16
    /// conversions, timed inside the GEMM phase, are moved to their own.
    var phaseSeconds: [Double] {
        var s = phaseTotals
        let convert = matmul?.convertSeconds ?? 0
        s[TransformerPhase.gemm.rawValue] -= convert
        s[TransformerPhase.bf16Convert.rawValue] = convert
        return s
    }
    private var phaseTotals = [Double](repeating: 0, count: TransformerPhase.allCases.count)

    func resetProfile() {
        for i in phaseTotals.indices { phaseTotals[i] = 0 }
        matmul?.convertSeconds = 0
        matmul?.resetAttentionProfile()
    }

    @inline(__always) private func time(_ phase: TransformerPhase, _ body: () -> Void) {
        guard profiling else { return body() }
        let t0 = DispatchTime.now().uptimeNanoseconds
        body()
        phaseTotals[phase.rawValue] += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    }

    /// Builds the model with parameters drawn from `seed` (see ``initialize(seed:)``).
    /// The config must be valid (``TransformerConfig/validate()``); an invalid one stops the program.
    init(config: TransformerConfig, batchSize: Int, seed: UInt64) {
        do { try config.validate() } catch { preconditionFailure("\(error)") }
        precondition(batchSize >= 1, "batchSize must be at least 1, got \(batchSize)")
        self.config = config
        self.batchSize = batchSize
        layout = ParameterLayout(config)
        tensors = layout.tensors
        parameterCount = layout.count
        parameters = .allocate(capacity: parameterCount)
        gradients = .allocate(capacity: parameterCount)
        parameters.initialize(repeating: 0)
        gradients.initialize(repeating: 0)
        act = Activations<S>(config: config, batchSize: batchSize)
        initialize(seed: seed)
    }

    deinit {
        parameters.deallocate()
        gradients.deallocate()
    }

    /// Re-draws all parameters from `seed`: RMSNorm gains 1; embeddings and linear weights N(0, 0.02²),
    /// except the residual projections (wo, w2) with std 0.02/√(2·layers) (GPT-2's scaled init).
    /// Draws use GSL's MT19937 in tensor order, so the result depends only on the config and seed.
    func initialize(seed: UInt64) {
        let rng = RandomSource(seed: seed)
        let residualStd = 0.02 / (2.0 * Double(config.layers)).squareRoot()
        for t in tensors {
            let p = parameters.baseAddress! + t.offset
            if t.name.hasSuffix("norm.weight") {
                p.update(repeating: 1, count: t.count)
                continue
            }
            let std = t.name.hasSuffix("wo.weight") || t.name.hasSuffix("w2.weight") ? residualStd : 0.02
            for i in 0..<t.count { p[i] = S(rng.gaussian() * std) }
        }
    }

    // MARK: forward

    /// Runs the model on `tokens` ([batch, T] row-major, T = tokens.count / batch ≤ contextLength).
    /// With `targets` (same shape), returns the mean cross-entropy in nats and keeps what
    /// ``backward()`` needs; without, returns NaN and only fills the logits.
    @discardableResult
    func forward(tokens: UnsafeBufferPointer<Int32>, targets: UnsafeBufferPointer<Int32>?, batch: Int) -> S {
        let c = config
        precondition(batch >= 1 && batch <= batchSize, "batch \(batch) must be in 1...\(batchSize)")
        precondition(tokens.count % batch == 0 && tokens.count > 0, "\(tokens.count) tokens do not split into \(batch) sequences")
        let T = tokens.count / batch
        precondition(T <= c.contextLength, "sequence length \(T) exceeds contextLength \(c.contextLength)")
        if let targets { precondition(targets.count == tokens.count, "targets (\(targets.count)) and tokens (\(tokens.count)) differ in length") }
        let B = batch, N = B * T, C = c.width, F = c.mlpHidden, V = c.vocabSize, H = c.heads, D = c.headSize
        let eps = S(c.normEpsilon)
        for n in 0..<N {
            precondition(tokens[n] >= 0 && Int(tokens[n]) < V, "token \(tokens[n]) at position \(n) is outside 0..<\(V)")
        }
        act.tokens.update(from: tokens.baseAddress!, count: N)
        matmul?.beginPass()  // the weights and activations' bf16 copies from the last pass are stale now
        let P = parameters.baseAddress!
        let a = act

        time(.embedding) { Layers.embeddingForward(out: a.resid(0), tokens: a.tokens, wte: P + layout.embedding, N: N, C: C) }
        for l in 0..<c.layers {
            let o = layout.layers[l]
            let x = a.resid(l), mid = a.residMid(l), qkv = a.qkv(l), h13 = a.h13(l)
            time(.norm) { Layers.rmsnormForward(out: a.norm1(l), rstd: a.rstd1(l), x: x, weight: P + o.attentionNorm, N: N, C: C, eps: eps) }
            time(.gemm) { Layers.linearForward(out: qkv, x: a.norm1(l), w: P + o.wqkv, N: N, IC: C, OC: 3 * C, bf16: matmul) }
            if let bf16Attention {
                time(.rope) { Layers.rope(qkv: qkv, cos: a.ropeCos, sin: a.ropeSin, B: B, T: T, C: C, D: D, sign: 1) }
                time(.attention) {
                    bf16Attention.attentionForward(attOut: a.attOut(l), probs: a.probs(l), qkv: qkv, B: B, T: T, C: C, H: H)
                }
            } else {
                // RoPE inside the attention, head by head (its time counts as attention)
                time(.attention) {
                    Layers.attentionForward(attOut: a.attOut(l), probs: a.probs(l), rotating: qkv, cos: a.ropeCos, sin: a.ropeSin,
                                            scratch: a.attentionScratch, B: B, T: T, C: C, H: H)
                }
            }
            time(.other) { mid.update(from: x, count: N * C) }
            time(.gemm) { Layers.linearForward(out: mid, x: a.attOut(l), w: P + o.wo, N: N, IC: C, OC: C, beta: 1, bf16: matmul) }
            time(.norm) { Layers.rmsnormForward(out: a.norm2(l), rstd: a.rstd2(l), x: mid, weight: P + o.ffnNorm, N: N, C: C, eps: eps) }
            time(.gemm) { Layers.linearForward(out: h13, x: a.norm2(l), w: P + o.w13, N: N, IC: C, OC: 2 * F, bf16: matmul) }
            time(.swiglu) { Layers.swigluForward(act: a.mlpAct(l), h13: h13, N: N, F: F) }
            let next = a.resid(l + 1)
            time(.other) { next.update(from: mid, count: N * C) }
            time(.gemm) { Layers.linearForward(out: next, x: a.mlpAct(l), w: P + o.w2, N: N, IC: F, OC: C, beta: 1, bf16: matmul) }
        }
        time(.norm) { Layers.rmsnormForward(out: a.normF, rstd: a.rstdF, x: a.resid(c.layers), weight: P + layout.finalNorm,
                                  N: N, C: C, eps: eps) }
        time(.gemm) { Layers.linearForward(out: a.logits, x: a.normF, w: P + layout.output, N: N, IC: C, OC: V, bf16: matmul) }

        lastBatch = B
        lastSequenceLength = T
        guard let targets else {
            hasTargets = false
            return .nan
        }
        for n in 0..<N {
            precondition(targets[n] >= 0 && Int(targets[n]) < V, "target \(targets[n]) at position \(n) is outside 0..<\(V)")
        }
        a.targets.update(from: targets.baseAddress!, count: N)
        hasTargets = true
        time(.crossEntropy) { Layers.crossEntropyForward(losses: a.losses, lse: a.lse, logits: a.logits, targets: a.targets, N: N, V: V) }
        var sum = 0.0
        for n in 0..<N { sum += Double(a.losses[n]) }
        return S(sum / Double(N))
    }

    // MARK: backward

    /// Writes d(mean loss)/d(parameters) of the last forward pass (which must have had targets)
    /// into ``gradients`` (zeroed first).
    func backward() {
        precondition(hasTargets, "backward() needs a forward pass with targets first")
        let c = config
        let B = lastBatch, T = lastSequenceLength, N = B * T
        let C = c.width, F = c.mlpHidden, V = c.vocabSize, H = c.heads, D = c.headSize
        let P = parameters.baseAddress!, G = gradients.baseAddress!
        let a = act
        time(.other) { gradients.update(repeating: 0) }

        time(.crossEntropy) { Layers.crossEntropyBackward(dlogits: a.dlogits, logits: a.logits, lse: a.lse, targets: a.targets,
                                        N: N, V: V, scale: 1 / S(N)) }
        // dnormF = dlogits · W_out ; dW_out += dlogitsᵀ · normF
        time(.gemm) { Layers.linearBackward(dx: a.dtmp, dw: G + layout.output, dy: a.dlogits, x: a.normF, w: P + layout.output,
                                  N: N, IC: C, OC: V, bf16: matmul) }
        a.dresid.update(repeating: 0, count: N * C)
        time(.norm) { Layers.rmsnormBackward(dx: a.dresid, dweight: G + layout.finalNorm, dy: a.dtmp, x: a.resid(c.layers),
                                   weight: P + layout.finalNorm, rstd: a.rstdF, N: N, C: C, scratch: a.normScratch) }
        for l in stride(from: c.layers - 1, through: 0, by: -1) {
            let o = layout.layers[l]
            // MLP: x_{l+1} = mid + act · w2ᵀ
            time(.gemm) { Layers.linearBackward(dx: a.dact, dw: G + o.w2, dy: a.dresid, x: a.mlpAct(l), w: P + o.w2, N: N, IC: F, OC: C, bf16: matmul) }
            time(.swiglu) { Layers.swigluBackward(dh13: a.dh13, dact: a.dact, h13: a.h13(l), N: N, F: F) }
            time(.gemm) { Layers.linearBackward(dx: a.dtmp, dw: G + o.w13, dy: a.dh13, x: a.norm2(l), w: P + o.w13, N: N, IC: C, OC: 2 * F, bf16: matmul) }
            time(.norm) { Layers.rmsnormBackward(dx: a.dresid, dweight: G + o.ffnNorm, dy: a.dtmp, x: a.residMid(l),
                                       weight: P + o.ffnNorm, rstd: a.rstd2(l), N: N, C: C, scratch: a.normScratch) }
            // Attention: mid = x_l + attOut · woᵀ
            time(.gemm) { Layers.linearBackward(dx: a.dtmp, dw: G + o.wo, dy: a.dresid, x: a.attOut(l), w: P + o.wo, N: N, IC: C, OC: C, bf16: matmul) }
            if let bf16Attention {
                time(.attention) {
                    bf16Attention.attentionBackward(dqkv: a.dqkv, dP: a.dscores, dAttOut: a.dtmp, qkv: a.qkv(l), probs: a.probs(l),
                                                    B: B, T: T, C: C, H: H)
                }
                time(.rope) { Layers.rope(qkv: a.dqkv, cos: a.ropeCos, sin: a.ropeSin, B: B, T: T, C: C, D: D, sign: -1) }
            } else {
                time(.attention) {
                    Layers.attentionBackward(dqkv: a.dqkv, dP: a.dscores, dAttOut: a.dtmp, qkv: a.qkv(l), probs: a.probs(l),
                                             rotatingBack: a.ropeCos, sin: a.ropeSin, scratch: a.attentionScratch,
                                             B: B, T: T, C: C, H: H)
                }
            }
            time(.gemm) { Layers.linearBackward(dx: a.dtmp, dw: G + o.wqkv, dy: a.dqkv, x: a.norm1(l), w: P + o.wqkv, N: N, IC: C, OC: 3 * C, bf16: matmul) }
            time(.norm) { Layers.rmsnormBackward(dx: a.dresid, dweight: G + o.attentionNorm, dy: a.dtmp, x: a.resid(l),
                                       weight: P + o.attentionNorm, rstd: a.rstd1(l), N: N, C: C, scratch: a.normScratch) }
        }
        time(.embedding) { Layers.embeddingBackward(dwte: G + layout.embedding, dout: a.dresid, tokens: a.tokens, N: N, C: C) }
    }

    // MARK: outputs

    /// Logits of the last forward pass: [lastBatch, lastSequenceLength, vocabSize].
    var lastLogits: UnsafeBufferPointer<S> {
        UnsafeBufferPointer(start: act.logits, count: lastBatch * lastSequenceLength * config.vocabSize)
    }

    /// Per-token losses (nats) of the last forward pass with targets: [lastBatch, lastSequenceLength].
    var lastLosses: UnsafeBufferPointer<S> {
        precondition(hasTargets, "the last forward pass had no targets")
        return UnsafeBufferPointer(start: act.losses, count: lastBatch * lastSequenceLength)
    }

}

/// Every activation and backward scratch buffer, allocated once (one arena).
final class Activations<S: ModelScalar> {
    let N: Int, C: Int, F: Int, layers: Int, probsPerLayer: Int
    private let arena: UnsafeMutablePointer<S>
    private let arenaCount: Int
    let tokens: UnsafeMutablePointer<Int32>
    let targets: UnsafeMutablePointer<Int32>

    // Per-layer stacks (layer l at base + l·stride).
    private let residBase: Ptr<S>      // [(L+1), N, C]   residual stream entering each layer (+ final)
    private let residMidBase: Ptr<S>   // [L, N, C]       after the attention residual add
    private let norm1Base: Ptr<S>      // [L, N, C]
    private let rstd1Base: Ptr<S>      // [L, N]
    private let qkvBase: Ptr<S>        // [L, N, 3C]      q, k rotated
    private let probsBase: Ptr<S>      // [L, B, H, T, T] attention probabilities
    private let attOutBase: Ptr<S>     // [L, N, C]
    private let norm2Base: Ptr<S>      // [L, N, C]
    private let rstd2Base: Ptr<S>      // [L, N]
    private let h13Base: Ptr<S>        // [L, N, 2F]      gate, up pre-activations
    private let actBase: Ptr<S>        // [L, N, F]       silu(gate) ⊙ up
    let normF: Ptr<S>                  // [N, C]
    let rstdF: Ptr<S>                  // [N]
    let logits: Ptr<S>                 // [N, V]
    let lse: Ptr<S>                    // [N]
    let losses: Ptr<S>                 // [N]
    // Backward scratch.
    let dresid: Ptr<S>                 // [N, C]
    let dtmp: Ptr<S>                   // [N, C]
    let dqkv: Ptr<S>                   // [N, 3C]
    let dh13: Ptr<S>                   // [N, 2F]
    let dact: Ptr<S>                   // [N, F]
    let dscores: Ptr<S>                // [min(workers, B·H), T, T]  dS, one block per attention worker
    let dlogits: Ptr<S>                // [N, V]
    let normScratch: Ptr<S>            // [workers, C]
    let ropeCos: Ptr<S>                // [T, D/2]
    let ropeSin: Ptr<S>                // [T, D/2]
    let attentionScratch: Ptr<S>       // [workers, roundUp16(T), D]  K or V in panels (Layers.attentionScratchCount)

    init(config c: TransformerConfig, batchSize B: Int) {
        let T = c.contextLength, C = c.width, F = c.mlpHidden, V = c.vocabSize, L = c.layers, H = c.heads
        let D = c.headSize
        let N = B * T
        self.N = N; self.C = C; self.F = F; self.layers = L
        probsPerLayer = B * H * T * T
        let sizes: [Int] = [
            (L + 1) * N * C, L * N * C, L * N * C, L * N, L * N * 3 * C, L * probsPerLayer, L * N * C, L * N * C,
            L * N, L * N * 2 * F, L * N * F, N * C, N, N * V, N, N,
            N * C, N * C, N * 3 * C, N * 2 * F, N * F, Layers.attentionGradientScratchCount(B: B, H: H, T: T), N * V, Parallel.workers * C, T * D / 2, T * D / 2,
            Layers.attentionScratchCount(T: T, D: D),
        ]
        // Round each piece up to 16 elements (64 or 128 bytes) so every buffer starts cache-line aligned.
        let padded = sizes.map { ($0 + 15) / 16 * 16 }
        arenaCount = padded.reduce(0, +)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: arenaCount * MemoryLayout<S>.stride, alignment: 64)
        arena = raw.bindMemory(to: S.self, capacity: arenaCount)
        arena.initialize(repeating: 0, count: arenaCount)
        var ptrs: [Ptr<S>] = []
        var off = 0
        for p in padded { ptrs.append(arena + off); off += p }
        residBase = ptrs[0]; residMidBase = ptrs[1]; norm1Base = ptrs[2]; rstd1Base = ptrs[3]; qkvBase = ptrs[4]
        probsBase = ptrs[5]; attOutBase = ptrs[6]; norm2Base = ptrs[7]; rstd2Base = ptrs[8]; h13Base = ptrs[9]
        actBase = ptrs[10]; normF = ptrs[11]; rstdF = ptrs[12]; logits = ptrs[13]; lse = ptrs[14]; losses = ptrs[15]
        dresid = ptrs[16]; dtmp = ptrs[17]; dqkv = ptrs[18]; dh13 = ptrs[19]; dact = ptrs[20]; dscores = ptrs[21]
        dlogits = ptrs[22]; normScratch = ptrs[23]; ropeCos = ptrs[24]; ropeSin = ptrs[25]
        attentionScratch = ptrs[26]
        tokens = .allocate(capacity: N)
        targets = .allocate(capacity: N)
        tokens.initialize(repeating: 0, count: N)
        targets.initialize(repeating: 0, count: N)
        Layers.ropeTables(T: T, D: D, theta: c.ropeTheta, cos: ropeCos, sin: ropeSin)
    }

    deinit {
        arena.deallocate()
        tokens.deallocate()
        targets.deallocate()
    }

    /// Bytes held by activations and scratch.
    var byteCount: Int { arenaCount * MemoryLayout<S>.stride }

    @inline(__always) func resid(_ l: Int) -> Ptr<S> { residBase + l * N * C }
    @inline(__always) func residMid(_ l: Int) -> Ptr<S> { residMidBase + l * N * C }
    @inline(__always) func norm1(_ l: Int) -> Ptr<S> { norm1Base + l * N * C }
    @inline(__always) func rstd1(_ l: Int) -> Ptr<S> { rstd1Base + l * N }
    @inline(__always) func qkv(_ l: Int) -> Ptr<S> { qkvBase + l * N * 3 * C }
    @inline(__always) func probs(_ l: Int) -> Ptr<S> { probsBase + l * probsPerLayer }
    @inline(__always) func attOut(_ l: Int) -> Ptr<S> { attOutBase + l * N * C }
    @inline(__always) func norm2(_ l: Int) -> Ptr<S> { norm2Base + l * N * C }
    @inline(__always) func rstd2(_ l: Int) -> Ptr<S> { rstd2Base + l * N }
    @inline(__always) func h13(_ l: Int) -> Ptr<S> { h13Base + l * N * 2 * F }
    @inline(__always) func mlpAct(_ l: Int) -> Ptr<S> { actBase + l * N * F }
}
