import Foundation
import RiverValley
import Trainer

/// The trainer's budget sweep shared by the three trainer experiments (run once, resumable; paper-notes/paper.md §4):
/// WSD (constant main + `inv` decay branches), WSD-S (cumulative 10% decays), cyclic cosine and a cosine
/// per budget, at equal peak LR, on the Shakespeare plays (scripts/fetch_corpora.sh).
///
/// Quick: a 0.13M-parameter byte model (width 64, 2 layers, context 64, batch 16), budgets 100/200/400,
/// seeds 0 and 1 (≈ 2 minutes on 2 cores). Full: the default 1.9M model (context 256, batch 16), budgets
/// 500/1000/2000, seeds 0, 1, 2. Smoke: the same budgets with a 3k-parameter model (width 16, one layer,
/// context 16, batch 4) and one seed.
enum TrainerSweep {
    static func spec(quick: Bool, smoke: Bool = false, seed: UInt64) -> SweepSpec {
        var base = RunConfig()
        if smoke {
            base.model = TransformerConfig(vocabSize: 256, contextLength: 16, width: 16, layers: 1, heads: 2)
            base.batchSize = 4
            base.evalEvery = quick ? 20 : 100
            base.evalWindows = 4
            return SweepSpec(base: base, budgets: quick ? [100, 200, 400] : [500, 1000, 2000], seeds: [seed], decay: 0.1,
                             convention: .cumulative, shape: .inv, minRatio: 0.1, peak: 4e-3, warmupSteps: quick ? 20 : 50)
        }
        if quick {
            base.model = TransformerConfig(vocabSize: 256, contextLength: 64, width: 64, layers: 2, heads: 4)
            base.evalEvery = 20
            base.evalWindows = 128
            return SweepSpec(base: base, budgets: [100, 200, 400], seeds: [seed, seed + 1], decay: 0.1,
                             convention: .cumulative, shape: .inv, minRatio: 0.1, peak: 4e-3, warmupSteps: 20)
        }
        base.model = .default
        base.evalEvery = 100
        base.evalWindows = 64
        return SweepSpec(base: base, budgets: [500, 1000, 2000], seeds: [seed, seed + 1, seed + 2], decay: 0.1,
                         convention: .cumulative, shape: .inv, minRatio: 0.1, peak: 2e-3, warmupSteps: 50)
    }

    /// Runs (or resumes) the sweep under `OUT/trainer-sweep-{quick,full}-seed<S>` and returns it.
    static func ensure(_ settings: ExperimentSettings) throws -> Sweep {
        // The three trainer experiments share one sweep: it lives next to their folders (OUT/trainer-sweep-*).
        let dir = settings.outputDirectory.deletingLastPathComponent()
            .appendingPathComponent("trainer-sweep-" + settings.mode + "-seed\(settings.seed)")
        let sweep = Sweep(directory: dir, spec: spec(quick: settings.quick, smoke: settings.smoke, seed: settings.seed))
        try sweep.run(log: { FileHandle.standardError.write(Data("trainer sweep: \($0)\n".utf8)) })
        return sweep
    }

    /// The files' columns (the sweep's tables, docs/trainer-format.md) and their `schedule` values.
    static let curveColumns = ["run", "schedule", "seed", "budget", "step", "lr", "loss", "val_loss"]
    static func curves(_ file: String, _ schedules: [RunSchedule]) -> ExperimentOutput {
        ExperimentOutput(file, columns: curveColumns, values: ["schedule": schedules.map(\.rawValue)])
    }

    /// curves.csv rows of the given schedules, rewritten as `url`.
    static func writeCurves(_ sweep: Sweep, schedules: [RunSchedule], to url: URL) throws {
        let schedules = Set(schedules.map(\.rawValue))
        let text = try String(contentsOf: sweep.directory.appendingPathComponent("curves.csv"), encoding: .utf8)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        let header = lines.removeFirst()
        let kept = lines.filter { line in
            let cols = line.split(separator: ",", omittingEmptySubsequences: false)
            return cols.count > 1 && schedules.contains(String(cols[1]))
        }
        try AtomicFile.write(([header] + kept).joined(separator: "\n") + "\n", to: url)
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
        try TrainerSweep.writeCurves(sweep, schedules: [.wsdMain, .wsd, .cosine], to: try settings.file(outputs[0].file))
    }
}

/// WSD-S vs WSD vs cyclic cosine per budget, with their LR schedules.
struct TrainerSchedulesExperiment: Experiment {
    static let name = "trainer-schedules"
    static let summary = "Transformer on Shakespeare: WSD-S vs WSD vs cyclic cosine, loss and LR per step"
    static let outputs = [TrainerSweep.curves("trainer-schedules.csv", [.wsds, .wsdMain, .wsd, .cyclicCosine])]
    static func run(_ settings: ExperimentSettings) throws {
        let sweep = try TrainerSweep.ensure(settings)
        try TrainerSweep.writeCurves(sweep, schedules: [.wsds, .wsdMain, .wsd, .cyclicCosine], to: try settings.file(outputs[0].file))
    }
}

/// Final validation loss per budget and schedule (mean ± std over seeds) with the compute each spent.
struct TrainerBudgetTableExperiment: Experiment {
    static let name = "trainer-budget-table"
    static let summary = "Transformer on Shakespeare: validation loss per budget (mean ± std) and compute per schedule"
    static let families = ScheduleFamily.allCases.map(\.rawValue)
    static let outputs = [
        ExperimentOutput("trainer-budget-table.csv", columns: Sweep.summaryColumns, values: ["schedule": families]),
        ExperimentOutput("trainer-budget-results.csv", columns: Sweep.resultColumns, values: ["schedule": families]),
    ]
    static func run(_ settings: ExperimentSettings) throws {
        let sweep = try TrainerSweep.ensure(settings)
        try AtomicFile.write(try Data(contentsOf: sweep.directory.appendingPathComponent("summary.csv")),
                             to: try settings.file(outputs[0].file))
        try AtomicFile.write(try Data(contentsOf: sweep.directory.appendingPathComponent("results.csv")),
                             to: try settings.file(outputs[1].file))
    }
}
