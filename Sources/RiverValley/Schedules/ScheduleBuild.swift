import Foundation

/// Levanter's length rule: a value ≤ 1 is a fraction of `total` (Int(f·total)); a value > 1 must be a
/// whole number of steps, at most `limit` (default `ScheduleSpec.maxSteps`), so that it converts to `Int`
/// exactly (a Double→Int conversion of 1e308 would trap).
func stepsFromFractionOrSteps(_ value: Double, of total: Int, name: String, atMost limit: Int? = nil,
                              limitName: String? = nil) throws -> Int {
    guard value.isFinite, value >= 0 else {
        throw ScheduleError("\(name) = \(value) is not allowed: use a fraction in [0, 1] or a whole number of steps > 1")
    }
    if value <= 1 { return Int(value * Double(total)) }
    guard value == value.rounded() else {
        throw ScheduleError("\(name) = \(value) is neither a fraction in [0, 1] nor a whole number of steps")
    }
    let cap = limit ?? ScheduleSpec.maxSteps
    guard value <= Double(cap) else {
        throw ScheduleError("\(name) = \(value) steps is not allowed: at most \(limitName ?? "\(cap) steps (the longest schedule)")")
    }
    return Int(value)
}

/// Cycle end points [0, c1, …, T] from explicit ends or a count (Levanter's `cycles`).
func cyclePoints(steps: Int, ends: [Int]?, count: Int?) throws -> [Int] {
    var points: [Int]
    if let ends, let count {
        throw ScheduleError("give cycles either as end steps (\(ends.map(String.init).joined(separator: ","))) or as a count (\(count)), not both")
    } else if let ends {
        guard !ends.isEmpty else { throw ScheduleError("cycles must list at least one end step") }
        guard ends.count < ScheduleSpec.maxCycles else {
            throw ScheduleError("\(ends.count) cycle ends are not allowed: at most \(ScheduleSpec.maxCycles - 1) (\(ScheduleSpec.maxCycles) cycles)")
        }
        for (a, b) in zip(ends, ends.dropFirst()) where b <= a {
            throw ScheduleError("cycles must be strictly increasing: \(b) follows \(a) in \(ends.map(String.init).joined(separator: ","))")
        }
        if let bad = ends.first(where: { $0 < 1 || $0 > steps }) {
            throw ScheduleError("cycle end \(bad) is outside the run: each end must be in 1...\(steps) (steps = \(steps))")
        }
        points = ends
    } else if let count {
        guard count >= 1, count <= min(steps, ScheduleSpec.maxCycles) else {
            throw ScheduleError("cycle count \(count) is not allowed: use 1...\(min(steps, ScheduleSpec.maxCycles)) (one step per cycle at least, at most \(ScheduleSpec.maxCycles) cycles)")
        }
        points = (0..<(count - 1)).map { Int(Double(steps) / Double(count) * Double($0 + 1)) }
    } else {
        points = []
    }
    points.insert(0, at: 0)
    if points.last != steps { points.append(steps) }
    return points
}

extension ScheduleSpec {
    /// Checks every field; the error names the bad value and what is allowed.
    func validate() throws {
        guard steps >= 1, steps <= ScheduleSpec.maxSteps else {
            throw ScheduleError("steps = \(steps) is not allowed: use 1...\(ScheduleSpec.maxSteps) (the longest schedule)")
        }
        guard peak.isFinite, peak > 0 else {
            throw ScheduleError("peak learning rate \(peak) is not allowed: it must be a finite number > 0")
        }
        guard minRatio.isFinite, (0...1).contains(minRatio) else {
            throw ScheduleError("min ratio \(minRatio) is not allowed: the floor ratio must be in [0, 1]")
        }
        if usesDecayShape, shape == .inv || shape == .exp, minRatio == 0 {
            throw ScheduleError("the \(shape.rawValue) decay needs a min ratio > 0 (it decays to min-ratio × peak, which is never reached at 0); got 0")
        }
        let multiCycle = kind == .wsds || kind == .cyclicCosine
        if !multiCycle, cycles != nil || cycleCount != nil {
            throw ScheduleError("cycles are only allowed for the wsds and cyclic-cosine kinds, not \(kind.rawValue)")
        }
        if let n = warmupSteps {
            guard n >= 0 else { throw ScheduleError("warmupSteps = \(n) is not allowed: use a whole number of steps ≥ 0") }
            guard warmup == 0 else {
                throw ScheduleError("give the warmup either as warmup (\(warmup)) or as warmupSteps (\(n)), not both")
            }
        }
        if let decay, !(kind == .wsd || kind == .wsds) {
            throw ScheduleError("a decay length (\(decay)) is only allowed for wsd and wsds; \(kind.rawValue) sets its own")
        }
    }

    var usesDecayShape: Bool { kind == .wsd || kind == .wsds }

    /// The warmup in steps: `warmupSteps` if set, else `warmup` by Levanter's rule against the first
    /// cycle's length (the run's length for single-cycle kinds).
    /// `limit`: the most steps the warmup may take (default: the first cycle), named by `limitName` in errors.
    public func warmupStepCount(atMost limit: Int? = nil, limitName: String? = nil) throws -> Int {
        try validate()
        let points = try cyclePoints(steps: steps, ends: cycles, count: cycleCount)
        let cap = limit ?? points[1] - points[0]
        if let n = warmupSteps {
            guard n <= cap else {
                throw ScheduleError("warmupSteps = \(n) is not allowed: at most \(limitName ?? "the \(cap) steps of the first cycle")")
            }
            return n
        }
        return try stepsFromFractionOrSteps(warmup, of: points[1] - points[0], name: "warmup", atMost: cap,
                                            limitName: limitName ?? "the \(cap) steps of the first cycle")
    }

    /// The segments of the schedule in step order (native conventions; see `Schedule`).
    func segments() throws -> [Segment] {
        let points = try cyclePoints(steps: steps, ends: cycles, count: cycleCount)
        var segments: [Segment] = []
        var previousEnd = 0.0
        for (i, (start, end)) in zip(points, points.dropFirst()).enumerated() {
            let length = end - start
            let which = points.count > 2 ? "cycle \(i + 1) (steps \(start)..<\(end))" : "the run"
            let warm = try i == 0 ? warmupStepCount(atMost: length, limitName: "the \(length) steps of \(which)")
                : stepsFromFractionOrSteps(rewarmup, of: length, name: "rewarmup", atMost: length,
                                           limitName: "the \(length) steps of \(which)")
            let decaySteps: Int
            switch kind {
            case .constant:
                decaySteps = 0
            case .cosine, .cyclicCosine:
                decaySteps = max(length - warm, 0)
            case .wsd, .wsds:
                let f = decay ?? ScheduleSpec.defaultDecayFraction
                let base = (kind == .wsds && decayOf == .cumulative) ? end : length
                decaySteps = try stepsFromFractionOrSteps(f, of: base, name: "decay", atMost: length,
                                                          limitName: "the \(length) steps of \(which)")
            }
            if warm + decaySteps > length {
                throw ScheduleError("warmup (\(warm) steps) + decay (\(decaySteps) steps) exceed the \(length) steps of \(which)")
            }
            if warm > 0 {
                segments.append(Segment(start: start, length: warm, piece: .ramp(from: previousEnd, to: peak)))
            }
            let stable = length - warm - decaySteps
            if stable > 0 {
                segments.append(Segment(start: start + warm, length: stable, piece: .constant(peak)))
            }
            if decaySteps > 0 {
                let shape: DecayShape = (kind == .cosine || kind == .cyclicCosine) ? .cosine : self.shape
                let seg = Segment(start: end - decaySteps, length: decaySteps,
                                  piece: .decay(shape, peak: peak, r: minRatio))
                segments.append(seg)
                previousEnd = seg.endValue
            } else {
                previousEnd = peak
            }
        }
        return segments
    }
}
