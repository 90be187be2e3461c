import Foundation
import LinearAlgebra
import RiverValley
import Trainer

/// The Hessian spectrum before and after a decay (paper-notes/paper.md §2.1, §8): the SLQ spectral density
/// (`river analyze hessian --density`) of the stable-phase checkpoint at the last fork and of its decayed
/// branch, with the extreme Ritz values, the negative mass and the SLQ trace estimate, per seed.
struct LMSpectrumExperiment: Experiment {
    static let name = "lm-spectrum"
    static let summary = "Language model: SLQ Hessian spectral density of a stable-phase checkpoint vs the decayed one"
    static let checkpoints = ["stable", "decayed"]
    static let outputs = [
        ExperimentOutput("lm_spectrum.csv", columns: ["seed", "checkpoint", "step", "lambda", "density"],
                         values: ["checkpoint": checkpoints]),
        ExperimentOutput("lm_spectrum_summary.csv",
                         columns: ["seed", "checkpoint", "step", "loss", "lambda_max", "lambda_min", "trace"],
                         values: ["checkpoint": checkpoints]),
    ]

    struct Spectrum: Sendable {
        var name: String, step: Int, loss: Double, density: SpectralDensity, parameters: Int
    }

    static func run(_ settings: ExperimentSettings) throws {
        let trained = try LMRuns.ensure(settings)
        let s = trained.setting
        let fork = s.forks.last!
        var table = CSVTable(outputs[0].columns), summary = CSVTable(outputs[1].columns)
        let tokens = trained.curvatureTokens
        let jobs = trained.reference.flatMap { runs in
            zip(checkpoints, [runs.checkpoint(step: fork), runs.branchEnd(fork: fork, decaySteps: s.decaySteps)]).map { (runs.seed, $0.0, $0.1) }
        }
        let spectra = try Parallel.map(jobs.indices.map { $0 }) { j -> Spectrum in
            let (seed, name, url) = jobs[j]
            let ck = try LMRuns.checkpoint(url)
            let loss = try TextLoss(checkpoint: ck, tokens: tokens, batchSize: 16)
            let d = try stochasticLanczosQuadrature(TextLossHessian(loss), iterations: s.lanczosIterations, runs: s.slqRuns, seed: seed)
            return Spectrum(name: name, step: ck.step, loss: loss.loss(), density: d, parameters: loss.dimension)
        }
        let perSeed = trained.reference.indices.map { Array(spectra[(2 * $0)..<(2 * $0 + 2)]) }
        for (runs, densities) in zip(trained.reference, perSeed) {
            // One smoothing width for both checkpoints (1/100 of the joint range), so the curves compare.
            let lo = densities.map { $0.density.range.lowerBound }.min()!, hi = densities.map { $0.density.range.upperBound }.max()!
            let sigma = hi > lo ? (hi - lo) / 100 : 1e-3
            for d in densities {
                let (grid, phi) = try d.density.smoothed(points: 256, sigma: sigma)
                for (x, y) in zip(grid, phi) { table.append([.i(Int(runs.seed)), .t(d.name), .i(d.step), .n(x), .n(y)]) }
                // The SLQ trace estimate n·mean_runs Σⱼ τⱼθⱼ (the quadrature of λ under the spectral measure).
                let trace = d.density.runs.map { r in zip(r.nodes, r.weights).reduce(0) { $0 + $1.0 * $1.1 } }
                summary.append([.i(Int(runs.seed)), .t(d.name), .i(d.step), .n(d.loss), .n(d.density.range.upperBound),
                                .n(d.density.range.lowerBound), .n(Double(d.parameters) * Statistics.mean(trace))])
            }
        }
        try settings.write(table, to: outputs[0].file)
        try settings.write(summary, to: outputs[1].file)
    }
}
