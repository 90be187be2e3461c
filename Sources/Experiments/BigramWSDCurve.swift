import Bigram
import Foundation
import RiverValley

/// Claim (1) of paper §4 (reviewed Fig. 7): the bigram model reproduces WSD's non-traditional loss
/// curve — an elevated plateau at constant LR and a sharp drop at each decay — next to cosine, WSD-S and
/// cyclic cosine with the same peak and budgets.
public enum BigramWSDCurveExperiment: Experiment {
    public static let name = "bigram-wsd-curve"
    public static let summary = "Bigram §4: total loss under constant/WSD branches/cosine/WSD-S/cyclic cosine, seeds (reviewed Fig. 7)"

    static let configs = [BigramSetup.configs[0], BigramSetup.configs[3]]  // table-SGD, factorised-Adam
    static let quantities = ["final_loss", "loss_minus_cosine_at_fork", "drop_at_decay"]
    public static let outputs = [
        ExperimentOutput("bigram_wsd_curve.csv", columns: BigramSetup.runColumns,
                         values: ["config": configs.map(\.label), "schedule": RunSchedule.allCases.map(\.rawValue)]),
        ExperimentOutput("bigram_wsd_curve_summary.csv", columns: ["config", "schedule", "budget", "quantity", "mean", "sd", "se"],
                         values: ["config": configs.map(\.label), "schedule": RunSchedule.allCases.map(\.rawValue),
                                  "quantity": quantities]),
    ]

    public static func run(_ settings: ExperimentSettings) throws {
        let data = try BigramSetup.language(settings)
        let steps = BigramSetup.steps(settings)
        let budgets = [steps / 3, 2 * steps / 3, steps]
        let seeds = BigramSetup.seeds(settings)
        let logEvery = BigramSetup.logEvery(settings, points: 100)
        let jobs = configs.flatMap { c in seeds.map { (c, $0) } }
        let results = try Parallel.map(jobs) { job -> [BigramRun] in
            let (c, seed) = job
            let hyper = OptimizerHyperparameters(algorithm: c.optimizer)
            return try BigramSetup.withObjective(c, data, seed: seed) { t in
                var runs = try t.wsdRuns(hyper: hyper, peak: c.peak, steps: steps, budgets: budgets,
                                         decay: BigramSetup.decayFraction, seed: seed, logEvery: logEvery, eigenEvery: 0)
                let specs: [(RunSchedule, ScheduleSpec)] = [
                    (.cosine, ScheduleSpec(kind: .cosine, steps: steps, peak: c.peak)),
                    (.wsds, ScheduleSpec(kind: .wsds, steps: steps, peak: c.peak, decay: BigramSetup.decayFraction, shape: .inv,
                                         cycles: Array(budgets.dropLast()))),
                    (.cyclicCosine, ScheduleSpec(kind: .cyclicCosine, steps: steps, peak: c.peak, cycles: Array(budgets.dropLast()))),
                ]
                for (schedule, spec) in specs {
                    runs.append(BigramRun(schedule: schedule, budget: steps,
                                          records: try t.run(hyper: hyper, schedule: spec.build(), seed: seed, logEvery: logEvery, eigenEvery: 0)))
                }
                return runs
            }
        }
        var table = CSVTable(outputs[0].columns)
        var summary = CSVTable(outputs[1].columns)
        for (ci, c) in configs.enumerated() {
            var at: [String: [Double]] = [:]
            func add(_ s: RunSchedule, _ b: Int, _ q: String, _ v: Double) { at["\(s.rawValue)|\(b)|\(q)", default: []].append(v) }
            for (si, seed) in seeds.enumerated() {
                let runs = results[ci * seeds.count + si]
                for run in runs { BigramSetup.append(run, config: c.label, seed: seed, to: &table) }
                /// The loss of the run (schedule, budget) at its last record ≤ step.
                func loss(_ s: RunSchedule, _ budget: Int, _ step: Int) -> Double {
                    runs.first { $0.schedule == s && $0.budget == budget }!.records.last { $0.step <= step }!.metrics.loss
                }
                for b in budgets {
                    add(.wsd, b, "final_loss", loss(.wsd, b, b))
                    add(.wsdMain, b, "final_loss", loss(.wsdMain, steps, b))
                    add(.wsds, b, "final_loss", loss(.wsds, steps, b))
                    add(.cyclicCosine, b, "final_loss", loss(.cyclicCosine, steps, b))
                    let fork = try DecayBranch(budget: b, decay: BigramSetup.decayFraction).forkStep
                    // Plateau elevation: constant-LR loss minus cosine loss at the fork step (cosine's LR is lower there).
                    add(.wsdMain, b, "loss_minus_cosine_at_fork", loss(.wsdMain, steps, fork) - loss(.cosine, steps, fork))
                    add(.wsd, b, "drop_at_decay", loss(.wsdMain, steps, fork) - loss(.wsd, b, b))
                }
                add(.cosine, steps, "final_loss", loss(.cosine, steps, steps))
            }
            for (k, v) in at.sorted(by: { $0.key < $1.key }) {
                let parts = k.split(separator: "|").map(String.init)
                summary.append([.t(c.label), .t(parts[0]), .i(Int(parts[1])!), .t(parts[2])] + BigramSetup.statCells(v))
            }
        }
        try settings.write(table, to: outputs[0].file)
        try settings.write(summary, to: outputs[1].file)
    }
}
