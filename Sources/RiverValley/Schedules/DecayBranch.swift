import Foundation

/// A WSD decay branch (paper §2; `paper-notes/paper.md`, "WSD with decay branches"): the run that leaves
/// the constant-LR main branch at the fork step F and decays for D steps to its budget B.
///
///     D = ⌊f·B⌋   for a decay fraction f ≤ 1 (Levanter's rule, the `Int(f·B)` of ``ScheduleSpec``)
///     D = f       for a decay f > 1 given in whole steps
///     F = B − D
///
/// This is the one place the fork step is computed: ``BranchPlan``, the sweep's WSD branches, `river branch`
/// and the bigram experiments all ask a `DecayBranch`.
public struct DecayBranch: Sendable, Equatable {
    /// The branch's budget B: its last step, where its checkpoint is taken.
    public let budget: Int
    /// The decay D in steps.
    public let decaySteps: Int
    /// The decay as given (fraction of the budget or whole steps); the branch schedule carries it as is.
    public let decay: Double
    /// The fork step F = B − D: the main branch's checkpoint the branch starts from.
    public var forkStep: Int { budget - decaySteps }

    /// The branch serving `budget` with `decay` (a fraction ≤ 1 of the budget, or whole steps > 1).
    public init(budget: Int, decay: Double) throws {
        guard budget >= 1 else { throw ScheduleError("budget \(budget) is not allowed: a branch budget must be ≥ 1 step") }
        let d = try stepsFromFractionOrSteps(decay, of: budget, name: "decay")
        guard d <= budget else { throw ScheduleError("decay of \(d) steps is longer than the budget of \(budget) steps") }
        self.budget = budget
        self.decaySteps = d
        self.decay = decay
    }

    /// The branch forking at `fork` with `decay`, with budget B the largest whose fork B − D(B) is `fork`:
    ///
    ///     steps (d > 1):        B = F + d
    ///     fraction (f < 1):     B = ⌊F/(1 − f)⌋
    ///
    /// (F(B) = B − ⌊fB⌋ grows by 0 or 1 per step and F(B) ≥ (1 − f)B, so ⌊F/(1 − f)⌋ is the largest B with
    /// F(B) = F; it is checked against the forward formula, so a rounding error cannot slip through.)
    /// Throws if the decay at that budget would be 0 steps (no branch) or f = 1 (every branch forks at 0).
    public static func forking(at fork: Int, decay: Double) throws -> DecayBranch {
        guard fork >= 1 else { throw ScheduleError("fork step \(fork) is not allowed: a branch forks at step ≥ 1") }
        guard decay.isFinite, decay > 0 else {
            throw ScheduleError("decay = \(decay) is not allowed: use a fraction in (0, 1) or a whole number of steps > 1")
        }
        if decay > 1 {
            guard decay <= Double(ScheduleSpec.maxSteps) else {
                throw ScheduleError("decay = \(decay) steps is not allowed: at most \(ScheduleSpec.maxSteps) steps (the longest schedule)")
            }
            let branch = try DecayBranch(budget: fork + Int(decay.rounded(.down)), decay: decay)
            guard branch.forkStep == fork else { throw ScheduleError("decay = \(decay) is neither a fraction nor whole steps") }
            return branch
        }
        guard decay < 1 else {
            throw ScheduleError("a decay of the whole budget (1.0) forks every branch at step 0, not \(fork); give the budget or a decay < 1")
        }
        let estimate = Double(fork) / (1 - decay)
        guard estimate < Double(Int.max / 2) else { throw ScheduleError("fork step \(fork) with decay \(decay) gives a budget too large to count") }
        var b = max(fork, Int(estimate.rounded(.down)))
        func forkOf(_ b: Int) -> Int { b - Int(decay * Double(b)) }
        while forkOf(b + 1) <= fork { b += 1 }
        while b > fork, forkOf(b) > fork { b -= 1 }
        let branch = try DecayBranch(budget: b, decay: decay)
        guard branch.forkStep == fork, branch.decaySteps >= 1 else {
            throw ScheduleError("a decay of \(decay) of the budget leaves no decay step for a branch forking at \(fork) (budget \(b)); give the budget or a longer decay")
        }
        return branch
    }

    /// The branch's schedule: WSD over B steps with the parent's peak and the parent's warmup in whole
    /// steps (``ScheduleSpec/warmupSteps``, so a fractional parent warmup keeps its length ⌊w·L₁⌋ from the
    /// parent's first cycle L₁, and a 1-step warmup stays 1 step), constant to F, then `shape` to
    /// `minRatio`·peak over the last D steps. Equal to the parent's LR on every step before the fork when
    /// the parent is constant after its warmup (the WSD main branch).
    public func schedule(continuing parent: ScheduleSpec, shape: DecayShape, minRatio: Double) throws -> ScheduleSpec {
        var s = ScheduleSpec(kind: .wsd, steps: budget, peak: parent.peak, decay: decay, shape: shape, minRatio: minRatio)
        s.warmupSteps = try parent.warmupStepCount()
        return s
    }
}
