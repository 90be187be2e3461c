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

    /// F at natural parameters p, and ∂F/∂p when `gradient`.
    public func value(_ p: [Double], gradient: Bool) -> (value: Double, gradient: [Double]) {
        var f = 0.0
        var g = [Double](repeating: 0, count: p.count)
        for run in runs {
            let obs = run.observed
            let steps = obs.map { run.steps[$0.index] }
            let (pred, jac) = law.evaluate(p, on: run, at: steps, gradient: gradient)
            for (i, o) in obs.enumerated() {
                let clamped = pred[i] < 1e-10
                let r = log(o.loss) - log(clamped ? 1e-10 : pred[i])
                f += Huber.value(r, delta: delta)
                if gradient && !clamped {
                    // dh/dp = h'(r)·(−1/L̂)·dL̂/dp
                    let w = -Huber.derivative(r, delta: delta) / pred[i]
                    for j in 0..<p.count { g[j] += w * jac[i][j] }
                }
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
}

/// How a law is fitted: multi-start quasi-Newton (GSL BFGS2) on the Huber objective.
public struct CurveFitOptions: Sendable {
    /// Seed of the random starts (the fit is deterministic for a seed).
    public var seed: UInt64 = 0
    /// Random starts added to the law's own: the first start perturbed by N(0, 0.5²) in each θ.
    public var randomStarts: Int = 4
    /// Iterations of the screening pass every start gets (on every `screenStride`-th point of each run).
    public var screenIterations: Int = 30
    public var screenStride: Int = 4
    /// How many of the best screened starts are run to convergence.
    public var polished: Int = 2
    /// Iteration limit of the full runs.
    public var maxIterations: Int = 500
    /// Converged when the objective gains less than this (relative) over 10 iterations.
    public var valueTolerance: Double = 1e-7
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
    public var starts: Int
    public var iterations: Int
    public var evaluations: Int
    public var stop: QuasiNewton.Stop
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
        let points = runs.map { $0.observed.count }.reduce(0, +)
        guard !runs.isEmpty else { throw CurveError("no runs to fit") }
        for run in runs where run.observed.isEmpty {
            throw CurveError("run \(run.name) has no losses to fit (every row only gives the LR)")
        }
        let schedules = Set(runs.map { "\($0.lrs.count):\($0.prefix.last!)" }).count
        if schedules < 2 {
            throw CurveError("'\(kind.rawValue)' has \(law.parameterCount) parameters and its LR-drop terms are only identifiable across schedules: fit at least 2 runs with different schedules (got \(runs.count == 1 ? "a single run" : "\(runs.count) runs with one schedule"))")
        }
        guard points > law.parameterCount else {
            throw CurveError("\(points) loss points cannot determine the \(law.parameterCount) parameters of '\(kind.rawValue)'")
        }
        // The LR-drop terms are only identifiable from runs with different schedules.
        for run in runs {
            for (i, _) in run.observed where run.prefix[run.steps[i]] <= 0 {
                throw CurveError("run \(run.name): the loss at step \(run.steps[i]) comes before any LR (S1 = 0), where every law is undefined; drop that row")
            }
        }
        let peak = runs.map(\.peak).max()!
        // 1. The reduced law (instant relaxation) from log-log regressions.
        let reduced = ReducedLaw(guesses: ReducedLaw.guesses(for: runs))
        let baseStarts = reduced.starts(from: .init(L0: 0, A: 0, alpha: 0, B: 0, peak: peak))
        let base = multiStart(CurveObjective(law: reduced, runs: runs, delta: options.delta), starts: baseStarts,
                              options: options, extra: 0)
        let b = base.p
        // 2. The law from its own starts plus random ones.
        let objective = CurveObjective(law: law, runs: runs, delta: options.delta)
        let starts = law.starts(from: .init(L0: b[0], A: b[1], alpha: b[2], B: b[3], peak: peak))
        let best = multiStart(objective, starts: starts, options: options, extra: options.randomStarts)
        let p = best.p
        let diagnostics = runs.map { run -> CurveFitResult.RunDiagnostics in
            let obs = run.observed
            let pred = law.evaluate(p, on: run, at: obs.map { run.steps[$0.index] }, gradient: false).values
            return .init(name: run.name, metrics: CurveMetrics(observed: obs.map(\.loss), predicted: pred))
        }
        let elapsed = ContinuousClock.now - clock
        return CurveFitResult(
            law: kind, parameters: Dictionary(uniqueKeysWithValues: zip(law.parameterNames, p)),
            objective: best.result.value * options.delta * options.delta, runs: diagnostics, peak: peak,
            warmup: runs[0].lrs.firstIndex(where: { $0 >= runs[0].peak }) ?? 0, seed: options.seed,
            starts: best.starts, iterations: best.iterations, evaluations: best.evaluations, stop: best.result.stop,
            gradientNorm: best.result.gradientNorm * options.delta * options.delta,
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
    }

    struct MultiStartResult {
        let p: [Double]
        let result: QuasiNewton.Result
        let starts: Int
        let iterations: Int
        let evaluations: Int
    }

    /// Screens every start for a few iterations, then runs the best to convergence. The objective is
    /// divided by δ² so that a point at the Huber kink contributes ½: tolerances are then scale-free.
    static func multiStart(_ objective: CurveObjective, starts: [[Double]], options: CurveFitOptions, extra: Int) -> MultiStartResult {
        let domains = objective.law.domains
        let scale = 1 / (options.delta * options.delta)
        var thetas = starts.map { s in zip(domains, s).map { $0.theta($1) } }
        if extra > 0, let first = thetas.first {
            let rng = RandomSource(seed: options.seed)
            for _ in 0..<extra { thetas.append(first.map { $0 + 0.5 * rng.gaussian() }) }
        }
        func f(_ theta: [Double], _ g: inout [Double]) -> Double {
            let (v, grad) = objective.valueTheta(theta, gradient: true)
            for j in g.indices { g[j] = grad[j] * scale }
            return v * scale
        }
        // Screening on a subsample of the points: the starts are ranked, not converged, so a quarter of the
        // points is enough and four times cheaper.
        let sub = CurveObjective(law: objective.law, runs: objective.runs.map { $0.thinned(options.screenStride) },
                                 delta: objective.delta)
        func fSub(_ theta: [Double], _ g: inout [Double]) -> Double {
            let (v, grad) = sub.valueTheta(theta, gradient: true)
            for j in g.indices { g[j] = grad[j] * scale }
            return v * scale
        }
        var iterations = 0, evaluations = 0
        var screen: [QuasiNewton.Result] = []
        for t in thetas {
            let r = QuasiNewton.minimize(start: t, options: .init(gradientTolerance: 1e-6, maxIterations: options.screenIterations), fSub)
            iterations += r.iterations; evaluations += r.evaluations
            screen.append(r)
        }
        let order = screen.indices.sorted { screen[$0].value < screen[$1].value }
        var best: QuasiNewton.Result? = nil
        for i in order.prefix(max(options.polished, 1)) {
            let r = QuasiNewton.minimize(start: screen[i].x, options: .init(gradientTolerance: 1e-6, maxIterations: options.maxIterations,
                                                                              valueTolerance: options.valueTolerance), f)
            iterations += r.iterations; evaluations += r.evaluations
            if best == nil || r.value < best!.value { best = r }
        }
        let p = zip(domains, best!.x).map { $0.value($1) }
        return MultiStartResult(p: p, result: best!, starts: thetas.count, iterations: iterations, evaluations: evaluations)
    }
}
