/// A dense, row-major matrix of `Double`s.
///
/// Element (i, j) lives at `data[i * cols + j]`. Symmetric matrices are handed to LAPACK as they are:
/// row-major storage of a symmetric matrix is also its column-major storage.
public struct Matrix: Equatable, Sendable {
    public let rows: Int
    public let cols: Int
    public var data: [Double]

    public init(rows: Int, cols: Int, repeating value: Double = 0) {
        precondition(rows >= 0 && cols >= 0, "matrix shape must be non-negative, got \(rows)x\(cols)")
        self.rows = rows
        self.cols = cols
        self.data = Array(repeating: value, count: rows * cols)
    }

    public init(rows: Int, cols: Int, data: [Double]) {
        precondition(data.count == rows * cols, "matrix data has \(data.count) entries, shape needs \(rows * cols)")
        self.rows = rows
        self.cols = cols
        self.data = data
    }

    /// The n×n identity.
    public static func identity(_ n: Int) -> Matrix {
        var m = Matrix(rows: n, cols: n)
        for i in 0..<n { m.data[i * n + i] = 1 }
        return m
    }

    /// A diagonal matrix with the given diagonal.
    public static func diagonal(_ d: [Double]) -> Matrix {
        var m = Matrix(rows: d.count, cols: d.count)
        for i in d.indices { m.data[i * d.count + i] = d[i] }
        return m
    }

    @inlinable
    public subscript(i: Int, j: Int) -> Double {
        get { data[i * cols + j] }
        set { data[i * cols + j] = newValue }
    }

    /// Row i as an array.
    public func row(_ i: Int) -> [Double] { Array(data[(i * cols)..<((i + 1) * cols)]) }

    /// Column j as an array.
    public func column(_ j: Int) -> [Double] { (0..<rows).map { data[$0 * cols + j] } }

    /// Aᵀ, copied in 32×32 tiles so both the reads and the writes stay in cache (a naive loop strides a
    /// whole row per element: ~5× slower at n = 2000, which showed in the dsyevd benchmark).
    public var transposed: Matrix {
        var t = Matrix(rows: cols, cols: rows)
        let r = rows, c = cols, tile = 32
        data.withUnsafeBufferPointer { src in
            t.data.withUnsafeMutableBufferPointer { dst in
                for i0 in stride(from: 0, to: r, by: tile) {
                    for j0 in stride(from: 0, to: c, by: tile) {
                        for i in i0..<min(i0 + tile, r) {
                            for j in j0..<min(j0 + tile, c) { dst[j * r + i] = src[i * c + j] }
                        }
                    }
                }
            }
        }
        return t
    }

    public var trace: Double {
        precondition(rows == cols, "trace needs a square matrix, got \(rows)x\(cols)")
        var s = 0.0
        for i in 0..<rows { s += data[i * cols + i] }
        return s
    }

    /// Largest |A - Aᵀ| entry: zero for an exactly symmetric matrix.
    public var asymmetry: Double {
        precondition(rows == cols)
        var worst = 0.0
        for i in 0..<rows { for j in (i + 1)..<max(i + 1, cols) { worst = max(worst, abs(self[i, j] - self[j, i])) } }
        return worst
    }

    /// Replaces A by (A + Aᵀ)/2.
    public mutating func symmetrize() {
        precondition(rows == cols)
        for i in 0..<rows {
            for j in (i + 1)..<max(i + 1, cols) {
                let m = 0.5 * (self[i, j] + self[j, i])
                self[i, j] = m
                self[j, i] = m
            }
        }
    }

    /// y = A x.
    public func apply(_ x: [Double]) -> [Double] {
        var y = [Double](repeating: 0, count: rows)
        BLAS.gemv(self, x, into: &y)
        return y
    }

    public static func * (a: Matrix, b: Matrix) -> Matrix { BLAS.matmul(a, b) }
}
