import LinearAlgebra

/// The dense n×n matrix of a symmetric operator: column j is A eⱼ, then (A + Aᵀ)/2.
///
/// Costs n operator applications and n² memory, so it is meant for cross-checking the iterative
/// engines on small problems (n up to a few thousand). Symmetrising removes the round-off asymmetry of
/// an HVP (e.g. central differences of gradients); `asymmetryBefore` in `denseMatrixChecked` reports it.
public func denseMatrix<A: SymmetricOperator>(of op: A) -> Matrix {
    denseMatrixChecked(of: op).matrix
}

/// `denseMatrix(of:)` together with the largest |Aᵢⱼ − Aⱼᵢ| seen before symmetrising.
public func denseMatrixChecked<A: SymmetricOperator>(of op: A) -> (matrix: Matrix, asymmetryBefore: Double) {
    if let dense = op as? DenseOperator { return (dense.matrix, dense.matrix.asymmetry) }
    let n = op.dimension
    var m = Matrix(rows: n, cols: n)
    var e = [Double](repeating: 0, count: n)
    for j in 0..<n {
        e[j] = 1
        let column = op.apply(e)
        precondition(column.count == n, "operator returned \(column.count) entries, dimension is \(n)")
        for i in 0..<n { m[i, j] = column[i] }
        e[j] = 0
    }
    let asymmetry = m.asymmetry
    m.symmetrize()
    return (m, asymmetry)
}

/// The full spectrum of a symmetric operator by LAPACK `dsyevd` on its dense matrix.
///
/// Eigenvalues are accurate to a few ulps of ‖A‖ (backward stable). Values come back ascending, as
/// LAPACK returns them; eigenvectors (columns) only when asked for.
public func denseSpectrum<A: SymmetricOperator>(of op: A, vectors: Bool = false) throws -> SymmetricEigen {
    try symmetricEigen(denseMatrix(of: op), vectors: vectors)
}
