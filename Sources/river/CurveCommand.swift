import ArgumentParser
import Foundation
import RiverValley

/// `river curve`: fit loss-curve laws to runs, predict other schedules, advise a schedule.
struct CurveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "curve",
        abstract: "Loss-curve laws across LR schedules: fit (multi-power, momentum, river-valley), predict, advise.",
        discussion: """
        A run is a CSV with a header and columns step,lr,loss (extra columns ignored, rows by increasing
        step, loss empty on rows that only give the LR); the per-step LR is linear between rows and rises
        linearly from 0 at step 0 before the first row. A `river train` run directory is a run too. Exact
        LRs come from --schedule-files / --schedule (a ScheduleSpec .json, or a CSV of step,lr knots).
        Examples (the Multi-Power Law authors' split, datasets/multipowerlaw):
          D=datasets/multipowerlaw
          river curve fit --law multi-power --runs $D/csv_400/cosine_24000.csv,$D/csv_400/constant_24000.csv,$D/csv_400/wsdcon_9.csv \\
                          --schedule-files $D/schedules/cosine_24000.csv,$D/schedules/constant_24000.csv,$D/schedules/wsdcon_9.csv --out fit.json
          river curve predict --fit fit.json --run $D/csv_400/wsdcon_3.csv --schedule $D/schedules/wsdcon_3.csv --out pred.csv
          river curve advise --fit fit.json --steps 24000
        """,
        subcommands: [CurveFitCommand.self, CurvePredictCommand.self, CurveAdviseCommand.self])
}

struct CurveFitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit",
        abstract: "Fit one law jointly to several runs; write FIT.json (law, parameters, diagnostics).",
        discussion: """
        Objective: Σ Huber_δ(log L − log L̂) over all points, δ = 1e-3 (Luo et al. arXiv 2503.12811).
        Multi-start Levenberg–Marquardt (IRLS weights for the Huber loss) over log-parameters, run to
        convergence; the same --seed gives the same fit. --optimizer adamw instead follows the Multi-Power
        Law authors' own procedure (their published fits; paper-notes/curves.md).
        Laws: multi-power L0 + A·S1^−α − B·Σ(η_{k−1}−η_k)·(1−(1+C·η_k^−γ·S_k)^−β);
        momentum L0 + A·S1^−α − C·S2 (Tissue et al. arXiv 2408.11029); river-valley
        L0 + A·S1^−α + Σ_j B_j·H_j, H_j relaxing toward η at rate κ_j in Σ η (paper-notes/curves.md).
        Prints the fit's JSON summary; --out receives the full FIT.json.
        Example:
          river curve fit --law momentum --runs a.csv,b.csv,c.csv --out fit.json
          river curve fit --law multi-power --optimizer adamw --runs a.csv,b.csv,c.csv --out fit.json
        """)

    @Option(help: ArgumentHelp("The law: \(CurveLawKind.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "law"))
    var law: CurveLawKind

    @Option(help: ArgumentHelp("Runs to fit jointly: run files (CSV step,lr,loss) or `river train` run directories, comma-separated.", valueName: "run,..."),
            transform: CommaList<String>.parse)
    var runs: CommaList<String>

    @Option(name: .customLong("schedule-files"), help: ArgumentHelp("Exact schedules, one per run in the order of --runs: ScheduleSpec .json or CSV step,lr knots.", valueName: "file,..."),
            transform: CommaList<String>.parse)
    var schedules: CommaList<String>?

    @Option(help: ArgumentHelp("The FIT.json to write.", valueName: "path"))
    var out: String

    @Option(help: ArgumentHelp("Seed of the random starts (an integer ≥ 0).", valueName: "seed"))
    var seed: UInt64 = 0

    @Option(help: ArgumentHelp("How to fit: lm (multi-start Levenberg–Marquardt to convergence) or adamw (the Multi-Power Law authors' procedure: reduced-law start, ≤ 200 AdamW steps, early stopping; multi-power only).", valueName: "optimizer"))
    var optimizer: CurveOptimizer = .lm

    func run() throws {
        let loaded = try CurveInputs.runs(runs.elements, schedules: schedules?.elements)
        var options = CurveFitOptions()
        options.seed = seed
        options.optimizer = optimizer
        let fit = try CurveFitter.fit(law, runs: loaded, options: options)
        try CurveInputs.write(try CurveInputs.json(fit, pretty: true) + "\n", to: out)
        print(try CurveInputs.json(fit))
    }
}

struct CurvePredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "predict",
        abstract: "Predict a run's loss curve from a fitted law; print {r2, mae, rmse, pred_e, worst_e, points}.",
        discussion: """
        Metrics over the run's loss points (Luo et al.'s evaluation): R², mean absolute error, root mean
        square error, mean |error|/loss, max |error|/loss; null where undefined (a run without losses).
        --out writes CSV step,lr,loss,predicted at the run's points; a run without losses gets its
        predicted curve (every step, or an even grid of about 4096 steps plus the last for long runs).
        Example:
          river curve predict --fit fit.json --run held-out.csv --out pred.csv
        """)

    @Option(help: ArgumentHelp("A FIT.json written by `river curve fit`.", valueName: "file"))
    var fit: String

    @Option(name: .customLong("run"), help: ArgumentHelp("The run: a run file (CSV step,lr,loss) or a `river train` run directory.", valueName: "run"))
    var runPath: String

    @Option(help: ArgumentHelp("Exact schedule of the run: a ScheduleSpec .json or CSV step,lr knots.", valueName: "file"))
    var schedule: String?

    @Option(help: ArgumentHelp("Write CSV step,lr,loss,predicted here.", valueName: "path"))
    var out: String?

    func run() throws {
        let (fitResult, p) = try CurveInputs.fit(fit)
        let law = fitResult.law.law
        let r = try CurveInputs.run(runPath, schedule: schedule)
        let obs = r.observed
        var steps = r.steps
        if obs.isEmpty {
            let total = r.lrs.count
            let stride = max(1, (total + 4095) / 4096)
            steps = Array(Swift.stride(from: 0, to: total, by: stride))
            if steps.last != total - 1 { steps.append(total - 1) }
            steps = steps.filter { r.prefix[$0] > 0 }
        }
        let predicted = law.evaluate(p, on: r, at: steps, gradient: false).values
        let metrics: CurveMetrics
        if obs.isEmpty {
            metrics = CurveMetrics(r2: .nan, mae: .nan, rmse: .nan, predE: .nan, worstE: .nan, points: 0)
        } else {
            let byIndex = obs.map { predicted[$0.index] }
            metrics = CurveMetrics(observed: obs.map(\.loss), predicted: byIndex)
        }
        if let out {
            var table = CSVTable(["step", "lr", "loss", "predicted"])
            let losses = obs.isEmpty ? [Double?](repeating: nil, count: steps.count) : r.losses
            for (i, s) in steps.enumerated() {
                table.append([.i(s), .n(r.lrs[s]), .n(losses[i]), .n(predicted[i])])
            }
            try CurveInputs.write(table.text, to: out)
        }
        print(try CurveInputs.json(metrics))
    }
}

struct CurveAdviseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "advise",
        abstract: "Schedule advice from a fitted law: decay shape, start and length minimising the predicted final loss.",
        discussion: """
        Candidates: the cosine, and WSD with each --shapes decay over 5%…100% of the budget, all with the
        fit runs' warmup (or --warmup, Levanter's rule: ≤ 1 a fraction, > 1 steps) and the floor --min-ratio·peak. Prints CSV (best first):
        kind,shape,decay_steps,decay_start,predicted_final_loss; --json prints the same as JSON.
        Example:
          river curve advise --fit fit.json --steps 24000 --shapes linear,1-sqrt
        """)

    @Option(help: ArgumentHelp("A FIT.json written by `river curve fit`.", valueName: "file"))
    var fit: String

    @Option(help: ArgumentHelp("The budget N (steps); the final loss is predicted at step N−1.", valueName: "n"))
    var steps: Int

    @Option(parsing: .unconditional, help: ArgumentHelp("The peak LR (default: the fitted runs' peak).", valueName: "lr"))
    var peak: Double?

    @Option(help: ArgumentHelp("Decay shapes to try, comma-separated: \(DecayShape.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "shape,..."),
            transform: CommaList<DecayShape>.parse)
    var shapes: CommaList<DecayShape>?

    @Option(name: .customLong("min-ratio"), parsing: .unconditional, help: ArgumentHelp("The decay floor as a fraction of the peak.", valueName: "ratio"))
    var minRatio: Double = 0.1

    @Option(parsing: .unconditional, help: ArgumentHelp("Warmup: a fraction of the budget (≤ 1) or whole steps (> 1); default the first fitted run's, at most 10% of the budget.", valueName: "length"))
    var warmup: Double?

    @Flag(help: "Print JSON instead of CSV.")
    var json = false

    func validate() throws {
        guard steps >= 2 else { throw ValidationError("--steps \(steps): the budget must be at least 2 steps") }
        guard minRatio > 0, minRatio < 1 else { throw ValidationError("--min-ratio \(minRatio) must be in (0, 1)") }
        if let w = warmup {
            guard w.isFinite, w >= 0, w <= Double(steps), w <= 1 || w == w.rounded() else {
                throw ValidationError("--warmup \(w): give a fraction ≤ 1 of the budget or a whole number of steps ≤ --steps \(steps)")
            }
        }
    }

    func run() throws {
        let (fitResult, p) = try CurveInputs.fit(fit)
        let shapeList = shapes?.elements ?? DecayShape.allCases
        let w = warmup.map { $0 <= 1 ? Int($0 * Double(steps)) : Int($0) } ?? min(fitResult.warmup, steps / 10)
        let candidates = try CurveAdvice.candidates(law: fitResult.law.law, parameters: p, steps: steps,
                                                    peak: peak ?? fitResult.peak, warmup: w, minRatio: minRatio,
                                                    shapes: shapeList)
        if json {
            print(try CurveInputs.json(candidates))
        } else {
            var table = CSVTable(["kind", "shape", "decay_steps", "decay_start", "predicted_final_loss"])
            for c in candidates {
                table.append([.t(c.kind.rawValue), .t(c.shape?.rawValue ?? ""), .i(c.decaySteps), .i(c.decayStart),
                              .n(c.predictedFinalLoss)])
            }
            FileHandle.standardOutput.write(Data(table.text.utf8))
        }
    }
}
