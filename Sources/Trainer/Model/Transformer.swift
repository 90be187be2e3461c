import Foundation
import LinearAlgebra

/// Kinds of kernel, for profiling (``Transformer/phaseSeconds``).
/// `gemm` is the linear layers' products; on the bf16 path their inputs' conversion to bf16 is
/// `bf16Convert` instead (zero in fp32). In fp32 the rotary embedding runs inside the attention, head by
/// head, so its time counts as `attention` and `rope` is zero; on the bf16 path it is a pass of its own.
public enum TransformerPhase: Int, CaseIterable, Sendable {
    case gemm, attention, norm, rope, swiglu, crossEntropy, embedding, other, bf16Convert
}

/// The LLaMA-style transformer in Float32 — the trainer's model (see `Network` for the architecture:
/// this class is `Network<Float>` behind a concrete, non-generic interface, so callers in other modules
/// run the Float-specialised kernels).
///
/// All parameters live in one flat buffer (``parameters``), all gradients in another of the same
/// layout (``gradients``); ``tensors`` names the pieces (the safetensors layout). Every activation
/// is allocated once in `init` for `batchSize` sequences of `config.contextLength` tokens: a training
/// step (``forward(tokens:targets:batch:)`` then ``backward()``) does not allocate.
public final class Transformer {
    public typealias Phase = TransformerPhase
    let network: Network<Float>

    public var config: TransformerConfig { network.config }
    /// Largest batch (sequences) a forward pass may use.
    public var batchSize: Int { network.batchSize }
    public var parameterCount: Int { network.parameterCount }
    /// All parameters, laid out as ``tensors`` says.
    public var parameters: UnsafeMutableBufferPointer<Float> { network.parameters }
    /// dLoss/dparameters from the last ``backward()``, same layout as ``parameters``.
    public var gradients: UnsafeMutableBufferPointer<Float> { network.gradients }
    /// Named views into the flat buffers (names, shapes, offsets in elements).
    public var tensors: [ParameterTensor] { network.tensors }
    var layout: ParameterLayout { network.layout }
    /// Batch size and sequence length of the last forward pass.
    public var lastBatch: Int { network.lastBatch }
    public var lastSequenceLength: Int { network.lastSequenceLength }

    /// When true, ``phaseSeconds`` accumulates wall time per kind of kernel (for benchmarks).
    public var profiling: Bool {
        get { network.profiling }
        set { network.profiling = newValue }
    }
    /// Seconds spent per ``Phase`` since the last reset (only while ``profiling``).
    public var phaseSeconds: [Double] { network.phaseSeconds }
    public func resetProfile() { network.resetProfile() }
    /// bf16 runs while ``profiling``: CPU seconds (summed over the cores) the attention spent packing
    /// operands, in its products and in the softmax, since the last ``resetProfile()``.
    public var attentionCPUSeconds: (pack: Double, products: Double, softmax: Double)? { network.bf16Attention?.attentionCPUSeconds }

    /// Total parameter count for a config (no allocation).
    public static func parameterCount(for config: TransformerConfig) -> Int { ParameterLayout(config).count }

    /// Builds the model with parameters drawn from `seed` (see ``initialize(seed:)``).
    /// The config must be valid (``TransformerConfig/validate()``); an invalid one stops the program.
    ///
    /// `precision` sets the arithmetic of the matrix products, linear layers and attention (``Precision``);
    /// `fp32Matmul` the library of an fp32 model's linear-layer GEMMs (``Float32Matmul``; bf16 models always take
    /// oneDNN). `bf16Backend` `.fallback` forces the sgemm fallback of the oneDNN path on every shape (tests,
    /// comparisons).
    public init(config: TransformerConfig, batchSize: Int, seed: UInt64, precision: Precision = .fp32,
                fp32Matmul: Float32Matmul = .openblas, bf16Backend: BF16Backend = .automatic) {
        network = Network<Float>(config: config, batchSize: batchSize, seed: seed)
        self.precision = precision
        switch (precision, fp32Matmul) {
        case (.bf16, _): network.matmul = OneDNNMatmul(backend: bf16Backend, inputs: .bf16)
        case (.fp32, .onednn): network.matmul = OneDNNMatmul(backend: bf16Backend, inputs: .float32)
        case (.fp32, .openblas): break
        }
    }

    /// The arithmetic of the matrix products (linear layers and attention).
    public let precision: Precision
    /// The library of the linear layers' GEMMs in fp32 (`.openblas` for bf16 models, whose GEMMs take oneDNN).
    public var fp32Matmul: Float32Matmul { network.matmul?.inputs == .float32 ? .onednn : .openblas }
    /// Whether any GEMM runs on oneDNN (bf16, or fp32 with ``Float32Matmul/onednn``): then ``matmulKernels``
    /// says which kernel ran each shape.
    public var usesOneDNN: Bool { network.matmul != nil }

    /// Which kernel ran each shape of oneDNN-path GEMM so far (bf16, or fp32 with ``Float32Matmul/onednn``; empty
    /// otherwise, and before the first forward pass).
    public var matmulKernels: [MatmulKernelReport] { network.matmul?.reports ?? [] }

    /// What a training step's bits depend on besides the parameters, the data and the config: the precision, the
    /// library and kernel family of the GEMMs, and the thread counts. OpenBLAS's Haswell (AVX2) kernels give last
    /// bits that depend on the thread count, as do oneDNN's `gemm:jit`; the RMSNorm gains' gradient sums the
    /// rows in one block per worker thread. Checkpoints record it, and a resume under another description says
    /// so (``TrainingRun/arithmeticNote``): the run continues correctly, but not bit for bit as an unbroken one.
    public var arithmetic: String {
        let workers = Parallel.workers, blas = BLAS.threads
        let threads = "\(workers) thread\(workers == 1 ? "" : "s")" + (blas == workers ? "" : " (OpenBLAS on \(blas))")
        if usesOneDNN {
            let o = Self.onednn
            return "\(precision.rawValue), GEMMs on oneDNN \(o.version) (\(o.isa)), \(threads)"
        }
        return "\(precision.rawValue), GEMMs on OpenBLAS (\(BLAS.coreName) kernels), \(threads)"
    }

    /// oneDNN's version and its view of this CPU's ISA ("unavailable" when libdnnl.so.2 cannot be loaded).
    public static var onednn: (version: String, isa: String) { (OneDNNMatmul.onednnVersion, OneDNNMatmul.onednnISA) }

    /// Re-draws all parameters from `seed`: RMSNorm gains 1; embeddings and linear weights N(0, 0.02²),
    /// except the residual projections (wo, w2) with std 0.02/√(2·layers) (GPT-2's scaled init).
    /// Draws use GSL's MT19937 in tensor order, so the result depends only on the config and seed.
    public func initialize(seed: UInt64) { network.initialize(seed: seed) }

    /// The tensor called `name`, or nil.
    public func tensor(named name: String) -> ParameterTensor? { tensors.first { $0.name == name } }

    /// Runs the model on `tokens` ([batch, T] row-major, T = tokens.count / batch ≤ contextLength).
    /// With `targets` (same shape), returns the mean cross-entropy in nats and keeps what
    /// ``backward()`` needs; without, returns NaN and only fills the logits.
    @discardableResult
    public func forward(tokens: UnsafeBufferPointer<Int32>, targets: UnsafeBufferPointer<Int32>?, batch: Int) -> Float {
        network.forward(tokens: tokens, targets: targets, batch: batch)
    }

    /// Writes d(mean loss)/d(parameters) of the last forward pass (which must have had targets)
    /// into ``gradients`` (zeroed first).
    public func backward() { network.backward() }

    /// Logits of the last forward pass: [lastBatch, lastSequenceLength, vocabSize].
    public var lastLogits: UnsafeBufferPointer<Float> { network.lastLogits }

    /// Per-token losses (nats) of the last forward pass with targets: [lastBatch, lastSequenceLength].
    public var lastLosses: UnsafeBufferPointer<Float> { network.lastLosses }

    /// Runs a forward pass and returns a copy of the logits, [batch, T, vocabSize] (allocates; for tests
    /// and evaluation).
    public func logits(tokens: UnsafeBufferPointer<Int32>, batch: Int) -> [Float] {
        forward(tokens: tokens, targets: nil, batch: batch)
        return Array(lastLogits)
    }

    /// Runs a forward pass and returns the cross-entropy of every position, [batch, T] in nats (allocates).
    public func perTokenLosses(tokens: UnsafeBufferPointer<Int32>, targets: UnsafeBufferPointer<Int32>,
                               batch: Int) -> [Float] {
        forward(tokens: tokens, targets: targets, batch: batch)
        return Array(lastLosses)
    }

    /// Model FLOPs per trained token (forward + backward): 6·(matmul parameters) + 12·layers·width·T
    /// (PaLM's count with full, not causal, attention). Used for MFU.
    public static func flopsPerToken(_ c: TransformerConfig, sequenceLength T: Int? = nil) -> Double {
        let C = Double(c.width), F = Double(c.mlpHidden), L = Double(c.layers)
        let matmul = L * (4 * C * C + 3 * C * F) + Double(c.vocabSize) * C
        return 6 * matmul + 12 * L * C * Double(T ?? c.contextLength)
    }
}

extension Transformer {
    /// Convenience overloads on Swift arrays.
    @discardableResult
    public func forward(tokens: [Int32], targets: [Int32]?, batch: Int) -> Float {
        tokens.withUnsafeBufferPointer { tp in
            if let targets {
                return targets.withUnsafeBufferPointer { forward(tokens: tp, targets: $0, batch: batch) }
            }
            return forward(tokens: tp, targets: nil, batch: batch)
        }
    }

    public func logits(tokens: [Int32], batch: Int) -> [Float] {
        tokens.withUnsafeBufferPointer { logits(tokens: $0, batch: batch) }
    }

    public func perTokenLosses(tokens: [Int32], targets: [Int32], batch: Int) -> [Float] {
        tokens.withUnsafeBufferPointer { tp in
            targets.withUnsafeBufferPointer { perTokenLosses(tokens: tp, targets: $0, batch: batch) }
        }
    }

    /// The view of `tensor` inside `buffer` (``parameters`` or ``gradients``).
    public func view(_ tensor: ParameterTensor, in buffer: UnsafeMutableBufferPointer<Float>) -> UnsafeMutableBufferPointer<Float> {
        UnsafeMutableBufferPointer(rebasing: buffer[tensor.offset..<(tensor.offset + tensor.count)])
    }
}
