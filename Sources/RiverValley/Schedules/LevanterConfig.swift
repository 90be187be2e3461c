import Foundation
import Yams

/// Levanter's optimizer schedule keys (stanford-crfm/levanter, `levanter.optim.config`), read from YAML.
///
/// `learning_rate`, `min_lr_ratio`, `warmup`, `decay`, `rewarmup`, `cycles` (int or list of ends),
/// `cycle_length` (int, fraction or list of lengths), `lr_schedule` ∈ {constant, cosine, linear, inv,
/// inv_sqrt}. The keys may sit at the top level or under `optimizer:`; `trainer.num_train_steps` gives the
/// step count when none is passed. The curve reproduces Levanter's, including its `inv` with max(k, 1)
/// and its clamping of a decay longer than the cycle.
public struct LevanterScheduleConfig: Sendable, Equatable {
    public var learningRate = 6e-4
    public var minLRRatio = 0.1
    public var warmup = 0.01
    public var decay: Double? = nil
    public var rewarmup = 0.0
    public var cycles: CycleSpec? = nil
    public var cycleLength: CycleLength? = nil
    public var lrSchedule = "cosine"
    public var numTrainSteps: Int? = nil

    public enum CycleSpec: Sendable, Equatable { case count(Int), ends([Int]) }
    public enum CycleLength: Sendable, Equatable { case value(Double), lengths([Int]) }

    public init() {}

    /// Parses YAML text.
    public init(yaml text: String) throws {
        guard let root = try Yams.load(yaml: text) as? [String: Any] else {
            throw ScheduleError("the Levanter config is not a YAML mapping of keys to values")
        }
        var opt = root
        var optPath = ""
        if let nested = root["optimizer"] as? [String: Any] { opt = nested; optPath = "optimizer" }
        if let trainer = root["trainer"] as? [String: Any], let n = trainer["num_train_steps"] {
            numTrainSteps = try Self.int(n, key: "trainer.num_train_steps")
        }
        if let n = opt["num_train_steps"] { numTrainSteps = try Self.int(n, key: "num_train_steps") }
        // Schedule keys, plus the optimizer keys Levanter allows next to them (read elsewhere, not here).
        var known = Self.scheduleKeys + ["num_train_steps", "type", "weight_decay", "beta1", "beta2", "epsilon",
                                         "max_grad_norm", "cooldown", "stable"]
        // Without an `optimizer:` section the keys sit at the top level next to Levanter's other sections.
        if optPath.isEmpty { known += ["trainer", "model", "data", "optimizer"] }
        let keys = opt.keys.map { "\($0)" }
        do { try ConfigKeys.check(keys, allowed: known, at: optPath) } catch let e as UnknownKeyError {
            throw ScheduleError("Levanter config: \(e.description)")
        }
        if let v = opt["learning_rate"] { learningRate = try Self.double(v, key: "learning_rate") }
        if let v = opt["min_lr_ratio"] { minLRRatio = try Self.double(v, key: "min_lr_ratio") }
        if let v = opt["warmup"] { warmup = try Self.double(v, key: "warmup") }
        if let v = opt["decay"], !(v is NSNull) { decay = try Self.double(v, key: "decay") }
        if let v = opt["rewarmup"] { rewarmup = try Self.double(v, key: "rewarmup") }
        if let v = opt["lr_schedule"] {
            guard let s = v as? String else { throw ScheduleError("lr_schedule must be a string, got \(v)") }
            lrSchedule = s
        }
        if let v = opt["cycles"], !(v is NSNull) {
            if let list = v as? [Any] { cycles = .ends(try list.map { try Self.int($0, key: "cycles") }) }
            else { cycles = .count(try Self.int(v, key: "cycles")) }
        }
        if let v = opt["cycle_length"], !(v is NSNull) {
            if let list = v as? [Any] { cycleLength = .lengths(try list.map { try Self.int($0, key: "cycle_length") }) }
            else { cycleLength = .value(try Self.double(v, key: "cycle_length")) }
        }
    }

    static func double(_ v: Any, key: String) throws -> Double {
        if let d = v as? Double { return d }
        if let i = v as? Int { return Double(i) }
        if let s = v as? String, let d = Double(s) { return d }
        throw ScheduleError("\(key) must be a number, got '\(v)'")
    }

    /// The schedule keys this reader understands.
    public static let scheduleKeys = ["learning_rate", "min_lr_ratio", "warmup", "decay", "rewarmup", "cycles",
                                      "cycle_length", "lr_schedule"]

    /// A whole number in 0...`ScheduleSpec.maxSteps` (every count in a schedule is a step count or less);
    /// a YAML float such as 1e20 or `.inf` is an error, not a Double→Int trap.
    static func int(_ v: Any, key: String) throws -> Int {
        let limit = ScheduleSpec.maxSteps
        if let i = v as? Int {
            guard (0...limit).contains(i) else {
                throw ScheduleError("\(key) = \(i) is not allowed: use a whole number in 0...\(limit)")
            }
            return i
        }
        if let d = v as? Double, d.isFinite, d == d.rounded() {
            guard d >= 0, d <= Double(limit) else {
                throw ScheduleError("\(key) = \(d) is not allowed: use a whole number in 0...\(limit)")
            }
            return Int(d)
        }
        throw ScheduleError("\(key) must be a whole number in 0...\(limit), got '\(v)'")
    }

    /// The schedule over `steps` steps (or `trainer.num_train_steps`).
    public func build(steps: Int? = nil) throws -> Schedule {
        guard let total = steps ?? numTrainSteps else {
            throw ScheduleError("the number of steps is missing: pass --steps or set trainer.num_train_steps")
        }
        guard total >= 1, total <= ScheduleSpec.maxSteps else {
            throw ScheduleError("steps = \(total) is not allowed: use 1...\(ScheduleSpec.maxSteps) (the longest schedule)")
        }
        guard learningRate.isFinite, learningRate > 0 else {
            throw ScheduleError("learning_rate \(learningRate) is not allowed: it must be a finite number > 0")
        }
        guard minLRRatio.isFinite, (0...1).contains(minLRRatio) else {
            throw ScheduleError("min_lr_ratio \(minLRRatio) is not allowed: use a value in [0, 1]")
        }
        let points = try levanterCyclePoints(total)
        let peak = learningRate, r = minLRRatio
        if lrSchedule == "inv" && r == 0 { throw ScheduleError("lr_schedule inv needs min_lr_ratio > 0") }
        var segments: [Segment] = []
        var previousEnd = 0.0
        for (i, (start, end)) in zip(points, points.dropFirst()).enumerated() {
            let length = end - start
            let w = min(try stepsFromFractionOrSteps(i == 0 ? warmup : rewarmup, of: length,
                                                      name: i == 0 ? "warmup" : "rewarmup"), length)
            if w != 0 { segments.append(Segment(start: start, length: w, piece: .ramp(from: previousEnd, to: peak))) }
            let maxDecay = max(length - w, 0)
            let requested = try decay.map { try stepsFromFractionOrSteps($0, of: length, name: "decay") } ?? maxDecay
            let d = min(max(requested, 0), maxDecay)
            let stable = length - w - d
            if stable > 0 { segments.append(Segment(start: start + w, length: stable, piece: .constant(peak))) }
            let piece: Segment.Piece
            if d > 0 {
                switch lrSchedule {
                case "constant": piece = .constant(peak)
                case "cosine": piece = .decay(.cosine, peak: peak, r: r)
                case "linear": piece = .decay(.linear, peak: peak, r: r)
                case "inv": piece = .levanterInv(peak: peak, r: r)
                default:
                    throw ScheduleError("lr_schedule '\(lrSchedule)' is not supported; use constant, cosine, linear or inv")
                }
            } else {
                piece = .constant(peak)
            }
            let seg = Segment(start: start + w + stable, length: max(d, 1), piece: piece)
            if d > 0 || segments.isEmpty || stable == 0 { segments.append(seg) }
            previousEnd = d > 0 ? seg.value(at: d) : peak
        }
        let spec = ScheduleSpec(kind: .wsds, steps: total, peak: peak, warmup: warmup, decay: decay,
                                shape: lrSchedule == "cosine" ? .cosine : lrSchedule == "linear" ? .linear : .inv,
                                minRatio: r, cycles: Array(points.dropFirst().dropLast()), rewarmup: rewarmup)
        return Schedule(spec: spec, segments: segments)
    }

    func levanterCyclePoints(_ total: Int) throws -> [Int] {
        if let cycleLength {
            if cycles != nil { throw ScheduleError("cycle_length and cycles cannot both be set") }
            switch cycleLength {
            case let .value(v):
                let l = try stepsFromFractionOrSteps(v, of: total, name: "cycle_length")
                guard l > 0 else { throw ScheduleError("cycle_length \(v) resolves to 0 steps; it must be at least 1") }
                let ends = (1..<max(total / l, 1)).map { $0 * l }
                return try cyclePoints(steps: total, ends: ends.isEmpty ? nil : ends, count: nil)
            case let .lengths(ls):
                var ends: [Int] = []
                var acc = 0
                for l in ls {
                    guard l >= 1 else { throw ScheduleError("cycle_length \(l) is not allowed: each cycle needs at least 1 step") }
                    acc += l   // each l ≤ maxSteps (int()), so the sum cannot overflow before the check below
                    if acc > total { throw ScheduleError("cycle lengths add up to more than the \(total) steps (\(acc) after \(ends.count + 1) cycles)") }
                    ends.append(acc)
                }
                return try cyclePoints(steps: total, ends: ends, count: nil)
            }
        }
        switch cycles {
        case let .count(n)?: return try cyclePoints(steps: total, ends: nil, count: n)
        case let .ends(e)?: return try cyclePoints(steps: total, ends: e, count: nil)
        case nil: return [0, total]
        }
    }
}
