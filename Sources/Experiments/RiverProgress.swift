import Foundation
import RiverValley

/// Figure (v): river progress against river time Σ η for several schedules. On a linear river every
/// schedule lands on x = s·Σ η (SGD, mean over seeds); on a power (loss-curve-like) river GD's progress
/// is a function of Σ η alone while the LR is small against the hill curvature (paper-notes/paper.md §2.1, §2.2).
public enum RiverProgressExperiment: Experiment {
    public static let name = "river-progress"
    public static let summary = "River progress vs Σ η for constant, cosine, WSD, WSD-S and cyclic cosine (paper-notes/paper.md §2.1–2.2)"

    public static let outputs = [
        ExperimentOutput("river_progress.csv", columns: ["river", "optimizer", "schedule", "step", "lr", "cumulative_lr", "river_coord",
                                                         "river_coord_std", "river_loss", "loss", "hill_loss", "theory_river_coord"],
                         values: ["river": ["linear", "power"], "optimizer": ["sgd", "gd"],
                                  "schedule": ["constant"] + ScheduleFamily.allCases.map(\.rawValue)]),
    ]

    public static func run(_ settings: ExperimentSettings) throws {
        let steps = 2000, peak = 0.1, slope = 0.5
        let seeds = settings.smoke ? 8 : settings.quick ? 128 : 1024
        let specs: [(String, ScheduleSpec)] = [
            ("constant", ScheduleSpec(kind: .constant, steps: steps, peak: peak, warmup: 0.01)),
            ("cosine", ScheduleSpec(kind: .cosine, steps: steps, peak: peak, warmup: 0.01, minRatio: 0.1)),
            ("wsd", ScheduleSpec(kind: .wsd, steps: steps, peak: peak, warmup: 0.01, decay: 0.2, shape: .inv)),
            ("wsds", ScheduleSpec(kind: .wsds, steps: steps, peak: peak, warmup: 0.01, decay: 0.1, shape: .inv,
                                  cycles: [500, 1000])),
            ("cyclic-cosine", ScheduleSpec(kind: .cyclicCosine, steps: steps, peak: peak, warmup: 0.01, cycles: [500, 1000])),
        ]
        let rivers: [(String, SimulationOptimizer, LandscapeParameters)] = [
            ("linear", .sgd, LandscapeParameters(dimension: 5, hillCurvature: [1, 2, 4, 8], riverSlope: slope)),
            ("power", .gd, LandscapeParameters(dimension: 5, hillCurvature: [1, 2, 4, 8], riverProfile: "power",
                                                powerAmplitude: 3, powerExponent: 0.5)),
        ]
        var table = CSVTable(outputs[0].columns)
        for (river, optimizer, params) in rivers {
            let landscape = try LandscapeCatalog.make("straight-valley", params)
            for (name, spec) in specs {
                let config = SimulationConfig(landscape: landscape, optimizer: optimizer, noise: [1], schedule: try spec.build(),
                                              seeds: optimizer == .gd ? 1 : seeds, seed: settings.seed, recordEvery: 5)
                let r = try Simulation.run(config)
                if let div = r.divergence { throw SimulationError.diverged(div) }
                for k in r.steps.indices {
                    // s·Σ η for the linear river; for the power river the gradient-flow solution
                    // x(τ) = ((1+x₀)^(α+2) + A·α(α+2)·τ)^(1/(α+2)) − 1 of dx/dτ = Aα(1+x)^(−α−1).
                    let tau = r.cumulativeLR[k]
                    let theory = river == "linear" ? slope * tau
                        : pow(1 + 3 * 0.5 * 2.5 * tau, 1 / 2.5) - 1
                    table.append([.t(river), .t(optimizer.rawValue), .t(name), .i(r.steps[k]), .n(r.lr[k]), .n(tau),
                                  .n(r.mean[.riverCoordinate]![k]), .n(r.std[.riverCoordinate]![k]),
                                  .n(r.mean[.riverLoss]![k]), .n(r.mean[.loss]![k]), .n(r.mean[.hillLoss]![k]), .n(theory)])
                }
            }
        }
        try settings.write(table, to: outputs[0].file)
    }
}
