/// D A D for a symmetric operator A and a diagonal D = diag(d): symmetric again, with the same inertia.
///
/// With d = P^(−1/2) for a diagonal preconditioner P this is the preconditioned Hessian P^(−1/2) H P^(−1/2),
/// whose eigenvalues are those of P⁻¹H (similar matrices) — the curvature an adaptive optimizer sees
/// (Cohen et al. 2022, "Adaptive Gradient Methods at the Edge of Stability").
public struct ScaledOperator<A: SymmetricOperator>: SymmetricOperator {
    public let base: A
    public let scale: [Double]
    public init(_ base: A, scale: [Double]) {
        precondition(scale.count == base.dimension, "scale has \(scale.count) entries, dimension is \(base.dimension)")
        self.base = base
        self.scale = scale
    }
    public var dimension: Int { base.dimension }
    public func apply(_ v: [Double]) -> [Double] {
        var w = v
        for i in w.indices { w[i] *= scale[i] }
        var r = base.apply(w)
        for i in r.indices { r[i] *= scale[i] }
        return r
    }
}
