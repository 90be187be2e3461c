import Foundation

/// Which runs produce a checkpoint at each budget, and what they cost (paper-notes/paper.md §1.2, §1.4).
///
/// - WSD: one constant-LR main branch, and for each budget B_i a side branch (``DecayBranch``) that forks at B_i − D_i,
///   decays for D_i steps and is then discarded (except as the budget's checkpoint). The main branch runs
///   to the last fork; compute = (B_n − D_n) + Σ D_i.
/// - WSD-S: one run with cycle ends at the budgets, decaying inside the run and resuming from the decayed
///   weights; compute = B_n exactly.
public struct BranchPlan: Sendable, Equatable {
    /// One decay: fork (or decay start) step, decay length, and the budget (end step) it serves.
    public struct Decay: Sendable, Equatable {
        public let budget: Int
        public let forkStep: Int
        public let decaySteps: Int
    }

    public let budgets: [Int]
    /// WSD side branches, one per budget.
    public let wsdBranches: [DecayBranch]
    /// WSD-S decays inside the single run, one per budget.
    public let wsdsDecays: [Decay]
    /// Steps the WSD main branch runs (to the last fork).
    public var wsdMainSteps: Int { wsdBranches.last.map { $0.forkStep } ?? 0 }
    /// Total optimizer steps spent by WSD (main branch + all decay branches).
    public var wsdCompute: Int { wsdMainSteps + wsdBranches.reduce(0) { $0 + $1.decaySteps } }
    /// Total optimizer steps spent by WSD-S.
    public var wsdsCompute: Int { budgets.last ?? 0 }

    /// - Parameters:
    ///   - budgets: strictly increasing step budgets, e.g. [1000, 2000, 4000].
    ///   - decay: a fraction (≤ 1) or a whole number of steps (> 1), Levanter's rule.
    ///   - convention: for WSD-S, decay a fraction of each cycle or of the cumulative budget. WSD branches
    ///     always decay a fraction of their own budget (which is the cumulative rule).
    public init(budgets: [Int], decay: Double, convention: DecayConvention) throws {
        guard !budgets.isEmpty else { throw ScheduleError("budgets must list at least one step count") }
        if let bad = budgets.first(where: { $0 < 1 || $0 > ScheduleSpec.maxSteps }) {
            throw ScheduleError("budget \(bad) is not allowed: budgets must be in 1...\(ScheduleSpec.maxSteps) steps")
        }
        guard budgets.count <= ScheduleSpec.maxCycles else {
            throw ScheduleError("\(budgets.count) budgets are not allowed: at most \(ScheduleSpec.maxCycles)")
        }
        for (a, b) in zip(budgets, budgets.dropFirst()) where b <= a {
            throw ScheduleError("budgets must be strictly increasing: \(b) follows \(a)")
        }
        self.budgets = budgets
        var wsd: [DecayBranch] = []
        var wsds: [Decay] = []
        var previous = 0
        for b in budgets {
            wsd.append(try DecayBranch(budget: b, decay: decay))
            let base = convention == .cumulative ? b : b - previous
            let ds = try stepsFromFractionOrSteps(decay, of: base, name: "decay")
            guard ds <= b - previous else {
                throw ScheduleError("WSD-S decay of \(ds) steps does not fit the cycle \(previous)..<\(b)")
            }
            wsds.append(Decay(budget: b, forkStep: b - ds, decaySteps: ds))
            previous = b
        }
        wsdBranches = wsd
        wsdsDecays = wsds
    }

    /// The columns of ``table``.
    public static let csvHeader = ["schedule", "budget", "fork_step", "decay_steps", "end_step"]

    /// The plan as a table: one row per decay (`schedule` = wsd for a branch, wsds for a WSD-S decay), the
    /// main branch (wsd-main), and the compute totals as a comment line.
    public var table: CSVTable {
        var t = CSVTable(Self.csvHeader)
        for d in wsdBranches { t.append([.t("wsd"), .i(d.budget), .i(d.forkStep), .i(d.decaySteps), .i(d.budget)]) }
        for d in wsdsDecays { t.append([.t("wsds"), .i(d.budget), .i(d.forkStep), .i(d.decaySteps), .i(d.budget)]) }
        t.append([.t("wsd-main"), .i(budgets.last!), 0, 0, .i(wsdMainSteps)])
        t.comments = ["compute: wsd \(wsdCompute) steps, wsds \(wsdsCompute) steps"]
        return t
    }

    /// ``table`` as CSV text.
    public var csv: String { table.text }

    /// The WSD-S schedule realising this plan (cycle ends at the budgets; one budget is one cycle).
    public func wsdsSpec(peak: Double, warmup: Double = 0, shape: DecayShape = .inv, minRatio: Double = 0.1,
                         decay: Double, convention: DecayConvention) -> ScheduleSpec {
        ScheduleSpec(kind: .wsds, steps: budgets.last!, peak: peak, warmup: warmup, decay: decay, shape: shape,
                     minRatio: minRatio, cycles: budgets.count > 1 ? Array(budgets.dropLast()) : nil, decayOf: convention)
    }
}
