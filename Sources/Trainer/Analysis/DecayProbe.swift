import Foundation
import RiverValley

/// The output of `river analyze decay-probe` (docs/analyze.md; the formula is derived in
/// paper-notes/analysis.md). Losses are `river eval`'s on the probe's text; NaN (printed `null`) where a
/// quantity does not exist.
public struct DecayProbeReport: Encodable, Sendable {
    /// The parent run, the fork step F and the branch run directory.
    public var run: String
    public var step: Int
    public var branch: String
    /// Branch budget B = F + D, decay steps D, shape and floor ratio.
    public var budget: Int
    public var decaySteps: Int
    public var shape: String
    public var minRatio: Double
    public var optimizer: String
    /// η before the decay (the parent's lr(F)) and after it (the branch's lr(B − 1), its last update).
    public var lrBefore: Double
    public var lrAfter: Double
    /// Loss of the fork checkpoint, of the branch's last checkpoint, and their difference.
    public var lossBefore: Double
    public var lossAfter: Double
    public var measuredDrop: Double
    /// Loss of the parent's own checkpoint at B (the constant-LR continuation), if the parent has it, and
    /// loss_constant − loss_after: the drop net of the river progress the constant LR would have made.
    public var lossConstant: Double
    public var dropVsConstant: Double
    /// Tr Σ_B of the training minibatch gradient at F (B = the run's batch size), raw and preconditioned
    /// Tr(P^(−1/2) Σ_B P^(−1/2)) with the fork's Adam state (NaN without it).
    public var batchSize: Int
    public var batches: Int
    public var noiseTrace: NoiseTrace
    public var noiseTracePreconditioned: NoiseTrace?
    /// The same with P̄ = diag(√v̄ + ε), v̄ = the mean of g² over the draws (the expectation Adam's v
    /// tracks), instead of the checkpoint's instantaneous v̂ (nil for other optimizers).
    public var noiseTraceMeanV: NoiseTrace?
    /// The hill-term prediction for the run's optimizer, its standard error (from the noise estimate), the
    /// plain-SGD formula (η_before − η_after)·Tr Σ_B/4 for comparison, the prediction with P̄, and
    /// measured / predicted.
    public var predictedDrop: Double
    public var predictedDropStderr: Double
    public var predictedDropSgd: Double
    public var predictedDropMeanV: Double
    public var ratio: Double
    /// The formula used, in words.
    public var formula: String
    /// Predicted tokens of the text.
    public var tokens: Int

    enum CodingKeys: String, CodingKey {
        case run, step, branch, budget, decaySteps = "decay_steps", shape, minRatio = "min_ratio", optimizer
        case lrBefore = "lr_before", lrAfter = "lr_after", lossBefore = "loss_before", lossAfter = "loss_after"
        case measuredDrop = "measured_drop", lossConstant = "loss_constant", dropVsConstant = "drop_vs_constant"
        case batchSize = "batch_size", batches, noiseTrace = "noise_trace"
        case noiseTracePreconditioned = "noise_trace_preconditioned", noiseTraceMeanV = "noise_trace_mean_v"
        case predictedDrop = "predicted_drop", predictedDropMeanV = "predicted_drop_mean_v"
        case predictedDropStderr = "predicted_drop_stderr", predictedDropSgd = "predicted_drop_sgd", ratio, formula, tokens
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(run, forKey: .run); try c.encode(step, forKey: .step); try c.encode(branch, forKey: .branch)
        try c.encode(budget, forKey: .budget); try c.encode(decaySteps, forKey: .decaySteps)
        try c.encode(shape, forKey: .shape); try c.encode(minRatio, forKey: .minRatio)
        try c.encode(optimizer, forKey: .optimizer)
        try c.encode(lrBefore, forKey: .lrBefore); try c.encode(lrAfter, forKey: .lrAfter)
        try c.encode(lossBefore, forKey: .lossBefore); try c.encode(lossAfter, forKey: .lossAfter)
        try c.encode(measuredDrop, forKey: .measuredDrop)
        try c.encode(lossConstant, forKey: .lossConstant); try c.encode(dropVsConstant, forKey: .dropVsConstant)
        try c.encode(batchSize, forKey: .batchSize); try c.encode(batches, forKey: .batches)
        func put(_ t: NoiseTrace?, _ key: CodingKeys) throws {
            guard let t else { try c.encodeNil(forKey: key); return }
            try c.encode(["estimate": t.estimate, "stderr": t.standardError], forKey: key)
        }
        try put(noiseTrace, .noiseTrace)
        try put(noiseTracePreconditioned, .noiseTracePreconditioned)
        try put(noiseTraceMeanV, .noiseTraceMeanV)
        try c.encode(predictedDrop, forKey: .predictedDrop)
        try c.encode(predictedDropStderr, forKey: .predictedDropStderr)
        try c.encode(predictedDropSgd, forKey: .predictedDropSgd)
        try c.encode(predictedDropMeanV, forKey: .predictedDropMeanV)
        try c.encode(ratio, forKey: .ratio); try c.encode(formula, forKey: .formula); try c.encode(tokens, forKey: .tokens)
    }
}

/// How much of a constant-LR run's loss is hill, and what a decay now buys (paper-notes/paper.md §2.5.1):
/// a short decay branch from the run's checkpoint at F — the same ``BranchRequest`` as `river branch` —
/// measured before and after, against the hill-term prediction from the gradient noise at F.
///
/// The prediction (derivation: paper-notes/analysis.md). Treat the optimizer as preconditioned SGD
/// w ← w − η P⁻¹ g on a quadratic hill with minibatch-gradient covariance Σ_B. In u = P^(1/2) w it is SGD
/// with Hessian P^(−1/2) H P^(−1/2) and noise P^(−1/2) Σ_B P^(−1/2), whose stationary excess loss is, to
/// first order in η, η·Tr(P^(−1/2) Σ_B P^(−1/2))/4 (paper.md §2.3). A decay that lets the hill relax
/// from η_before to η_after therefore lowers the loss by
///
///     Δ = (η_before − η_after) · Tr(P^(−1/2) Σ_B P^(−1/2)) / 4 · c
///
/// with P = diag(√v̂ + ε) from the fork's Adam state for Adam/AdamW (c = 1: the EMA momentum does not
/// change the first-order stationary loss), P = I for SGD (c = 1) and heavy-ball momentum μ with
/// dampening δ (c = (1 − δ)/(1 − μ), its effective step). Σ_B is measured on the minibatch gradients as
/// the optimizer uses them (clipped to the run's gradClip). Not modelled: weight decay,
/// the change of P during the decay, incomplete relaxation of a short decay, and the river progress the
/// decay steps still make (which `measured_drop` includes and `drop_vs_constant` removes, less the lower
/// Σ η of the decay).
///
/// The checkpoint's v̂ is one instant of an exponential average: for a parameter whose gradient is rare
/// (the embedding row of a rare byte) it has decayed towards 0 since the last occurrence, and 1/√v̂ makes
/// the preconditioned noise heavy-tailed, while Adam itself folds the new g² into v before it steps. The
/// report therefore also gives `predicted_drop_mean_v`, the same formula with P̄ = diag(√v̄ + ε), v̄ the
/// mean of g² over the probe's draws (the expectation Adam's v tracks).
public enum DecayProbe {
    /// The prediction factor c·(η_before − η_after)/4 multiplying the noise trace, and the formula in words.
    public static func predictionFactor(_ o: OptimizerHyperparameters, lrBefore: Double, lrAfter: Double) -> (Double, String) {
        let dEta = lrBefore - lrAfter
        switch o.algorithm {
        case .adam, .adamw:
            return (dEta / 4, "(lr_before - lr_after) * Tr(P^-1/2 Sigma_B P^-1/2) / 4, P = diag(sqrt(v_hat) + eps) at the fork")
        case .sgd:
            return (dEta / 4, "(lr_before - lr_after) * Tr(Sigma_B) / 4")
        case .momentum:
            return (dEta / 4 * (1 - o.dampening) / (1 - o.momentum),
                    "(lr_before - lr_after) * Tr(Sigma_B) / 4 * (1 - dampening) / (1 - momentum)")
        }
    }

    /// Checks the text before anything is trained: at least one prediction, ids in the vocabulary.
    public static func checkTokens(_ tokens: [Int32], for ck: Checkpoint) throws {
        try Evaluation.requirePrediction(tokens)
        let V = ck.config.model.vocabSize
        if let k = tokens.firstIndex(where: { $0 < 0 || Int($0) >= V }) {
            throw AnalysisError("token id \(tokens[k]) at index \(k) is outside the model's vocabulary 0..<\(V)")
        }
    }

    /// Trains the branch at `branchDirectory` (created, resumed, or reused when finished:
    /// ``BranchRequest/train(at:checkpointEvery:progress:)``), measures the drop on `tokens` (`river eval`'s
    /// loss, forward batch `evalBatch` as river eval's default) and predicts it from `batches` minibatch
    /// gradients at the fork, clipped as training clips them: the batches training would draw at steps
    /// F, F + 1, … (data the fork has not seen). `checkpointEvery` keeps checkpoints along the decay;
    /// `dataset` is the run's data if already loaded.
    public static func run(_ request: BranchRequest, branchDirectory: URL, tokens: [Int32], batches: Int = 32,
                           checkpointEvery: Int? = nil, evalBatch: Int = 8, dataset: TokenDataset? = nil,
                           progress: TrainingProgress? = nil) throws -> DecayProbeReport {
        guard batches >= 4, batches % 2 == 0 else {
            throw AnalysisError("--batches must be an even number ≥ 4 (independent pairs), got \(batches)")
        }
        let fork = try Checkpoint.read(from: try request.parentCheckpoint())
        try checkTokens(tokens, for: fork)
        try request.checkTarget(branchDirectory, checkpointEvery: checkpointEvery)
        // The noise first: whatever can fail on the inputs fails before the branch folder is written.
        let o = fork.config.optimizer
        let adam = (o.algorithm == .adam || o.algorithm == .adamw) && fork.optimizerSteps >= 1
        let draws = try GradientNoise.gradients(fork, batches: batches, batchSize: fork.config.batchSize,
                                                seed: fork.config.dataSeed, firstStep: fork.step,
                                                clip: fork.config.gradClip, dataset: dataset)
        var scalings: [[Double]?] = [nil]
        if adam {
            scalings.append(try AdamPreconditioner.inverseSqrtDiagonal(fork))
            var meanSquare = [Double](repeating: 0, count: fork.parameters.count)
            for g in draws { for i in meanSquare.indices { meanSquare[i] += Double(g[i]) * Double(g[i]) } }
            scalings.append(meanSquare.map { 1 / (($0 / Double(draws.count)).squareRoot() + o.epsilon).squareRoot() })
        }
        let traces = GradientNoise.traces(draws, scalings: scalings)

        let cfg = try request.train(at: branchDirectory, checkpointEvery: checkpointEvery, progress: progress)
        let B = cfg.steps
        let end = try Checkpoint.read(from: branchDirectory.appendingPathComponent("checkpoints")
            .appendingPathComponent(Checkpoint.fileName(step: B)))
        let before = try Evaluation.run(fork, tokens: tokens, tokenizer: nil, batch: evalBatch).loss
        let after = try Evaluation.run(end, tokens: tokens, tokenizer: nil, batch: evalBatch).loss
        let constantURL = request.parent.appendingPathComponent("checkpoints").appendingPathComponent(Checkpoint.fileName(step: B))
        let constant = FileManager.default.fileExists(atPath: constantURL.path)
            ? try Evaluation.run(try Checkpoint.read(from: constantURL), tokens: tokens, tokenizer: nil, batch: evalBatch).loss
            : .nan

        let lrBefore = try fork.config.schedule.build().lr(at: fork.step)
        let lrAfter = try cfg.schedule.build().lr(at: B - 1)
        let (factor, formula) = predictionFactor(o, lrBefore: lrBefore, lrAfter: lrAfter)
        let used = adam ? traces[1] : traces[0]
        let predicted = factor * used.estimate
        let measured = before - after
        return DecayProbeReport(
            run: request.parent.path, step: request.step, branch: branchDirectory.path, budget: B,
            decaySteps: B - request.step, shape: request.shape.rawValue, minRatio: request.minRatio,
            optimizer: o.algorithm.rawValue, lrBefore: lrBefore, lrAfter: lrAfter,
            lossBefore: before, lossAfter: after, measuredDrop: measured,
            lossConstant: constant, dropVsConstant: constant - after,
            batchSize: fork.config.batchSize, batches: batches, noiseTrace: traces[0],
            noiseTracePreconditioned: adam ? traces[1] : nil, noiseTraceMeanV: adam ? traces[2] : nil,
            predictedDrop: predicted, predictedDropStderr: abs(factor) * used.standardError,
            predictedDropSgd: (lrBefore - lrAfter) / 4 * traces[0].estimate,
            predictedDropMeanV: adam ? factor * traces[2].estimate : .nan,
            ratio: measured / predicted, formula: formula, tokens: tokens.count - 1)
    }
}
