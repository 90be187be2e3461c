import Foundation
import RiverValley

/// Figure (i): the schedule zoo — WSD decay shapes, WSD branches off a constant main run, WSD-S,
/// cyclic cosine and cosine, all at the same peak, from the one schedule implementation.
public enum ScheduleZooExperiment: Experiment {
    public static let name = "schedule-zoo"
    public static let summary = "LR schedules: WSD shapes, WSD branches, WSD-S (both conventions), cyclic cosine, cosine (paper-notes/paper.md §1)"

    public static func run(_ settings: ExperimentSettings) throws {
        let steps = 4000, peak = 1.0, warmup = 100.0
        let budgets = [1000, 2000, 4000]
        var columns: [(String, Schedule)] = []
        for shape in DecayShape.allCases {
            columns.append(("wsd_\(shape.rawValue)", try ScheduleSpec(kind: .wsd, steps: steps, peak: peak, warmup: warmup,
                                                                       decay: 0.2, shape: shape).build()))
        }
        // WSD as the paper runs it: the constant main run and one decay branch per budget.
        columns.append(("wsd_main", try ScheduleSpec(kind: .constant, steps: steps, peak: peak, warmup: warmup).build()))
        for b in budgets {
            columns.append(("wsd_branch_\(b)", try ScheduleSpec(kind: .wsd, steps: b, peak: peak, warmup: warmup,
                                                                 decay: 0.1, shape: .inv).build()))
        }
        for convention in DecayConvention.allCases {
            columns.append(("wsds_\(convention.rawValue)",
                            try ScheduleSpec(kind: .wsds, steps: steps, peak: peak, warmup: warmup, decay: 0.1, shape: .inv,
                                             cycles: Array(budgets.dropLast()), decayOf: convention).build()))
        }
        columns.append(("cyclic_cosine", try ScheduleSpec(kind: .cyclicCosine, steps: steps, peak: peak, warmup: warmup,
                                                          cycles: Array(budgets.dropLast())).build()))
        for b in budgets {
            columns.append(("cosine_\(b)", try ScheduleSpec(kind: .cosine, steps: b, peak: peak, warmup: warmup).build()))
        }
        var csv = "step," + columns.map(\.0).joined(separator: ",") + "\n"
        for t in 0..<steps {
            csv += "\(t)," + columns.map { t < $0.1.steps ? "\($0.1.lr(at: t))" : "" }.joined(separator: ",") + "\n"
        }
        try AtomicFile.write(csv, to: try settings.file("schedule_zoo.csv"))

        // Compute and mean LR per schedule: the average-LR confounder the reviewers raised (paper-notes/paper.md §7).
        var summary = "schedule,steps,sum_lr,mean_lr\n"
        for (name, s) in columns {
            let total = s.cumulativeLR(upTo: s.steps)
            summary += "\(name),\(s.steps),\(total),\(total / Double(s.steps))\n"
        }
        try AtomicFile.write(summary, to: try settings.file("schedule_zoo_summary.csv"))
        let plan = try BranchPlan(budgets: budgets, decay: 0.1, convention: .cumulative)
        try AtomicFile.write(plan.csv, to: try settings.file("branch_plan.csv"))
    }
}
