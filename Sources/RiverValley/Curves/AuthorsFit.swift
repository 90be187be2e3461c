import Foundation
import LinearAlgebra

/// The Multi-Power Law authors' fitting procedure (`src/fitting.py` and `src/config.py` of
/// thu-yao-01-luo/MultiPowerLaw, commit 8da9f19; re-implemented from its description, not copied), which
/// produced their published parameters and held-out numbers (paper-notes/curves.md, "Reproducing the
/// published fits"):
///
/// 1. `initialize_params`: a line through (log S1, log(L − min L + 0.01)) gives A and α; a grid of
///    5 × 3 × 3 × 3 starts (L0 = min L ± 0.2, A = e^intercept ± 0.1, α = −slope ± 0.1, B = 100…1000) of the
///    reduced law L0 + A·S1^(−α) − B·(η_peak − η_t), each minimised (they use L-BFGS-B with bounds ≥ 0;
///    here Levenberg–Marquardt over log-parameters, the same objective); the best is kept.
/// 2. `mpl_adam_fit` from (L0, A, α, B, C = 1, β = 0.5, γ = 0.5) in natural parameters: PyTorch AdamW
///    (β1 0.9, β2 0.999, ε 1e-8, weight decay 0.01 — torch's defaults) with learning rate 5e-2 for L0, A,
///    B, C and 5e-3 for α, β, γ; at most 200 steps; stop when 20 steps brought no improvement (after step
///    20) or the gradient norm falls below 1e-5. The parameters kept are those *after* the step taken at
///    the best objective seen (their loop records the model after `optimizer.step()`), and the observed
///    losses enter as float32 (their `preprocess_data`).
///
/// With 200 steps this is an early-stopped fit: the weight decay alone shrinks B by ≈ 0.05% a step, and
/// the objective ends well above its minimum.
extension CurveFitter {
    /// The authors' hyperparameters (`src/config.py`).
    public struct AuthorsSettings: Sendable {
        public var learningRates: [Double] = [5e-2, 5e-2, 5e-3, 5e-2, 5e-2, 5e-3, 5e-3]  // L0 A α B C β γ
        public var beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8, weightDecay = 0.01
        public var maxSteps = 200
        public var patience = 20
        public var gradientThreshold = 1e-5
        public var start: (C: Double, beta: Double, gamma: Double) = (1.0, 0.5, 0.5)
        public init() {}
    }

    /// The reduced law's fit of the authors' initialisation, as [L0, A, α, B] of L0 + A·S1^(−α) − B·(η_peak − η_t).
    static func authorsInitialisation(runs: [CurveRun], peak: Double, options: CurveFitOptions) -> (p: [Double], evaluations: Int) {
        var minLoss = Double.infinity
        var xs: [Double] = [], ys: [Double] = []
        for run in runs { for (_, l) in run.observed { minLoss = min(minLoss, l) } }
        for run in runs {
            for (i, l) in run.observed { xs.append(log(run.prefix[run.steps[i]])); ys.append(log(l - minLoss + 0.01)) }
        }
        let n = Double(xs.count)
        let mx = xs.reduce(0, +) / n, my = ys.reduce(0, +) / n
        var sxy = 0.0, sxx = 0.0
        for i in xs.indices { sxy += (xs[i] - mx) * (ys[i] - my); sxx += (xs[i] - mx) * (xs[i] - mx) }
        let slope = sxy / sxx, intercept = my - slope * mx
        func grid(_ lo: Double, _ hi: Double, _ k: Int) -> [Double] { (0..<k).map { lo + (hi - lo) * Double($0) / Double(k - 1) } }
        let reduced = ReducedLaw()
        let objective = CurveObjective(law: reduced, runs: runs, delta: options.delta)
        let scale = 1 / (options.delta * options.delta)
        var best: (value: Double, p: [Double])? = nil
        var evaluations = 0
        for L0 in grid(minLoss - 0.2, minLoss + 0.2, 5) {
            for A in grid(exp(intercept) - 0.1, exp(intercept) + 0.1, 3) {
                for alpha in grid(-slope - 0.1, -slope + 0.1, 3) {
                    for B in grid(100, 1000, 3) {
                        // Our reduced law is L0' + A·S1^(−α) + B·η_t with L0' = L0 − B·η_peak; the bounds
                        // p ≥ 0 become p > 0 (a start on a bound is moved just inside).
                        let start = [max(L0 - B * peak, 1e-3), max(A, 1e-6), max(alpha, 1e-6), max(B, 1e-6)]
                        let theta = start.map { log($0) }
                        let r = RobustLeastSquares.minimize(start: theta, loss: .huber(options.delta),
                                                            options: .init(maxIterations: 200, valueTolerance: 1e-12, scale: scale)) {
                            objective.residuals(theta: $0, jacobian: $1)
                        }
                        evaluations += r.evaluations
                        if best == nil || r.value < best!.value { best = (r.value, r.x.map { exp($0) }) }
                    }
                }
            }
        }
        let q = best!.p
        return ([q[0] + q[3] * peak, q[1], q[2], q[3]], evaluations)
    }

    /// The authors' procedure (see above) on `runs`.
    static func fitAuthors(runs: [CurveRun], options: CurveFitOptions, settings: AuthorsSettings = AuthorsSettings()) -> MultiStartResult {
        let peak = runs.map(\.peak).max()!
        // Their losses are float32 tensors.
        let runs32 = runs.map { run in
            try! CurveRun(name: run.name, lrs: run.lrs, steps: run.steps, losses: run.losses.map { $0.map { Double(Float($0)) } })
        }
        let (initial, initEvaluations) = authorsInitialisation(runs: runs32, peak: peak, options: options)
        let objective = CurveObjective(law: MultiPowerLaw(), runs: runs32, delta: options.delta)
        var p = initial + [settings.start.C, settings.start.beta, settings.start.gamma]
        var m = [Double](repeating: 0, count: 7), v = [Double](repeating: 0, count: 7)
        var minLoss = Double.infinity, noImprove = 0
        var bestLoss = Double.infinity, bestP = p
        var stop = RobustLeastSquares.Stop.iterations
        var steps = 0, lastGradientNorm = Double.infinity
        for step in 0..<settings.maxSteps {
            let (loss, g) = objective.value(p, gradient: true)
            steps += 1
            // optimizer.step(): decoupled weight decay, then Adam's bias-corrected update.
            let t = Double(step + 1)
            let bc1 = 1 - pow(settings.beta1, t), bc2 = 1 - pow(settings.beta2, t)
            for j in 0..<7 {
                let lr = settings.learningRates[j]
                p[j] *= 1 - lr * settings.weightDecay
                m[j] = settings.beta1 * m[j] + (1 - settings.beta1) * g[j]
                v[j] = settings.beta2 * v[j] + (1 - settings.beta2) * g[j] * g[j]
                p[j] -= lr / bc1 * m[j] / (v[j].squareRoot() / bc2.squareRoot() + settings.epsilon)
            }
            if loss < minLoss { minLoss = loss; noImprove = 0 } else { noImprove += 1 }
            if step > settings.patience && noImprove >= settings.patience { stop = .value; break }
            lastGradientNorm = g.reduce(0) { $0 + $1 * $1 }.squareRoot()
            if lastGradientNorm < settings.gradientThreshold { stop = .gradient; break }
            if loss < bestLoss { bestLoss = loss; bestP = p }
        }
        // Positivity is not enforced by their optimiser; a parameter pushed to ≤ 0 would make the fit
        // unusable, so it is reported through the domain check of `CurveFitResult.vector()`.
        let final = CurveObjective(law: MultiPowerLaw(), runs: runs, delta: options.delta).value(bestP, gradient: true)
        return MultiStartResult(p: bestP, value: final.value, gradientNorm: final.gradient.reduce(0) { $0 + $1 * $1 }.squareRoot(),
                                stop: stop, starts: 1, iterations: steps, evaluations: steps + initEvaluations + 1)
    }
}
