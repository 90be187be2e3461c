import Foundation
import LinearAlgebra

/// A Gauss quadrature rule from one Lanczos run: ∫ f dμ ≈ Σⱼ τⱼ f(θⱼ).
public struct QuadratureRule: Sendable {
    /// θⱼ: eigenvalues of the Lanczos tridiagonal T (ascending).
    public let nodes: [Double]
    /// τⱼ: squared first components of T's eigenvectors; they sum to 1 (orthonormal eigenvectors).
    public let weights: [Double]
}

/// A spectral density estimate by stochastic Lanczos quadrature (SLQ): each run's rule approximates the
/// spectral measure μ = (1/n) Σᵢ δ(λᵢ) seen from a random unit vector v (vᵀ f(A) v = Σᵢ (vᵀuᵢ)² f(λᵢ));
/// averaging over runs gives E[(vᵀuᵢ)²] = 1/n (Lin, Saad & Yang 2016; Ghorbani, Krishnan & Xiao 2019).
public struct SpectralDensity: Sendable {
    public let runs: [QuadratureRule]

    /// Smallest and largest node over all runs.
    public var range: ClosedRange<Double> {
        let all = runs.flatMap(\.nodes)
        return (all.min() ?? 0)...(all.max() ?? 0)
    }

    /// Default smoothing width σ = (λmax − λmin)/m with m = `resolution` (hessian-eigenthings'
    /// convention); falls back to 1e-3·max(1, |λ|) for a single-point spectrum.
    public func defaultSigma(resolution: Int = 100) -> Double {
        let r = range
        let width = r.upperBound - r.lowerBound
        return width > 0 ? width / Double(resolution) : 1e-3 * max(1, abs(r.upperBound))
    }

    /// The most grid points of `smoothed` (each costs runs × iterations Gaussians): a million.
    public static let maxGridPoints = 1_000_000

    /// The Gaussian-smoothed density φ(t) = (1/runs) Σ_runs Σⱼ τⱼ N(t; θⱼ, σ²) on `points` equally spaced
    /// grid points covering [λmin − 5σ, λmax + 5σ]. φ integrates to 1 over ℝ; on this grid the trapezoid
    /// rule loses at most the mass beyond 5σ (< 1e-6).
    /// Throws `SizeLimitError` for fewer than 2 or more than `maxGridPoints` points.
    public func smoothed(points: Int = 512, sigma: Double? = nil) throws -> (grid: [Double], density: [Double]) {
        guard points >= 2, points <= Self.maxGridPoints else {
            throw SizeLimitError("a density grid of \(points) points is not allowed: use 2...\(Self.maxGridPoints)")
        }
        let s = sigma ?? defaultSigma()
        precondition(s > 0, "smoothing width must be positive, got \(s)")
        let lo = range.lowerBound - 5 * s, hi = range.upperBound + 5 * s
        let grid = (0..<points).map { lo + (hi - lo) * Double($0) / Double(points - 1) }
        let norm = 1 / ((2 * Double.pi).squareRoot() * s * Double(runs.count))
        var density = [Double](repeating: 0, count: points)
        for run in runs {
            for (theta, tau) in zip(run.nodes, run.weights) {
                for (g, t) in grid.enumerated() {
                    let z = (t - theta) / s
                    density[g] += norm * tau * Foundation.exp(-0.5 * z * z)
                }
            }
        }
        return (grid, density)
    }
}

/// The most SLQ runs (random start vectors): 100000, far beyond the ~10–100 a density needs.
public let maxSLQRuns = 100_000

/// Stochastic Lanczos quadrature: `runs` Lanczos tridiagonalisations of `iterations` steps (full
/// reorthogonalisation, no restart) from Rademacher start vectors; nodes = eig(T), weights = squared
/// first components of T's eigenvectors (Golub & Meurant's Gauss quadrature). Run r uses seed + r.
public func stochasticLanczosQuadrature<A: SymmetricOperator>(
    _ op: A, iterations: Int = 30, runs: Int = 10, seed: UInt64 = 0
) throws -> SpectralDensity {
    guard runs >= 1, runs <= maxSLQRuns else {
        throw SizeLimitError("SLQ with \(runs) runs is not allowed: use 1...\(maxSLQRuns) runs (random start vectors)")
    }
    var rules: [QuadratureRule] = []
    for r in 0..<runs {
        let rng = RandomSource(seed: seed &+ UInt64(r))
        let v = (0..<op.dimension).map { _ in rng.rademacher() }
        let t = lanczosTridiagonal(op, steps: iterations, seed: seed &+ UInt64(r), start: v,
                                   restartOnInvariant: false)
        let eig = try tridiagonalEigen(diagonal: t.alpha, offDiagonal: t.beta, vectors: true)
        let first = eig.vectors!.row(0)
        rules.append(QuadratureRule(nodes: eig.values, weights: first.map { $0 * $0 }))
    }
    return SpectralDensity(runs: rules)
}
