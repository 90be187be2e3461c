import Foundation
import LinearAlgebra
import RiverValley
import Trainer

/// Does the hill term predict the decay drop? (paper-notes/paper.md §2.5.1; the formula and its derivation:
/// paper-notes/analysis.md). For every seed, peak LR and fork step of ``LMRuns``, `river analyze
/// decay-probe`: the measured drop of the decay branch (validation loss before − after, and against the
/// constant-LR continuation at the same step) and the prediction (η_before − η_after)·Tr(P^(−1/2) Σ_B P^(−1/2))/4
/// from the minibatch-gradient noise at the fork; then a least-squares line through the origin with R².
struct LMDecayPredictionExperiment: Experiment {
    static let name = "lm-decay-prediction"
    static let summary = "Language model: decay drop predicted from the gradient noise at the fork vs measured, over (fork step, peak LR) pairs and seeds"
    static let measures = ["measured-drop", "drop-vs-constant"]
    /// The checkpoint's v̂ (the formula as specified) or the mean g² over the draws (DecayProbe).
    static let predictions = ["checkpoint-v", "mean-v"]
    static let outputs = [
        ExperimentOutput("lm_decay_prediction.csv",
                         columns: ["seed", "peak", "step", "lr_before", "lr_after", "loss_before", "loss_after", "measured_drop",
                                   "loss_constant", "drop_vs_constant", "noise_trace", "noise_trace_stderr", "predicted_drop",
                                   "predicted_drop_stderr", "predicted_drop_mean_v", "predicted_drop_sgd", "ratio"]),
        ExperimentOutput("lm_decay_prediction_fit.csv", columns: ["prediction", "measure", "slope", "r2", "points"],
                         values: ["prediction": predictions, "measure": measures]),
    ]

    static func run(_ settings: ExperimentSettings) throws {
        let trained = try LMRuns.ensure(settings)
        let s = trained.setting
        let dataset = try TrainingRun.open(at: trained.runs[0].main).dataset
        let jobs = trained.runs.flatMap { runs in s.forks.map { (runs, $0) } }
        // The branches exist already: each probe reuses its branch (BranchRequest.train) and only measures.
        let reports = try BLAS.withSingleThread {
            try Parallel.map(jobs.indices.map { $0 }) { j -> DecayProbeReport in
                let (runs, fork) = jobs[j]
                return try DecayProbe.run(runs.request(fork: fork, s), branchDirectory: runs.branch(fork: fork),
                                          tokens: trained.evalTokens, batches: s.noiseBatches,
                                          checkpointEvery: s.decayCheckpointEvery, dataset: dataset)
            }
        }
        var table = CSVTable(outputs[0].columns)
        for ((runs, fork), r) in zip(jobs, reports) {
            let noise = r.noiseTracePreconditioned ?? r.noiseTrace
            table.append([.i(Int(runs.seed)), .n(runs.peak), .i(fork), .n(r.lrBefore), .n(r.lrAfter), .n(r.lossBefore),
                          .n(r.lossAfter), .n(r.measuredDrop), .n(r.lossConstant), .n(r.dropVsConstant),
                          .n(noise.estimate), .n(noise.standardError), .n(r.predictedDrop), .n(r.predictedDropStderr),
                          .n(r.predictedDropMeanV), .n(r.predictedDropSgd), .n(r.ratio)])
        }
        var fit = CSVTable(outputs[1].columns)
        for (prediction, x) in zip(predictions, [reports.map(\.predictedDrop), reports.map(\.predictedDropMeanV)]) {
            for (measure, y) in zip(measures, [reports.map(\.measuredDrop), reports.map(\.dropVsConstant)]) {
                let f = LMRuns.fitThroughOrigin(x: x, y: y)
                fit.append([.t(prediction), .t(measure), .n(f.slope), .n(f.r2), .i(x.count)])
            }
        }
        try settings.write(table, to: outputs[0].file)
        try settings.write(fit, to: outputs[1].file)
    }
}
