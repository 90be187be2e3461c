import Bigram
import Foundation
import RiverValley

/// Shared set-up of the bigram experiments (paper §4): one synthetic language, four training
/// configurations (table/factorised × SGD/Adam), WSD main runs with decay branches, seeds in parallel.
enum BigramSetup {
    static let vocabulary = 64
    static let mix = "deterministic:0.5,uniform-4:0.25,dirichlet-2:0.25"
    static let batch = 32
    static let width = 16
    static let decayFraction = 0.2

    static func language(_ settings: ExperimentSettings) throws -> BigramDistribution {
        try SyntheticBigramSpec(vocabularySize: vocabulary, mix: SyntheticBigramSpec.parseMix(mix),
                                frequencies: .uniform, seed: settings.seed).generate()
    }

    /// Steps of the WSD runs; the budgets are steps/3, 2·steps/3, steps (the layout: the smoke scale keeps it).
    static func steps(_ settings: ExperimentSettings) -> Int { settings.quick ? 3000 : 12000 }
    /// Steps of the experiments whose layout does not depend on them (η scaling, spectrum, curvature).
    static func analysisSteps(_ settings: ExperimentSettings) -> Int { settings.smoke ? 300 : steps(settings) }
    static func seeds(_ settings: ExperimentSettings) -> [UInt64] {
        (0..<(settings.smoke ? 1 : settings.quick ? 5 : 10)).map { settings.seed &+ 1000 &+ UInt64($0) }
    }
    /// Log every steps/n steps; at smoke scale about 20 points per run.
    static func logEvery(_ settings: ExperimentSettings, points n: Int) -> Int {
        steps(settings) / (settings.smoke ? min(n, 20) : n)
    }
    static let configLabels = configs.map(\.label)

    /// A training configuration: model, optimizer and its peak LR (SGD peaks keep η·λ_max < 2).
    struct Config: Sendable {
        var model: String
        var optimizer: OptimizerAlgorithm
        var peak: Double
        var label: String { "\(model)-\(optimizer.rawValue)" }
    }

    static let configs = [Config(model: "table", optimizer: .sgd, peak: 20), Config(model: "table", optimizer: .adam, peak: 0.05),
                          Config(model: "factorized", optimizer: .sgd, peak: 5), Config(model: "factorized", optimizer: .adam, peak: 0.02)]

    /// Calls `body` with the configuration's objective and initial θ (table: zeros; factorised: seeded).
    static func withObjective<T>(_ c: Config, _ data: BigramDistribution, seed: UInt64,
                                 _ body: (any BigramTraining) throws -> T) throws -> T {
        if c.model == "table" {
            let m = try TableBigram(vocabularySize: data.vocabularySize)
            return try body(Training(objective: BigramObjective(model: m, data: data), theta: m.zeros()))
        }
        let m = try FactorizedBigram(vocabularySize: data.vocabularySize, width: width)
        return try body(Training(objective: BigramObjective(model: m, data: data), theta: m.randomParameters(seed: seed)))
    }

    static func meanSD(_ x: [Double]) -> (mean: Double, sd: Double) {
        let m = x.reduce(0, +) / Double(x.count)
        let v = x.count > 1 ? x.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(x.count - 1) : 0
        return (m, v.squareRoot())
    }

    /// "mean ± sd" cells: mean, sd (n − 1; 0 for one value), standard error.
    static func statCells(_ x: [Double]) -> [CSVTable.Cell] {
        let (m, s) = meanSD(x)
        return [.n(m), .n(s), .n(s / Double(x.count).squareRoot())]
    }

    /// The columns of one training record, and its cells.
    static let recordColumns = ["step", "lr", "river_time"] + BigramMetrics.csvHeader.split(separator: ",").map(String.init) + ["top_eigenvalue"]
    static func recordCells(_ r: BigramTrainingRecord) -> [CSVTable.Cell] {
        [.i(r.step), .n(r.lr), .n(r.riverTime)] + r.metrics.csvFields.map { .n($0) } + [.n(r.topEigenvalue)]
    }
    /// A table of runs: config, schedule (a ``RunSchedule`` value), budget (the branch's budget, or the run's
    /// length), seed, then the record columns.
    static let runColumns = ["config", "schedule", "budget", "seed"] + recordColumns
    static func append(_ run: BigramRun, config: String, seed: UInt64, to table: inout CSVTable) {
        for r in run.records {
            table.append([.t(config), .t(run.schedule.rawValue), .i(run.budget), .t(String(seed))] + recordCells(r))
        }
    }
}

/// One bigram training run: its schedule within the family (wsd-main, wsd branch, cosine, …), the budget
/// it serves (its length, or the branch's budget) and its logged records.
struct BigramRun: Sendable {
    var schedule: RunSchedule
    var budget: Int
    var records: [BigramTrainingRecord]
}

/// Type-erased access to a bigram objective + initial θ, so experiments loop over both models.
protocol BigramTraining {
    /// The WSD main run (constant LR) to `steps`, with one decay branch per budget forked at
    /// budget − decay (``DecayBranch``); logs every `logEvery` steps. Returns the main run, then the branches.
    func wsdRuns(hyper: OptimizerHyperparameters, peak: Double, steps: Int, budgets: [Int], decay: Double, seed: UInt64,
                 logEvery: Int, eigenEvery: Int) throws -> [BigramRun]
    /// One run under one schedule.
    func run(hyper: OptimizerHyperparameters, schedule: Schedule, seed: UInt64, logEvery: Int,
             eigenEvery: Int) throws -> [BigramTrainingRecord]
    /// Trains under `schedule`, then calls `analyze` on the final point.
    func trainAndAnalyze(hyper: OptimizerHyperparameters, schedule: Schedule, seed: UInt64) throws -> BigramAnalysis
    var parameterCount: Int { get }
}

struct Training<M: BigramModel>: BigramTraining {
    let objective: BigramObjective<M>
    let theta: [Double]
    var parameterCount: Int { objective.dimension }

    func wsdRuns(hyper: OptimizerHyperparameters, peak: Double, steps: Int, budgets: [Int], decay: Double, seed: UInt64,
                 logEvery: Int, eigenEvery: Int) throws -> [BigramRun] {
        let main = try BigramTrainer(objective: objective, initial: theta, optimizer: hyper, batchSize: BigramSetup.batch, seed: seed)
        let constant = try ScheduleSpec(kind: .constant, steps: steps, peak: peak).build()
        var mainRecords: [BigramTrainingRecord] = []
        var out: [BigramRun] = []
        for b in budgets.sorted() {
            let decayBranch = try DecayBranch(budget: b, decay: decay)
            let branchSchedule = try decayBranch.schedule(continuing: constant.spec, shape: .inv, minRatio: 0.1).build()
            let fork = decayBranch.forkStep
            try main.run(schedule: constant, until: fork, logEvery: logEvery, eigenEvery: eigenEvery) { mainRecords.append($0) }
            let branch = main.fork()
            var br: [BigramTrainingRecord] = []
            try branch.run(schedule: branchSchedule, until: b, logEvery: max(1, logEvery / 4), eigenEvery: eigenEvery) { br.append($0) }
            out.append(BigramRun(schedule: .wsd, budget: b, records: br))
        }
        try main.run(schedule: constant, until: steps, logEvery: logEvery, eigenEvery: eigenEvery) { mainRecords.append($0) }
        var seen = Set<Int>()
        mainRecords = mainRecords.filter { seen.insert($0.step).inserted }  // segment ends repeat at the next start
        return [BigramRun(schedule: .wsdMain, budget: steps, records: mainRecords)] + out
    }

    func run(hyper: OptimizerHyperparameters, schedule: Schedule, seed: UInt64, logEvery: Int,
             eigenEvery: Int) throws -> [BigramTrainingRecord] {
        let t = try BigramTrainer(objective: objective, initial: theta, optimizer: hyper, batchSize: BigramSetup.batch, seed: seed)
        var r: [BigramTrainingRecord] = []
        try t.run(schedule: schedule, until: schedule.steps, logEvery: logEvery, eigenEvery: eigenEvery) { r.append($0) }
        return r
    }

    func trainAndAnalyze(hyper: OptimizerHyperparameters, schedule: Schedule, seed: UInt64) throws -> BigramAnalysis {
        let t = try BigramTrainer(objective: objective, initial: theta, optimizer: hyper, batchSize: BigramSetup.batch, seed: seed)
        try t.run(schedule: schedule, until: schedule.steps, logEvery: 0)
        return try BigramAnalysis.analyze(objective, at: t.theta, evaluation: objective.evaluate(t.theta))
    }
}
