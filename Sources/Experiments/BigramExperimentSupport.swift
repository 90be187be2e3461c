import Bigram
import Dispatch
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

    static func steps(_ settings: ExperimentSettings) -> Int { settings.quick ? 3000 : 12000 }
    static func seeds(_ settings: ExperimentSettings) -> [UInt64] {
        (0..<(settings.quick ? 5 : 10)).map { settings.seed &+ 1000 &+ UInt64($0) }
    }

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

    /// Runs `f` over `items` on both cores (OpenBLAS single-threaded meanwhile), keeping the order.
    static func parallelMap<X: Sendable, T: Sendable>(_ items: [X], _ f: @Sendable (X) throws -> T) throws -> [T] {
        let box = ResultBox<T>(count: items.count)
        BLAS.withSingleThread {
            DispatchQueue.concurrentPerform(iterations: items.count) { i in
                box.set(i, Result { try f(items[i]) })
            }
        }
        return try box.values()
    }

    static func meanSD(_ x: [Double]) -> (mean: Double, sd: Double) {
        let m = x.reduce(0, +) / Double(x.count)
        let v = x.count > 1 ? x.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(x.count - 1) : 0
        return (m, v.squareRoot())
    }

    /// "mean ± sd" columns: mean, sd, standard error.
    static func stats(_ x: [Double]) -> String {
        let (m, s) = meanSD(x)
        return "\(m),\(s),\(s / Double(x.count).squareRoot())"
    }

    static func recordCSV(_ r: BigramTrainingRecord) -> String {
        "\(r.step),\(r.lr),\(r.riverTime)," + r.metrics.csvFields.map { "\($0)" }.joined(separator: ",") + ",\(r.topEigenvalue)"
    }
    static let recordHeader = "step,lr,river_time,\(BigramMetrics.csvHeader),top_eigenvalue"
}

final class ResultBox<T: Sendable>: @unchecked Sendable {
    private var results: [Result<T, Error>?]
    private let lock = NSLock()
    init(count: Int) { results = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<T, Error>) { lock.lock(); results[i] = r; lock.unlock() }
    func values() throws -> [T] { try results.map { try $0!.get() } }
}

/// Type-erased access to a bigram objective + initial θ, so experiments loop over both models.
protocol BigramTraining {
    /// The WSD main run (constant LR) to `steps`, with one decay branch per budget forked at
    /// budget − decay; logs every `logEvery` steps. Returns (run name, records).
    func wsdRuns(hyper: OptimizerHyperparameters, peak: Double, steps: Int, budgets: [Int], decay: Double, seed: UInt64,
                 logEvery: Int, eigenEvery: Int) throws -> [(run: String, records: [BigramTrainingRecord])]
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
                 logEvery: Int, eigenEvery: Int) throws -> [(run: String, records: [BigramTrainingRecord])] {
        let main = try BigramTrainer(objective: objective, initial: theta, optimizer: hyper, batchSize: BigramSetup.batch, seed: seed)
        let constant = try ScheduleSpec(kind: .constant, steps: steps, peak: peak).build()
        var mainRecords: [BigramTrainingRecord] = []
        var out: [(String, [BigramTrainingRecord])] = []
        for b in budgets.sorted() {
            let branchSchedule = try ScheduleSpec(kind: .wsd, steps: b, peak: peak, decay: decay, shape: .inv, minRatio: 0.1).build()
            let fork = branchSchedule.decayWindows.first?.lowerBound ?? b
            try main.run(schedule: constant, until: fork, logEvery: logEvery, eigenEvery: eigenEvery) { mainRecords.append($0) }
            let branch = main.fork()
            var br: [BigramTrainingRecord] = []
            try branch.run(schedule: branchSchedule, until: b, logEvery: max(1, logEvery / 4), eigenEvery: eigenEvery) { br.append($0) }
            out.append(("branch_\(b)", br))
        }
        try main.run(schedule: constant, until: steps, logEvery: logEvery, eigenEvery: eigenEvery) { mainRecords.append($0) }
        var seen = Set<Int>()
        mainRecords = mainRecords.filter { seen.insert($0.step).inserted }  // segment ends repeat at the next start
        return [("main", mainRecords)] + out
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
