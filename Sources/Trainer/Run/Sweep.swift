import Foundation
import RiverValley

/// The paper's budget comparison at small scale (paper-notes/paper.md §1.4, §4): for budgets B₁ < B₂ < …, train
///
/// - `wsd`: one constant-LR main branch to the last fork step with checkpoints at every fork, and one
///   decay branch per budget forking at Bᵢ − Dᵢ (``DecayBranch``: Dᵢ = ⌊decay·Bᵢ⌋);
/// - `wsds`: one WSD-S run with cycle ends at the budgets (decay per cycle or cumulative; one budget is one
///   cycle);
/// - `cyclic-cosine`: one run, a cosine per cycle [Bᵢ₋₁, Bᵢ];
/// - `cosine`: a separate cosine run per budget;
///
/// at equal peak LR and warmup, for each seed, and collect the validation loss at every budget and the
/// optimizer steps each schedule spent. Every run is a run directory under `directory/seed<S>/`; rerunning
/// skips finished runs and resumes unfinished ones.
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

    public init(base: RunConfig, budgets: [Int], seeds: [UInt64], schedules: [ScheduleFamily] = ScheduleFamily.allCases,
                decay: Double = 0.1, convention: DecayConvention = .cumulative, shape: DecayShape = .inv,
                minRatio: Double = 0.1, peak: Double? = nil, warmupSteps: Int = 0) {
        self.base = base; self.budgets = budgets; self.seeds = seeds; self.schedules = schedules
        self.decay = decay; self.convention = convention; self.shape = shape; self.minRatio = minRatio
        self.peak = peak ?? base.schedule.peak; self.warmupSteps = warmupSteps
    }

    public func validate() throws {
        _ = try BranchPlan(budgets: budgets, decay: decay, convention: convention)
        guard !seeds.isEmpty else { throw RunError.config("sweep needs at least one seed") }
        guard !schedules.isEmpty else {
            throw RunError.config("sweep needs at least one schedule (allowed: \(ScheduleFamily.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard warmupSteps == 0 || warmupSteps >= 2 else {
            throw RunError.config("warmupSteps must be 0 or at least 2 (whole steps), got \(warmupSteps)")
        }
        guard warmupSteps < budgets[0] else {
            throw RunError.config("warmupSteps \(warmupSteps) must be shorter than the first budget \(budgets[0])")
        }
        let plan = try BranchPlan(budgets: budgets, decay: decay, convention: convention)
        if let bad = plan.wsdBranches.first(where: { $0.decaySteps < 2 }) {
            throw RunError.config("the WSD decay for budget \(bad.budget) is \(bad.decaySteps) step(s); make budgets or decay larger (at least 2 steps)")
        }
    }

    /// One planned run: its path under the sweep directory, role in its family, budget (0 for shared runs).
    public struct PlannedRun: Sendable {
        public var name: String
        public var schedule: RunSchedule
        public var seed: UInt64
        public var budget: Int
        public var config: RunConfig
    }

    /// Every run, in the order they are trained (a WSD main branch before its branches).
    public func plannedRuns(directory: URL) throws -> [PlannedRun] {
        try validate()
        let plan = try BranchPlan(budgets: budgets, decay: decay, convention: convention)
        let W = Double(warmupSteps)
        let maxB = budgets.last!
        var runs: [PlannedRun] = []
        for seed in seeds {
            var base = self.base
            base.seed = seed; base.dataSeed = seed; base.parent = nil
            base.checkpointEvery = 0
            let prefix = "seed\(seed)/"
            func spec(_ kind: ScheduleKind, steps: Int) -> ScheduleSpec {
                ScheduleSpec(kind: kind, steps: steps, peak: peak, warmup: W, shape: shape, minRatio: minRatio)
            }
            if schedules.contains(.wsd) {
                var main = base
                main.schedule = spec(.constant, steps: plan.wsdMainSteps)
                main.checkpointAt = plan.wsdBranches.map(\.forkStep).filter { $0 > 0 }
                main.evalAt = (main.checkpointAt + budgets).filter { $0 <= plan.wsdMainSteps }
                runs.append(PlannedRun(name: prefix + "wsd-main", schedule: .wsdMain, seed: seed, budget: 0, config: main))
                for d in plan.wsdBranches {
                    var br = base
                    // The branch's fork and decay come from DecayBranch; the decay is written in whole steps
                    // (≥ 2 by validate(), so Levanter's rule cannot read it as a fraction) and the warmup W is
                    // shared with the main run, so sweep directories written before keep their configs.
                    br.schedule = spec(.wsd, steps: d.budget)
                    br.schedule.decay = Double(d.decaySteps)
                    br.evalAt = [d.budget]
                    if d.forkStep > 0 {
                        br.parent = ParentRef(run: directory.appendingPathComponent(prefix + "wsd-main").path, step: d.forkStep)
                    }
                    runs.append(PlannedRun(name: prefix + "wsd-B\(d.budget)", schedule: .wsd, seed: seed, budget: d.budget, config: br))
                }
            }
            if schedules.contains(.wsds) {
                var r = base
                r.schedule = plan.wsdsSpec(peak: peak, warmup: W, shape: shape, minRatio: minRatio, decay: decay,
                                           convention: convention)
                r.evalAt = budgets; r.checkpointAt = budgets
                runs.append(PlannedRun(name: prefix + "wsds", schedule: .wsds, seed: seed, budget: maxB, config: r))
            }
            if schedules.contains(.cyclicCosine) {
                var r = base
                r.schedule = spec(.cyclicCosine, steps: maxB)
                r.schedule.cycles = budgets.count > 1 ? Array(budgets.dropLast()) : nil  // one budget: one cycle
                r.evalAt = budgets; r.checkpointAt = budgets
                runs.append(PlannedRun(name: prefix + "cyclic-cosine", schedule: .cyclicCosine, seed: seed, budget: maxB, config: r))
            }
            if schedules.contains(.cosine) {
                for b in budgets {
                    var r = base
                    r.schedule = spec(.cosine, steps: b)
                    r.evalAt = [b]
                    runs.append(PlannedRun(name: prefix + "cosine-B\(b)", schedule: .cosine, seed: seed, budget: b, config: r))
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
}

/// Runs a ``SweepSpec`` in a directory and tabulates the results.
public struct Sweep {
    public let directory: URL
    public let spec: SweepSpec

    public init(directory: URL, spec: SweepSpec) {
        self.directory = directory; self.spec = spec
    }

    /// Creates the directory (saving sweep.json) or checks an existing one was made by the same spec.
    public func prepare() throws {
        try spec.validate()
        // Every run's config (peak, floor, …) is checked before the directory is made: a bad value fails
        // with nothing written.
        for r in try spec.plannedRuns(directory: directory) {
            do { try r.config.validate() } catch { throw RunError("\(r.name): \(error)") }
        }
        let url = directory.appendingPathComponent("sweep.json")
        let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try enc.encode(spec)
        if let old = try? Data(contentsOf: url) {
            let previous = try JSONDecoder().decode(SweepSpec.self, from: old)
            guard previous == spec else {
                throw RunError("\(directory.path) holds a sweep with different settings (sweep.json); use another --out or the same settings to resume it")
            }
            return
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try AtomicFile.write(data, to: url)
    }

    /// Trains every planned run that is not finished. `progress` gives a progress reporter per run name.
    public func run(log: (String) -> Void = { _ in }, progress: (String) -> TrainingProgress? = { _ in nil }) throws {
        try prepare()
        for r in try spec.plannedRuns(directory: directory) {
            let dir = directory.appendingPathComponent(r.name)
            let training: TrainingRun
            if FileManager.default.fileExists(atPath: dir.appendingPathComponent("config.json").path) {
                training = try TrainingRun.open(at: dir)
                guard training.config == r.config else {
                    throw RunError("\(dir.path) holds a run with a different config than the sweep plans")
                }
                if training.checkpointSteps().contains(r.config.steps) { log("\(r.name): done"); continue }
                log("\(r.name): resuming")
            } else {
                try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
                training = try TrainingRun.create(at: dir, config: r.config)
                log("\(r.name): \(r.config.schedule.kind.rawValue), \(r.config.steps) steps")
            }
            try training.train(progress: progress(r.name))
        }
        try writeTables()
    }

    /// One result row: validation loss of `schedule` at `budget` for `seed`.
    public struct Result: Sendable {
        public var schedule: ScheduleFamily
        public var seed: UInt64
        public var budget: Int
        public var valLoss: Double
    }

    public func results() throws -> [Result] {
        var out: [Result] = []
        for r in try spec.plannedRuns(directory: directory) where r.schedule != .wsdMain {
            let metrics = try MetricsRecord.read(directory.appendingPathComponent(r.name).appendingPathComponent("metrics.jsonl"))
            let budgets = r.schedule == .wsd || r.schedule == .cosine ? [r.budget] : spec.budgets
            for b in budgets {
                if let v = metrics.first(where: { $0.step == b })?.valLoss {
                    out.append(Result(schedule: r.schedule.family, seed: r.seed, budget: b, valLoss: v))
                }
            }
        }
        return out
    }

    /// The columns of results.csv, summary.csv and curves.csv (docs/trainer-format.md).
    public static let resultColumns = ["schedule", "seed", "budget", "val_loss"]
    public static let summaryColumns = ["schedule", "budget", "val_loss_mean", "val_loss_std", "seeds", "compute_steps", "compute_tokens"]
    public static let curveColumns = ["run", "schedule", "seed", "budget", "step", "lr", "loss", "val_loss"]

    /// Writes results.csv (one row per schedule, seed, budget), summary.csv (mean ± std over seeds with
    /// compute) and curves.csv (every metrics line of every run; val_loss empty where not evaluated).
    public func writeTables() throws {
        let results = try self.results()
        var csv = CSVTable(Self.resultColumns)
        for r in results { csv.append([.t(r.schedule.rawValue), .t(String(r.seed)), .i(r.budget), .n(r.valLoss)]) }
        try csv.write(to: directory.appendingPathComponent("results.csv"))

        let compute = try spec.computeSteps()
        let tokensPerStep = spec.base.tokensPerStep
        var sum = CSVTable(Self.summaryColumns)
        for s in ScheduleFamily.allCases where spec.schedules.contains(s) {
            for b in spec.budgets {
                let v = results.filter { $0.schedule == s && $0.budget == b }.map(\.valLoss)
                guard !v.isEmpty else { continue }
                let c = compute[s] ?? 0
                sum.append([.t(s.rawValue), .i(b), .n(Statistics.mean(v)), .n(Statistics.standardDeviation(v)), .i(v.count),
                            .i(c), .i(c * tokensPerStep)])
            }
        }
        try sum.write(to: directory.appendingPathComponent("summary.csv"))

        var curves = CSVTable(Self.curveColumns)
        for r in try spec.plannedRuns(directory: directory) {
            let metrics = try MetricsRecord.read(directory.appendingPathComponent(r.name).appendingPathComponent("metrics.jsonl"))
            for m in metrics {
                curves.append([.t(r.name), .t(r.schedule.rawValue), .t(String(r.seed)), .i(r.budget), .i(m.step), .n(m.lr), .n(m.loss), .n(m.valLoss)])
            }
        }
        try curves.write(to: directory.appendingPathComponent("curves.csv"))
    }
}
