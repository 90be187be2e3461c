/// A twice-differentiable loss landscape L: ℝᵈ → ℝ.
///
/// Coordinates follow the river-valley convention of the built-ins: coordinate 0 is the river
/// coordinate x, coordinates 1..<d are the hill coordinates y. Generic code (river tracer, spectra,
/// dynamics) uses only this protocol.
public protocol Landscape: Sendable {
    /// Number of parameters d.
    var dimension: Int { get }
    /// L(w).
    func value(at w: [Double]) -> Double
    /// ∇L(w), written into `gradient` (which has `dimension` entries).
    func gradient(at w: [Double], into gradient: inout [Double])
    /// The dense Hessian ∇²L(w).
    func hessian(at w: [Double]) -> Matrix
    /// The Hessian-vector product ∇²L(w)·v.
    func hessianVectorProduct(at w: [Double], _ v: [Double]) -> [Double]
}

extension Landscape {
    /// ∇L(w) as a new array.
    public func gradient(at w: [Double]) -> [Double] {
        var g = [Double](repeating: 0, count: dimension)
        gradient(at: w, into: &g)
        return g
    }

    /// Default HVP: the dense Hessian times v. Landscapes with a cheaper analytic HVP override it.
    public func hessianVectorProduct(at w: [Double], _ v: [Double]) -> [Double] {
        hessian(at: w).apply(v)
    }
}
