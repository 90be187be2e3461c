import Foundation
import LinearAlgebra
import RiverValley

/// The extra arms of a sweep beside the four families (paper-notes/trainer.md): WSD-S variants, the
/// Σ η-matched cyclic cosine (the reviewers' confounder) and the WSD decay ablation at the last budget.
public struct SweepVariants: Codable, Sendable, Equatable {
    /// WSD-S with the other decay convention (per-cycle when the sweep's is cumulative, and vice versa).
    public var wsdsOtherConvention = false
    /// WSD-S with a linear rewarmup of this many steps after every decay (0: no such arm).
    public var wsdsRewarmupSteps = 0
    /// WSD-S with the optimizer state reset at the start of every cycle.
    public var wsdsResetOptimizer = false
    /// Cyclic cosine with its peak raised so that its Σ η at the last budget equals WSD-S's.
    public var cyclicCosineMatched = false
    /// WSD decay ablation at the last budget: a branch for every shape × decay length (fractions of the
    /// budget) other than the sweep's own, forking from the same main run.
    public var ablationShapes: [DecayShape] = []
    public var ablationDecays: [Double] = []

    public init() {}

    public static let none = SweepVariants()
    public var isEmpty: Bool { self == .none }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case wsdsOtherConvention, wsdsRewarmupSteps, wsdsResetOptimizer, cyclicCosineMatched, ablationShapes, ablationDecays
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(allowed: CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        wsdsOtherConvention = try c.decodeIfPresent(Bool.self, forKey: .wsdsOtherConvention) ?? false
        wsdsRewarmupSteps = try c.decodeIfPresent(Int.self, forKey: .wsdsRewarmupSteps) ?? 0
        wsdsResetOptimizer = try c.decodeIfPresent(Bool.self, forKey: .wsdsResetOptimizer) ?? false
        cyclicCosineMatched = try c.decodeIfPresent(Bool.self, forKey: .cyclicCosineMatched) ?? false
        ablationShapes = try c.decodeIfPresent([DecayShape].self, forKey: .ablationShapes) ?? []
        ablationDecays = try c.decodeIfPresent([Double].self, forKey: .ablationDecays) ?? []
    }
}

/// The two stages of a tuned sweep: `tune` trains every peak of the grid on the first seed; `main` trains
/// every seed at the peaks the tuning chose (per family and budget) plus the variants.
public enum SweepStage: String, Codable, CaseIterable, Sendable {
    case tune, main
}

/// The peak chosen per family and budget by the tuning stage (`tuned.json` in the sweep directory).
public struct TunedPeaks: Codable, Sendable, Equatable {
    /// family raw value → budget (as a string, JSON keys) → peak.
    public var peaks: [String: [String: Double]]
    public init(peaks: [String: [String: Double]] = [:]) { self.peaks = peaks }

    public func peak(_ family: ScheduleFamily, budget: Int) throws -> Double {
        guard let p = peaks[family.rawValue]?[String(budget)] else {
            throw RunError("tuned.json has no peak for \(family.rawValue) at budget \(budget): rerun the tuning stage's --collect")
        }
        return p
    }
}

/// The paper's budget comparison (paper-notes/paper.md §1.4, §4): for budgets B₁ < B₂ < …, train
///
/// - `wsd`: one constant-LR main branch to the last fork step with checkpoints at every fork, and one
///   decay branch per budget forking at Bᵢ − Dᵢ (``DecayBranch``: Dᵢ = ⌊decay·Bᵢ⌋);
/// - `wsds`: one WSD-S run with cycle ends at the budgets (decay per cycle or cumulative; one budget is one
///   cycle);
/// - `cyclic-cosine`: one run, a cosine per cycle [Bᵢ₋₁, Bᵢ];
/// - `cosine`: a separate cosine run per budget;
///
/// at a peak LR that is either shared (`peak`) or tuned per family and budget on the first seed over
/// `peakGrid` (stage `tune`, then stage `main` reruns every seed at the chosen peaks), plus the
/// ``SweepVariants``. Every run is a run directory under `directory/seed<S>/` (with a `peak-<p>/` level when
/// the peak is tuned); rerunning skips finished runs and resumes unfinished ones. Validation runs every
/// `fineEval` of a budget inside every decay window (the schedule knows where they are), besides the base
/// config's `evalEvery`.
public struct SweepSpec: Codable, Sendable, Equatable {
    public var base: RunConfig
    public var budgets: [Int]
    public var seeds: [UInt64]
    public var schedules: [ScheduleFamily]
    /// Decay length: a fraction (≤ 1) of the budget (WSD) / cycle or cumulative budget (WSD-S), or steps.
    public var decay: Double
    public var convention: DecayConvention
    public var shape: DecayShape
    public var minRatio: Double
    public var peak: Double
    /// Warmup in whole steps (0 or ≥ 2), the same for every schedule so WSD branches share the main run.
    public var warmupSteps: Int
    /// Peak LRs to tune over on the first seed (empty: every run uses `peak`, no tuning stage).
    public var peakGrid: [Double]
    public var variants: SweepVariants
    /// Validation every `fineEval`·B steps inside a decay window ending at budget B (0: off).
    public var fineEval: Double

    public init(base: RunConfig, budgets: [Int], seeds: [UInt64], schedules: [ScheduleFamily] = ScheduleFamily.allCases,
                decay: Double = 0.1, convention: DecayConvention = .cumulative, shape: DecayShape = .inv,
                minRatio: Double = 0.1, peak: Double? = nil, warmupSteps: Int = 0, peakGrid: [Double] = [],
                variants: SweepVariants = .none, fineEval: Double = 0) {
        self.base = base; self.budgets = budgets; self.seeds = seeds; self.schedules = schedules
        self.decay = decay; self.convention = convention; self.shape = shape; self.minRatio = minRatio
        self.peak = peak ?? base.schedule.peak; self.warmupSteps = warmupSteps
        self.peakGrid = peakGrid; self.variants = variants; self.fineEval = fineEval
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case base, budgets, seeds, schedules, decay, convention, shape, minRatio, peak, warmupSteps, peakGrid, variants, fineEval
    }

    /// sweep.json files written before tuning and variants existed decode with those off.
    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(allowed: CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        base = try c.decode(RunConfig.self, forKey: .base)
        budgets = try c.decode([Int].self, forKey: .budgets)
        seeds = try c.decode([UInt64].self, forKey: .seeds)
        schedules = try c.decode([ScheduleFamily].self, forKey: .schedules)
        decay = try c.decode(Double.self, forKey: .decay)
        convention = try c.decode(DecayConvention.self, forKey: .convention)
        shape = try c.decode(DecayShape.self, forKey: .shape)
        minRatio = try c.decode(Double.self, forKey: .minRatio)
        peak = try c.decode(Double.self, forKey: .peak)
        warmupSteps = try c.decode(Int.self, forKey: .warmupSteps)
        peakGrid = try c.decodeIfPresent([Double].self, forKey: .peakGrid) ?? []
        variants = try c.decodeIfPresent(SweepVariants.self, forKey: .variants) ?? .none
        fineEval = try c.decodeIfPresent(Double.self, forKey: .fineEval) ?? 0
    }

    public var tuned: Bool { !peakGrid.isEmpty }

    public func validate() throws {
        // BranchPlan checks the budgets (non-empty, in range, strictly increasing) and the decay.
        let plan = try BranchPlan(budgets: budgets, decay: decay, convention: convention)
        guard !seeds.isEmpty else { throw RunError.config("sweep needs at least one seed") }
        guard Set(seeds).count == seeds.count else { throw RunError.config("seeds repeat: \(seeds.map(String.init).joined(separator: ","))") }
        guard !schedules.isEmpty else {
            throw RunError.config("sweep needs at least one schedule (allowed: \(ScheduleFamily.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard warmupSteps == 0 || warmupSteps >= 2 else {
            throw RunError.config("warmupSteps must be 0 or at least 2 (whole steps), got \(warmupSteps)")
        }
        guard warmupSteps < budgets[0] else {
            throw RunError.config("warmupSteps \(warmupSteps) must be shorter than the first budget \(budgets[0])")
        }
        if let bad = plan.wsdBranches.first(where: { $0.decaySteps < 2 }) {
            throw RunError.config("the WSD decay for budget \(bad.budget) is \(bad.decaySteps) step(s); make budgets or decay larger (at least 2 steps)")
        }
        for p in [peak] + peakGrid where !(p.isFinite && p > 0) {
            throw RunError.config("peak learning rate \(p) is not allowed: it must be finite and > 0")
        }
        guard Set(peakGrid).count == peakGrid.count else { throw RunError.config("the peak grid repeats a value: \(peakGrid)") }
        guard fineEval.isFinite, fineEval >= 0, fineEval <= 0.5 else {
            throw RunError.config("fineEval \(fineEval) is not allowed: a fraction of the budget in [0, 0.5] (0: off)")
        }
        let v = variants
        guard v.wsdsRewarmupSteps >= 0 else { throw RunError.config("wsdsRewarmupSteps must be >= 0, got \(v.wsdsRewarmupSteps)") }
        if let bad = v.ablationDecays.first(where: { !($0 > 0 && $0 < 1) }) {
            throw RunError.config("ablation decay \(bad) is not allowed: a fraction of the last budget in (0, 1)")
        }
        guard v.ablationShapes.isEmpty == v.ablationDecays.isEmpty else {
            throw RunError.config("the decay ablation needs both shapes and decay lengths (got \(v.ablationShapes.count) shapes, \(v.ablationDecays.count) lengths)")
        }
        if v.wsdsOtherConvention || v.wsdsRewarmupSteps > 0 || v.wsdsResetOptimizer || v.cyclicCosineMatched {
            guard schedules.contains(.wsds) else { throw RunError.config("the WSD-S variants need the wsds schedule in the sweep") }
        }
        if v.cyclicCosineMatched, !schedules.contains(.cyclicCosine) {
            throw RunError.config("the Σ η-matched cyclic cosine needs the cyclic-cosine schedule in the sweep")
        }
        if !v.ablationShapes.isEmpty, !schedules.contains(.wsd) {
            throw RunError.config("the decay ablation needs the wsd schedule in the sweep")
        }
        if v.wsdsRewarmupSteps > 0 {
            // The rewarmup must fit each cycle's stable part (checked by building the schedule).
            _ = try wsdsSchedule(peak: peak, convention: convention, rewarmup: v.wsdsRewarmupSteps).build()
        }
    }

    /// One planned run: its path under the sweep directory, its arm (a family or a variant: the `arm`
    /// column of the tables), role in its family, the budgets it reports, its peak and config.
    public struct PlannedRun: Sendable {
        public var name: String
        public var arm: String
        public var schedule: RunSchedule
        public var seed: UInt64
        /// The budget the run serves (0 for the WSD main branch; the last budget for a whole-sweep run).
        public var budget: Int
        /// Budgets whose result is read from this run.
        public var serves: [Int]
        public var peak: Double
        public var config: RunConfig
        /// The run this one branches from (a WSD decay branch's main run), by name.
        public var dependsOn: String?
    }

    private var lastBudget: Int { budgets.last! }

    private func spec(_ kind: ScheduleKind, steps: Int, peak: Double) -> ScheduleSpec {
        ScheduleSpec(kind: kind, steps: steps, peak: peak, warmup: Double(warmupSteps), shape: shape, minRatio: minRatio)
    }

    func wsdsSchedule(peak: Double, convention: DecayConvention, rewarmup: Int = 0) throws -> ScheduleSpec {
        let plan = try BranchPlan(budgets: budgets, decay: decay, convention: convention)
        var s = plan.wsdsSpec(peak: peak, warmup: Double(warmupSteps), shape: shape, minRatio: minRatio, decay: decay,
                              convention: convention)
        if rewarmup > 0 { s.rewarmup = Double(rewarmup) }
        return s
    }

    /// Fork steps the WSD main run keeps checkpoints at: every budget's branch and every ablation branch.
    private func mainForks() throws -> [Int] {
        let plan = try BranchPlan(budgets: budgets, decay: decay, convention: convention)
        var forks = plan.wsdBranches.map(\.forkStep)
        for d in variants.ablationDecays { forks.append(try DecayBranch(budget: lastBudget, decay: d).forkStep) }
        return Array(Set(forks.filter { $0 > 0 })).sorted()
    }

    /// Validation steps inside the decay windows of `schedule`: every `fineEval`·B steps of a window that
    /// ends at B, and the window's end.
    func fineEvalSteps(_ schedule: ScheduleSpec) throws -> [Int] {
        guard fineEval > 0 else { return [] }
        var steps: [Int] = []
        for w in try schedule.build().decayWindows {
            let every = max(1, Int((fineEval * Double(w.upperBound)).rounded(.down)))
            var s = w.lowerBound
            while s < w.upperBound { steps.append(s); s += every }
            steps.append(w.upperBound)
        }
        return Array(Set(steps.filter { $0 > 0 && $0 <= schedule.steps })).sorted()
    }

    /// The peak of a family at a budget in a stage.
    private func peakFor(_ family: ScheduleFamily, _ budget: Int, tuned: TunedPeaks?) throws -> Double {
        guard self.tuned else { return peak }
        guard let tuned else { throw RunError("the main stage of a tuned sweep needs tuned.json: run the tuning stage and its --collect first") }
        return try tuned.peak(family, budget: budget)
    }

    /// Runs of one family at one peak, reporting the budgets `serves`.
    private func familyRuns(_ family: ScheduleFamily, seed: UInt64, peak p: Double, serves: [Int], prefix: String,
                            base: RunConfig, directory: URL) throws -> [PlannedRun] {
        let plan = try BranchPlan(budgets: budgets, decay: decay, convention: convention)
        var runs: [PlannedRun] = []
        switch family {
        case .wsd:
            var main = base
            main.schedule = spec(.constant, steps: plan.wsdMainSteps, peak: p)
            main.checkpointAt = try mainForks()
            main.evalAt = Array(Set(main.checkpointAt + budgets).filter { $0 <= plan.wsdMainSteps }).sorted()
            let mainName = prefix + "wsd-main"
            runs.append(PlannedRun(name: mainName, arm: "wsd", schedule: .wsdMain, seed: seed, budget: 0, serves: [], peak: p,
                                   config: main, dependsOn: nil))
            for d in plan.wsdBranches where serves.contains(d.budget) {
                runs.append(try branch(d, arm: "wsd", name: prefix + "wsd-B\(d.budget)", seed: seed, peak: p, base: base,
                                       shape: shape, main: mainName, directory: directory))
            }
        case .wsds:
            var r = base
            r.schedule = try wsdsSchedule(peak: p, convention: convention)
            r.evalAt = Array(Set(budgets + (try fineEvalSteps(r.schedule)))).sorted(); r.checkpointAt = budgets
            runs.append(PlannedRun(name: prefix + "wsds", arm: "wsds", schedule: .wsds, seed: seed, budget: lastBudget,
                                   serves: serves, peak: p, config: r, dependsOn: nil))
        case .cyclicCosine:
            runs.append(try cyclicCosine(arm: "cyclic-cosine", name: prefix + "cyclic-cosine", seed: seed, peak: p, serves: serves, base: base))
        case .cosine:
            for b in budgets where serves.contains(b) {
                var r = base
                r.schedule = spec(.cosine, steps: b, peak: p)
                r.evalAt = Array(Set([b] + (try fineEvalSteps(r.schedule)))).sorted()
                runs.append(PlannedRun(name: prefix + "cosine-B\(b)", arm: "cosine", schedule: .cosine, seed: seed, budget: b,
                                       serves: [b], peak: p, config: r, dependsOn: nil))
            }
        }
        return runs
    }

    private func cyclicCosine(arm: String, name: String, seed: UInt64, peak p: Double, serves: [Int], base: RunConfig) throws -> PlannedRun {
        var r = base
        r.schedule = spec(.cyclicCosine, steps: lastBudget, peak: p)
        r.schedule.cycles = budgets.count > 1 ? Array(budgets.dropLast()) : nil  // one budget: one cycle
        r.evalAt = Array(Set(budgets + (try fineEvalSteps(r.schedule)))).sorted(); r.checkpointAt = budgets
        return PlannedRun(name: name, arm: arm, schedule: .cyclicCosine, seed: seed, budget: lastBudget, serves: serves,
                          peak: p, config: r, dependsOn: nil)
    }

    private func branch(_ d: DecayBranch, arm: String, name: String, seed: UInt64, peak p: Double, base: RunConfig,
                        shape: DecayShape, main: String, directory: URL) throws -> PlannedRun {
        var br = base
        // The branch's fork and decay come from DecayBranch; the decay is written in whole steps (≥ 2 by
        // validate(), so Levanter's rule cannot read it as a fraction) and the warmup is shared with the
        // main run, so sweep directories written before keep their configs.
        br.schedule = spec(.wsd, steps: d.budget, peak: p)
        br.schedule.shape = shape
        br.schedule.decay = Double(d.decaySteps)
        br.evalAt = Array(Set([d.budget] + (try fineEvalSteps(br.schedule)))).sorted()
        if d.forkStep > 0 {
            br.parent = ParentRef(run: directory.appendingPathComponent(main).path, step: d.forkStep)
        }
        return PlannedRun(name: name, arm: arm, schedule: .wsd, seed: seed, budget: d.budget, serves: [d.budget], peak: p,
                          config: br, dependsOn: d.forkStep > 0 ? main : nil)
    }

    /// The folder of a peak's runs (tuned sweeps only): `peak-0.002`.
    static func peakFolder(_ p: Double) -> String { "peak-\(p)/" }

    /// Every run of a stage, in the order they are trained (a WSD main branch before its branches). An
    /// untuned sweep has only the main stage.
    public func plannedRuns(directory: URL, stage: SweepStage = .main, tuned: TunedPeaks? = nil) throws -> [PlannedRun] {
        try validate()
        if stage == .tune && !self.tuned { throw RunError("this sweep has no peak grid, so no tuning stage: give --peak-grid") }
        var runs: [PlannedRun] = []
        for seed in stage == .tune ? [seeds[0]] : seeds {
            var base = self.base
            base.seed = seed; base.dataSeed = seed; base.parent = nil
            base.checkpointEvery = 0
            let root = "seed\(seed)/"
            if stage == .tune {
                for p in peakGrid {
                    for f in ScheduleFamily.allCases where schedules.contains(f) {
                        runs += try familyRuns(f, seed: seed, peak: p, serves: budgets, prefix: root + Self.peakFolder(p), base: base,
                                               directory: directory)
                    }
                }
                continue
            }
            for f in ScheduleFamily.allCases where schedules.contains(f) {
                // Budgets grouped by their peak: one main run / whole-sweep run per distinct peak.
                var byPeak: [(Double, [Int])] = []
                for b in budgets {
                    let p = try peakFor(f, b, tuned: tuned)
                    if let i = byPeak.firstIndex(where: { $0.0 == p }) { byPeak[i].1.append(b) } else { byPeak.append((p, [b])) }
                }
                for (p, serves) in byPeak {
                    runs += try familyRuns(f, seed: seed, peak: p, serves: serves, prefix: root + (self.tuned ? Self.peakFolder(p) : ""),
                                           base: base, directory: directory)
                }
            }
            runs += try variantRuns(seed: seed, root: root, base: base, tuned: tuned, directory: directory)
        }
        return runs
    }

    /// The variants of one seed, at the peaks their family uses at the last budget.
    private func variantRuns(seed: UInt64, root: String, base: RunConfig, tuned: TunedPeaks?, directory: URL) throws -> [PlannedRun] {
        let v = variants
        var runs: [PlannedRun] = []
        let folder: (Double) -> String = { self.tuned ? root + Self.peakFolder($0) : root }
        if schedules.contains(.wsds) {
            let p = try peakFor(.wsds, lastBudget, tuned: tuned)
            func wsds(_ arm: String, _ edit: (inout RunConfig) throws -> Void) throws {
                var r = base
                r.schedule = try wsdsSchedule(peak: p, convention: convention)
                r.checkpointAt = budgets
                try edit(&r)
                r.evalAt = Array(Set(budgets + (try fineEvalSteps(r.schedule)))).sorted()
                runs.append(PlannedRun(name: folder(p) + arm, arm: arm, schedule: .wsds, seed: seed, budget: lastBudget,
                                       serves: budgets, peak: p, config: r, dependsOn: nil))
            }
            if v.wsdsOtherConvention {
                let other: DecayConvention = convention == .cumulative ? .cycle : .cumulative
                try wsds(other == .cycle ? "wsds-per-cycle" : "wsds-cumulative") { $0.schedule = try wsdsSchedule(peak: p, convention: other) }
            }
            if v.wsdsRewarmupSteps > 0 {
                try wsds("wsds-rewarmup") { $0.schedule = try wsdsSchedule(peak: p, convention: convention, rewarmup: v.wsdsRewarmupSteps) }
            }
            if v.wsdsResetOptimizer { try wsds("wsds-reset") { $0.resetOptimizerAt = Array(budgets.dropLast()) } }
            if v.cyclicCosineMatched {
                // Σ η is linear in the peak (warmup included), so one ratio matches the areas at the last budget.
                let wsdsArea = try wsdsSchedule(peak: p, convention: convention).build().cumulativeLR(upTo: lastBudget)
                let unit = try cyclicCosine(arm: "", name: "", seed: seed, peak: 1, serves: [], base: base).config.schedule
                let matched = wsdsArea / (try unit.build().cumulativeLR(upTo: lastBudget))
                runs.append(try cyclicCosine(arm: "cyclic-cosine-matched", name: root + "cyclic-cosine-matched", seed: seed,
                                             peak: matched, serves: budgets, base: base))
            }
        }
        if schedules.contains(.wsd), !v.ablationShapes.isEmpty {
            let p = try peakFor(.wsd, lastBudget, tuned: tuned)
            for sh in v.ablationShapes {
                for d in v.ablationDecays where !(sh == shape && d == decay) {
                    let arm = "wsd-\(sh.rawValue)-\(Int((d * 100).rounded()))pct"
                    runs.append(try branch(try DecayBranch(budget: lastBudget, decay: d), arm: arm, name: folder(p) + arm, seed: seed,
                                           peak: p, base: base, shape: sh, main: folder(p) + "wsd-main", directory: directory))
                }
            }
        }
        return runs
    }

    /// Optimizer steps each schedule spends to produce a checkpoint at every budget.
    public func computeSteps() throws -> [ScheduleFamily: Int] {
        let plan = try BranchPlan(budgets: budgets, decay: decay, convention: convention)
        return [.wsd: plan.wsdCompute, .wsds: budgets.last!, .cyclicCosine: budgets.last!,
                .cosine: budgets.reduce(0, +)]
    }

    /// Steps an arm spends (a family's accounting; a variant is one run to the last budget).
    func computeSteps(arm: String) throws -> Int {
        if let f = ScheduleFamily(rawValue: arm) { return try computeSteps()[f] ?? 0 }
        return lastBudget
    }

    /// A short stable identity of the spec (FNV-1a 64 of its sorted JSON): plan files carry it so a plan is
    /// never run against another sweep's directory.
    public func identity(stage: SweepStage, tuned: TunedPeaks?) throws -> String {
        let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys]
        var bytes = [UInt8](try enc.encode(self))
        bytes += Array(stage.rawValue.utf8)
        if let tuned { bytes += Array(try enc.encode(tuned)) }
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h ^= UInt64(b); h = h &* 0x100_0000_01b3 }
        return String(h, radix: 16)
    }
}
