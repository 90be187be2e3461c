import LinearAlgebra

/// The work of one chunk of `Simulation.run`: its seeds one after another, each for all steps.
///
/// Seed s's gradient noise at step t, coordinate i, is σᵢ·z_{t·d+i}, where z is the `PhiloxGaussian`
/// stream (config.seed, s): drawn in blocks of `noiseBlockSteps` steps, never one call per coordinate, and
/// the same whatever the chunking or thread count (the stream depends on (seed, s) only).
struct SimulationChunk {
    let config: SimulationConfig
    let records: [Int]
    let lrs: [Double]
    let metrics: [SimulationMetric]
    let sigma: [Double]
    let start: [Double]
    let tracer: RiverTracer?
    let topCurvature: Double?
    /// Whether the seeds step eight at a time in lanes: `config.lanes` (off only in tests) and ``fitsLanes(_:)``,
    /// decided once per simulation.
    let inLanes: Bool

    /// Steps of noise drawn per `fill` (≈ 32 KB of normals, so the block stays in L1/L2).
    static func noiseBlockSteps(dimension d: Int, steps: Int) -> Int { max(1, min(steps, 4096 / max(d, 1))) }

    struct Output {
        /// moments[r · metrics.count + m]: metric m at record r, over this chunk's seeds.
        var moments: [Moments] = []
        var paths: [Int: [[Double]]] = [:]
        var divergences: [Divergence] = []
        var error: Error?
    }

    /// Runs `seeds`, specialised for the built-in landscapes (the generic body then inlines their
    /// gradient and split); any other landscape runs through the protocol. The moments are written into
    /// `buffer`'s storage (a finished chunk's, already mapped) when it has the capacity.
    func run(seeds: Range<Int>, buffer: consuming [Moments] = []) -> Output {
        switch config.landscape {
        case let l as StraightValley: return runInLanes(l, seeds: seeds, buffer: consume buffer)
        case let l as CurvedValley: return run(l, seeds: seeds, buffer: consume buffer)
        case let l as QuadraticLandscape: return runInLanes(l, seeds: seeds, buffer: consume buffer)
        default: return run(config.landscape, seeds: seeds, buffer: consume buffer)
        }
    }

    /// Whether this configuration's seeds can step eight at a time in SIMD lanes: a `LaneLandscape` whose
    /// lane split applies, and an optimizer and metrics that `SimulationLanes` supports.
    static func fitsLanes(_ config: SimulationConfig) -> Bool {
        guard let landscape = config.landscape as? any LaneLandscape else { return false }
        return fits(landscape, config)
    }

    private static func fits<L: LaneLandscape>(_ landscape: L, _ config: SimulationConfig) -> Bool {
        landscape.hasLaneSplit && SimulationLanes<L>.supports(config)
    }

    /// Runs `seeds` eight at a time in SIMD lanes (`SimulationLanes`, bit for bit the scalar path) where
    /// the landscape and optimizer allow; the seeds whose paths are kept run on the scalar path first.
    func runInLanes<L: LaneLandscape>(_ landscape: L, seeds: Range<Int>, buffer: consuming [Moments]) -> Output {
        guard inLanes else {
            return run(landscape, seeds: seeds, buffer: consume buffer)
        }
        let scalarEnd = min(max(seeds.lowerBound, config.keepPaths), seeds.upperBound)
        var out = run(landscape, seeds: seeds.lowerBound..<scalarEnd, buffer: consume buffer)
        if out.error != nil { return out }
        let lanes = SimulationLanes(landscape: landscape, chunk: self)
        var moments = out.moments, divergences = out.divergences
        out.moments = []
        var s = scalarEnd
        while s < seeds.upperBound {
            let n = min(8, seeds.upperBound - s)
            lanes.run(first: s, count: n, moments: &moments, divergences: &divergences)
            s += n
        }
        out.moments = moments
        out.divergences = divergences
        return out
    }

    func run<L: Landscape>(_ landscape: L, seeds: Range<Int>, buffer: consuming [Moments] = []) -> Output {
        let d = landscape.dimension
        let steps = lrs.count
        let recordCount = records.count, metricCount = metrics.count
        let noisy = config.optimizer.isNoisy
        let blockSteps = Self.noiseBlockSteps(dimension: d, steps: steps)
        let limit = config.divergenceLimit
        var out = Output()
        // Local state (not the output's properties) in the hot loop: no exclusivity checks.
        var moments = consume buffer
        moments.removeAll(keepingCapacity: true)
        moments.append(contentsOf: repeatElement(Moments(), count: metricCount * recordCount))
        var divergences: [Divergence] = []
        var paths: [Int: [[Double]]] = [:]
        var w = start, g = [Double](repeating: 0, count: d)
        var noise = [Double](repeating: 0, count: noisy ? blockSteps * d : 0)
        seedLoop: for s in seeds {
            var normals = PhiloxGaussian(seed: config.seed, stream: UInt64(s))
            var opt = Optimizer<Double>(config.hyperparameters, count: d)
            for i in 0..<d { w[i] = start[i] }
            var next = 0
            var guess: [Double]? = nil
            var path: [[Double]] = []
            let keep = s < config.keepPaths
            stepping: for t in 0..<steps {
                landscape.gradient(at: w, into: &g)
                if noisy {
                    let k = t % blockSteps
                    if k == 0 {
                        let count = min(blockSteps, steps - t) * d
                        noise.withUnsafeMutableBufferPointer { normals.fill(UnsafeMutableBufferPointer(rebasing: $0[0..<count])) }
                    }
                    noise.withUnsafeBufferPointer { z in
                        sigma.withUnsafeBufferPointer { sd in
                            g.withUnsafeMutableBufferPointer { gp in
                                let zk = z.baseAddress! + k * d
                                for i in 0..<d { gp[i] += sd[i] * zk[i] }
                            }
                        }
                    }
                }
                w.withUnsafeMutableBufferPointer { pw in
                    g.withUnsafeBufferPointer { pg in opt.update(pw, gradient: pg, lr: lrs[t]) }
                }
                var ok = true
                for i in 0..<d where !(abs(w[i]) <= limit) { ok = false }
                if ok && next < recordCount && records[next] == t {
                    var split = landscape.analyticSplit(at: w)
                    let loss = split?.loss ?? landscape.value(at: w)
                    if split == nil, let tracer, loss.isFinite {
                        do {
                            split = try tracer.split(at: w, guess: guess)
                            guess = try tracer.project(w, guess: guess)
                        } catch { out.error = error; break seedLoop }
                    }
                    if loss.isFinite, let sp = split, sp.riverLoss.isFinite {
                        let row = next * metricCount
                        for (m, metric) in metrics.enumerated() {
                            let v: Double
                            switch metric {
                            case .loss: v = loss
                            case .riverLoss: v = sp.riverLoss
                            case .hillLoss: v = sp.hillLoss
                            case .distanceToRiver: v = sp.distance
                            case .riverCoordinate: v = sp.riverCoordinate
                            case .topEigenvalue: v = (try? landscape.hessianEigenvalues(at: w).last) ?? .nan
                            }
                            moments[row + m].add(v)
                        }
                        if keep { path.append(w) }
                        next += 1
                    } else {
                        ok = false
                    }
                }
                if !ok {
                    divergences.append(Divergence(seed: s, step: t, lr: lrs[t], topCurvature: topCurvature,
                                                  optimizer: config.optimizer, momentum: config.hyperparameters.momentum))
                    break stepping
                }
            }
            if keep { paths[s] = path }
        }
        out.moments = moments
        out.divergences = divergences
        out.paths = paths
        return out
    }
}
