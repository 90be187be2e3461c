import Foundation
import LinearAlgebra

/// A model that maps one flat parameter vector θ to a V×V logit table Z(θ) (row i = logits after
/// context token i). The population loss, its gradient, Hessian and HVP follow from this map alone
/// (`BigramObjective`): ∇L = Jᵀ G, ∇²L·v = Jᵀ A (J v) + Σᵢⱼ Gᵢⱼ ∇²Zᵢⱼ·v, with G the logit gradient and A
/// the logit Hessian (block diagonal: πᵢ(diag qᵢ − qᵢqᵢᵀ)).
///
/// Logit tables are flat row-major arrays of V·V doubles.
public protocol BigramModel: Sendable {
    var vocabularySize: Int { get }
    var parameterCount: Int { get }
    /// Z(θ).
    func logits(_ theta: [Double]) -> [Double]
    /// Jᵀ G: the parameter gradient of Σᵢⱼ Gᵢⱼ Zᵢⱼ(θ).
    func pullback(_ theta: [Double], _ g: [Double]) -> [Double]
    /// J dθ: the change of the logits along dθ.
    func pushforward(_ theta: [Double], _ dTheta: [Double]) -> [Double]
    /// Σᵢⱼ Gᵢⱼ ∇²Zᵢⱼ(θ)·dθ, the curvature of the logit map itself (zero for a linear model).
    func secondOrder(_ theta: [Double], _ g: [Double], _ dTheta: [Double]) -> [Double]
    /// The context token a parameter belongs to, or nil for a parameter shared by all contexts.
    func owner(ofParameter p: Int) -> Int?
    /// A short name for reports ("table", "factorized").
    var name: String { get }
}

/// Size checks for the bigram toolkit: every computation holds a handful of V×V Float64 tables at once
/// (transitions, logits, probabilities, logit gradient, parameters and optimizer state), so V is checked
/// against the `MemoryBudget` for eight of them before anything is allocated.
public enum BigramLimits {
    /// How many V×V Float64 tables a bigram computation may hold at once.
    public static let tablesHeld = 8

    /// Throws `SizeLimitError` when eight V×V Float64 tables do not fit the memory budget.
    public static func checkVocabulary(_ v: Int) throws {
        try MemoryBudget.check("a bigram language with vocabulary V = \(v) (\(tablesHeld) V×V Float64 tables)",
                               elements: [v, v], bytesPerElement: 8, copies: tablesHeld)
    }

    /// Throws `SizeLimitError` when the factorised model's E [V, d] and U [d, V], their gradients and
    /// optimizer state (eight V×d arrays) do not fit next to the V×V tables.
    public static func checkFactorized(vocabularySize v: Int, width d: Int) throws {
        try checkVocabulary(v)
        try MemoryBudget.check("a factorized bigram model with V = \(v), width d = \(d) (\(tablesHeld) V×d Float64 arrays)",
                               elements: [v, d, 2], bytesPerElement: 8, copies: tablesHeld)
    }
}

/// The full logit table: θ = W ∈ ℝ^{V×V} (row-major), Z = W.
///
/// Separable: each context row has its own softmax loss, so the Hessian is block diagonal with blocks
/// πᵢ(diag qᵢ − qᵢqᵢᵀ) and its spectrum is the union of the V block spectra.
public struct TableBigram: BigramModel {
    public let vocabularySize: Int
    public init(vocabularySize: Int) throws {
        try require(vocabularySize >= 1, "vocabulary size V = \(vocabularySize) is not allowed; need V ≥ 1")
        try BigramLimits.checkVocabulary(vocabularySize)
        self.vocabularySize = vocabularySize
    }
    public var name: String { "table" }
    public var parameterCount: Int { vocabularySize * vocabularySize }
    public func logits(_ theta: [Double]) -> [Double] { theta }
    public func pullback(_ theta: [Double], _ g: [Double]) -> [Double] { g }
    public func pushforward(_ theta: [Double], _ dTheta: [Double]) -> [Double] { dTheta }
    public func secondOrder(_ theta: [Double], _ g: [Double], _ dTheta: [Double]) -> [Double] {
        [Double](repeating: 0, count: parameterCount)
    }
    public func owner(ofParameter p: Int) -> Int? { p / vocabularySize }

    /// Zero-initialised parameters (uniform predictions).
    public func zeros() -> [Double] { [Double](repeating: 0, count: parameterCount) }
}

/// The factorised model: embedding E ∈ ℝ^{V×d}, unembedding U ∈ ℝ^{d×V}, optional bias b ∈ ℝ^V;
/// logits of context i are Zᵢ = Eᵢ·U + b. θ = [E (row-major), U (row-major), b].
///
/// Bilinear in (E, U), so the Hessian couples contexts through the shared U and has a second-order
/// term: ∂²L/∂E[a,k]∂U[l,j] = (U Aₐ)[k,j] E[a,l] + δₖₗ G[a,j].
public struct FactorizedBigram: BigramModel {
    public let vocabularySize: Int
    public let width: Int
    public let bias: Bool

    public init(vocabularySize: Int, width: Int, bias: Bool = true) throws {
        try require(vocabularySize >= 1, "vocabulary size V = \(vocabularySize) is not allowed; need V ≥ 1")
        try require(width >= 1, "embedding width d = \(width) is not allowed; need d ≥ 1")
        try BigramLimits.checkFactorized(vocabularySize: vocabularySize, width: width)
        self.vocabularySize = vocabularySize
        self.width = width
        self.bias = bias
    }

    public var name: String { "factorized" }
    public var parameterCount: Int { 2 * vocabularySize * width + (bias ? vocabularySize : 0) }
    var offsetU: Int { vocabularySize * width }
    var offsetB: Int { 2 * vocabularySize * width }

    public func owner(ofParameter p: Int) -> Int? { p < offsetU ? p / width : nil }

    /// Assembles θ from E (V×d), U (d×V) and b (V, optional).
    public func parameters(E: [Double], U: [Double], b: [Double]?) throws -> [Double] {
        let v = vocabularySize, d = width
        try require(E.count == v * d, "E has \(E.count) entries, expected V·d = \(v * d)")
        try require(U.count == d * v, "U has \(U.count) entries, expected d·V = \(d * v)")
        if bias {
            try require(b?.count == v, "b has \(b?.count ?? 0) entries, expected V = \(v)")
        } else {
            try require(b == nil, "this model has no bias but b was given")
        }
        return E + U + (b ?? [])
    }

    /// Small random initialisation: E ~ N(0, scale²), U ~ N(0, scale²), b = 0.
    public func randomParameters(seed: UInt64, scale: Double = 0.1) -> [Double] {
        let rng = RandomSource(seed: seed)
        var theta = [Double](repeating: 0, count: parameterCount)
        for p in 0..<offsetB { theta[p] = scale * rng.gaussian() }
        return theta
    }

    public func logits(_ theta: [Double]) -> [Double] {
        let v = vocabularySize, d = width
        var z = [Double](repeating: 0, count: v * v)
        if bias { for i in 0..<v { for j in 0..<v { z[i * v + j] = theta[offsetB + j] } } }
        theta.withUnsafeBufferPointer { t in
            z.withUnsafeMutableBufferPointer { zp in
                BLAS.dgemm(transA: false, transB: false, m: v, n: v, k: d, alpha: 1, a: t.baseAddress!, lda: d,
                           b: t.baseAddress! + offsetU, ldb: v, beta: bias ? 1 : 0, c: zp.baseAddress!, ldc: v)
            }
        }
        return z
    }

    public func pullback(_ theta: [Double], _ g: [Double]) -> [Double] {
        let v = vocabularySize, d = width
        var out = [Double](repeating: 0, count: parameterCount)
        theta.withUnsafeBufferPointer { t in
            g.withUnsafeBufferPointer { gp in
                out.withUnsafeMutableBufferPointer { o in
                    // ∂/∂E = G Uᵀ (V×d); ∂/∂U = Eᵀ G (d×V).
                    BLAS.dgemm(transA: false, transB: true, m: v, n: d, k: v, alpha: 1, a: gp.baseAddress!, lda: v,
                               b: t.baseAddress! + offsetU, ldb: v, beta: 0, c: o.baseAddress!, ldc: d)
                    BLAS.dgemm(transA: true, transB: false, m: d, n: v, k: v, alpha: 1, a: t.baseAddress!, lda: d,
                               b: gp.baseAddress!, ldb: v, beta: 0, c: o.baseAddress! + offsetU, ldc: v)
                }
            }
        }
        if bias {
            for i in 0..<v { for j in 0..<v { out[offsetB + j] += g[i * v + j] } }
        }
        return out
    }

    public func pushforward(_ theta: [Double], _ dTheta: [Double]) -> [Double] {
        let v = vocabularySize, d = width
        var z = [Double](repeating: 0, count: v * v)
        if bias { for i in 0..<v { for j in 0..<v { z[i * v + j] = dTheta[offsetB + j] } } }
        theta.withUnsafeBufferPointer { t in
            dTheta.withUnsafeBufferPointer { dt in
                z.withUnsafeMutableBufferPointer { zp in
                    // dZ = dE U + E dU (+ 1 dbᵀ).
                    BLAS.dgemm(transA: false, transB: false, m: v, n: v, k: d, alpha: 1, a: dt.baseAddress!, lda: d,
                               b: t.baseAddress! + offsetU, ldb: v, beta: bias ? 1 : 0, c: zp.baseAddress!, ldc: v)
                    BLAS.dgemm(transA: false, transB: false, m: v, n: v, k: d, alpha: 1, a: t.baseAddress!, lda: d,
                               b: dt.baseAddress! + offsetU, ldb: v, beta: 1, c: zp.baseAddress!, ldc: v)
                }
            }
        }
        return z
    }

    public func secondOrder(_ theta: [Double], _ g: [Double], _ dTheta: [Double]) -> [Double] {
        let v = vocabularySize, d = width
        var out = [Double](repeating: 0, count: parameterCount)
        g.withUnsafeBufferPointer { gp in
            dTheta.withUnsafeBufferPointer { dt in
                out.withUnsafeMutableBufferPointer { o in
                    // E part: G dUᵀ (V×d); U part: dEᵀ G (d×V).
                    BLAS.dgemm(transA: false, transB: true, m: v, n: d, k: v, alpha: 1, a: gp.baseAddress!, lda: v,
                               b: dt.baseAddress! + offsetU, ldb: v, beta: 0, c: o.baseAddress!, ldc: d)
                    BLAS.dgemm(transA: true, transB: false, m: d, n: v, k: v, alpha: 1, a: dt.baseAddress!, lda: d,
                               b: gp.baseAddress!, ldb: v, beta: 0, c: o.baseAddress! + offsetU, ldc: v)
                }
            }
        }
        return out
    }
}
