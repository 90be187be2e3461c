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
    /// The river point with river coordinate x, where the landscape knows its river in closed form
    /// (nil otherwise; then `RiverTracer` finds it numerically).
    func analyticRiverPoint(x: Double) -> [Double]?
    /// The split of L(w) into river loss (L at the projection of w onto the river) and hill loss
    /// (the rest), in closed form where the landscape knows it; nil otherwise (`RiverTracer.split`).
    func analyticSplit(at w: [Double]) -> RiverSplit?
}

/// L(w) = river loss + hill loss, with the projection of w onto the river.
public struct RiverSplit: Sendable, Equatable {
    /// L at the projection of w onto the river.
    public var riverLoss: Double
    /// L(w) − riverLoss.
    public var hillLoss: Double
    /// Euclidean distance from w to its projection.
    public var distance: Double
    /// The river coordinate (coordinate 0) of the projection.
    public var riverCoordinate: Double

    public init(riverLoss: Double, hillLoss: Double, distance: Double, riverCoordinate: Double) {
        self.riverLoss = riverLoss
        self.hillLoss = hillLoss
        self.distance = distance
        self.riverCoordinate = riverCoordinate
    }

    /// riverLoss + hillLoss = L(w).
    public var loss: Double { riverLoss + hillLoss }
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

    public func analyticRiverPoint(x: Double) -> [Double]? { nil }
    public func analyticSplit(at w: [Double]) -> RiverSplit? { nil }

    /// The dense d×d Hessian at w, after checking that it and an eigendecomposition's workspace (four
    /// d×d Float64 arrays) fit the `MemoryBudget`; throws `SizeLimitError` naming d and the limit.
    public func denseHessian(at w: [Double]) throws -> Matrix {
        try MemoryBudget.check("the dense Hessian of a \(dimension)-dimensional landscape (with eigendecomposition workspace)",
                               elements: [dimension, dimension], bytesPerElement: 8, copies: 4)
        return hessian(at: w)
    }

    /// The eigenvalues of the Hessian at w, ascending (LAPACK dsyevd).
    public func hessianEigenvalues(at w: [Double]) throws -> [Double] {
        try symmetricEigen(denseHessian(at: w), vectors: false).values
    }
}
