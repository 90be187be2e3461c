import Bigram
import Foundation
import RiverValley

/// Claim (2), second half: at constant LR the uncertain-token (hill) excess sits at a level ∝ η.
/// Table model, SGD, several η: the late-run hill loss against the exact stationary prediction
/// Σ ηλ/(2B(2−ηλ)) and its small-η form η·TrΣ/(4B) (Σ = Hessian of the uncertain blocks at the optimum).
public enum BigramEtaScalingExperiment: Experiment {
    public static let name = "bigram-eta-scaling"
    public static let summary = "Bigram §4: stationary uncertain-token (hill) excess vs constant LR η, SGD simulation vs η·TrΣ/4B"

    static let starts = ["zeros", "optimum"]
    public static let outputs = [
        ExperimentOutput("bigram_eta_scaling.csv",
                         columns: ["start", "eta", "hill_mean", "hill_sd", "hill_se", "uncertain_contribution_mean",
                                   "uncertain_contribution_sd", "uncertain_contribution_se", "predicted_exact", "predicted_linear"],
                         values: ["start": starts]),
        ExperimentOutput("bigram_eta_scaling_fit.csv", columns: ["start", "quantity", "value"],
                         values: ["start": starts, "quantity": ["loglog_slope_hill_vs_eta"]]),
    ]

    public static func run(_ settings: ExperimentSettings) throws {
        let data = try BigramSetup.language(settings)
        let steps = BigramSetup.analysisSteps(settings)
        let seeds = BigramSetup.seeds(settings)
        let etas = [5.0, 10.0, 20.0, 40.0]
        let model = try TableBigram(vocabularySize: data.vocabularySize)
        let obj = try BigramObjective(model: model, data: data)
        // Two starts: zeros (the usual run) and the optimum log P (clamped at 1e-8), which removes the
        // slow transient of tiny-probability directions and isolates the stationary level.
        let optimum = data.transitions.data.map { log(max($0, 1e-8)) }
        let starts = [(Self.starts[0], model.zeros()), (Self.starts[1], optimum)]
        let jobs = starts.flatMap { s in etas.flatMap { eta in seeds.map { (eta, $0, s.1) } } }
        let results = try Parallel.map(jobs) { job -> (hill: Double, unc: Double) in
            let t = try BigramTrainer(objective: obj, initial: job.2, optimizer: OptimizerHyperparameters(algorithm: .sgd),
                                      batchSize: BigramSetup.batch, seed: job.1)
            var late: [BigramMetrics] = []
            try t.run(schedule: try ScheduleSpec(kind: .constant, steps: steps, peak: job.0).build(), until: steps,
                      logEvery: 10) { r in if r.step >= steps / 2 { late.append(r.metrics) } }
            return (late.map(\.hillLoss).reduce(0, +) / Double(late.count),
                    late.map(\.uncertainContribution).reduce(0, +) / Double(late.count))
        }
        var csv = CSVTable(outputs[0].columns)
        var fit = CSVTable(outputs[1].columns)
        for (si, start) in starts.enumerated() {
        var logs: [(Double, Double)] = []
        for (k, eta) in etas.enumerated() {
            let base = (si * etas.count + k) * seeds.count
            let r = results[base..<(base + seeds.count)]
            let p = try obj.uncertainExcessPrediction(lr: eta, batchSize: BigramSetup.batch)
            csv.append([.t(start.0), .n(eta)] + BigramSetup.statCells(r.map(\.hill)) + BigramSetup.statCells(r.map(\.unc)) + [.n(p.exact), .n(p.linear)])
            logs.append((log(eta), log(BigramSetup.meanSD(r.map(\.hill)).mean)))
        }
        // Least-squares slope of log(hill) on log(η): 1 means the level is ∝ η.
        let mx = logs.map(\.0).reduce(0, +) / Double(logs.count), my = logs.map(\.1).reduce(0, +) / Double(logs.count)
        let slope = logs.reduce(0) { $0 + ($1.0 - mx) * ($1.1 - my) } / logs.reduce(0) { $0 + ($1.0 - mx) * ($1.0 - mx) }
        fit.append([.t(start.0), .t("loglog_slope_hill_vs_eta"), .n(slope)])
        }
        try settings.write(csv, to: outputs[0].file)
        try settings.write(fit, to: outputs[1].file)
    }
}
