import COpenBLAS

/// Thin wrappers over OpenBLAS CBLAS. All matrices are row-major (`CblasRowMajor`).
public enum BLAS {
    /// C = A·B for row-major `Matrix` values (dgemm).
    public static func matmul(_ a: Matrix, _ b: Matrix, transposeA: Bool = false, transposeB: Bool = false) -> Matrix {
        let m = transposeA ? a.cols : a.rows
        let k = transposeA ? a.rows : a.cols
        let kb = transposeB ? b.cols : b.rows
        let n = transposeB ? b.rows : b.cols
        precondition(k == kb, "matmul shapes do not agree: \(m)x\(k) times \(kb)x\(n)")
        var c = Matrix(rows: m, cols: n)
        if m == 0 || n == 0 { return c }
        a.data.withUnsafeBufferPointer { pa in
            b.data.withUnsafeBufferPointer { pb in
                c.data.withUnsafeMutableBufferPointer { pc in
                    cblas_dgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans,
                                transposeB ? CblasTrans : CblasNoTrans,
                                Int32(m), Int32(n), Int32(k), 1.0,
                                pa.baseAddress, Int32(a.cols), pb.baseAddress, Int32(b.cols),
                                0.0, pc.baseAddress, Int32(n))
                }
            }
        }
        return c
    }

    /// y = A x (dgemv), y must have `a.rows` entries.
    public static func gemv(_ a: Matrix, _ x: [Double], into y: inout [Double]) {
        precondition(x.count == a.cols && y.count == a.rows, "gemv shapes do not agree")
        if a.rows == 0 || a.cols == 0 { return }
        a.data.withUnsafeBufferPointer { pa in
            x.withUnsafeBufferPointer { px in
                y.withUnsafeMutableBufferPointer { py in
                    cblas_dgemv(CblasRowMajor, CblasNoTrans, Int32(a.rows), Int32(a.cols), 1.0,
                                pa.baseAddress, Int32(a.cols), px.baseAddress, 1, 0.0, py.baseAddress, 1)
                }
            }
        }
    }

    /// Single-precision general matrix multiply on raw row-major buffers:
    /// C[m×n] = alpha · op(A) · op(B) + beta · C, with leading dimensions lda, ldb, ldc.
    @inlinable
    public static func sgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                             a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                             beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Double-precision general matrix multiply on raw row-major buffers.
    @inlinable
    public static func dgemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
                             a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
                             beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Dot product (ddot).
    @inlinable
    public static func dot(_ x: [Double], _ y: [Double]) -> Double {
        precondition(x.count == y.count, "dot of vectors of lengths \(x.count) and \(y.count)")
        return cblas_ddot(Int32(x.count), x, 1, y, 1)
    }

    /// Euclidean norm (dnrm2).
    @inlinable
    public static func norm(_ x: [Double]) -> Double { cblas_dnrm2(Int32(x.count), x, 1) }

    /// y += alpha x (daxpy).
    @inlinable
    public static func axpy(_ alpha: Double, _ x: [Double], _ y: inout [Double]) {
        precondition(x.count == y.count)
        cblas_daxpy(Int32(x.count), alpha, x, 1, &y, 1)
    }

    /// The OpenBLAS kernel family in use ("SkylakeX", "Haswell", "Prescott", ...).
    public static var coreName: String { String(cString: openblas_get_corename()) }

    /// Number of threads OpenBLAS uses.
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// Values outside 1...1024 are clamped (OpenBLAS takes an Int32; n ≤ 0 means "all cores" to it).
    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(min(max(n, 1), 1024))) }
}
