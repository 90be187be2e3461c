import Foundation

/// The schedule families of the paper and its baselines (paper-notes/paper.md §1).
public enum ScheduleKind: String, Codable, CaseIterable, Sendable {
    /// Warmup, then the peak LR forever (the WSD main branch).
    case constant
    /// Warmup, then one cosine from peak to floor over the rest of the run.
    case cosine
    /// Warmup-Stable-Decay: warmup, peak, then a decay of the chosen shape over the last D steps.
    case wsd
    /// WSD-Simplified: one run, a decay at the end of every cycle, resuming at the peak.
    case wsds
    /// A cosine per cycle, restarting at the peak.
    case cyclicCosine = "cyclic-cosine"
}

/// The shape g(x), x = k/D ∈ [0, 1), of a decay from the peak to the floor r·peak.
public enum DecayShape: String, Codable, CaseIterable, Sendable {
    /// r + (1−r)(1−x).
    case linear
    /// r + (1−r)(1+cos πx)/2.
    case cosine
    /// r + (1−r)(1−√x) (Hägele et al., arXiv 2405.18392).
    case oneSqrt = "1-sqrt"
    /// Geometric decay r^x.
    case exp
    /// Inverse-proportional 1/(1+(1/r−1)x): 1/η is linear in the step (lingua, OLMo-core; paper-notes/paper.md §1.3).
    case inv
}

/// How a WSD-S decay length given as a fraction is measured (paper-notes/paper.md §1.4).
public enum DecayConvention: String, Codable, CaseIterable, Sendable {
    /// D_i = f·L_i with L_i the cycle length (Levanter, OLMo-core).
    case cycle
    /// D_i = f·c_i with c_i the cumulative steps at the cycle's end (lingua): later decays are longer.
    case cumulative
}

/// A learning-rate schedule as data. `build()` validates it and returns the pure function of the step.
///
/// Lengths (`warmup`, `decay`, `rewarmup`) follow Levanter's rule: a value ≤ 1 is a fraction
/// (converted with `Int(f·C)`), a value > 1 must be a whole number of steps.
public struct ScheduleSpec: Codable, Sendable, Equatable {
    public var kind: ScheduleKind
    /// Total steps T; the schedule covers steps 0..<T.
    public var steps: Int
    /// Peak learning rate η_max.
    public var peak: Double
    /// Warmup: a fraction of the first cycle (of the run for single-cycle kinds) or whole steps.
    public var warmup: Double
    /// Or the warmup as an exact number of steps (any n ≥ 0; `warmup` cannot say 1 step, which Levanter's
    /// rule reads as the fraction 1.0). Set by decay branches, which inherit their parent's warmup in steps
    /// (``DecayBranch/schedule(continuing:shape:minRatio:)``); nil means `warmup` applies.
    public var warmupSteps: Int?
    /// Decay length (wsd, wsds): a fraction of each cycle / of the cumulative budget, or whole steps.
    /// nil means the default, 0.1.
    public var decay: Double?
    /// Decay shape (wsd, wsds).
    public var shape: DecayShape
    /// Floor ratio r: the schedules decay to r·peak.
    public var minRatio: Double
    /// Cycle end steps (wsds, cyclic-cosine), strictly increasing, each in 1..<steps; `steps` is appended.
    public var cycles: [Int]?
    /// Or a number of cycles of (nearly) equal length, ends ⌊T(i+1)/N⌋.
    public var cycleCount: Int?
    /// Rewarmup at the start of each later cycle, linear from the previous cycle's final LR back to the
    /// peak; 0 (the default) jumps straight back to the peak.
    public var rewarmup: Double
    /// How a fractional WSD-S decay is measured.
    public var decayOf: DecayConvention

    public init(kind: ScheduleKind, steps: Int, peak: Double, warmup: Double = 0, decay: Double? = nil,
                shape: DecayShape = .inv, minRatio: Double = 0.1, cycles: [Int]? = nil, cycleCount: Int? = nil,
                rewarmup: Double = 0, decayOf: DecayConvention = .cycle, warmupSteps: Int? = nil) {
        self.kind = kind
        self.warmupSteps = warmupSteps
        self.steps = steps
        self.peak = peak
        self.warmup = warmup
        self.decay = decay
        self.shape = shape
        self.minRatio = minRatio
        self.cycles = cycles
        self.cycleCount = cycleCount
        self.rewarmup = rewarmup
        self.decayOf = decayOf
    }

    /// The longest schedule: 10⁹ steps, a thousand times the longest published LLM runs (~10⁶ steps); it
    /// keeps every step count exactly representable as a Double and `values` (8 bytes a step) within 8 GB.
    public static let maxSteps = 1_000_000_000

    /// The most cycles a WSD-S / cyclic schedule may have (each cycle is up to three segments).
    public static let maxCycles = 100_000

    /// The default decay fraction when none is given (≈10%, paper-notes/paper.md §1.4 and §4).
    public static let defaultDecayFraction = 0.1

    /// Validates and compiles the spec into segments.
    public func build() throws -> Schedule {
        try validate()
        return Schedule(spec: self, segments: try segments())
    }
}

/// A schedule input error; the message names the bad value and what is allowed.
public struct ScheduleError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
