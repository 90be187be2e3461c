import LinearAlgebra

/// Eight seeds of a simulation at once, one per SIMD lane: the fast path of `SimulationChunk` for the
/// landscapes whose gradient and river split have a lane form (`LaneLandscape`), with sgd, momentum or
/// Adam, and no per-seed extras (kept paths, top eigenvalue, traced river).
///
/// Every lane is bit for bit the scalar path's seed: the same operations in the same order on each lane
/// (Swift never fuses a multiply and an add on its own, and `squareRoot` is correctly rounded either way),
/// the noise from `PhiloxGaussian.fillAcrossStreams` (lane l = stream firstSeed + l), and the moments fed
/// seed by seed in ascending order, as the scalar path feeds them. Tests/RiverValleyTests/
/// SimulationLanesTests.swift holds the two paths to identical results.
///
/// Why: at small d the scalar path spends most of a step on per-seed overhead (a d-long loop per
/// operation); across seeds every operation is one SIMD8 instruction stream, whatever d is.
struct SimulationLanes<L: LaneLandscape> {
    typealias Lane = SIMD8<Double>
    let landscape: L
    let chunk: SimulationChunk

    /// Whether this configuration can run in lanes (otherwise the scalar path runs it).
    static func supports(_ config: SimulationConfig) -> Bool {
        guard !config.topEigenvalue else { return false }
        switch config.hyperparameters.algorithm {
        case .sgd, .momentum, .adam: return true
        case .adamw: return false
        }
    }

    /// Runs seeds `first ..< first + count` (count ≤ 8; missing lanes are padding, never recorded) and
    /// adds their records to `moments` (record r, metric m at r · metricCount + m).
    func run(first: Int, count: Int, moments: inout [Moments], divergences: inout [Divergence]) {
        let config = chunk.config
        let d = landscape.dimension
        let lrs = chunk.lrs, records = chunk.records, metrics = chunk.metrics
        let steps = lrs.count, recordCount = records.count, metricCount = metrics.count
        let h = config.hyperparameters
        let noisy = config.optimizer.isNoisy
        let limit = Lane(repeating: config.divergenceLimit)
        // Noise rows: draws t·d … of every lane, refilled in whole Philox batches of 16 draws, `blockSteps`
        // steps at a time (blockSteps·d a multiple of 16, ≈ 2048 draws ≈ 128 KB of lanes).
        let period = 16 / gcd(d, 16)
        let blockSteps = period * max(1, 2048 / (period * d))
        let blockDraws = blockSteps * d

        // Raw buffers, not arrays: the step loop runs with no reference counting or uniqueness checks.
        func buffer(_ n: Int) -> UnsafeMutablePointer<Lane> {
            let p = UnsafeMutablePointer<Lane>.allocate(capacity: max(n, 1))
            p.initialize(repeating: .zero, count: max(n, 1))
            return p
        }
        let w = buffer(d), g = buffer(d), b = buffer(d), v = buffer(d), sigma = buffer(d)
        let noise = buffer(noisy ? blockDraws : 0), values = buffer(5)
        defer { for p in [w, g, b, v, sigma, noise, values] { p.deallocate() } }
        for i in 0..<d {
            w[i] = Lane(repeating: chunk.start[i])
            sigma[i] = Lane(repeating: chunk.sigma[i])
        }
        // Where each recorded metric's lane values are in `values`: loss, river, hill, distance, coordinate.
        let slot = metrics.map { metric -> Int in
            switch metric {
            case .loss: return 0
            case .riverLoss: return 1
            case .hillLoss: return 2
            case .distanceToRiver: return 3
            case .riverCoordinate: return 4
            case .topEigenvalue: preconditionFailure("the top eigenvalue does not run in lanes")
            }
        }
        var active: UInt8 = count >= 8 ? 0xFF : UInt8((1 << count) - 1)
        var next = 0
        var stepCount = 0

        moments.withUnsafeMutableBufferPointer { mom in
        slot.withUnsafeBufferPointer { slot in
        lrs.withUnsafeBufferPointer { lrs in
        records.withUnsafeBufferPointer { records in
            for t in 0..<steps where active != 0 {
                landscape.laneGradient(UnsafePointer(w), into: g)
                if noisy {
                    let k = t % blockSteps
                    if k == 0 {
                        let draws = min(blockSteps, steps - t) * d
                        PhiloxGaussian.fillAcrossStreams(seed: config.seed, firstStream: UInt64(first),
                                                         fromBatch: UInt64(t * d / 16), batches: (draws + 15) / 16,
                                                         into: noise)
                    }
                    let z = noise + k * d
                    for i in 0..<d { g[i] += sigma[i] * z[i] }
                }
                stepCount += 1
                let lr = lrs[t]
                // The optimizers' own step formulas, on eight seeds at once (`OptimizerLane`).
                switch h.algorithm {
                case .sgd:
                    for i in 0..<d { w[i] = OptimizerKernels.sgdStep(w[i], g[i], lr: lr, wd: h.weightDecay) }
                case .momentum:
                    for i in 0..<d {
                        (w[i], b[i]) = OptimizerKernels.momentumStep(w[i], g[i], b[i], lr: lr, wd: h.weightDecay,
                                                                    mu: h.momentum, keep: 1 - h.dampening,
                                                                    nesterov: h.nesterov, first: stepCount == 1)
                    }
                case .adam:
                    let (stepSize, invBC2Sqrt) = h.adamScales(step: stepCount, lr: lr)
                    for i in 0..<d {
                        (w[i], b[i], v[i]) = OptimizerKernels.adamStep(
                            w[i], g[i], b[i], v[i], beta1: h.beta1, beta2: h.beta2, epsilon: h.epsilon,
                            stepSize: stepSize, invBC2Sqrt: invBC2Sqrt, l2: h.weightDecay, decoupledScale: 1)
                    }
                case .adamw:
                    preconditionFailure("adamw does not run in lanes (SimulationLanes.supports)")
                }
                var ok = SIMDMask<SIMD8<Int64>>(repeating: true)
                for i in 0..<d { ok .&= (w[i] .>= -limit) .& (w[i] .<= limit) }  // |w| ≤ limit, false for NaN
                let recording = next < recordCount && records[next] == t
                if recording {
                    let sp = landscape.laneSplit(UnsafePointer(w))
                    let loss = sp.river + sp.hill
                    ok .&= ((loss - loss) .== 0) .& ((sp.river - sp.river) .== 0)  // finite: x − x = 0
                    values[0] = loss
                    values[1] = sp.river
                    values[2] = sp.hill
                    values[3] = sp.distance
                    values[4] = sp.coordinate
                }
                var okBits: UInt8 = 0
                for l in 0..<8 where ok[l] { okBits |= 1 << l }
                if active & ~okBits != 0 {
                    for l in 0..<8 where active & (1 << l) != 0 && okBits & (1 << l) == 0 {
                        divergences.append(Divergence(seed: first + l, step: t, lr: lr, topCurvature: chunk.topCurvature,
                                                      optimizer: config.optimizer, momentum: h.momentum))
                    }
                    active &= okBits
                }
                if recording && active != 0 {
                    // Seed by seed, in ascending order, as the scalar path feeds each record's moments;
                    // each record's sums stay in registers for its eight adds.
                    let row = next * metricCount
                    for m in 0..<metricCount {
                        let x = values[slot[m]]
                        var acc = mom[row + m]
                        if active == 0xFF {
                            acc.add8(x)
                        } else {
                            for l in 0..<8 where active & (1 << l) != 0 { acc.add(x[l]) }
                        }
                        mom[row + m] = acc
                    }
                    next += 1
                }
            }
        }}}}
    }
}

private func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }

/// The river split of eight iterates: lane l is `analyticSplit` of iterate l.
struct LaneSplit {
    var river: SIMD8<Double>, hill: SIMD8<Double>, distance: SIMD8<Double>, coordinate: SIMD8<Double>
}

/// A landscape whose gradient and analytic river split can be evaluated on eight iterates at once,
/// coordinate i of iterate l in lane l of w[i], with the same operations per lane as the scalar methods.
protocol LaneLandscape: Landscape {
    /// Whether `laneSplit` applies (the scalar `analyticSplit` is non-nil everywhere).
    var hasLaneSplit: Bool { get }
    func laneGradient(_ w: UnsafePointer<SIMD8<Double>>, into g: UnsafeMutablePointer<SIMD8<Double>>)
    func laneSplit(_ w: UnsafePointer<SIMD8<Double>>) -> LaneSplit
}

extension RiverProfile {
    /// ℓ and ℓ′ per lane, as `value` and `derivative`.
    @inline(__always) func laneValue(_ x: SIMD8<Double>) -> SIMD8<Double> {
        switch self {
        case let .linear(s): return -s * x
        case .power:
            var out = SIMD8<Double>()
            for l in 0..<8 { out[l] = value(x[l]) }
            return out
        }
    }

    @inline(__always) func laneDerivative(_ x: SIMD8<Double>) -> SIMD8<Double> {
        switch self {
        case let .linear(s): return SIMD8(repeating: -s)
        case .power:
            var out = SIMD8<Double>()
            for l in 0..<8 { out[l] = derivative(x[l]) }
            return out
        }
    }
}

extension StraightValley: LaneLandscape {
    var hasLaneSplit: Bool { true }

    func laneGradient(_ w: UnsafePointer<SIMD8<Double>>, into g: UnsafeMutablePointer<SIMD8<Double>>) {
        g[0] = profile.laneDerivative(w[0])
        hillCurvatures.withUnsafeBufferPointer { c in
            for i in 0..<c.count { g[i + 1] = c[i] * w[i + 1] }
        }
    }

    func laneSplit(_ w: UnsafePointer<SIMD8<Double>>) -> LaneSplit {
        var hill = SIMD8<Double>(), d2 = SIMD8<Double>()
        hillCurvatures.withUnsafeBufferPointer { c in
            for i in 0..<c.count {
                let y = w[i + 1]
                hill += c[i] * y * y
                d2 += y * y
            }
        }
        return LaneSplit(river: profile.laneValue(w[0]), hill: 0.5 * hill, distance: SIMDMath.correctlyRoundedSquareRoot(d2), coordinate: w[0])
    }
}

extension QuadraticLandscape: LaneLandscape {
    var hasLaneSplit: Bool { analyticSplit(at: [Double](repeating: 0, count: dimension)) != nil }

    func laneGradient(_ w: UnsafePointer<SIMD8<Double>>, into g: UnsafeMutablePointer<SIMD8<Double>>) {
        let c = diagonal!  // hasLaneSplit implies a diagonal
        for i in c.indices { g[i] = c[i] * w[i] }
    }

    func laneSplit(_ w: UnsafePointer<SIMD8<Double>>) -> LaneSplit {
        let c = diagonal!
        var hill = SIMD8<Double>(), d2 = SIMD8<Double>()
        for i in 1..<c.count { hill += c[i] * w[i] * w[i]; d2 += w[i] * w[i] }
        return LaneSplit(river: 0.5 * c[0] * w[0] * w[0], hill: 0.5 * hill, distance: SIMDMath.correctlyRoundedSquareRoot(d2), coordinate: w[0])
    }
}
