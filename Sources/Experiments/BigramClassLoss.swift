import Bigram
import Foundation
import RiverValley

/// Claims (2) and (3) of paper §4: per-class loss over steps under WSD with decay branches.
/// The stable phase should keep lowering the deterministic-token loss while the uncertain-token excess
/// sits on a plateau; each decay branch should remove mostly the uncertain-token excess.
public enum BigramClassLossExperiment: Experiment {
    public static let name = "bigram-class-loss"
    public static let summary = "Bigram §4: per-class loss/excess, river and hill loss under WSD with decay branches (table/factorised × SGD/Adam, seeds)"

    static let branchQuantities = ["loss_before_decay", "loss_after_decay", "drop", "drop_uncertain", "drop_deterministic",
                                   "uncertain_share_of_drop", "drop_hill"]
    static let stableQuantities = ["deterministic_loss_start", "deterministic_loss_end", "deterministic_loss_ratio_end_over_start",
                                   "uncertain_excess_late_mean", "hill_loss_late_mean"]
    public static let outputs = [
        ExperimentOutput("bigram_class_loss.csv", columns: BigramSetup.runColumns,
                         values: ["config": BigramSetup.configLabels, "schedule": [RunSchedule.wsdMain.rawValue, RunSchedule.wsd.rawValue]]),
        // Per branch (schedule wsd, budget B): the change from its fork to its end; per main run (wsd-main,
        // budget = its length): the stable phase.
        ExperimentOutput("bigram_class_loss_summary.csv", columns: ["config", "schedule", "budget", "quantity", "mean", "sd", "se"],
                         values: ["config": BigramSetup.configLabels, "schedule": [RunSchedule.wsdMain.rawValue, RunSchedule.wsd.rawValue],
                                  "quantity": branchQuantities + stableQuantities]),
    ]

    public static func run(_ settings: ExperimentSettings) throws {
        let data = try BigramSetup.language(settings)
        let steps = BigramSetup.steps(settings)
        let budgets = [steps / 3, 2 * steps / 3, steps]
        let seeds = BigramSetup.seeds(settings)
        let logEvery = BigramSetup.logEvery(settings, points: 60)
        let jobs = BigramSetup.configs.flatMap { c in seeds.map { (c, $0) } }
        let results = try Parallel.map(jobs) { job in
            try BigramSetup.withObjective(job.0, data, seed: job.1) { t in
                try t.wsdRuns(hyper: OptimizerHyperparameters(algorithm: job.0.optimizer), peak: job.0.peak, steps: steps,
                              budgets: budgets, decay: BigramSetup.decayFraction, seed: job.1,
                              logEvery: logEvery, eigenEvery: logEvery * 5)
            }
        }
        var table = CSVTable(outputs[0].columns)
        // Summary per config and budget: change from the fork (end of stable phase) to the branch end.
        var summary = CSVTable(outputs[1].columns)
        for (ci, c) in BigramSetup.configs.enumerated() {
            var perBudget: [Int: [String: [Double]]] = [:]
            var stable: [String: [Double]] = [:]
            for (si, seed) in seeds.enumerated() {
                let runs = results[ci * seeds.count + si]
                for run in runs { BigramSetup.append(run, config: c.label, seed: seed, to: &table) }
                let main = runs[0].records
                for run in runs.dropFirst() {
                    let b = run.budget
                    guard let start = run.records.first?.metrics, let end = run.records.last?.metrics else { continue }
                    let drop = start.loss - end.loss
                    var q = perBudget[b] ?? [:]
                    q["loss_before_decay", default: []].append(start.loss)
                    q["loss_after_decay", default: []].append(end.loss)
                    q["drop", default: []].append(drop)
                    q["drop_uncertain", default: []].append(start.uncertainContribution - end.uncertainContribution)
                    q["drop_deterministic", default: []].append(start.deterministicContribution - end.deterministicContribution)
                    q["uncertain_share_of_drop", default: []].append((start.uncertainContribution - end.uncertainContribution) / drop)
                    q["drop_hill", default: []].append(start.hillLoss - end.hillLoss)
                    perBudget[b] = q
                }
                // Stable phase: from the first third to the end of the main run (constant LR).
                let a = main.first { $0.step >= steps / 3 }!.metrics, z = main.last!.metrics
                stable["deterministic_loss_start", default: []].append(a.deterministicLoss)
                stable["deterministic_loss_end", default: []].append(z.deterministicLoss)
                stable["deterministic_loss_ratio_end_over_start", default: []].append(z.deterministicLoss / a.deterministicLoss)
                // Uncertain excess level late in the stable phase: mean over the last third of the main run.
                let late = main.filter { $0.step >= 2 * steps / 3 }
                stable["uncertain_excess_late_mean", default: []].append(late.map(\.metrics.uncertainExcess).reduce(0, +) / Double(late.count))
                stable["hill_loss_late_mean", default: []].append(late.map(\.metrics.hillLoss).reduce(0, +) / Double(late.count))
            }
            for b in budgets { for (k, v) in perBudget[b]!.sorted(by: { $0.key < $1.key }) {
                summary.append([.t(c.label), .t(RunSchedule.wsd.rawValue), .i(b), .t(k)] + BigramSetup.statCells(v))
            } }
            for (k, v) in stable.sorted(by: { $0.key < $1.key }) {
                summary.append([.t(c.label), .t(RunSchedule.wsdMain.rawValue), .i(steps), .t(k)] + BigramSetup.statCells(v))
            }
        }
        try settings.write(table, to: outputs[0].file)
        try settings.write(summary, to: outputs[1].file)
    }
}
