import Foundation
import LinearAlgebra
import RiverValley

/// The loss of a model on a token stream in Float64 — exactly `river eval`'s loss (``EvaluationWindows``:
/// windows of T + 1 tokens overlapping by one, mean nats per predicted token) — with its gradient and
/// Hessian-vector products, for curvature analysis of a checkpoint.
///
/// The model is the trainer's own network instantiated in Float64 (`Network<Double>`): the checkpoint's
/// Float32 weights widened, every operation (GEMMs by dgemm, softmax, RMSNorm, RoPE tables) in Float64.
///
/// **Hessian-vector products by central differences of Float64 gradients** (docs/analyze.md):
///
///     H v ≈ (∇L(w + h v̂) − ∇L(w − h v̂)) / (2h) · ‖v‖,   v̂ = v/‖v‖,  h = ``finiteDifferenceStep``
///
/// The truncation error is h²/6 · ∇³L[v̂, v̂] (the even terms cancel) and the rounding error about
/// u·‖∇L‖/h with u ≈ 1e-16 for Float64 gradients; h = 1e-5 makes both ≪ 1e-6 of ‖Hv‖ on trained
/// models (measured against PyTorch float64 double-backprop by python/tests/test_analyze_torch.py).
/// Pearlmutter's R-operator would be exact to rounding and ≈ 1.5× cheaper per product, but needs a
/// second hand-written derivative of every layer (attention, RMSNorm, SwiGLU, cross-entropy); central
/// differences reuse the one backward pass that the PyTorch golden test already checks.
public final class TextLoss {
    public let config: TransformerConfig
    public let tokens: [Int32]
    public let windows: EvaluationWindows
    /// Sequences per forward pass (memory ∝ batch · T · model size).
    public let batchSize: Int
    /// Number of parameters n.
    public var dimension: Int { network.parameterCount }
    /// Named tensors of the flat parameter vector (the checkpoint's layout).
    public var tensors: [ParameterTensor] { network.tensors }
    /// The point w at which ``hessianVectorProduct(_:)`` is taken.
    public private(set) var point: [Double]
    /// h of the central difference, in parameter units along a unit direction.
    public var finiteDifferenceStep = 1e-5
    /// Gradient evaluations so far (each is one forward and one backward pass over the whole text).
    public private(set) var gradientEvaluations = 0
    /// Wall seconds spent in ``hessianVectorProduct(_:)`` and its count.
    public private(set) var hvpSeconds = 0.0
    public private(set) var hvpCount = 0

    let network: Network<Double>

    /// `parameters` in the model's flat layout (Float32 from a checkpoint, widened); `tokens` must hold at
    /// least 2 tokens, each in 0..<vocabSize.
    public init(config: TransformerConfig, parameters: [Float], tokens: [Int32], batchSize: Int = 4) throws {
        try config.validate()
        try Evaluation.requirePrediction(tokens)
        guard batchSize >= 1 else { throw RunError("batch size must be at least 1, got \(batchSize)") }
        // No more sequences per pass than the stream has windows (as `river eval`); then the memory check.
        let batchSize = Evaluation.passBatchSize(batchSize, tokenCount: tokens.count, contextLength: config.contextLength)
        try config.checkMemory(batchSize: 2 * batchSize)   // Float64 activations: twice the Float32 bytes
        if let bad = tokens.first(where: { $0 < 0 || Int($0) >= config.vocabSize }) {
            throw RunError("token id \(bad) is outside the model's vocabulary 0..<\(config.vocabSize)")
        }
        let n = Transformer.parameterCount(for: config)
        guard parameters.count == n else {
            throw RunError("\(parameters.count) parameters given, the model has \(n)")
        }
        self.config = config
        self.tokens = tokens
        self.batchSize = batchSize
        windows = EvaluationWindows(tokenCount: tokens.count, sequenceLength: config.contextLength)
        network = Network<Double>(config: config, batchSize: batchSize, seed: 0)
        point = parameters.map(Double.init)
    }

    /// Convenience: the checkpoint's model and weights on `tokens`.
    public convenience init(checkpoint: Checkpoint, tokens: [Int32], batchSize: Int = 4) throws {
        try self.init(config: checkpoint.config.model, parameters: checkpoint.parameters, tokens: tokens,
                      batchSize: batchSize)
    }

    /// Moves the point w.
    public func setPoint(_ w: [Double]) {
        precondition(w.count == dimension, "point has \(w.count) entries, the model has \(dimension)")
        point = w
    }

    private func load(_ w: [Double]) {
        w.withUnsafeBufferPointer { network.parameters.baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
    }

    /// Mean loss (nats per predicted token) at `w` (default: the point); forward passes only.
    public func loss(at w: [Double]? = nil) -> Double {
        forwardEachBatch(at: w) { _ in } / Double(windows.predicted)
    }

    /// Loads `w` (default: the point), runs the forward pass of every batch of ``windows`` and calls
    /// `afterForward` with each batch; returns Σ of the per-token losses over all predicted tokens.
    private func forwardEachBatch(at w: [Double]?, _ afterForward: (EvaluationWindows.Batch) -> Void) -> Double {
        load(w ?? point)
        var total = 0.0
        var x: [Int32] = [], y: [Int32] = []
        for b in windows.batches(batch: batchSize) {
            windows.fill(b, from: tokens, inputs: &x, targets: &y)
            x.withUnsafeBufferPointer { xp in
                y.withUnsafeBufferPointer { yp in _ = network.forward(tokens: xp, targets: yp, batch: b.count) }
            }
            for l in network.lastLosses { total += l }
            afterForward(b)
        }
        return total
    }

    /// Mean loss and its gradient at `w` (default: the point). The gradient of the mean over all
    /// predicted tokens is Σ_batches (tokens in batch / predicted) · ∇(batch mean).
    public func lossAndGradient(at w: [Double]? = nil) -> (loss: Double, gradient: [Double]) {
        var g = [Double](repeating: 0, count: dimension)
        let total = forwardEachBatch(at: w) { b in
            network.backward()
            let weight = Double(b.tokens) / Double(windows.predicted)
            let src = UnsafeBufferPointer(network.gradients)
            g.withUnsafeMutableBufferPointer { d in
                for i in 0..<d.count { d[i] += weight * src[i] }
            }
        }
        gradientEvaluations += 1
        return (total / Double(windows.predicted), g)
    }

    /// H v at the point, by the central difference of gradients (see the type's documentation).
    /// The zero vector maps to zero.
    public func hessianVectorProduct(_ v: [Double]) -> [Double] {
        precondition(v.count == dimension, "vector has \(v.count) entries, the model has \(dimension)")
        let t0 = DispatchTime.now().uptimeNanoseconds
        defer {
            hvpSeconds += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            hvpCount += 1
        }
        let norm = BLAS.norm(v)
        guard norm > 0 else { return v }
        let h = finiteDifferenceStep / norm
        var w = point
        for i in w.indices { w[i] = point[i] + h * v[i] }
        let plus = lossAndGradient(at: w).gradient
        for i in w.indices { w[i] = point[i] - h * v[i] }
        let minus = lossAndGradient(at: w).gradient
        let scale = 1 / (2 * h)
        return (0..<dimension).map { (plus[$0] - minus[$0]) * scale }
    }

    /// Mean seconds per Hessian-vector product so far (NaN before the first).
    public var secondsPerHVP: Double { hvpCount > 0 ? hvpSeconds / Double(hvpCount) : .nan }
}

/// The Hessian of a ``TextLoss`` at its point, as an operator for the spectral engines.
public struct TextLossHessian: SymmetricOperator {
    public let loss: TextLoss
    public init(_ loss: TextLoss) { self.loss = loss }
    public var dimension: Int { loss.dimension }
    public func apply(_ v: [Double]) -> [Double] { loss.hessianVectorProduct(v) }
}
