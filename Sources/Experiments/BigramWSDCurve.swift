import Bigram
import Foundation
import RiverValley

/// Claim (1) of paper §4 (reviewed Fig. 7): the bigram model reproduces WSD's non-traditional loss
/// curve — an elevated plateau at constant LR and a sharp drop at each decay — next to cosine, WSD-S and
/// cyclic cosine with the same peak and budgets.
public enum BigramWSDCurveExperiment: Experiment {
    public static let name = "bigram-wsd-curve"
    public static let summary = "Bigram §4: total loss under constant/WSD branches/cosine/WSD-S/cyclic cosine, seeds (reviewed Fig. 7)"

    public static func run(_ settings: ExperimentSettings) throws {
        let data = try BigramSetup.language(settings)
        let steps = BigramSetup.steps(settings)
        let budgets = [steps / 3, 2 * steps / 3, steps]
        let seeds = BigramSetup.seeds(settings)
        let logEvery = steps / 100
        let configs = [BigramSetup.configs[0], BigramSetup.configs[3]]  // table-SGD, factorised-Adam
        let jobs = configs.flatMap { c in seeds.map { (c, $0) } }
        let results = try BigramSetup.parallelMap(jobs) { job -> [(String, [BigramTrainingRecord])] in
            let (c, seed) = job
            let hyper = OptimizerHyperparameters(algorithm: c.optimizer)
            return try BigramSetup.withObjective(c, data, seed: seed) { t in
                var runs = try t.wsdRuns(hyper: hyper, peak: c.peak, steps: steps, budgets: budgets,
                                         decay: BigramSetup.decayFraction, seed: seed, logEvery: logEvery, eigenEvery: 0)
                let specs: [(String, ScheduleSpec)] = [
                    ("cosine", ScheduleSpec(kind: .cosine, steps: steps, peak: c.peak)),
                    ("wsds", ScheduleSpec(kind: .wsds, steps: steps, peak: c.peak, decay: BigramSetup.decayFraction, shape: .inv,
                                          cycles: Array(budgets.dropLast()))),
                    ("cyclic_cosine", ScheduleSpec(kind: .cyclicCosine, steps: steps, peak: c.peak, cycles: Array(budgets.dropLast()))),
                ]
                for (name, spec) in specs {
                    runs.append((name, try t.run(hyper: hyper, schedule: spec.build(), seed: seed, logEvery: logEvery, eigenEvery: 0)))
                }
                return runs
            }
        }
        var csv = "config,run,seed,\(BigramSetup.recordHeader)\n"
        var summary = "config,schedule,budget,quantity,mean,sd,se\n"
        for (ci, c) in configs.enumerated() {
            var at: [String: [Double]] = [:]
            for (si, seed) in seeds.enumerated() {
                let runs = results[ci * seeds.count + si]
                for (run, records) in runs { for r in records { csv += "\(c.label),\(run),\(seed),\(BigramSetup.recordCSV(r))\n" } }
                func loss(_ run: String, _ step: Int) -> Double? {
                    runs.first { $0.0 == run }?.1.last { $0.step <= step }?.metrics.loss
                }
                for b in budgets {
                    at["wsd|\(b)|final_loss", default: []].append(loss("branch_\(b)", b)!)
                    at["constant|\(b)|final_loss", default: []].append(loss("main", b)!)
                    at["wsds|\(b)|final_loss", default: []].append(loss("wsds", b)!)
                    at["cyclic_cosine|\(b)|final_loss", default: []].append(loss("cyclic_cosine", b)!)
                    let fork = b - Int((BigramSetup.decayFraction * Double(b)).rounded(.down))
                    // Plateau elevation: constant-LR loss minus cosine loss at the fork step (cosine's LR is lower there).
                    at["constant_minus_cosine|\(b)|at_fork", default: []].append(loss("main", fork)! - loss("cosine", fork)!)
                    at["wsd|\(b)|drop_at_decay", default: []].append(loss("main", fork)! - loss("branch_\(b)", b)!)
                }
                at["cosine|\(steps)|final_loss", default: []].append(loss("cosine", steps)!)
            }
            for (k, v) in at.sorted(by: { $0.key < $1.key }) {
                let parts = k.split(separator: "|")
                summary += "\(c.label),\(parts[0]),\(parts[1]),\(parts[2]),\(BigramSetup.stats(v))\n"
            }
        }
        try AtomicFile.write(csv, to: try settings.file("bigram_wsd_curve.csv"))
        try AtomicFile.write(summary, to: try settings.file("bigram_wsd_curve_summary.csv"))
    }
}
