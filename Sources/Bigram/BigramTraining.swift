import Foundation
import LinearAlgebra
import RiverValley

/// One logged point of a bigram training run (metrics are exact population quantities).
public struct BigramTrainingRecord: Sendable {
    public var step: Int
    public var lr: Double
    /// Σ_{s<step} η_s ("river time").
    public var riverTime: Double
    public var metrics: BigramMetrics
    /// Largest Hessian eigenvalue (nan when not computed at this step).
    public var topEigenvalue: Double
}

/// Minibatch training of a bigram model with the core's optimizer family and schedules.
///
/// State is (θ, optimizer state, sampler state, step), so a decay branch is `fork()` at the fork step
/// followed by `run` under the branch schedule: it sees exactly the data the main run would see.
public final class BigramTrainer<M: BigramModel>: @unchecked Sendable {
    public let objective: BigramObjective<M>
    public var theta: [Double]
    public var optimizer: Optimizer<Double>
    public let sampler: BigramSampler
    public let batchSize: Int
    public private(set) var step: Int
    public private(set) var riverTime: Double

    public init(objective: BigramObjective<M>, initial theta: [Double], optimizer: OptimizerHyperparameters,
                batchSize: Int, seed: UInt64) throws {
        try require(theta.count == objective.dimension,
                    "initial θ has \(theta.count) entries, the model has \(objective.dimension)")
        try require(batchSize >= 1, "batch size \(batchSize) is not allowed; need ≥ 1")
        // A minibatch holds B sampled (context, next-token) pairs: 16 bytes each.
        try MemoryBudget.check("a minibatch of B = \(batchSize) samples", elements: [batchSize], bytesPerElement: 16)
        do { try optimizer.validate() } catch { throw BigramError.invalid("\(error)") }
        self.objective = objective
        self.theta = theta
        self.optimizer = Optimizer<Double>(optimizer, count: theta.count)
        self.sampler = BigramSampler(objective.data, seed: seed)
        self.batchSize = batchSize
        step = 0
        riverTime = 0
    }

    private init(copying o: BigramTrainer) {
        objective = o.objective
        theta = o.theta
        optimizer = o.optimizer
        sampler = o.sampler.copy()
        batchSize = o.batchSize
        step = o.step
        riverTime = o.riverTime
    }

    /// An independent copy of the whole state (for decay branches).
    public func fork() -> BigramTrainer { BigramTrainer(copying: self) }

    /// Trains from the current step up to (not including) `end` with the schedule's LR at each step.
    /// Logs before the update at every multiple of `logEvery` and at `end` (after the last update);
    /// the top eigenvalue every `eigenEvery` logged steps' multiples (0 = never). Stops with an error
    /// if the loss becomes non-finite (divergence, e.g. η·λ > 2).
    @discardableResult
    public func run(schedule: Schedule, until end: Int, logEvery: Int, eigenEvery: Int = 0,
                    log: (BigramTrainingRecord) -> Void = { _ in }) throws -> BigramTrainingRecord {
        func record(_ e: BigramEvaluation) throws -> BigramTrainingRecord {
            let m = objective.metrics(e)
            guard m.loss.isFinite else {
                throw BigramError.invalid("training diverged at step \(step) (loss \(m.loss)); lower the learning rate")
            }
            var top = Double.nan
            if eigenEvery > 0 && step % eigenEvery == 0 {
                top = try objective.topEigenvalue(e, at: theta)
            }
            let lr = step < schedule.steps ? schedule.lr(at: step) : schedule.lr(at: schedule.steps - 1)
            return BigramTrainingRecord(step: step, lr: lr, riverTime: riverTime, metrics: m, topEigenvalue: top)
        }
        precondition(end <= schedule.steps, "run until \(end) beyond the schedule's \(schedule.steps) steps")
        while step < end {
            let e = objective.evaluate(theta)
            if logEvery > 0 && step % logEvery == 0 { log(try record(e)) }
            let g = objective.model.pullback(theta, objective.minibatchLogitGradient(e, batch: sampler.batch(batchSize)))
            let lr = schedule.lr(at: step)
            theta.withUnsafeMutableBufferPointer { p in
                g.withUnsafeBufferPointer { optimizer.update(p, gradient: $0, lr: lr) }
            }
            riverTime += lr
            step += 1
        }
        let last = try record(objective.evaluate(theta))
        if logEvery > 0 { log(last) }
        return last
    }
}

extension BigramMetrics {
    /// CSV header matching `csvFields`.
    public static let csvHeader = "loss,excess,deterministic_loss,uncertain_loss,deterministic_excess,uncertain_excess,deterministic_contribution,uncertain_contribution,river_loss,hill_loss,distance_to_river"
    public var csvFields: [Double] {
        [loss, excess, deterministicLoss, uncertainLoss, deterministicExcess, uncertainExcess,
         deterministicContribution, uncertainContribution, riverLoss, hillLoss, distanceToRiver]
    }
}

extension BigramObjective {
    /// The SGD stationary-excess predictions for the uncertain contexts of the table model at its optimum
    /// (where the one-sample gradient covariance equals the Hessian block πᵢ(diag Pᵢ − PᵢPᵢᵀ)):
    /// exact per direction ηλ/(2B(2 − ηλ)) summed over the blocks' eigenvalues, and its small-η form
    /// η·TrΣ/(4B) with TrΣ = Σ_{i uncertain} πᵢ(1 − |Pᵢ|²). Returned as contributions to the total loss.
    public func uncertainExcessPrediction(lr eta: Double, batchSize b: Int) throws -> (exact: Double, linear: Double) {
        let v = self.v
        var exact = 0.0, trace = 0.0
        for i in 0..<v where data.tokenClass(ofRow: i) == .uncertain {
            let w = data.frequencies[i]
            let p = data.transitions.row(i)
            var a = Matrix(rows: v, cols: v)
            for j in 0..<v { for k in 0..<v { a[j, k] = -w * p[j] * p[k] }; a[j, j] += w * p[j] }
            for lam in try symmetricEigen(a, vectors: false).values where lam > 1e-15 {
                exact += eta * lam / (2 * Double(b) * (2 - eta * lam))
            }
            trace += w * (1 - p.reduce(0) { $0 + $1 * $1 })
        }
        return (exact, eta * trace / (4 * Double(b)))
    }
}
