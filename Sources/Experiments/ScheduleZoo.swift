import Foundation
import RiverValley

/// Figure (i): the schedule zoo — WSD decay shapes, WSD branches off a constant main run, WSD-S,
/// cyclic cosine and cosine, all at the same peak, from the one schedule implementation.
///
/// Long format: one row per (schedule, variant, budget, step). `schedule` is a ``RunSchedule`` value,
/// `variant` says which member of the family (a decay shape, `branch`, a WSD-S convention, …).
public enum ScheduleZooExperiment: Experiment {
    public static let name = "schedule-zoo"
    public static let summary = "LR schedules: WSD shapes, WSD branches, WSD-S (both conventions), cyclic cosine, cosine (paper-notes/paper.md §1)"

    static let variants = DecayShape.allCases.map(\.rawValue) + ["constant", "branch"]
        + DecayConvention.allCases.map(\.rawValue) + ["cycles", "per-budget"]
    public static let outputs = [
        ExperimentOutput("schedule_zoo.csv", columns: ["schedule", "variant", "budget", "step", "lr"],
                         values: ["schedule": RunSchedule.allCases.map(\.rawValue), "variant": variants]),
        ExperimentOutput("schedule_zoo_summary.csv", columns: ["schedule", "variant", "budget", "steps", "sum_lr", "mean_lr"],
                         values: ["schedule": RunSchedule.allCases.map(\.rawValue), "variant": variants]),
        ExperimentOutput("branch_plan.csv", columns: BranchPlan.csvHeader,
                         values: ["schedule": RunSchedule.allCases.map(\.rawValue)]),
    ]

    public static func run(_ settings: ExperimentSettings) throws {
        let steps = 4000, peak = 1.0, warmup = 100.0
        let budgets = [1000, 2000, 4000]
        var curves: [(RunSchedule, String, Schedule)] = []
        for shape in DecayShape.allCases {
            curves.append((.wsd, shape.rawValue, try ScheduleSpec(kind: .wsd, steps: steps, peak: peak, warmup: warmup,
                                                                 decay: 0.2, shape: shape).build()))
        }
        // WSD as the paper runs it: the constant main run and one decay branch per budget.
        let main = ScheduleSpec(kind: .constant, steps: steps, peak: peak, warmup: warmup)
        curves.append((.wsdMain, "constant", try main.build()))
        for b in budgets {
            let branch = try DecayBranch(budget: b, decay: 0.1)
            curves.append((.wsd, "branch", try branch.schedule(continuing: main, shape: .inv, minRatio: 0.1).build()))
        }
        for convention in DecayConvention.allCases {
            curves.append((.wsds, convention.rawValue,
                           try ScheduleSpec(kind: .wsds, steps: steps, peak: peak, warmup: warmup, decay: 0.1, shape: .inv,
                                            cycles: Array(budgets.dropLast()), decayOf: convention).build()))
        }
        curves.append((.cyclicCosine, "cycles", try ScheduleSpec(kind: .cyclicCosine, steps: steps, peak: peak, warmup: warmup,
                                                                cycles: Array(budgets.dropLast())).build()))
        for b in budgets {
            curves.append((.cosine, "per-budget", try ScheduleSpec(kind: .cosine, steps: b, peak: peak, warmup: warmup).build()))
        }
        var table = CSVTable(outputs[0].columns)
        // Compute and mean LR per schedule: the average-LR confounder the reviewers raised (paper-notes/paper.md §7).
        var summary = CSVTable(outputs[1].columns)
        for (schedule, variant, s) in curves {
            for (t, lr) in s.values.enumerated() {
                table.append([.t(schedule.rawValue), .t(variant), .i(s.steps), .i(t), .n(lr)])
            }
            let total = s.cumulativeLR(upTo: s.steps)
            summary.append([.t(schedule.rawValue), .t(variant), .i(s.steps), .i(s.steps), .n(total), .n(total / Double(s.steps))])
        }
        try settings.write(table, to: outputs[0].file)
        try settings.write(summary, to: outputs[1].file)
        let plan = try BranchPlan(budgets: budgets, decay: 0.1, convention: .cumulative)
        try settings.write(plan.table, to: outputs[2].file)
    }
}
