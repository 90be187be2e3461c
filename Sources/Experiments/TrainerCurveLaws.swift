import Foundation
import RiverValley
import Trainer

/// Loss-curve laws on the project's own trainer sweep (paper-notes/curves.md, "The project's own sweep"):
/// each law is fitted on two runs of one seed — the WSD main branch (a constant LR after warmup; in a tuned
/// sweep the one at the peak tuned for the longest WSD budget) and the longest cosine — and predicts the
/// held-out schedules of the same seed: every WSD decay branch, WSD-S and the cyclic cosine. Points are the runs' validation losses (`CurveRun(trainRun:)`).
struct TrainerCurveLawsExperiment: Experiment {
    static let name = "trainer-curve-laws"
    static let summary = "Loss-curve laws fitted on the trainer's constant + cosine runs predict its WSD branches, WSD-S and cyclic cosine"
    static let laws = CurveLawKind.allCases.map(\.rawValue)
    static let schedules = [RunSchedule.wsdMain, .cosine, .wsd, .wsds, .cyclicCosine].map(\.rawValue)
    static let roles = ["fit", "held-out"]
    static let outputs = [
        ExperimentOutput("trainer-curve-laws.csv",
                         columns: ["law", "run", "schedule", "budget", "role", "step", "lr", "loss", "predicted"],
                         values: ["law": laws, "schedule": schedules, "role": roles]),
        ExperimentOutput("trainer-curve-laws-metrics.csv",
                         columns: ["law", "run", "schedule", "budget", "role", "r2", "mae", "rmse", "pred_e", "worst_e",
                                   "points", "fit_seconds"],
                         values: ["law": laws, "schedule": schedules, "role": roles]),
    ]

    static func run(_ settings: ExperimentSettings) throws {
        let sweep = try TrainerSweep.ensure(settings)
        let planned = try sweep.runs(.main)  // a tuned sweep's runs at its tuned peaks
            .filter { $0.seed == settings.seed && $0.arm == $0.schedule.family.rawValue }  // the families, not the variants
        let longestCosine = planned.filter { $0.schedule == .cosine }.map(\.budget).max()
        // A tuned sweep has one WSD main run per tuned peak: fit the one the longest WSD budget branches from.
        let longestWSD = planned.filter { $0.schedule == .wsd }.map(\.budget).max()
        let mainPeak = planned.first { $0.schedule == .wsd && $0.budget == longestWSD }?.peak
        let fitRuns = planned.filter {
            ($0.schedule == .wsdMain && $0.peak == mainPeak) || ($0.schedule == .cosine && $0.budget == longestCosine)
        }
        let heldOut = planned.filter { [.wsd, .wsds, .cyclicCosine].contains($0.schedule) }
        guard fitRuns.count == 2, !heldOut.isEmpty else {
            throw CurveError("the trainer sweep in \(sweep.directory.path) lacks a WSD main branch, a cosine run or held-out schedules")
        }
        func load(_ r: SweepSpec.PlannedRun) throws -> CurveRun {
            try CurveRun(trainRun: sweep.directory.appendingPathComponent(r.name))
        }
        let fitCurves = try fitRuns.map(load)
        let heldCurves = try heldOut.map(load)
        var curves = CSVTable(outputs[0].columns)
        var metrics = CSVTable(outputs[1].columns)
        var options = CurveFitOptions()
        options.seed = settings.seed
        for kind in CurveLawKind.allCases {
            let fit: CurveFitResult
            do { fit = try CurveFitter.fit(kind, runs: fitCurves, options: options) } catch {
                // A law the two runs do not determine (possible at smoke scale) is reported, not fatal.
                FileHandle.standardError.write(Data("trainer-curve-laws: \(kind.rawValue) not fitted: \(error)\n".utf8))
                continue
            }
            let p = try fit.vector()
            let law = kind.law
            for (role, runs, curvesOf) in [("fit", fitRuns, fitCurves), ("held-out", heldOut, heldCurves)] {
                for (planned, run) in zip(runs, curvesOf) {
                    let label: [CSVTable.Cell] = [.t(kind.rawValue), .t(planned.name), .t(planned.schedule.rawValue),
                                                  .i(planned.budget), .t(role)]
                    // The predicted curve at every step with an LR area (S1 > 0), the loss where measured.
                    let steps = run.lrs.indices.filter { run.prefix[$0] > 0 }
                    let predicted = law.evaluate(p, on: run, at: steps, gradient: false).values
                    var measured: [Int: Double] = [:]
                    for (i, l) in run.observed { measured[run.steps[i]] = l }
                    for (s, v) in zip(steps, predicted) {
                        curves.append(label + [.i(s), .n(run.lrs[s]), .n(measured[s]), .n(v)])
                    }
                    let obs = run.observed
                    let atPoints = law.evaluate(p, on: run, at: obs.map { run.steps[$0.index] }, gradient: false).values
                    let m = CurveMetrics(observed: obs.map(\.loss), predicted: atPoints)
                    metrics.append(label + [.n(m.r2), .n(m.mae), .n(m.rmse), .n(m.predE), .n(m.worstE), .i(m.points), .n(fit.seconds)])
                }
            }
        }
        try settings.write(curves, to: outputs[0].file)
        try settings.write(metrics, to: outputs[1].file)
    }
}
