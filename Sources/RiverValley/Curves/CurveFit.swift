import Foundation
import LinearAlgebra

/// The Huber loss of the Multi-Power Law fit (the authors' `torch_huber`, scipy's `huber`):
/// h(r) = r²/2 for |r| ≤ δ, δ(|r| − δ/2) beyond.
public enum Huber {
    public static func value(_ r: Double, delta: Double) -> Double {
        abs(r) <= delta ? 0.5 * r * r : delta * (abs(r) - 0.5 * delta)
    }
    /// h'(r) = r for |r| ≤ δ, δ·sign(r) beyond.
    public static func derivative(_ r: Double, delta: Double) -> Double {
        abs(r) <= delta ? r : (r > 0 ? delta : -delta)
    }
}

/// The fit objective F(p) = Σ_runs Σ_points h(log L_i − log L̂_i) (Luo et al. arXiv 2503.12811 §4,
/// δ = 1e-3), over the unconstrained θ of the law's parameter domains. L̂ is clamped at 1e-10 before the
/// log, as in the authors' code.
public struct CurveObjective: Sendable {
    public let law: any LossCurveLaw
    public let runs: [CurveRun]
    public let delta: Double

    public init(law: any LossCurveLaw, runs: [CurveRun], delta: Double = 1e-3) {
        self.law = law; self.runs = runs; self.delta = delta
    }

    /// The observed losses, predictions and (with `gradient`) Jacobian rows ∂L̂/∂p at every observed point
    /// of every run, in run order. The laws whose cost grows with points × LR changes (multi-power) are
    /// evaluated on every core, each worker taking every w-th point of a run (the points' costs grow with
    /// the step, so interleaving balances them); the others are one O(T) pass per run.
    func points(_ p: [Double], gradient: Bool) -> [(loss: Double, pred: Double, jac: [Double])] {
        struct Job: Sendable { let run: Int; let part: Int; let parts: Int }
        var jobs: [Job] = []
        for (r, run) in runs.enumerated() {
            let work = run.observed.count * run.changes.k.count
            let parts = law.kind == .multiPower && !(law is ReducedLaw) && work >= 20_000 ? Parallel.workers : 1
            for part in 0..<parts { jobs.append(Job(run: r, part: part, parts: parts)) }
        }
        let law = self.law, runs = self.runs
        let evaluate: @Sendable (Job) -> [(index: Int, loss: Double, pred: Double, jac: [Double])] = { job in
            let run = runs[job.run]
            let obs = run.observed.enumerated().filter { $0.offset % job.parts == job.part }.map(\.element)
            let (pred, jac) = law.evaluate(p, on: run, at: obs.map { run.steps[$0.index] }, gradient: gradient)
            return obs.indices.map { (obs[$0].index, obs[$0].loss, pred[$0], gradient ? jac[$0] : []) }
        }
        let parts = jobs.count > runs.count ? (try? Parallel.map(jobs, evaluate)) ?? jobs.map(evaluate) : jobs.map(evaluate)
        var out: [(loss: Double, pred: Double, jac: [Double])] = []
        var j = 0
        for r in runs.indices {
            var merged: [(index: Int, loss: Double, pred: Double, jac: [Double])] = []
            while j < jobs.count && jobs[j].run == r { merged += parts[j]; j += 1 }
            merged.sort { $0.index < $1.index }
            out += merged.map { ($0.loss, $0.pred, $0.jac) }
        }
        return out
    }

    /// F at natural parameters p, and ∂F/∂p when `gradient`.
    public func value(_ p: [Double], gradient: Bool) -> (value: Double, gradient: [Double]) {
        var f = 0.0
        var g = [Double](repeating: 0, count: p.count)
        for pt in points(p, gradient: gradient) {
            let clamped = pt.pred < 1e-10
            let r = log(pt.loss) - log(clamped ? 1e-10 : pt.pred)
            f += Huber.value(r, delta: delta)
            if gradient && !clamped {
                // dh/dp = h'(r)·(−1/L̂)·dL̂/dp
                let w = -Huber.derivative(r, delta: delta) / pt.pred
                for j in 0..<p.count { g[j] += w * pt.jac[j] }
            }
        }
        return (f, g)
    }

    /// F and ∂F/∂θ at unconstrained θ.
    public func valueTheta(_ theta: [Double], gradient: Bool) -> (value: Double, gradient: [Double]) {
        let domains = law.domains
        let p = zip(domains, theta).map { $0.value($1) }
        var (f, g) = value(p, gradient: gradient)
        if gradient { for j in g.indices { g[j] *= domains[j].derivative(p[j]) } }
        return (f, g)
    }

    /// The residuals r_i = log L_i − log L̂_i at θ and, with `jacobian`, ∂r_i/∂θ = −(∂L̂_i/∂p·dp/dθ)/L̂_i;
    /// nil where a prediction is not positive (the fit steps back from there).
    public func residuals(theta: [Double], jacobian: Bool) -> (r: [Double], J: [[Double]])? {
        let domains = law.domains
        let p = zip(domains, theta).map { $0.value($1) }
        let dp = zip(domains, p).map { $0.derivative($1) }
        let pts = points(p, gradient: jacobian)
        var r = [Double](repeating: 0, count: pts.count)
        var J: [[Double]] = jacobian ? [] : []
        if jacobian { J.reserveCapacity(pts.count) }
        for (i, pt) in pts.enumerated() {
            guard pt.pred > 1e-10, pt.pred.isFinite else { return nil }
            r[i] = log(pt.loss) - log(pt.pred)
            if jacobian { J.append((0..<p.count).map { -pt.jac[$0] * dp[$0] / pt.pred }) }
        }
        return (r, J)
    }
}

/// How `river curve fit` fits: Levenberg–Marquardt on the Huber objective (the default), or the
/// Multi-Power Law authors' own procedure (multi-power only; see `CurveFitter.fitAuthors`).
public enum CurveOptimizer: String, Codable, CaseIterable, Sendable {
    /// Multi-start Levenberg–Marquardt with IRLS weights (`RobustLeastSquares`), run to convergence.
    case lm
    /// The authors' `src/fitting.py`: the reduced law's fit, then at most 200 AdamW steps with their
    /// learning rates, weight decay and early stopping (thu-yao-01-luo/MultiPowerLaw).
    case adamw
}

/// How a law is fitted.
public struct CurveFitOptions: Sendable {
    public var optimizer: CurveOptimizer = .lm
    /// Seed of the random starts (the fit is deterministic for a seed).
    public var seed: UInt64 = 0
    /// Random starts added to the law's own: the first start perturbed by N(0, 0.5²) in each θ.
    public var randomStarts: Int = 4
    /// Iterations of the screening pass every start gets (on every `screenStride`-th point of each run).
    public var screenIterations: Int = 12
    public var screenStride: Int = 4
    /// How many of the best screened starts are run to convergence (on the screening subsample; the best
    /// of them is then finished on every point).
    public var polished: Int = 4
    /// Iteration limit of the full runs.
    public var maxIterations: Int = 300
    /// Converged when three accepted steps in a row gain less than this (relative).
    public var valueTolerance: Double = 1e-9
    /// Huber δ.
    public var delta: Double = 1e-3
    public init() {}
}

/// A fitted law: parameters, the objective, per-run fit diagnostics and how the fit went.
public struct CurveFitResult: Codable, Sendable {
    public var law: CurveLawKind
    /// Parameter name → value.
    public var parameters: [String: Double]
    /// Σ Huber(log L − log L̂) over the fitted points.
    public var objective: Double
    /// Metrics on each fitted run.
    public var runs: [RunDiagnostics]
    /// The peak LR and total steps of the fitted runs (defaults for `curve advise`).
    public var peak: Double
    public var warmup: Int
    public var seed: UInt64
    /// How the fit was made (absent in fits written before the choice existed: Levenberg–Marquardt's
    /// predecessor, BFGS).
    public var optimizer: CurveOptimizer?
    public var starts: Int
    public var iterations: Int
    public var evaluations: Int
    public var stop: RobustLeastSquares.Stop
    public var gradientNorm: Double
    public var seconds: Double

    public struct RunDiagnostics: Codable, Sendable {
        public var name: String
        public var metrics: CurveMetrics
    }

    /// The parameter vector in the law's order; throws if the names are not exactly the law's.
    public func vector() throws -> [Double] {
        let names = law.law.parameterNames
        guard Set(parameters.keys) == Set(names) else {
            throw CurveError("the fit's parameters \(parameters.keys.sorted()) are not those of the law '\(law.rawValue)' (\(names.joined(separator: ", "))): the FIT.json belongs to another law or is corrupt")
        }
        let v = names.map { parameters[$0]! }
        for (n, (x, d)) in zip(names, zip(v, law.law.domains)) where !d.contains(x) {
            throw CurveError("parameter \(n) = \(x) of the '\(law.rawValue)' fit is outside its domain (\(d.rawValue))")
        }
        return v
    }
}

public enum CurveFitter {
    /// Fits `law` jointly to `runs`.
    public static func fit(_ kind: CurveLawKind, runs: [CurveRun], options: CurveFitOptions = CurveFitOptions()) throws -> CurveFitResult {
        let law = kind.law
        let clock = ContinuousClock.now
        if options.optimizer == .adamw && kind != .multiPower {
            throw CurveError("--optimizer adamw is the Multi-Power Law authors' procedure, with learning rates for the multi-power parameters; it fits only --law multi-power (got '\(kind.rawValue)'; use --optimizer lm)")
        }
        try validate(kind, runs: runs)
        let peak = runs.map(\.peak).max()!
        let best: MultiStartResult
        if options.optimizer == .adamw {
            best = fitAuthors(runs: runs, options: options)
        } else {
            // 1. The reduced law (instant relaxation) from log-log regressions.
            let reduced = ReducedLaw(guesses: ReducedLaw.guesses(for: runs))
            let baseStarts = reduced.starts(from: .init(L0: 0, A: 0, alpha: 0, B: 0, peak: peak))
            let base = multiStart(CurveObjective(law: reduced, runs: runs, delta: options.delta), starts: baseStarts,
                                  options: options, extra: 0)
            let b = base.p
            // 2. The law from its own starts plus random ones.
            let objective = CurveObjective(law: law, runs: runs, delta: options.delta)
            let starts = law.starts(from: .init(L0: b[0], A: b[1], alpha: b[2], B: b[3], peak: peak))
            best = multiStart(objective, starts: starts, options: options, extra: options.randomStarts)
        }
        let p = best.p
        for (j, (x, d)) in zip(p, law.domains).enumerated() where !d.contains(x) {
            throw CurveError("the \(options.optimizer.rawValue) fit of '\(kind.rawValue)' ended with \(law.parameterNames[j]) = \(x), outside its domain (\(d.rawValue)); the runs do not determine the law")
        }
        let diagnostics = runs.map { run -> CurveFitResult.RunDiagnostics in
            let obs = run.observed
            let pred = law.evaluate(p, on: run, at: obs.map { run.steps[$0.index] }, gradient: false).values
            return .init(name: run.name, metrics: CurveMetrics(observed: obs.map(\.loss), predicted: pred))
        }
        let elapsed = ContinuousClock.now - clock
        return CurveFitResult(
            law: kind, parameters: Dictionary(uniqueKeysWithValues: zip(law.parameterNames, p)),
            objective: best.value, runs: diagnostics, peak: peak,
            warmup: runs[0].lrs.firstIndex(where: { $0 >= runs[0].peak }) ?? 0, seed: options.seed,
            optimizer: options.optimizer,
            starts: best.starts, iterations: best.iterations, evaluations: best.evaluations, stop: best.stop,
            gradientNorm: best.gradientNorm,
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
    }

    /// The checks every fit makes before it starts.
    static func validate(_ kind: CurveLawKind, runs: [CurveRun]) throws {
        let law = kind.law
        guard !runs.isEmpty else { throw CurveError("no runs to fit") }
        for run in runs where run.observed.isEmpty {
            throw CurveError("run \(run.name) has no losses to fit (every row only gives the LR)")
        }
        // The LR-drop terms are only identifiable from runs with different schedules.
        let schedules = Set(runs.map { "\($0.lrs.count):\($0.prefix.last!)" }).count
        if schedules < 2 {
            throw CurveError("'\(kind.rawValue)' has \(law.parameterCount) parameters and its LR-drop terms are only identifiable across schedules: fit at least 2 runs with different schedules (got \(runs.count == 1 ? "a single run" : "\(runs.count) runs with one schedule"))")
        }
        let points = runs.map { $0.observed.count }.reduce(0, +)
        guard points > law.parameterCount else {
            throw CurveError("\(points) loss points cannot determine the \(law.parameterCount) parameters of '\(kind.rawValue)'")
        }
        for run in runs {
            for (i, _) in run.observed where run.prefix[run.steps[i]] <= 0 {
                throw CurveError("run \(run.name): the loss at step \(run.steps[i]) comes before any LR (S1 = 0), where every law is undefined; drop that row")
            }
        }
    }

    struct MultiStartResult {
        let p: [Double]
        /// The objective Σ Huber at p (unscaled).
        let value: Double
        let gradientNorm: Double
        let stop: RobustLeastSquares.Stop
        let starts: Int
        let iterations: Int
        let evaluations: Int
    }

    /// Screens every start with a few Levenberg–Marquardt iterations on a quarter of the points, runs the
    /// best `polished` to convergence there, then the best of those to convergence on all points. The objective is divided by δ² so that a point at the
    /// Huber kink contributes ½: tolerances are then scale-free.
    static func multiStart(_ objective: CurveObjective, starts: [[Double]], options: CurveFitOptions, extra: Int) -> MultiStartResult {
        let domains = objective.law.domains
        let scale = 1 / (options.delta * options.delta)
        var thetas = starts.map { s in zip(domains, s).map { $0.theta($1) } }
        if extra > 0, let first = thetas.first {
            let rng = RandomSource(seed: options.seed)
            for _ in 0..<extra { thetas.append(first.map { $0 + 0.5 * rng.gaussian() }) }
        }
        let loss = RobustLeastSquares.Loss.huber(options.delta)
        // Screening on a subsample of the points: the starts are ranked, not converged.
        let sub = CurveObjective(law: objective.law, runs: objective.runs.map { $0.thinned(options.screenStride) },
                                 delta: objective.delta)
        var iterations = 0, evaluations = 0
        var screen: [RobustLeastSquares.Result] = []
        for t in thetas {
            let r = RobustLeastSquares.minimize(start: t, loss: loss,
                                                options: .init(maxIterations: options.screenIterations, scale: scale)) {
                sub.residuals(theta: $0, jacobian: $1)
            }
            iterations += r.iterations; evaluations += r.evaluations
            screen.append(r)
        }
        // The best starts run to convergence on the subsample, the best of them then on every point
        // (a few more iterations: the subsample's minimum is close to the full one).
        let order = screen.indices.sorted { screen[$0].value < screen[$1].value }
        var candidates: [RobustLeastSquares.Result] = []
        for i in order.prefix(max(options.polished, 1)) {
            let r = RobustLeastSquares.minimize(start: screen[i].x, loss: loss,
                                                options: .init(maxIterations: options.maxIterations,
                                                               valueTolerance: options.valueTolerance, scale: scale)) {
                sub.residuals(theta: $0, jacobian: $1)
            }
            iterations += r.iterations; evaluations += r.evaluations
            candidates.append(r)
        }
        let start = candidates.min { $0.value < $1.value }!.x
        let best: RobustLeastSquares.Result? = RobustLeastSquares.minimize(
            start: start, loss: loss, options: .init(maxIterations: options.maxIterations, valueTolerance: options.valueTolerance, scale: scale)) {
            objective.residuals(theta: $0, jacobian: $1)
        }
        iterations += best!.iterations; evaluations += best!.evaluations
        let b = best!
        let p = zip(domains, b.x).map { $0.value($1) }
        return MultiStartResult(p: p, value: b.value / scale, gradientNorm: b.gradientNorm / scale, stop: b.stop,
                                starts: thetas.count, iterations: iterations, evaluations: evaluations)
    }
}
