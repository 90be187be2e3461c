import Foundation
import LinearAlgebra
import RiverValley
import Trainer

/// Sharpness along WSD on trained language models (paper-notes/paper.md §2.5, §8): λ_max of the Hessian and of
/// the Adam-preconditioned Hessian P^(−1/2) H P^(−1/2) at checkpoints of the constant-LR main run and
/// along its last decay branch, against Adam's stability threshold (2 + 2β₁)/((1 − β₁)η) — what
/// `river analyze sharpness --runs MAIN,BRANCH` writes, on the runs of ``LMRuns``.
struct LMSharpnessExperiment: Experiment {
    static let name = "lm-sharpness"
    static let summary = "Language model: lambda_max (raw and Adam-preconditioned) along a WSD main run and its decay, vs Adam's stability threshold"
    static let outputs = [
        ExperimentOutput("lm_sharpness.csv",
                         columns: ["seed", "run", "step", "lr", "loss", "lambda_max", "lambda_max_preconditioned", "threshold"],
                         values: ["run": ["main", "decay"]]),
    ]

    static func run(_ settings: ExperimentSettings) throws {
        let trained = try LMRuns.ensure(settings)
        let s = trained.setting
        var table = CSVTable(outputs[0].columns)
        let fork = s.forks.last!
        let tokens = trained.curvatureTokens
        var jobs: [(seed: UInt64, run: String, url: URL)] = []
        for runs in trained.reference {
            jobs += s.sharpnessSteps.map { (runs.seed, "main", runs.checkpoint(step: $0)) }
            let branchCheckpoints = runs.branch(fork: fork).appendingPathComponent("checkpoints")
            for step in stride(from: fork + s.decayCheckpointEvery, through: fork + s.decaySteps, by: s.decayCheckpointEvery) {
                jobs.append((runs.seed, "decay", branchCheckpoints.appendingPathComponent(Checkpoint.fileName(step: step))))
            }
        }
        // Every checkpoint on its own core (OpenBLAS single-threaded); all windows of the text in one pass.
        let points = jobs
        let rows = try Parallel.map(points.indices.map { $0 }) { j -> SharpnessRow in
            try Sharpness.row(try LMRuns.checkpoint(points[j].url), tokens: tokens, top: 1, iterations: s.lanczosIterations,
                              seed: points[j].seed, batchSize: 16)
        }
        for (job, row) in zip(jobs, rows) { table.append([.i(Int(job.seed)), .t(job.run)] + Sharpness.csvCells(row)) }
        try settings.write(table, to: outputs[0].file)
    }
}
