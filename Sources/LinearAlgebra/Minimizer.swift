@preconcurrency import CGSL

/// Unconstrained minimisation of a smooth function with its gradient: GSL's `vector_bfgs2`
/// quasi-Newton method (Fletcher's BFGS with a Moré–Thuente-style line search,
/// `gsl_multimin_fdfminimizer_vector_bfgs2`).
public enum QuasiNewton {
    /// Settings of one minimisation.
    public struct Options: Sendable {
        /// Stop when ‖∇f‖₂ falls below this (`gsl_multimin_test_gradient`).
        public var gradientTolerance: Double
        /// Stop after this many iterations.
        public var maxIterations: Int
        /// Length of the first trial step.
        public var initialStep: Double
        /// Line-search accuracy σ (GSL's `tol`; 0.1 is its recommendation for BFGS).
        public var lineSearchTolerance: Double
        /// Stop when f fell by less than valueTolerance·max(|f|, 1) over the last `window` iterations
        /// (scipy's `ftol` criterion, over a window so one short step does not end the run); 0 disables.
        public var valueTolerance: Double
        public var window: Int
        public init(gradientTolerance: Double = 1e-8, maxIterations: Int = 1000, initialStep: Double = 0.01,
                    lineSearchTolerance: Double = 0.1, valueTolerance: Double = 0, window: Int = 10) {
            self.gradientTolerance = gradientTolerance
            self.valueTolerance = valueTolerance
            self.window = window
            self.maxIterations = maxIterations
            self.initialStep = initialStep
            self.lineSearchTolerance = lineSearchTolerance
        }
    }

    /// Why a minimisation stopped.
    public enum Stop: String, Codable, Sendable {
        /// ‖∇f‖ below the tolerance.
        case gradient
        /// f stalled: less than the value tolerance gained over the window.
        case value
        /// The line search could make no further progress (GSL_ENOPROG): a minimum to machine precision
        /// or a badly scaled problem.
        case noProgress = "no-progress"
        /// The iteration limit.
        case iterations
        /// f or ∇f was not finite at the starting point.
        case nonFinite = "non-finite"
    }

    /// The outcome: the best point seen, its value and gradient norm.
    public struct Result: Sendable {
        public let x: [Double]
        public let value: Double
        public let gradientNorm: Double
        public let iterations: Int
        public let evaluations: Int
        public let stop: Stop
    }

    /// Minimises f from `start`. `valueAndGradient(x, &g)` returns f(x) and writes ∇f(x) into g
    /// (same length as x); a non-finite value tells the line search to step back.
    public static func minimize(start: [Double], options: Options = Options(),
                                _ valueAndGradient: @escaping ([Double], inout [Double]) -> Double) -> Result {
        let n = start.count
        precondition(n > 0, "minimize needs at least one variable")
        final class Context {
            let f: ([Double], inout [Double]) -> Double
            let n: Int
            var evaluations = 0
            var best: (x: [Double], value: Double, g: [Double])?
            init(_ f: @escaping ([Double], inout [Double]) -> Double, _ n: Int) { self.f = f; self.n = n }
            func call(_ v: UnsafePointer<gsl_vector>, _ g: UnsafeMutablePointer<gsl_vector>?) -> Double {
                var x = [Double](repeating: 0, count: n)
                for i in 0..<n { x[i] = gsl_vector_get(v, i) }
                var grad = [Double](repeating: 0, count: n)
                let value = f(x, &grad)
                evaluations += 1
                if let g { for i in 0..<n { gsl_vector_set(g, i, grad[i]) } }
                if value.isFinite, grad.allSatisfy({ $0.isFinite }), best == nil || value < best!.value {
                    best = (x, value, grad)
                }
                return value.isFinite ? value : .infinity
            }
        }
        let ctx = Context(valueAndGradient, n)
        let unmanaged = Unmanaged.passRetained(ctx)
        defer { unmanaged.release() }
        var fdf = gsl_multimin_function_fdf(
            f: { v, p in Unmanaged<Context>.fromOpaque(p!).takeUnretainedValue().call(v!, nil) },
            df: { v, p, g in _ = Unmanaged<Context>.fromOpaque(p!).takeUnretainedValue().call(v!, g) },
            fdf: { v, p, f, g in f!.pointee = Unmanaged<Context>.fromOpaque(p!).takeUnretainedValue().call(v!, g) },
            n: n, params: unmanaged.toOpaque())
        disableGSLAbort()
        let x0 = gsl_vector_alloc(n)!
        defer { gsl_vector_free(x0) }
        for i in 0..<n { gsl_vector_set(x0, i, start[i]) }
        let solver = gsl_multimin_fdfminimizer_alloc(gsl_multimin_fdfminimizer_vector_bfgs2, n)!
        defer { gsl_multimin_fdfminimizer_free(solver) }
        gsl_multimin_fdfminimizer_set(solver, &fdf, x0, options.initialStep, options.lineSearchTolerance)
        func finish(_ stop: Stop, _ iterations: Int) -> Result {
            guard let best = ctx.best else {
                return Result(x: start, value: .infinity, gradientNorm: .infinity, iterations: iterations,
                              evaluations: ctx.evaluations, stop: .nonFinite)
            }
            let gnorm = best.g.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return Result(x: best.x, value: best.value, gradientNorm: gnorm, iterations: iterations,
                          evaluations: ctx.evaluations, stop: stop)
        }
        if ctx.best == nil { return finish(.nonFinite, 0) }
        var history: [Double] = [solver.pointee.f]
        for iteration in 1...max(options.maxIterations, 1) {
            let status = gsl_multimin_fdfminimizer_iterate(solver)
            if status != GSL_SUCCESS { return finish(.noProgress, iteration) }
            if gsl_multimin_test_gradient(solver.pointee.gradient, options.gradientTolerance) == GSL_SUCCESS {
                return finish(.gradient, iteration)
            }
            let f = solver.pointee.f
            history.append(f)
            if options.valueTolerance > 0, history.count > options.window {
                let old = history[history.count - 1 - options.window]
                if old - f <= options.valueTolerance * max(abs(f), 1) { return finish(.value, iteration) }
            }
        }
        return finish(.iterations, options.maxIterations)
    }
}
