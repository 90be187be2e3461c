import Foundation
import RiverValley

/// Figure (iv): the stationary hill loss of SGD against η — simulation (mean ± standard error) vs the
/// exact Lyapunov solution (two LAPACK routes) vs the approximation η·TrΣ/4 (paper-notes/paper.md §2.3).
public enum HillLossVsLRExperiment: Experiment {
    public static let name = "hill-loss-vs-lr"
    public static let summary = "Stationary SGD hill loss vs η: simulation vs exact Lyapunov theory vs ηTrΣ/4 (paper-notes/paper.md §2.3)"

    public static let outputs = [
        ExperimentOutput("hill_loss_vs_lr.csv", columns: ["lr", "lr_times_max_curvature", "simulated", "simulated_se", "exact",
                                                          "exact_kronecker", "approx", "seeds", "records_per_seed", "record_spacing"]),
    ]

    public static func run(_ settings: ExperimentSettings) throws {
        let curvatures: [Double] = [1, 2, 4, 8]
        let noise = 1.0
        let landscape = try LandscapeCatalog.make("straight-valley",
            LandscapeParameters(dimension: curvatures.count + 1, hillCurvature: curvatures, riverSlope: 0.1))
        let seeds = settings.smoke ? 8 : settings.quick ? 400 : 4000
        let recordsPerSeed = settings.smoke ? 4 : settings.quick ? 40 : 100
        // η·λ_max from 0.04 to 1.9 (λ_max = 8: stability needs η < 0.25).
        let etas = [0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.15, 0.18, 0.2, 0.22, 0.2375]
        let h = Matrix.diagonal(curvatures), sigma = Matrix.diagonal(curvatures.map { _ in noise * noise })
        var table = CSVTable(outputs[0].columns)
        for eta in etas {
            // Burn-in: 8 relaxation times of the slowest direction (1/(2ηλ_min) steps each); records spaced
            // 3/(ηλ_min) steps apart so they decorrelate ((1−ηλ)^(2·lag) < e^-6).
            let slow = eta * curvatures.min()!
            let burn = Int((8 / (2 * slow)).rounded(.up)), lag = Int((3 / slow).rounded(.up))
            let steps = burn + recordsPerSeed * lag + 1
            let schedule = try ScheduleSpec(kind: .constant, steps: steps, peak: eta).build()
            let config = SimulationConfig(landscape: landscape, optimizer: .sgd, noise: [noise], schedule: schedule,
                                          seeds: seeds, seed: settings.seed, recordEvery: lag)
            let r = try Simulation.run(config)
            if let div = r.divergence { throw SimulationError.diverged(div) }
            let window = r.steps.indices.filter { r.steps[$0] >= burn && r.steps[$0] < steps - 1 }
            let means = window.map { r.mean[.hillLoss]![$0] }, stds = window.map { r.std[.hillLoss]![$0] }
            let grand = means.reduce(0, +) / Double(means.count)
            let se = (stds.map { $0 * $0 }.reduce(0, +) / Double(stds.count) / Double(seeds * window.count)).squareRoot()
            let exact = HillTheory.excessLoss(hessian: h,
                covariance: try HillTheory.stationaryCovarianceDiagonalised(hessian: h, noise: sigma, lr: eta))
            let kron = HillTheory.excessLoss(hessian: h,
                covariance: try HillTheory.stationaryCovarianceKronecker(hessian: h, noise: sigma, lr: eta))
            let approx = HillTheory.approximateHillLoss(lr: eta, noiseTrace: Double(curvatures.count) * noise * noise)
            table.append([.n(eta), .n(eta * curvatures.max()!), .n(grand), .n(se), .n(exact), .n(kron), .n(approx),
                          .i(seeds), .i(window.count), .i(lag)])
        }
        try settings.write(table, to: outputs[0].file)
    }
}
