import Foundation

/// Levenberg–Marquardt on a robust least-squares objective F(x) = Σ_i ρ(r_i(x)), where ρ is ½r² or
/// the Huber loss with threshold δ. Each iteration is one Gauss–Newton step with iteratively reweighted
/// least squares (IRLS) weights w_i = ρ'(r_i)/r_i (1 inside the Huber threshold, δ/|r_i| beyond): the
/// model ½·Σ w_i (r_i + J_i·s)² majorises ρ near the current point, so damped steps decrease F, and the
/// Marquardt scaling (damping by diag(JᵀWJ)) makes the method invariant to the scale of each variable.
/// Damping follows Nielsen's gain-ratio rule (Madsen, Nielsen & Tingleff, "Methods for non-linear least
/// squares problems", 2004, §3.2). Deterministic: no randomness.
public enum RobustLeastSquares {
    /// ρ: plain squares or Huber with threshold δ.
    public enum Loss: Sendable, Equatable {
        case squares
        case huber(Double)

        public func value(_ r: Double) -> Double {
            switch self {
            case .squares: return 0.5 * r * r
            case .huber(let d): return abs(r) <= d ? 0.5 * r * r : d * (abs(r) - 0.5 * d)
            }
        }
        /// ρ'(r).
        public func derivative(_ r: Double) -> Double {
            switch self {
            case .squares: return r
            case .huber(let d): return abs(r) <= d ? r : (r > 0 ? d : -d)
            }
        }
        /// The IRLS weight ρ'(r)/r (1 at r = 0).
        public func weight(_ r: Double) -> Double {
            switch self {
            case .squares: return 1
            case .huber(let d): return abs(r) <= d ? 1 : d / abs(r)
            }
        }
    }

    public struct Options: Sendable {
        /// Stop after this many iterations (accepted or rejected steps).
        public var maxIterations: Int
        /// Stop when an accepted step lowered F by less than valueTolerance·F on `patience` consecutive
        /// accepted steps.
        public var valueTolerance: Double
        public var patience: Int
        /// Stop when ‖∇F‖∞ ≤ gradientTolerance·max(F, 1).
        public var gradientTolerance: Double
        /// Stop when the step is below stepTolerance·(‖x‖ + stepTolerance).
        public var stepTolerance: Double
        /// Initial damping μ relative to max diag(JᵀWJ).
        public var initialDamping: Double
        /// Objective scale: F and ∇F are multiplied by this (the Huber fit uses 1/δ², so a point at the
        /// kink contributes ½ and the tolerances are scale-free).
        public var scale: Double
        public init(maxIterations: Int = 200, valueTolerance: Double = 1e-10, patience: Int = 3,
                    gradientTolerance: Double = 1e-10, stepTolerance: Double = 1e-12, initialDamping: Double = 1e-3,
                    scale: Double = 1) {
            self.maxIterations = maxIterations; self.valueTolerance = valueTolerance; self.patience = patience
            self.gradientTolerance = gradientTolerance; self.stepTolerance = stepTolerance
            self.initialDamping = initialDamping; self.scale = scale
        }
    }

    public enum Stop: String, Codable, Sendable {
        /// ‖∇F‖ below the tolerance.
        case gradient
        /// F stalled: accepted steps gained less than the value tolerance.
        case value
        /// The step became negligible (or the damping grew without bound): a minimum to working precision.
        case step
        /// The iteration limit.
        case iterations
        /// r or J was not finite at the starting point.
        case nonFinite = "non-finite"
    }

    public struct Result: Sendable {
        public let x: [Double]
        /// F(x) times `Options.scale`.
        public let value: Double
        /// ‖∇F(x)‖₂ times `Options.scale`.
        public let gradientNorm: Double
        public let iterations: Int
        /// Evaluations of r and J.
        public let evaluations: Int
        public let stop: Stop
    }

    /// Residuals r(x) (length m) and, with `jacobian`, J (row i = ∂r_i/∂x, each of length n).
    /// Return nil, or non-finite values, where the model is undefined: the step is then rejected.
    public typealias Residuals = ([Double], _ jacobian: Bool) -> (r: [Double], J: [[Double]])?

    /// Minimises Σ ρ(r_i(x)) from `start`.
    public static func minimize(start: [Double], loss: Loss, options: Options = Options(), _ residuals: Residuals) -> Result {
        let n = start.count
        precondition(n > 0, "minimize needs at least one variable")
        var evaluations = 0
        func evaluate(_ x: [Double]) -> (f: Double, r: [Double], J: [[Double]])? {
            evaluations += 1
            guard let (r, J) = residuals(x, true), r.allSatisfy(\.isFinite),
                  J.allSatisfy({ $0.count == n && $0.allSatisfy(\.isFinite) }) else { return nil }
            var f = 0.0
            for v in r { f += loss.value(v) }
            return (f * options.scale, r, J)
        }
        guard var cur = evaluate(start) else {
            return Result(x: start, value: .infinity, gradientNorm: .infinity, iterations: 0, evaluations: evaluations, stop: .nonFinite)
        }
        var x = start
        // Gradient g = Jᵀρ'(r) and IRLS normal matrix H = JᵀWJ, both scaled.
        func normal(_ r: [Double], _ J: [[Double]]) -> (g: [Double], H: [Double]) {
            var g = [Double](repeating: 0, count: n), H = [Double](repeating: 0, count: n * n)
            for i in r.indices {
                let d = loss.derivative(r[i]) * options.scale, w = loss.weight(r[i]) * options.scale
                let row = J[i]
                for a in 0..<n {
                    g[a] += d * row[a]
                    let wa = w * row[a]
                    for b in a..<n { H[a * n + b] += wa * row[b] }
                }
            }
            for a in 0..<n { for b in 0..<a { H[a * n + b] = H[b * n + a] } }
            return (g, H)
        }
        var (g, H) = normal(cur.r, cur.J)
        var mu = options.initialDamping * (0..<n).map { H[$0 * n + $0] }.max()!
        var nu = 2.0
        var stalled = 0
        func norm(_ v: [Double]) -> Double { v.reduce(0) { $0 + $1 * $1 }.squareRoot() }
        func finish(_ stop: Stop, _ iterations: Int) -> Result {
            Result(x: x, value: cur.f, gradientNorm: norm(g), iterations: iterations, evaluations: evaluations, stop: stop)
        }
        for iteration in 1...max(options.maxIterations, 1) {
            if g.map(abs).max()! <= options.gradientTolerance * max(cur.f, 1) { return finish(.gradient, iteration - 1) }
            // (H + μ·diag(H)) s = −g, diag floored so a flat direction is still damped.
            var A = H
            let dmax = (0..<n).map { H[$0 * n + $0] }.max()!
            for a in 0..<n { A[a * n + a] += mu * max(H[a * n + a], 1e-12 * dmax, 1e-300) }
            guard let s = choleskySolve(A, g.map { -$0 }, n) else {
                mu *= nu; nu *= 2
                if !mu.isFinite || mu > 1e300 { return finish(.step, iteration) }
                continue
            }
            if norm(s) <= options.stepTolerance * (norm(x) + options.stepTolerance) { return finish(.step, iteration) }
            let trial = zip(x, s).map(+)
            // Predicted decrease of the IRLS model: −(gᵀs + ½ sᵀHs).
            var gs = 0.0, sHs = 0.0
            for a in 0..<n {
                gs += g[a] * s[a]
                for b in 0..<n { sHs += s[a] * H[a * n + b] * s[b] }
            }
            let predicted = -(gs + 0.5 * sHs)
            if let next = evaluate(trial), predicted > 0 {
                let gain = (cur.f - next.f) / predicted
                if gain > 0 {
                    let gained = cur.f - next.f
                    x = trial; cur = next
                    (g, H) = normal(cur.r, cur.J)
                    mu *= max(1.0 / 3, 1 - pow(2 * gain - 1, 3)); nu = 2
                    stalled = gained <= options.valueTolerance * max(cur.f, 1e-300) ? stalled + 1 : 0
                    if stalled >= options.patience { return finish(.value, iteration) }
                    continue
                }
            }
            mu *= nu; nu *= 2
            if !mu.isFinite || mu > 1e300 { return finish(.step, iteration) }
        }
        return finish(.iterations, options.maxIterations)
    }

    /// Solves the symmetric positive definite system A x = b (A row-major n×n) by Cholesky; nil when A is
    /// not numerically positive definite.
    public static func choleskySolve(_ A: [Double], _ b: [Double], _ n: Int) -> [Double]? {
        var L = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in 0...i {
                var s = A[i * n + j]
                for k in 0..<j { s -= L[i * n + k] * L[j * n + k] }
                if i == j {
                    guard s > 0, s.isFinite else { return nil }
                    L[i * n + i] = s.squareRoot()
                } else {
                    L[i * n + j] = s / L[j * n + j]
                }
            }
        }
        var y = b
        for i in 0..<n {
            var s = y[i]
            for k in 0..<i { s -= L[i * n + k] * y[k] }
            y[i] = s / L[i * n + i]
        }
        for i in stride(from: n - 1, through: 0, by: -1) {
            var s = y[i]
            for k in (i + 1)..<n { s -= L[k * n + i] * y[k] }
            y[i] = s / L[i * n + i]
        }
        return y
    }
}
