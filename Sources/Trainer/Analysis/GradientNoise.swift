import Foundation
import LinearAlgebra

/// The trace of a gradient-noise covariance, estimated from independent pairs of minibatch gradients.
///
/// For two independent draws g_a, g_b of a random vector with covariance Σ, E[½‖g_a − g_b‖²] = Tr Σ
/// exactly (the means cancel). Each of the `pairs` independent pairs gives one unbiased sample, so the
/// estimate is their mean and its standard error their sample standard deviation over √pairs (no
/// approximation beyond the CLT). A batch of B i.i.d. examples has Σ_B = Σ₁/B, so the per-example trace
/// is B·Tr Σ_B.
public struct NoiseTrace: Sendable, Equatable {
    public var estimate: Double
    public var standardError: Double
    public var pairs: Int

    /// Estimates Tr Cov(S g) from `pairs` independent pairs of draws of g by `sample` (called 2·pairs
    /// times), for every diagonal scaling S in `scalings` (nil: the identity), from the same draws.
    public static func estimate(pairs: Int, scalings: [[Double]?] = [nil], sample: () -> [Double]) -> [NoiseTrace] {
        precondition(pairs >= 2, "need at least 2 pairs for a standard error")
        var values = [[Double]](repeating: [], count: scalings.count)
        for _ in 0..<pairs {
            let a = sample(), b = sample()
            for (k, scale) in scalings.enumerated() {
                var s = 0.0
                if let scale {
                    for i in a.indices { let d = (a[i] - b[i]) * scale[i]; s += d * d }
                } else {
                    for i in a.indices { let d = a[i] - b[i]; s += d * d }
                }
                values[k].append(s / 2)
            }
        }
        return values.map {
            NoiseTrace(estimate: Statistics.mean($0),
                       standardError: Statistics.standardDeviation($0) / Double(pairs).squareRoot(), pairs: pairs)
        }
    }

    /// The same trace scaled by `factor` (e.g. B for per-example from per-batch).
    public func scaled(_ factor: Double) -> NoiseTrace {
        NoiseTrace(estimate: estimate * factor, standardError: standardError * factor, pairs: pairs)
    }
}

/// The output of `river analyze noise`.
public struct GradientNoiseReport: Encodable, Sendable {
    public var step: Int
    public var batchSize: Int
    public var batches: Int
    /// Tr Σ of one example's gradient, of a batch-of-B mean gradient, raw and Adam-preconditioned
    /// (g / (√v̂ + ε)), each with its standard error.
    public var perExample: NoiseTrace
    public var perBatch: NoiseTrace
    public var perExamplePreconditioned: NoiseTrace?
    public var perBatchPreconditioned: NoiseTrace?

    enum CodingKeys: String, CodingKey {
        case step, batchSize = "batch_size", batches
        case perExample = "trace_per_example", perBatch = "trace_per_batch"
        case perExamplePreconditioned = "trace_per_example_preconditioned"
        case perBatchPreconditioned = "trace_per_batch_preconditioned"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(step, forKey: .step)
        try c.encode(batchSize, forKey: .batchSize)
        try c.encode(batches, forKey: .batches)
        func put(_ t: NoiseTrace?, _ key: CodingKeys) throws {
            guard let t else { try c.encodeNil(forKey: key); return }
            try c.encode(["estimate": t.estimate, "stderr": t.standardError], forKey: key)
        }
        try put(perExample, .perExample)
        try put(perBatch, .perBatch)
        try put(perExamplePreconditioned, .perExamplePreconditioned)
        try put(perBatchPreconditioned, .perBatchPreconditioned)
    }
}

/// Minibatch-gradient noise of a checkpoint on its run's training split (batches drawn as training
/// draws them: B windows of T + 1 tokens at uniform offsets, from `seed`), Float32 gradients.
public enum GradientNoise {
    public static func run(_ ck: Checkpoint, batches: Int, batchSize B: Int, seed: UInt64) throws -> GradientNoiseReport {
        let o = ck.config.optimizer
        let adam = (o.algorithm == .adam || o.algorithm == .adamw) && ck.optimizerSteps >= 1
        let inverseP = adam ? try AdamPreconditioner.inverseSqrtDiagonal(ck).map { $0 * $0 } : nil
        let traces = try perBatchTraces(ck, batches: batches, batchSize: B, seed: seed,
                                        scalings: inverseP == nil ? [nil] : [nil, inverseP])
        let raw = traces[0], pre = traces.count > 1 ? traces[1] : nil
        return GradientNoiseReport(step: ck.step, batchSize: B, batches: batches, perExample: raw.scaled(Double(B)),
                                   perBatch: raw, perExamplePreconditioned: pre?.scaled(Double(B)), perBatchPreconditioned: pre)
    }

    /// Tr Cov(S g_B) of the mean gradient g_B of a minibatch of B windows, for every diagonal scaling S of
    /// `scalings` (nil: the identity), from the same `batches` draws (independent pairs). The draws are
    /// the batches training would use at steps `firstStep`, `firstStep` + 1, … with data seed `seed`.
    /// `clip` > 0 clips each minibatch gradient to that norm first, as training does (`gradClip`), so the
    /// traces are those of the gradients the optimizer uses; nil or 0 takes them as they are.
    public static func perBatchTraces(_ ck: Checkpoint, batches: Int, batchSize B: Int, seed: UInt64,
                                      firstStep: Int = 0, clip: Double? = nil, scalings: [[Double]?]) throws -> [NoiseTrace] {
        let g = try gradients(ck, batches: batches, batchSize: B, seed: seed, firstStep: firstStep, clip: clip)
        return traces(g, scalings: scalings)
    }

    /// The `batches` minibatch gradients themselves (Float32, as the trainer computes them), drawn as
    /// ``perBatchTraces(_:batches:batchSize:seed:firstStep:clip:scalings:)`` draws them. `dataset`: the
    /// checkpoint's data if already loaded (else it is loaded from its config).
    public static func gradients(_ ck: Checkpoint, batches: Int, batchSize B: Int, seed: UInt64, firstStep: Int = 0,
                                 clip: Double? = nil, dataset: TokenDataset? = nil) throws -> [[Float]] {
        guard batches >= 4, batches % 2 == 0 else {
            throw AnalysisError("--batches must be an even number ≥ 4 (independent pairs), got \(batches)")
        }
        guard B >= 1 else { throw AnalysisError("--batch-size must be at least 1, got \(B)") }
        try ck.config.model.checkMemory(batchSize: B)
        _ = try MemoryBudget.check("\(batches) minibatch gradients of \(ck.parameters.count) parameters (Float32)",
                               elements: [batches, ck.parameters.count], bytesPerElement: 4)
        let data = try dataset ?? TrainingRun.loadData(ck.config, tokenizerJSON: ck.tokenizerJSON).1
        let T = ck.config.model.contextLength
        let model = Transformer(config: ck.config.model, batchSize: B, seed: 0)
        ck.parameters.withUnsafeBufferPointer { model.parameters.baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
        return (0..<batches).map { k in
            let (x, y) = data.trainBatch(step: firstStep + k, seed: seed, batch: B, sequenceLength: T)
            model.forward(tokens: x, targets: y, batch: B)
            model.backward()
            if let clip { GradientClipping.clip(model.gradients, maxNorm: clip) }
            return Array(model.gradients)
        }
    }

    /// Tr Cov(S g) from stored draws (consecutive pairs), for every scaling of `scalings`.
    public static func traces(_ draws: [[Float]], scalings: [[Double]?]) -> [NoiseTrace] {
        var next = 0
        return NoiseTrace.estimate(pairs: draws.count / 2, scalings: scalings) {
            defer { next += 1 }
            return draws[next].map(Double.init)
        }
    }
}
