import Foundation
import RiverValley
import Trainer

/// Paper §4's token-uncertainty claim on trained language models (paper-notes/paper.md §2.5.3, §3):
/// deterministic (low-uncertainty) tokens improve during the stable phase, uncertain ones during the
/// decay. Every predicted validation token is bucketed by the entropy of a smoothed order-k byte n-gram
/// fitted on the training split (`river analyze tokens --uncertainty ngram`); the per-bucket loss is taken
/// at an early stable-phase checkpoint, at the fork (end of the stable phase) and after the decay.
struct LMTokenBucketsExperiment: Experiment {
    static let name = "lm-token-buckets"
    static let summary = "Language model: loss per token-uncertainty bucket (n-gram entropy) and its change over the stable phase and over the decay"
    static let checkpoints = ["early", "fork", "decayed"]
    static let phases = ["stable", "decay"]
    static let outputs = [
        ExperimentOutput("lm_token_buckets.csv",
                         columns: ["seed", "checkpoint", "step", "bucket", "uncertainty_lo", "uncertainty_hi", "tokens", "mean_loss"],
                         values: ["checkpoint": checkpoints]),
        ExperimentOutput("lm_token_buckets_change.csv",
                         columns: ["seed", "phase", "bucket", "uncertainty_lo", "uncertainty_hi", "loss_change", "share"],
                         values: ["phase": phases]),
    ]

    static func run(_ settings: ExperimentSettings) throws {
        let trained = try LMRuns.ensure(settings)
        let s = trained.setting
        let fork = s.forks.last!
        // One n-gram for every seed: the runs share the corpus, tokenizer and split.
        let first = try LMRuns.checkpoint(trained.reference[0].checkpoint(step: s.early))
        let uncertainty = try TokenBuckets.uncertainty(.ngram, tokens: trained.evalTokens, reference: first,
                                                       trainingTokens: try TokenBuckets.trainingTokens(of: first), order: s.ngramOrder)
        var table = CSVTable(outputs[0].columns), change = CSVTable(outputs[1].columns)
        for runs in trained.reference {
            let urls = [runs.checkpoint(step: s.early), runs.checkpoint(step: fork), runs.branchEnd(fork: fork, decaySteps: s.decaySteps)]
            let named = try zip(checkpoints, urls).map { (name: $0.0, checkpoint: try LMRuns.checkpoint($0.1)) }
            let rows = try TokenBuckets.rows(checkpoints: named, tokens: trained.evalTokens, uncertainty: uncertainty, buckets: s.buckets)
            for r in rows {
                table.append([.i(Int(runs.seed)), .t(r.checkpoint), .i(r.step), .i(r.bucket), .n(r.uncertaintyLow),
                              .n(r.uncertaintyHigh), .i(r.tokens), .n(r.meanLoss)])
            }
            func loss(_ c: String) -> [TokenBucketRow] { rows.filter { $0.checkpoint == c }.sorted { $0.bucket < $1.bucket } }
            for (phase, from, to) in [("stable", "early", "fork"), ("decay", "fork", "decayed")] {
                let a = loss(from), b = loss(to)
                // Token-weighted change per bucket and each bucket's share of the phase's total change.
                let deltas = zip(a, b).map { $1.meanLoss - $0.meanLoss }
                let total = zip(deltas, a).reduce(0) { $0 + $1.0 * Double($1.1.tokens) }
                for (d, r) in zip(deltas, a) {
                    change.append([.i(Int(runs.seed)), .t(phase), .i(r.bucket), .n(r.uncertaintyLow), .n(r.uncertaintyHigh),
                                   .n(d), .n(d * Double(r.tokens) / total)])
                }
            }
        }
        try settings.write(table, to: outputs[0].file)
        try settings.write(change, to: outputs[1].file)
    }
}
