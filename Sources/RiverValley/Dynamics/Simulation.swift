import Foundation

/// The per-record quantities a simulation reports (CSV column names as raw values).
public enum SimulationMetric: String, CaseIterable, Sendable {
    case loss
    case riverLoss = "river_loss"
    case hillLoss = "hill_loss"
    case distanceToRiver = "distance_to_river"
    case riverCoordinate = "river_coord"
    case topEigenvalue = "top_eigenvalue"
}

/// The optimizers of `river simulate`: `gd` uses the exact gradient; `sgd`, `momentum` and `adam` add
/// Gaussian noise of std σᵢ to gradient coordinate i.
public enum SimulationOptimizer: String, CaseIterable, Sendable, Codable {
    case gd, sgd, momentum, adam

    /// The shared optimizer's hyperparameters for this name.
    public func hyperparameters(momentum: Double = 0.9, nesterov: Bool = false, weightDecay: Double = 0,
                                beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8) -> OptimizerHyperparameters {
        switch self {
        case .gd, .sgd: return OptimizerHyperparameters(algorithm: .sgd, weightDecay: weightDecay)
        case .momentum: return OptimizerHyperparameters(algorithm: .momentum, momentum: momentum, nesterov: nesterov,
                                                        weightDecay: weightDecay)
        case .adam: return OptimizerHyperparameters(algorithm: .adam, weightDecay: weightDecay, beta1: beta1,
                                                    beta2: beta2, epsilon: epsilon)
        }
    }

    public var isNoisy: Bool { self != .gd }
}

/// One simulation: an optimizer on a landscape under a schedule, for many seeds at once.
public struct SimulationConfig: Sendable {
    public var landscape: any Landscape
    public var optimizer: SimulationOptimizer
    public var hyperparameters: OptimizerHyperparameters
    /// Gradient-noise std: one value (isotropic) or one per coordinate. Ignored by `gd`.
    public var noise: [Double]
    public var schedule: Schedule
    public var seeds: Int
    /// Base seed: seed i's gradient noise is the `PhiloxGaussian` stream (seed, i), so results do not
    /// depend on the thread count or chunking.
    public var seed: UInt64
    /// Start point; default the river point at x = 0 (or the origin).
    public var start: [Double]?
    /// Record every k steps (and the last step).
    public var recordEvery: Int
    /// Also record the largest Hessian eigenvalue (dense, per seed: small d only).
    public var topEigenvalue: Bool
    /// Keep the iterates of the first `keepPaths` seeds at every record.
    public var keepPaths: Int
    /// A run has diverged when a coordinate leaves [−limit, limit] or the loss is not finite.
    public var divergenceLimit: Double
    /// Whether seeds may run eight at a time in SIMD lanes where the landscape and optimizer allow (same
    /// results bit for bit; off only in the tests that compare the two paths).
    var lanes = true

    public init(landscape: any Landscape, optimizer: SimulationOptimizer, hyperparameters: OptimizerHyperparameters? = nil,
                noise: [Double], schedule: Schedule, seeds: Int = 1, seed: UInt64 = 0, start: [Double]? = nil,
                recordEvery: Int = 1, topEigenvalue: Bool = false, keepPaths: Int = 0, divergenceLimit: Double = 1e8) {
        self.landscape = landscape
        self.optimizer = optimizer
        self.hyperparameters = hyperparameters ?? optimizer.hyperparameters()
        self.noise = noise
        self.schedule = schedule
        self.seeds = seeds
        self.seed = seed
        self.start = start
        self.recordEvery = recordEvery
        self.topEigenvalue = topEigenvalue
        self.keepPaths = keepPaths
        self.divergenceLimit = divergenceLimit
    }

    /// Per-coordinate noise std (d entries; zeros for gd).
    public var noiseStd: [Double] {
        let d = landscape.dimension
        if !optimizer.isNoisy { return [Double](repeating: 0, count: d) }
        return noise.count == 1 ? [Double](repeating: noise[0], count: d) : noise
    }

    public var startPoint: [Double] {
        start ?? landscape.analyticRiverPoint(x: 0) ?? [Double](repeating: 0, count: landscape.dimension)
    }

    public func validate() throws {
        let d = landscape.dimension
        func bad(_ m: String) -> SimulationError { SimulationError.invalid(m) }
        guard seeds >= 1 && seeds <= 1_000_000 else { throw bad("seeds \(seeds) is out of range; allowed: 1...1000000") }
        guard recordEvery >= 1 else { throw bad("record interval \(recordEvery) is out of range; allowed: >= 1") }
        guard noise.count == 1 || noise.count == d else {
            throw bad("noise has \(noise.count) values; give 1 (isotropic) or \(d) (one per coordinate)")
        }
        for s in noise where !(s.isFinite && s >= 0) { throw bad("noise std \(s) is not allowed; it must be finite and >= 0") }
        if let start {
            guard start.count == d else { throw bad("start point has \(start.count) coordinates; the landscape has \(d)") }
            guard start.allSatisfy({ $0.isFinite }) else { throw bad("start point \(start) must be finite") }
        }
        guard divergenceLimit > 0 else { throw bad("divergence limit must be > 0") }
        try hyperparameters.validate()
        // Per-step learning rates and their running sum, then per-chunk moments of every metric at every
        // record: check the sizes before `run` allocates them.
        try MemoryBudget.check("a simulation of \(schedule.steps) steps (learning rates and their running sum)",
                               elements: [schedule.steps], bytesPerElement: 16)
        let records = schedule.steps / recordEvery + 1
        try MemoryBudget.check("a simulation recording \(records) steps for \(min(seeds, 16)) seed chunks",
                               elements: [records, min(seeds, 16), SimulationMetric.allCases.count],
                               bytesPerElement: MemoryLayout<Moments>.stride)
        try MemoryBudget.check("the kept paths of a simulation (\(min(keepPaths, seeds)) seeds × \(records) records × \(d) coordinates)",
                               elements: [min(keepPaths, seeds), records, d], bytesPerElement: 8)
        if topEigenvalue {
            try MemoryBudget.check("the top eigenvalue of the dense \(d)×\(d) Hessian (with LAPACK workspace)",
                                   elements: [d, d], bytesPerElement: 8, copies: 4)
        }
    }
}

public enum SimulationError: Error, CustomStringConvertible, Equatable {
    case invalid(String)
    case diverged(Divergence)

    public var description: String {
        switch self {
        case let .invalid(m): return m
        case let .diverged(d): return d.description
        }
    }
}

/// Where and why a run blew up.
public struct Divergence: Sendable, Equatable, CustomStringConvertible {
    public var seed: Int
    /// The update (0-based) after which the iterate left the finite region.
    public var step: Int
    public var lr: Double
    /// Largest Hessian eigenvalue at the start point (nil when not computable).
    public var topCurvature: Double?
    public var optimizer: SimulationOptimizer
    public var momentum: Double

    /// GD's stability limit on η·λ_max: 2 for (S)GD, 2(1 + μ) for heavy-ball momentum; nil for Adam.
    public var stabilityLimit: Double? {
        switch optimizer {
        case .gd, .sgd: return 2
        case .momentum: return 2 * (1 + momentum)
        case .adam: return nil
        }
    }

    public var description: String {
        var s = "the \(optimizer.rawValue) run diverged at step \(step) (seed \(seed), lr \(lr))"
        if let c = topCurvature {
            s += "; lr × largest Hessian eigenvalue = \(lr) × \(c) = \(lr * c)"
            if let limit = stabilityLimit {
                if lr * c > limit {
                    s += ", above the stability limit \(limit); use a peak lr below \(limit / c)"
                } else {
                    s += " (within the stability limit \(limit))"
                }
            }
        }
        return s + "; the iterate left the finite region (|w| > limit or a non-finite loss, e.g. x ≤ −1 on a power river)"
    }
}

/// Means and standard deviations over seeds at each recorded step.
public struct SimulationResult: Sendable {
    /// Recorded steps t: the row describes the iterate after the update with lr(t).
    public var steps: [Int]
    public var lr: [Double]
    /// Σ_{s ≤ t} lr(s): river time after the update at step t.
    public var cumulativeLR: [Double]
    public var mean: [SimulationMetric: [Double]]
    /// Sample standard deviation over seeds (0 for one seed).
    public var std: [SimulationMetric: [Double]]
    /// Iterates of the kept seeds: paths[seed][record] (the start point is not included).
    public var paths: [[[Double]]]
    public var seeds: Int
    /// Set when some seed diverged; the tables then stop before that step.
    public var divergence: Divergence?
}

/// Running moments as shifted sums (no division per sample: the shift is the first sample, so the
/// sums stay well conditioned), merged across chunks with Chan et al.'s formula.
struct Moments {
    var n = 0.0, shift = 0.0, s1 = 0.0, s2 = 0.0
    @inline(__always) mutating func add(_ x: Double) {
        if n == 0 { shift = x }
        let d = x - shift
        s1 += d
        s2 += d * d
        n += 1
    }
    /// Eight `add`s, of x[0] … x[7] in that order, with the same bits: the count is an integer below 2⁵³,
    /// so eight increments are one exact `n += 8`; the shift is x[0] when the moments were empty, so the
    /// deviations are one vector subtraction; only the two sums keep their order, lane by lane. (One
    /// `add` at a time, every lane waited on the count's chain of increments and the test on it.)
    @inline(__always) mutating func add8(_ x: SIMD8<Double>) {
        if n == 0 { shift = x[0] }
        let d = x - SIMD8(repeating: shift), dd = d * d
        var a = s1, b = s2
        a += d[0]; a += d[1]; a += d[2]; a += d[3]; a += d[4]; a += d[5]; a += d[6]; a += d[7]
        b += dd[0]; b += dd[1]; b += dd[2]; b += dd[3]; b += dd[4]; b += dd[5]; b += dd[6]; b += dd[7]
        s1 = a
        s2 = b
        n += 8
    }
    var mean: Double { n > 0 ? shift + s1 / n : 0 }
    var m2: Double { n > 0 ? max(s2 - s1 * s1 / n, 0) : 0 }
    mutating func merge(_ o: Moments) {
        if o.n == 0 { return }
        if n == 0 { self = o; return }
        let total = n + o.n, d = o.mean - mean
        let newMean = mean + d * o.n / total
        let newM2 = m2 + o.m2 + d * d * n * o.n / total
        // Re-express as shifted sums around the new mean.
        n = total; shift = newMean; s1 = 0; s2 = newM2
    }
    var std: Double { n > 1 ? (m2 / (n - 1)).squareRoot() : 0 }
}

/// The chunks' moments, merged in chunk order while the simulation runs.
///
/// Merging record by record in chunk order 0, 1, … gives the same bits whenever it happens, so a chunk
/// is merged as soon as every earlier chunk has been (by whichever worker finishes the one that was
/// missing) and its buffer goes back to a pool that the next chunk writes into. Before, all sixteen
/// chunks' moments (2000 records × 5 metrics × 32 bytes each in the benchmark's simulation) stayed
/// alive until a serial merge at the end: 5 MB of fresh pages and 2.5 ms of merging after the run; the
/// merger took 4.7 ms off a 54 ms `river simulate` on the 2-core Zen 4 host (docs/machine-facts.md,
/// "The simulator: noise, moments, the table").
final class ChunkMerger: @unchecked Sendable {
    private let lock = NSLock()
    private var parked: [Int: [Moments]] = [:]
    private var pool: [[Moments]] = []
    private var next = 0
    private var merging = false
    /// Written only by the worker that holds `merging`; read after all chunks have finished.
    private(set) var total: [Moments]
    /// Each chunk's output without its moments (divergences, kept paths, error).
    private(set) var outputs: [SimulationChunk.Output]

    init(chunks: Int, count: Int) {
        total = Array(repeating: Moments(), count: count)
        outputs = Array(repeating: SimulationChunk.Output(), count: chunks)
    }

    /// A finished chunk's moments buffer to write into, or an empty one.
    func buffer() -> [Moments] {
        lock.lock()
        defer { lock.unlock() }
        return pool.popLast() ?? []
    }

    /// Hands over chunk c's output; merges every chunk that is now next in order.
    func finish(_ output: consuming SimulationChunk.Output, chunk c: Int) {
        let moments = output.moments
        output.moments = []
        lock.lock()
        outputs[c] = output
        // A failed chunk is never merged: the run throws its error, and later chunks wait in `parked`.
        // (`consume`: no second reference, so the buffer is unique when the pool hands it out again.)
        if output.error == nil { parked[c] = consume moments }
        if merging {
            lock.unlock()
            return
        }
        merging = true
        while let m = parked.removeValue(forKey: next) {
            lock.unlock()
            precondition(m.count == total.count, "chunk moments: \(m.count), not \(total.count)")
            total.withUnsafeMutableBufferPointer { t in
                m.withUnsafeBufferPointer { m in
                    for i in 0..<t.count { t[i].merge(m[i]) }
                }
            }
            lock.lock()
            pool.append(m)
            next += 1
        }
        merging = false
        lock.unlock()
    }
}

public enum Simulation {
    /// The steps recorded for a schedule of `steps` steps: every k-th and the last.
    public static func recordedSteps(steps: Int, every k: Int) -> [Int] {
        var s = Array(stride(from: 0, to: steps, by: k))
        if let last = s.last, last != steps - 1 { s.append(steps - 1) }
        return s
    }

    /// Runs all seeds (in parallel over a fixed number of chunks, so the result is the same on any
    /// number of cores). Divergence does not throw: it is in `result.divergence`, and the tables stop
    /// at the last record before it.
    public static func run(_ config: SimulationConfig) throws -> SimulationResult {
        try config.validate()
        let steps = config.schedule.steps
        let records = recordedSteps(steps: steps, every: config.recordEvery)
        let lrs = config.schedule.values
        var cumulative = [Double](repeating: 0, count: steps)
        var acc = 0.0
        for t in 0..<steps { acc += lrs[t]; cumulative[t] = acc }
        let metrics = SimulationMetric.allCases.filter { $0 != .topEigenvalue || config.topEigenvalue }
        // At most 16 chunks, fixed by the configuration (not the core count), so the merge order and the
        // bits are the same on any machine: from 128 seeds on, 16 equal chunks. Below that, one chunk per
        // seed, except where every seed runs in lanes: a chunk of fewer than 8 seeds still steps all eight
        // lanes, so there chunk c is the lane group of seeds 8c ..< 8c + 8 (37 seeds: 5 lane groups, not
        // 16 chunks of 2–3 seeds each stepping eight lanes). The rule does not look at `config.lanes`, so
        // the tests' scalar runs chunk alike.
        let fitsLanes = SimulationChunk.fitsLanes(config)
        let laneGroups = config.seeds < 128 && config.keepPaths == 0 && fitsLanes
        let chunks = laneGroups ? (config.seeds + 7) / 8 : min(config.seeds, 16)
        @Sendable func seeds(ofChunk c: Int) -> Range<Int> {
            laneGroups ? 8 * c..<min(8 * c + 8, config.seeds) : c * config.seeds / chunks..<(c + 1) * config.seeds / chunks
        }
        let sigma = config.noiseStd
        let start = config.startPoint
        let tracer = config.landscape.analyticSplit(at: start) == nil ? RiverTracer(config.landscape) : nil

        let topCurvature = try? config.landscape.hessianEigenvalues(at: start).last
        let chunk = SimulationChunk(config: config, records: records, lrs: lrs, metrics: metrics, sigma: sigma,
                                    start: start, tracer: tracer, topCurvature: topCurvature,
                                    inLanes: config.lanes && fitsLanes)
        let merger = ChunkMerger(chunks: chunks, count: records.count * metrics.count)
        DispatchQueue.concurrentPerform(iterations: chunks) { c in
            merger.finish(chunk.run(seeds: seeds(ofChunk: c), buffer: merger.buffer()), chunk: c)
        }
        let outputs = merger.outputs
        if let e = outputs.lazy.compactMap({ $0.error }).first { throw e }

        let divergence = outputs.flatMap { $0.divergences }.min { ($0.step, $0.seed) < ($1.step, $1.seed) }
        let usable = divergence.map { div in records.filter { $0 < div.step }.count } ?? records.count
        var mean: [SimulationMetric: [Double]] = [:], std: [SimulationMetric: [Double]] = [:]
        let merged = merger.total
        for (m, metric) in metrics.enumerated() {
            mean[metric] = (0..<usable).map { merged[$0 * metrics.count + m].mean }
            std[metric] = (0..<usable).map { merged[$0 * metrics.count + m].std }
        }
        let kept = (0..<min(config.keepPaths, config.seeds)).map { s in
            Array((outputs.lazy.compactMap { $0.paths[s] }.first ?? []).prefix(usable))
        }
        let rs = Array(records.prefix(usable))
        return SimulationResult(steps: rs, lr: rs.map { lrs[$0] }, cumulativeLR: rs.map { cumulative[$0] },
                                mean: mean, std: std, paths: kept, seeds: config.seeds, divergence: divergence)
    }
}
