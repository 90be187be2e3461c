import Foundation
import RiverValley

/// Figure (iii): loss, river loss and hill loss over steps under WSD, cosine and constant LR, for SGD on
/// a straight valley with a loss-curve-like (power) river. The hill loss sits at ≈ η·TrΣ/4 while the LR
/// is high and drops in the decay; the river loss follows Σ η (paper-notes/paper.md §2.4).
public enum LossSplitExperiment: Experiment {
    public static let name = "loss-split"
    public static let summary = "SGD on a straight valley: loss = river loss + hill loss under WSD, cosine, constant (paper-notes/paper.md §2.4)"

    public static let outputs = [
        ExperimentOutput("loss_split.csv", columns: ["schedule", "step", "lr", "cumulative_lr", "loss", "river_loss", "hill_loss",
                                                     "loss_std", "river_loss_std", "hill_loss_std", "theory_hill_loss",
                                                     "theory_hill_loss_approx"],
                         values: ["schedule": ["constant", RunSchedule.cosine.rawValue, RunSchedule.wsd.rawValue]]),
    ]

    public static func run(_ settings: ExperimentSettings) throws {
        let d = 10
        // Hill curvatures spread log-uniformly over [1, 10].
        let curvatures = (0..<(d - 1)).map { pow(10, Double($0) / Double(d - 2)) }
        let landscape = try LandscapeCatalog.make("straight-valley",
            LandscapeParameters(dimension: d, hillCurvature: curvatures, riverProfile: "power",
                                powerAmplitude: 3, powerExponent: 0.5))
        let steps = 2000, peak = 0.1, noise = 1.0
        let seeds = settings.smoke ? 16 : settings.quick ? 256 : 2048
        let schedules: [(String, ScheduleSpec)] = [
            ("wsd", ScheduleSpec(kind: .wsd, steps: steps, peak: peak, warmup: 0.01, decay: 0.2, shape: .inv, minRatio: 0.1)),
            ("cosine", ScheduleSpec(kind: .cosine, steps: steps, peak: peak, warmup: 0.01, minRatio: 0.1)),
            ("constant", ScheduleSpec(kind: .constant, steps: steps, peak: peak, warmup: 0.01)),
        ]
        var table = CSVTable(outputs[0].columns)
        for (name, spec) in schedules {
            let config = SimulationConfig(landscape: landscape, optimizer: .sgd, noise: [noise], schedule: try spec.build(),
                                          seeds: seeds, seed: settings.seed, recordEvery: 5)
            let r = try Simulation.run(config)
            if let div = r.divergence { throw SimulationError.diverged(div) }
            let theory = SimulationTable.theoryColumns(config, r)
            let exact = theory.first { $0.name == "theory_hill_loss" }!.values
            let approx = theory.first { $0.name == "theory_hill_loss_approx" }!.values
            for k in r.steps.indices {
                table.append([.t(name), .i(r.steps[k]), .n(r.lr[k]), .n(r.cumulativeLR[k]),
                              .n(r.mean[.loss]![k]), .n(r.mean[.riverLoss]![k]), .n(r.mean[.hillLoss]![k]),
                              .n(r.std[.loss]![k]), .n(r.std[.riverLoss]![k]), .n(r.std[.hillLoss]![k]),
                              .n(exact[k]), .n(approx[k])])
            }
        }
        try settings.write(table, to: outputs[0].file)
    }
}
