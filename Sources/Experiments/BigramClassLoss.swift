import Bigram
import Foundation
import RiverValley

/// Claims (2) and (3) of paper §4: per-class loss over steps under WSD with decay branches.
/// The stable phase should keep lowering the deterministic-token loss while the uncertain-token excess
/// sits on a plateau; each decay branch should remove mostly the uncertain-token excess.
public enum BigramClassLossExperiment: Experiment {
    public static let name = "bigram-class-loss"
    public static let summary = "Bigram §4: per-class loss/excess, river and hill loss under WSD with decay branches (table/factorised × SGD/Adam, seeds)"

    public static func run(_ settings: ExperimentSettings) throws {
        let data = try BigramSetup.language(settings)
        let steps = BigramSetup.steps(settings)
        let budgets = [steps / 3, 2 * steps / 3, steps]
        let seeds = BigramSetup.seeds(settings)
        let logEvery = steps / 60
        let jobs = BigramSetup.configs.flatMap { c in seeds.map { (c, $0) } }
        let results = try BigramSetup.parallelMap(jobs) { job in
            try BigramSetup.withObjective(job.0, data, seed: job.1) { t in
                try t.wsdRuns(hyper: OptimizerHyperparameters(algorithm: job.0.optimizer), peak: job.0.peak, steps: steps,
                              budgets: budgets, decay: BigramSetup.decayFraction, seed: job.1,
                              logEvery: logEvery, eigenEvery: logEvery * 5)
            }
        }
        var csv = "config,run,seed,\(BigramSetup.recordHeader)\n"
        // Summary per config and budget: change from the fork (end of stable phase) to the branch end.
        var summary = "config,budget,quantity,mean,sd,se\n"
        for (ci, c) in BigramSetup.configs.enumerated() {
            var perBudget: [Int: [String: [Double]]] = [:]
            var stable: [String: [Double]] = [:]
            for (si, seed) in seeds.enumerated() {
                let runs = results[ci * seeds.count + si]
                for (run, records) in runs {
                    for r in records { csv += "\(c.label),\(run),\(seed),\(BigramSetup.recordCSV(r))\n" }
                }
                let main = runs[0].records
                for (run, records) in runs.dropFirst() {
                    let b = Int(run.dropFirst("branch_".count))!
                    guard let start = records.first?.metrics, let end = records.last?.metrics else { continue }
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
                summary += "\(c.label),\(b),\(k),\(BigramSetup.stats(v))\n"
            } }
            for (k, v) in stable.sorted(by: { $0.key < $1.key }) { summary += "\(c.label),stable,\(k),\(BigramSetup.stats(v))\n" }
        }
        try AtomicFile.write(csv, to: try settings.file("bigram_class_loss.csv"))
        try AtomicFile.write(summary, to: try settings.file("bigram_class_loss_summary.csv"))
    }
}
