import LinearAlgebra

/// An orthonormal set of vectors in ℝⁿ stored row by row in one flat buffer (row j = qⱼ).
///
/// Used by Lanczos (full reorthogonalisation) and Hutch++ (range finder). Projections run as two
/// BLAS calls, c = Q w and w −= Qᵀ c, so reorthogonalising against j vectors costs 4jn flops.
struct OrthonormalBasis {
    let dimension: Int
    private(set) var count = 0
    private(set) var storage: [Double] = []

    init(dimension: Int, reserve: Int = 0) {
        self.dimension = dimension
        storage.reserveCapacity(reserve * dimension)
    }

    /// Row j as an array.
    func vector(_ j: Int) -> [Double] { Array(storage[(j * dimension)..<((j + 1) * dimension)]) }

    mutating func append(_ q: [Double]) {
        precondition(q.count == dimension)
        storage.append(contentsOf: q)
        count += 1
    }

    /// w ← (I − QQᵀ) w, done twice (classical Gram–Schmidt, two passes: "twice is enough",
    /// Giraud et al. 2005), which keeps the result orthogonal to working precision.
    func orthogonalize(_ w: inout [Double]) {
        guard count > 0 else { return }
        var c = [Double](repeating: 0, count: count)
        for _ in 0..<2 {
            storage.withUnsafeBufferPointer { q in
                w.withUnsafeMutableBufferPointer { pw in
                    c.withUnsafeMutableBufferPointer { pc in
                        // c (count×1) = Q (count×n) · w (n×1)
                        BLAS.dgemm(transA: false, transB: false, m: count, n: 1, k: dimension, alpha: 1,
                                   a: q.baseAddress!, lda: dimension, b: pw.baseAddress!, ldb: 1,
                                   beta: 0, c: pc.baseAddress!, ldc: 1)
                        // w (n×1) −= Qᵀ (n×count) · c (count×1)
                        BLAS.dgemm(transA: true, transB: false, m: dimension, n: 1, k: count, alpha: -1,
                                   a: q.baseAddress!, lda: dimension, b: pc.baseAddress!, ldb: 1,
                                   beta: 1, c: pw.baseAddress!, ldc: 1)
                    }
                }
            }
        }
    }

    /// Y = Sᵀ Q for S (count×k, row-major): the k combinations Σⱼ S[j, i] qⱼ as a k×n matrix.
    func combine(_ s: Matrix) -> Matrix {
        precondition(s.rows == count)
        var y = Matrix(rows: s.cols, cols: dimension)
        guard count > 0, s.cols > 0 else { return y }
        storage.withUnsafeBufferPointer { q in
            s.data.withUnsafeBufferPointer { ps in
                y.data.withUnsafeMutableBufferPointer { py in
                    BLAS.dgemm(transA: true, transB: false, m: s.cols, n: dimension, k: count, alpha: 1,
                               a: ps.baseAddress!, lda: s.cols, b: q.baseAddress!, ldb: dimension,
                               beta: 0, c: py.baseAddress!, ldc: dimension)
                }
            }
        }
        return y
    }
}

/// Scales v to unit length; returns its norm before scaling.
@discardableResult
func normalize(_ v: inout [Double]) -> Double {
    let norm = BLAS.norm(v)
    if norm > 0 { for i in v.indices { v[i] /= norm } }
    return norm
}
