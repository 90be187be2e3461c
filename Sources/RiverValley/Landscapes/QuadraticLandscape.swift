/// L(w) = ½ wᵀ H w with H symmetric positive definite: hills only, minimum at 0 (for theory checks:
/// the stationary SGD hill loss is the exact solution of a discrete Lyapunov equation).
///
/// Its "river" is the line through 0 along H's flattest eigenvector (there ∇L = Hw lies along that
/// eigenvector); for a diagonal H that is coordinate 0 when λ₀ is the smallest curvature.
public struct QuadraticLandscape: Landscape {
    public let matrix: Matrix
    /// Non-nil when H is diagonal (fast paths).
    public let diagonal: [Double]?

    /// H = diag(curvatures).
    public init(curvatures: [Double]) {
        precondition(!curvatures.isEmpty, "a quadratic needs at least one dimension")
        matrix = Matrix.diagonal(curvatures)
        diagonal = curvatures
    }

    /// A general symmetric H.
    public init(hessian: Matrix) {
        precondition(hessian.rows == hessian.cols && hessian.rows > 0, "H must be square and non-empty")
        matrix = hessian
        diagonal = nil
    }

    public var dimension: Int { matrix.rows }

    public func value(at w: [Double]) -> Double {
        if let c = diagonal {
            var s = 0.0
            for i in c.indices { s += c[i] * w[i] * w[i] }
            return 0.5 * s
        }
        let hw = matrix.apply(w)
        var s = 0.0
        for i in w.indices { s += w[i] * hw[i] }
        return 0.5 * s
    }

    public func gradient(at w: [Double], into g: inout [Double]) {
        if let c = diagonal {
            for i in c.indices { g[i] = c[i] * w[i] }
        } else {
            BLAS.gemv(matrix, w, into: &g)
        }
    }

    public func hessian(at w: [Double]) -> Matrix { matrix }

    public func hessianVectorProduct(at w: [Double], _ v: [Double]) -> [Double] {
        if let c = diagonal { return (0..<c.count).map { c[$0] * v[$0] } }
        return matrix.apply(v)
    }

    /// For a diagonal H whose smallest curvature is on coordinate 0, the river is the x-axis.
    public func analyticRiverPoint(x: Double) -> [Double]? {
        guard let c = diagonal, c.count > 1, c[1...].allSatisfy({ abs($0) > abs(c[0]) }) else { return nil }
        var p = [Double](repeating: 0, count: c.count)
        p[0] = x
        return p
    }

    /// Diagonal H, flattest on coordinate 0: projection (x, 0, …), river loss ½λ₀x², hill loss the rest.
    public func analyticSplit(at w: [Double]) -> RiverSplit? {
        guard let c = diagonal, c.count > 1, c[1...].allSatisfy({ abs($0) > abs(c[0]) }) else { return nil }
        var hill = 0.0, d2 = 0.0
        for i in 1..<c.count { hill += c[i] * w[i] * w[i]; d2 += w[i] * w[i] }
        return RiverSplit(riverLoss: 0.5 * c[0] * w[0] * w[0], hillLoss: 0.5 * hill, distance: d2.squareRoot(),
                          riverCoordinate: w[0])
    }
}
