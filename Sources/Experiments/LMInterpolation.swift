import Foundation
import LinearAlgebra
import RiverValley
import Trainer

/// The paper's interpolation figure on trained language models (paper-notes/paper.md §2.5.4): the loss along
/// w(α) = (1 − α)·w_A + α·w_B between two checkpoints of one constant-LR run, at several gaps (a
/// cross-section of the valley: convex, its minimum between the ends), and from a pre-decay checkpoint to
/// its decayed branch (monotone descent). `river analyze interpolate` on the runs of ``LMRuns``.
struct LMInterpolationExperiment: Experiment {
    static let name = "lm-interpolation"
    static let summary = "Language model: loss along the segment between two constant-LR checkpoints (several gaps) and from pre- to post-decay"
    static let kinds = ["constant", "decay"]
    static let outputs = [
        ExperimentOutput("lm_interpolation.csv", columns: ["seed", "kind", "step_a", "step_b", "alpha", "loss"],
                         values: ["kind": kinds]),
        ExperimentOutput("lm_interpolation_summary.csv",
                         columns: ["seed", "kind", "step_a", "step_b", "loss_a", "loss_b", "loss_min", "alpha_min",
                                   "mid_minus_chord", "min_second_difference", "increases_on_segment"],
                         values: ["kind": kinds]),
    ]

    static func run(_ settings: ExperimentSettings) throws {
        let trained = try LMRuns.ensure(settings)
        let s = trained.setting
        let alphas = try Interpolation.alphas(points: s.interpolationPoints, extend: s.interpolationExtend)
        let tokens = trained.evalTokens, f0 = s.forks[0]
        var jobs: [(seed: UInt64, kind: String, a: URL, b: URL)] = []
        for runs in trained.reference {
            jobs += s.gaps.map { (runs.seed, "constant", runs.checkpoint(step: f0), runs.checkpoint(step: f0 + $0)) }
            jobs += s.forks.map { (runs.seed, "decay", runs.checkpoint(step: $0), runs.branchEnd(fork: $0, decaySteps: s.decaySteps)) }
        }
        // Every pair on its own core (OpenBLAS single-threaded).
        let pairs = jobs
        let curves = try Parallel.map(pairs.indices.map { $0 }) { j -> (a: Int, b: Int, rows: [Alpha]) in
            let a = try LMRuns.checkpoint(pairs[j].a), b = try LMRuns.checkpoint(pairs[j].b)
            let rows = try Interpolation.run(from: a, to: b, tokens: tokens, alphas: alphas)
            return (a.step, b.step, rows.map { Alpha(alpha: $0.alpha, loss: $0.loss) })
        }
        var table = CSVTable(outputs[0].columns), summary = CSVTable(outputs[1].columns)
        for (job, p) in zip(jobs, curves) {
            for r in p.rows {
                table.append([.i(Int(job.seed)), .t(job.kind), .i(p.a), .i(p.b), .n(r.alpha), .n(r.loss)])
            }
            let m = shape(p.rows.map { ($0.alpha, $0.loss) })
            summary.append([.i(Int(job.seed)), .t(job.kind), .i(p.a), .i(p.b), .n(m.lossA), .n(m.lossB), .n(m.min),
                            .n(m.alphaMin), .n(m.midMinusChord), .n(m.minSecondDifference), .i(m.increases)])
        }
        try settings.write(table, to: outputs[0].file)
        try settings.write(summary, to: outputs[1].file)
    }

    struct Alpha: Sendable { var alpha: Double; var loss: Double }

    /// The curve's shape: ends, minimum and where, the loss at α = ½ minus the chord's, the smallest second
    /// difference over the grid (≥ 0 for a convex curve), and how often the loss rises on [0, 1].
    static func shape(_ rows: [(alpha: Double, loss: Double)]) -> (lossA: Double, lossB: Double, min: Double, alphaMin: Double,
                                                                  midMinusChord: Double, minSecondDifference: Double, increases: Int) {
        let a = rows.first { $0.alpha == 0 }!.loss, b = rows.first { $0.alpha == 1 }!.loss
        let best = rows.min { $0.loss < $1.loss }!
        let mid = rows.min { abs($0.alpha - 0.5) < abs($1.alpha - 0.5) }!
        let chord = (1 - mid.alpha) * a + mid.alpha * b
        var minD2 = Double.infinity
        for i in 1..<(rows.count - 1) { minD2 = min(minD2, rows[i - 1].loss - 2 * rows[i].loss + rows[i + 1].loss) }
        let segment = rows.filter { $0.alpha >= 0 && $0.alpha <= 1 }
        let increases = zip(segment, segment.dropFirst()).filter { $1.loss > $0.loss }.count
        return (a, b, best.loss, best.alpha, mid.loss - chord, minD2, increases)
    }
}
