@preconcurrency import CGSL
import Foundation

/// Finds the river of any landscape numerically, from the definition: the points where ∇L lies along
/// the Hessian's flattest eigenvector v (smallest |eigenvalue|), i.e. where the residual
/// r(w) = ∇L − (v·∇L)v vanishes.
///
/// - `relax` solves r(w) = 0 inside an affine hyperplane (GSL `gsl_multiroots` hybrid solver): relaxing
///   the hill directions at a fixed position along the river.
/// - `trace` follows the flat eigenvector field downstream (GSL `gsl_odeiv2` RKF45) and re-relaxes at
///   every output point (predictor–corrector continuation), so errors do not accumulate.
/// - `project` finds the nearest river point; `split` the river/hill decomposition of L.
/// Dense Hessians and `symmetricEigen` (LAPACK dsyevd) make it suitable for small d (up to ~100s).
public struct RiverTracer: Sendable {
    public let landscape: any Landscape
    /// Relative tolerance of the river condition: |Bᵀr| ≤ tolerance·(|∇L| + 1e-300) in `relax`.
    public var tolerance: Double

    public init(_ landscape: any Landscape, tolerance: Double = 1e-12) {
        self.landscape = landscape
        self.tolerance = tolerance
    }

    public struct TracerError: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// The flattest Hessian eigenpair at w; the vector is oriented along `reference` if given, else
    /// downhill (v·∇L ≤ 0).
    public func flatDirection(at w: [Double], orientedAlong reference: [Double]? = nil) throws -> (vector: [Double], curvature: Double) {
        let e = try symmetricEigen(landscape.denseHessian(at: w), vectors: true)
        var k = 0
        for i in e.values.indices where abs(e.values[i]) < abs(e.values[k]) { k = i }
        var v = e.vector(k)
        let ref = reference ?? landscape.gradient(at: w).map { -$0 }
        if zip(v, ref).reduce(0, { $0 + $1.0 * $1.1 }) < 0 { v = v.map { -$0 } }
        return (v, e.values[k])
    }

    /// r(w) = ∇L − (v·∇L)v: zero exactly on the river.
    public func riverResidual(at w: [Double]) throws -> [Double] {
        let g = landscape.gradient(at: w)
        let v = try flatDirection(at: w, orientedAlong: g).vector
        let c = zip(v, g).reduce(0) { $0 + $1.0 * $1.1 }
        return zip(g, v).map { $0 - c * $1 }
    }

    /// |r(w)| / |∇L(w)| (0 where ∇L = 0).
    public func relativeResidual(at w: [Double]) throws -> Double {
        let g = landscape.gradient(at: w)
        let gn = g.reduce(0) { $0 + $1 * $1 }.squareRoot()
        if gn == 0 { return 0 }
        return try riverResidual(at: w).reduce(0) { $0 + $1 * $1 }.squareRoot() / gn
    }

    /// An orthonormal basis (d × (d−1), columns) of the complement of n, from a Householder reflection.
    static func complementBasis(_ n: [Double]) -> Matrix {
        let d = n.count
        let norm = n.reduce(0) { $0 + $1 * $1 }.squareRoot()
        precondition(norm > 0, "the hyperplane normal must be non-zero")
        var k = 0
        for i in 0..<d where abs(n[i]) > abs(n[k]) { k = i }
        var u = n.map { $0 / norm }
        u[k] += u[k] >= 0 ? 1 : -1
        let uu = u.reduce(0) { $0 + $1 * $1 }
        var b = Matrix(rows: d, cols: d - 1)
        var col = 0
        for j in 0..<d where j != k {
            for i in 0..<d { b[i, col] = (i == j ? 1 : 0) - 2 * u[i] * u[j] / uu }
            col += 1
        }
        return b
    }

    final class RelaxContext {
        let tracer: RiverTracer
        let anchor: [Double]
        let basis: Matrix
        var failure: Error?
        /// The evaluated point with the smallest residual so far (the hybrid solver can wander into
        /// NaN once the residual reaches round-off).
        var best: (point: [Double], residual: Double)?
        init(_ tracer: RiverTracer, _ anchor: [Double], _ basis: Matrix) {
            self.tracer = tracer; self.anchor = anchor; self.basis = basis
        }
        func point(_ z: UnsafePointer<gsl_vector>) -> [Double] {
            var w = anchor
            for j in 0..<basis.cols {
                let zj = gsl_vector_get(z, j)
                for i in 0..<w.count { w[i] += basis[i, j] * zj }
            }
            return w
        }
    }

    /// The river point in the hyperplane through `anchor` orthogonal to `normal` (the hill directions
    /// relaxed with the position along the river held fixed). Throws if the solver does not converge.
    public func relax(from anchor: [Double], normal: [Double]) throws -> [Double] {
        let d = anchor.count
        precondition(d == landscape.dimension && normal.count == d, "point and normal need \(landscape.dimension) entries")
        if d == 1 { return anchor }
        // The solver holds a d×(d−1) basis and dense Hessians: check before allocating.
        try MemoryBudget.check("tracing the river of a \(d)-dimensional landscape (dense Hessians)",
                               elements: [d, d], bytesPerElement: 8, copies: 4)
        let m = d - 1
        let ctx = RelaxContext(self, anchor, Self.complementBasis(normal))
        let unmanaged = Unmanaged.passRetained(ctx)
        defer { unmanaged.release() }
        var function = gsl_multiroot_function(
            f: { z, params, f in
                let ctx = Unmanaged<RelaxContext>.fromOpaque(params!).takeUnretainedValue()
                let w = ctx.point(z!)
                guard w.allSatisfy({ $0.isFinite }) else { return Int32(GSL_EBADFUNC) }
                do {
                    let r = try ctx.tracer.riverResidual(at: w)
                    var norm2 = 0.0
                    for j in 0..<ctx.basis.cols {
                        var s = 0.0
                        for i in 0..<r.count { s += ctx.basis[i, j] * r[i] }
                        gsl_vector_set(f, j, s)
                        norm2 += s * s
                    }
                    if norm2.isFinite, ctx.best == nil || norm2.squareRoot() < ctx.best!.residual {
                        ctx.best = (w, norm2.squareRoot())
                    }
                    return Int32(GSL_SUCCESS)
                } catch {
                    ctx.failure = error
                    return Int32(GSL_EBADFUNC)
                }
            },
            n: m, params: unmanaged.toOpaque())
        disableGSLAbort()
        let solver = gsl_multiroot_fsolver_alloc(rv_gsl_multiroot_fsolver_hybrids(), m)!
        defer { gsl_multiroot_fsolver_free(solver) }
        let z0 = gsl_vector_calloc(m)!
        defer { gsl_vector_free(z0) }
        var status = gsl_multiroot_fsolver_set(solver, &function, z0)
        let gnorm = landscape.gradient(at: anchor).reduce(0) { $0 + $1 * $1 }.squareRoot()
        // Round-off floor of the residual: a few hundred ulps of ‖H‖·(1 + |w|).
        let hnorm = landscape.hessian(at: anchor).data.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let wnorm = anchor.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let roundoff = 256 * Double.ulpOfOne * hnorm * (1 + wnorm)
        let target = max(tolerance * gnorm, roundoff)
        var iterations = 0
        while status == 0 && iterations < 200 {
            if gsl_multiroot_test_residual(solver.pointee.f, target) == 0 { break }
            status = gsl_multiroot_fsolver_iterate(solver)
            iterations += 1
            if status == 0 && gsl_multiroot_test_delta(solver.pointee.dx, solver.pointee.x, 1e-15, 1e-14) == 0
                && gsl_multiroot_test_residual(solver.pointee.f, max(target, 1e-10 * gnorm)) == 0 {
                break
            }
        }
        if let failure = ctx.failure { throw failure }
        guard let (w, residual) = ctx.best else {
            throw TracerError(message: "river relaxation could not evaluate the landscape near \(anchor)")
        }
        guard residual.isFinite, residual <= max(1e-7 * gnorm, target) else {
            throw TracerError(message: "river relaxation did not converge near \(anchor) (residual \(residual), |∇L| \(gnorm), \(iterations) iterations)")
        }
        return w
    }

    /// The river point with river coordinate (coordinate 0) x, relaxing coordinates 1..<d from `guess`.
    public func riverPoint(x: Double, guess: [Double]? = nil) throws -> [Double] {
        var anchor = guess ?? [Double](repeating: 0, count: landscape.dimension)
        anchor[0] = x
        var e0 = [Double](repeating: 0, count: landscape.dimension)
        e0[0] = 1
        return try relax(from: anchor, normal: e0)
    }

    /// The river's unit tangent at a river point q (central difference of two relaxed neighbours),
    /// oriented along `reference` (default: downhill flat direction).
    public func tangent(at q: [Double], orientedAlong reference: [Double]? = nil, step h: Double = 1e-4) throws -> [Double] {
        let v = try flatDirection(at: q, orientedAlong: reference).vector
        let plus = try relax(from: zip(q, v).map { $0 + h * $1 }, normal: v)
        let minus = try relax(from: zip(q, v).map { $0 - h * $1 }, normal: v)
        var t = zip(plus, minus).map { $0 - $1 }
        let n = t.reduce(0) { $0 + $1 * $1 }.squareRoot()
        t = t.map { $0 / n }
        return t
    }

    final class FlowContext {
        let tracer: RiverTracer
        var reference: [Double]
        var failure: Error?
        init(_ tracer: RiverTracer, _ reference: [Double]) { self.tracer = tracer; self.reference = reference }
    }

    /// Relaxes `start` onto the river, then follows the river downstream for `arcLength`, returning
    /// points every `spacing` of arc length (the first is the relaxed start).
    public func trace(from start: [Double], arcLength: Double, spacing: Double) throws -> [[Double]] {
        precondition(arcLength >= 0 && spacing > 0, "trace needs arcLength >= 0 and spacing > 0")
        let d = landscape.dimension
        var direction = try flatDirection(at: start).vector
        var q = try relax(from: start, normal: direction)
        direction = try flatDirection(at: q, orientedAlong: direction).vector
        var points = [q]
        let ctx = FlowContext(self, direction)
        let unmanaged = Unmanaged.passRetained(ctx)
        defer { unmanaged.release() }
        var system = gsl_odeiv2_system(
            function: { _, y, dydt, params in
                let ctx = Unmanaged<FlowContext>.fromOpaque(params!).takeUnretainedValue()
                let n = ctx.reference.count
                let w = (0..<n).map { y![$0] }
                do {
                    let v = try ctx.tracer.flatDirection(at: w, orientedAlong: ctx.reference).vector
                    for i in 0..<n { dydt![i] = v[i] }
                    return Int32(GSL_SUCCESS)
                } catch {
                    ctx.failure = error
                    return Int32(GSL_EBADFUNC)
                }
            },
            jacobian: nil, dimension: d, params: unmanaged.toOpaque())
        disableGSLAbort()
        let driver = gsl_odeiv2_driver_alloc_y_new(&system, rv_gsl_odeiv2_step_rkf45(), spacing / 10, 1e-10, 1e-10)!
        defer { gsl_odeiv2_driver_free(driver) }
        let count = Int((arcLength / spacing).rounded(.down))
        for _ in 0..<count {
            var s = 0.0
            var y = q
            gsl_odeiv2_driver_reset(driver)
            let status = gsl_odeiv2_driver_apply(driver, &s, spacing, &y)
            if let failure = ctx.failure { throw failure }
            guard status == GSL_SUCCESS else {
                throw TracerError(message: "flat-direction integration failed at \(q) (GSL status \(status))")
            }
            // Corrector: back onto the river within the hyperplane orthogonal to the step.
            let stepDir = zip(y, q).map { $0 - $1 }
            q = try relax(from: y, normal: stepDir)
            direction = try flatDirection(at: q, orientedAlong: stepDir).vector
            ctx.reference = direction
            points.append(q)
        }
        return points
    }

    /// The nearest river point to w (locally): iterates q ← relax(q + ((w−q)·t)t, normal t) with t the
    /// river tangent at q until (w − q) ⊥ t.
    public func project(_ w: [Double], guess: [Double]? = nil) throws -> [Double] {
        var q: [Double]
        if let guess { q = guess } else {
            q = try relax(from: w, normal: try flatDirection(at: w).vector)
        }
        for _ in 0..<50 {
            let t = try tangent(at: q)
            let along = zip(zip(w, q), t).reduce(0) { $0 + ($1.0.0 - $1.0.1) * $1.1 }
            let anchor = zip(q, t).map { $0 + along * $1 }
            let next = try relax(from: anchor, normal: t)
            let moved = zip(next, q).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
            q = next
            if moved <= 1e-12 * (1 + q.reduce(0) { $0 + $1 * $1 }.squareRoot()) { break }
        }
        return q
    }

    /// The split of L(w) at the numerical projection.
    public func split(at w: [Double], guess: [Double]? = nil) throws -> RiverSplit {
        let q = try project(w, guess: guess)
        let riverLoss = landscape.value(at: q)
        let distance = zip(w, q).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }.squareRoot()
        return RiverSplit(riverLoss: riverLoss, hillLoss: landscape.value(at: w) - riverLoss, distance: distance,
                          riverCoordinate: q[0])
    }
}
