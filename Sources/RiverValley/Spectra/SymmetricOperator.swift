/// A symmetric linear map v ↦ A v on ℝⁿ, given only through its action.
///
/// The spectral engines (Lanczos, Hutchinson, SLQ) are generic over this protocol, so the same code
/// serves a dense matrix, a landscape's Hessian-vector product, the bigram model and a trained network.
public protocol SymmetricOperator {
    /// n.
    var dimension: Int { get }
    /// A v.
    func apply(_ v: [Double]) -> [Double]
}

/// A dense symmetric matrix as an operator (dgemv).
public struct DenseOperator: SymmetricOperator {
    public let matrix: Matrix
    public init(_ matrix: Matrix) {
        precondition(matrix.rows == matrix.cols, "a symmetric operator needs a square matrix")
        self.matrix = matrix
    }
    public var dimension: Int { matrix.rows }
    public func apply(_ v: [Double]) -> [Double] { matrix.apply(v) }
}

/// The Hessian of a landscape at a fixed point, as an operator (its Hessian-vector product).
public struct LandscapeHessian<L: Landscape>: SymmetricOperator {
    public let landscape: L
    public let point: [Double]
    public init(_ landscape: L, at point: [Double]) {
        self.landscape = landscape
        self.point = point
    }
    public var dimension: Int { landscape.dimension }
    public func apply(_ v: [Double]) -> [Double] { landscape.hessianVectorProduct(at: point, v) }
}
