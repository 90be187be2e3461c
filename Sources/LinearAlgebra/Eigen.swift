import CLapacke

/// Errors from LAPACK calls.
public enum LinearAlgebraError: Error, CustomStringConvertible {
    case notSquare(rows: Int, cols: Int)
    case notFinite(what: String)
    case lapack(routine: String, info: Int32)

    public var description: String {
        switch self {
        case let .notSquare(r, c): return "expected a square matrix, got \(r)x\(c)"
        case let .notFinite(what): return "\(what) contains NaN or infinity; LAPACK needs finite input"
        case let .lapack(routine, info): return "LAPACK \(routine) failed with info = \(info)"
        }
    }
}

/// Eigen-decomposition of a real symmetric matrix.
public struct SymmetricEigen: Sendable {
    /// Eigenvalues in ascending order.
    public let values: [Double]
    /// Eigenvectors as the columns of a row-major matrix (column i pairs with values[i]); nil when not asked for.
    public let vectors: Matrix?

    /// Eigenvector i as an array.
    public func vector(_ i: Int) -> [Double] {
        guard let v = vectors else { preconditionFailure("eigenvectors were not computed") }
        return v.column(i)
    }
}

/// Symmetric eigensolver over LAPACKE `dsyevd` (divide and conquer), reading the upper triangle.
///
/// `dsyevd` runs on OpenBLAS's LAPACK (see `BLAS.coreName`). Eigenvalues come back ascending.
public func symmetricEigen(_ a: Matrix, vectors: Bool = true) throws -> SymmetricEigen {
    guard a.rows == a.cols else { throw LinearAlgebraError.notSquare(rows: a.rows, cols: a.cols) }
    let n = a.rows
    if n == 0 { return SymmetricEigen(values: [], vectors: vectors ? Matrix(rows: 0, cols: 0) : nil) }
    guard a.data.allSatisfy({ $0.isFinite }) else { throw LinearAlgebraError.notFinite(what: "matrix") }
    // dsyevd's workspace: with vectors 1 + 6n + 2n² doubles (plus our copy and the transpose), which
    // LAPACK's 32-bit lwork must also be able to count.
    try MemoryBudget.check("dense eigendecomposition of a \(n)×\(n) matrix\(vectors ? " with eigenvectors" : "")",
                           elements: [n, n], bytesPerElement: 8, copies: vectors ? 4 : 1)
    if vectors, 1 + 6 * n + 2 * n * n > Int(Int32.max) {
        throw SizeLimitError("dense eigendecomposition of a \(n)×\(n) matrix with eigenvectors: LAPACK's 32-bit workspace size limits n to 32766; use eigenvalues only or Lanczos")
    }
    if !vectors, let values = diagonalEigenvalues(a) { return SymmetricEigen(values: values, vectors: nil) }
    return try dsyevd(a, vectors: vectors)
}

/// `symmetricEigen` on LAPACK, whatever the matrix (checked by the caller: square, n > 0, finite, fits).
func dsyevd(_ a: Matrix, vectors: Bool) throws -> SymmetricEigen {
    let n = a.rows
    var work = a.data
    var w = [Double](repeating: 0, count: n)
    // Row-major storage of a symmetric matrix equals its column-major storage; with jobz = V the
    // eigenvectors overwrite `work` column-major, i.e. eigenvector i is row i of the row-major view.
    let info = LAPACKE_dsyevd(LAPACK_COL_MAJOR, vectors ? Int8(UInt8(ascii: "V")) : Int8(UInt8(ascii: "N")),
                              Int8(UInt8(ascii: "U")), Int32(n), &work, Int32(n), &w)
    guard info == 0 else { throw LinearAlgebraError.lapack(routine: "dsyevd", info: info) }
    if !vectors { return SymmetricEigen(values: w, vectors: nil) }
    // work (column-major) holds eigenvectors in columns; as row-major it holds them in rows: transpose.
    let rowsAreVectors = Matrix(rows: n, cols: n, data: work)
    return SymmetricEigen(values: w, vectors: rowsAreVectors.transposed)
}

/// The eigenvalues `dsyevd` returns for a diagonal matrix, without calling it: the diagonal, ascending.
/// Nil when `a` has a nonzero off-diagonal entry, or when dsyevd would first scale the matrix (its
/// largest magnitude below ≈ 1.5e-146 or above ≈ 7e145; the bounds here are narrower).
///
/// Exact, not an approximation: on a diagonal matrix dsyevd's reduction to tridiagonal form applies no
/// reflection (every Householder vector is zero), the tridiagonal matrix's off-diagonal is zero, so its
/// eigenvalue solver splits it into 1×1 blocks and sorts their values, which are the diagonal's entries
/// unchanged. Tests/LinearAlgebraTests compares the two bit for bit. Why: the separable landscapes'
/// Hessians are diagonal, and `river simulate` asks for their top curvature once per run; answering it
/// here means the command never loads LAPACK and OpenBLAS (≈ 3 ms of its start-up, Sources/CSystemLibraries).
func diagonalEigenvalues(_ a: Matrix) -> [Double]? {
    let n = a.rows
    var largest = 0.0
    for i in 0..<n {
        for j in 0..<n where i != j && a.data[i * n + j] != 0 { return nil }
        largest = max(largest, abs(a.data[i * n + i]))
    }
    guard largest == 0 || (1e-140...1e140).contains(largest) else { return nil }
    return (0..<n).map { a.data[$0 * n + $0] }.sorted()
}

/// Eigenvalues of a symmetric tridiagonal matrix (diagonal `d`, off-diagonal `e`) with LAPACKE `dstev`,
/// ascending, with eigenvectors as columns when asked for. Used by Lanczos and SLQ.
public func tridiagonalEigen(diagonal d: [Double], offDiagonal e: [Double], vectors: Bool = true) throws -> SymmetricEigen {
    let n = d.count
    precondition(e.count == max(n - 1, 0), "off-diagonal must have \(max(n - 1, 0)) entries, got \(e.count)")
    if n == 0 { return SymmetricEigen(values: [], vectors: vectors ? Matrix(rows: 0, cols: 0) : nil) }
    var dd = d
    var ee = e + [0]
    var z = [Double](repeating: 0, count: vectors ? n * n : 1)
    let info = LAPACKE_dstev(LAPACK_ROW_MAJOR, vectors ? Int8(UInt8(ascii: "V")) : Int8(UInt8(ascii: "N")),
                             Int32(n), &dd, &ee, &z, Int32(vectors ? n : 1))
    guard info == 0 else { throw LinearAlgebraError.lapack(routine: "dstev", info: info) }
    return SymmetricEigen(values: dd, vectors: vectors ? Matrix(rows: n, cols: n, data: z) : nil)
}

/// Solves the symmetric linear system A X = B (A symmetric, B with `b.cols` right-hand sides) with `dsysv`.
public func solveSymmetric(_ a: Matrix, _ b: Matrix) throws -> Matrix {
    guard a.rows == a.cols else { throw LinearAlgebraError.notSquare(rows: a.rows, cols: a.cols) }
    precondition(b.rows == a.rows, "right-hand side has \(b.rows) rows, matrix has \(a.rows)")
    var aa = a.data
    var bb = b.data
    var ipiv = [Int32](repeating: 0, count: a.rows)
    let info = LAPACKE_dsysv(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "U")), Int32(a.rows), Int32(b.cols),
                             &aa, Int32(a.rows), &ipiv, &bb, Int32(b.cols))
    guard info == 0 else { throw LinearAlgebraError.lapack(routine: "dsysv", info: info) }
    return Matrix(rows: b.rows, cols: b.cols, data: bb)
}

/// Solves the general linear system A X = B with `dgesv` (LU with partial pivoting).
public func solve(_ a: Matrix, _ b: Matrix) throws -> Matrix {
    guard a.rows == a.cols else { throw LinearAlgebraError.notSquare(rows: a.rows, cols: a.cols) }
    precondition(b.rows == a.rows, "right-hand side has \(b.rows) rows, matrix has \(a.rows)")
    var aa = a.data
    var bb = b.data
    var ipiv = [Int32](repeating: 0, count: a.rows)
    let info = LAPACKE_dgesv(LAPACK_ROW_MAJOR, Int32(a.rows), Int32(b.cols), &aa, Int32(a.rows), &ipiv,
                             &bb, Int32(b.cols))
    guard info == 0 else { throw LinearAlgebraError.lapack(routine: "dgesv", info: info) }
    return Matrix(rows: b.rows, cols: b.cols, data: bb)
}

/// The least-squares solution x of min ‖A x − b‖₂ for a full-rank A with at least as many rows as columns
/// (`dgels`, QR), with the residual sum of squares.
public func leastSquares(_ a: Matrix, _ b: [Double]) throws -> (x: [Double], residualSumOfSquares: Double) {
    precondition(b.count == a.rows, "right-hand side has \(b.count) rows, matrix has \(a.rows)")
    guard a.rows >= a.cols else { throw LinearAlgebraError.notSquare(rows: a.rows, cols: a.cols) }
    var aa = a.data
    var bb = b
    let info = LAPACKE_dgels(LAPACK_ROW_MAJOR, Int8(UInt8(ascii: "N")), Int32(a.rows), Int32(a.cols), 1,
                             &aa, Int32(a.cols), &bb, 1)
    guard info == 0 else { throw LinearAlgebraError.lapack(routine: "dgels", info: info) }
    let rss = bb[a.cols...].reduce(0) { $0 + $1 * $1 }
    return (Array(bb[0..<a.cols]), rss)
}
