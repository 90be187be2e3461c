@preconcurrency import CGSL

/// A seeded random source backed by GSL's Mersenne Twister (`gsl_rng_mt19937`).
///
/// Same seed, same stream, on every machine: experiments and tests are reproducible from their seed.
/// One instance per thread (it is a reference to mutable C state).
public final class RandomSource: @unchecked Sendable {
    private let rng: UnsafeMutablePointer<gsl_rng>
    public let seed: UInt64

    public init(seed: UInt64) {
        self.seed = seed
        rng = gsl_rng_alloc(rv_gsl_rng_mt19937())
        gsl_rng_set(rng, UInt(truncatingIfNeeded: seed))
    }

    deinit { gsl_rng_free(rng) }

    /// A standard normal draw (GSL's ziggurat sampler).
    public func gaussian() -> Double { gsl_ran_gaussian_ziggurat(rng, 1.0) }

    /// A uniform draw in [0, 1).
    public func uniform() -> Double { gsl_rng_uniform(rng) }

    /// A uniform integer in 0..<n.
    public func int(below n: Int) -> Int {
        precondition(n > 0, "int(below:) needs n > 0, got \(n)")
        return Int(gsl_rng_uniform_int(rng, UInt(n)))
    }

    /// A Rademacher (±1) draw.
    public func rademacher() -> Double { gsl_rng_uniform_int(rng, 2) == 0 ? -1 : 1 }

    /// Fills `out` with standard normal draws.
    public func fillGaussian(_ out: inout [Double]) {
        for i in out.indices { out[i] = gsl_ran_gaussian_ziggurat(rng, 1.0) }
    }

    /// A draw from a Dirichlet distribution with parameters `alpha`.
    public func dirichlet(_ alpha: [Double]) -> [Double] {
        var theta = [Double](repeating: 0, count: alpha.count)
        alpha.withUnsafeBufferPointer { a in
            theta.withUnsafeMutableBufferPointer { t in
                gsl_ran_dirichlet(rng, alpha.count, a.baseAddress, t.baseAddress)
            }
        }
        return theta
    }

    /// The raw internal state of the generator (for bit-exact checkpoint/resume).
    public func state() -> [UInt8] {
        let size = gsl_rng_size(rng)
        let p = gsl_rng_state(rng)!
        return Array(UnsafeRawBufferPointer(start: p, count: size))
    }

    /// Restores a state produced by `state()`.
    public func restore(_ bytes: [UInt8]) {
        let size = gsl_rng_size(rng)
        precondition(bytes.count == size, "RNG state has \(bytes.count) bytes, expected \(size)")
        let p = gsl_rng_state(rng)!
        bytes.withUnsafeBytes { src in p.copyMemory(from: src.baseAddress!, byteCount: size) }
    }
}

/// Statistics from GSL.
public enum Statistics {
    /// Spearman rank correlation of two equally long samples (`gsl_stats_spearman`).
    public static func spearman(_ x: [Double], _ y: [Double]) -> Double {
        precondition(x.count == y.count && x.count > 1, "spearman needs two samples of equal length > 1")
        var work = [Double](repeating: 0, count: 2 * x.count)
        return gsl_stats_spearman(x, 1, y, 1, x.count, &work)
    }

    /// Pearson correlation (`gsl_stats_correlation`).
    public static func pearson(_ x: [Double], _ y: [Double]) -> Double {
        precondition(x.count == y.count && x.count > 1)
        return gsl_stats_correlation(x, 1, y, 1, x.count)
    }

    public static func mean(_ x: [Double]) -> Double { gsl_stats_mean(x, 1, x.count) }

    /// The p-quantile of Student's t distribution with `df` degrees of freedom (`gsl_cdf_tdist_Pinv`),
    /// e.g. `studentTQuantile(0.975, df: 2)` = 4.303 for a 95% interval from three paired seeds.
    public static func studentTQuantile(_ p: Double, df: Double) -> Double { gsl_cdf_tdist_Pinv(p, df) }

    /// Sample standard deviation (n − 1 denominator); 0 for fewer than two values.
    public static func standardDeviation(_ x: [Double]) -> Double {
        x.count < 2 ? 0 : gsl_stats_sd(x, 1, x.count)
    }
}

/// Turns GSL's default abort-on-error handler off, so errors come back as status codes.
public func disableGSLAbort() { gsl_set_error_handler_off() }
