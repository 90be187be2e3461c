#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// Elementary functions on eight doubles at once, without a libm call per lane (AVX2 + FMA in release
/// builds: `-target-cpu haswell`, docs/machine-facts.md "Hand-written SIMD kernels need a target CPU").
///
/// Only what the Box–Muller transform of `PhiloxGaussian` needs, on the ranges it needs, and a correctly
/// rounded square root for the simulator's lanes. Accuracy, measured against Foundation's `log`, `sin`,
/// `cos` and `squareRoot()` in Tests/LinearAlgebraTests/SIMDMathTests.swift:
/// - `log(x)` for positive normal x: ≤ 1 ulp (fdlibm's e_log.c reduction and minimax polynomial,
///   Sun Microsystems 1993, whose stated error is < 1 ulp);
/// - `sinCos(φ)` for |φ| ≤ π/4: ≤ 1 ulp for sin and cos (Cephes sin.c's polynomials, S. L. Moshier, whose
///   stated relative error on this interval is ≈ 2.2e-16);
/// - `sinCosTurns(v)` (sin and cos of v·π/2 for v ∈ [0, 4)): the quadrant is taken from v exactly, so the
///   error is that of `sinCos` plus one rounding of (v − k)·π/2: ≤ 2 ulp, absolute error ≤ 2.3e-16;
/// - `squareRoot(x)` for x = 0 and normal x in [2⁻¹⁰²⁰, 2¹⁰²⁰]: ≤ 1 ulp (Newton steps on a magic-constant
///   estimate);
/// - `correctlyRoundedSquareRoot(x)`: every lane's `squareRoot()`, bit for bit (the hardware's IEEE root).
public enum SIMDMath {
    public typealias Vector = SIMD8<Double>
    public typealias Bits = SIMD8<UInt64>

    @inline(__always) static func bits(_ x: Vector) -> Bits { unsafeBitCast(x, to: Bits.self) }
    @inline(__always) static func double(_ b: Bits) -> Vector { unsafeBitCast(b, to: Vector.self) }
    /// a·b + c in one fused multiply-add (one rounding).
    @inline(__always) static func fma(_ a: Vector, _ b: Vector, _ c: Double) -> Vector {
        Vector(repeating: c).addingProduct(a, b)
    }

    // fdlibm e_log.c: log(1 + f) = f − hfsq + s·(hfsq + R(z)), s = f/(2 + f), z = s², on √½ ≤ 1 + f < √2
    // (Horner steps fused).
    static let lg1 = 6.666666666666735130e-01, lg2 = 3.999999999940941908e-01
    static let lg3 = 2.857142874366239149e-01, lg4 = 2.222219843214978396e-01
    static let lg5 = 1.818357216161805012e-01, lg6 = 1.531383769920937332e-01
    static let lg7 = 1.479819860511658591e-01
    static let ln2Hi = 6.93147180369123816490e-01, ln2Lo = 1.90821492927058770002e-10

    /// ln x for positive normal x (undefined for 0, subnormals, negatives, inf and NaN).
    ///
    /// x = 2ᵏ·m with m ∈ [√½, √2), f = m − 1: ln x = k·ln2 + ln(1 + f) (fdlibm e_log.c, the i > 0 branch
    /// used throughout).
    @inline(__always)
    public static func log(_ x: Vector) -> Vector {
        let b = bits(x)
        let hi = b &>> 32
        let mantissaHi = hi & 0x000F_FFFF
        // 0x95f64 moves mantissas at or above √2 (high word 0x6a09e) into the next binade.
        let carry = (mantissaHi &+ 0x95F64) & 0x10_0000
        let mHi = mantissaHi | (carry ^ 0x3FF0_0000)
        let m = double((mHi &<< 32) | (b & 0xFFFF_FFFF))
        // k + 1023 as an exact double: put the biased exponent into the mantissa of 2⁵².
        let biased = (hi &>> 20) &+ (carry &>> 20)
        let k = double(biased | 0x4330_0000_0000_0000) - (4_503_599_627_370_496.0 + 1023)
        let f = m - 1
        let hfsq = 0.5 * f * f
        let s = f / (2 + f)
        let z = s * s, w = z * z
        let t1 = w * fma(w, fma(w, Vector(repeating: lg6), lg4), lg2)
        let t2 = z * fma(w, fma(w, fma(w, Vector(repeating: lg7), lg5), lg3), lg1)
        let r = t2 + t1
        return k * ln2Hi - ((hfsq - (s * (hfsq + r) + k * ln2Lo)) - f)
    }

    /// √x for x = 0 or normal x in [2⁻¹⁰²⁰, 2¹⁰²⁰], from multiplications only: `squareRoot()` on a SIMD
    /// vector is a loop of scalar `sqrt` calls on Linux (each behind an errno check), which stops the
    /// whole transform from vectorising.
    ///
    /// y ≈ 1/√x from the magic-constant estimate 0x5FE6EB50C7B537A9 − bits(x)/2 (relative error ≤ 3.5%),
    /// three Newton steps y ← y·(3/2 − (x/2)·y²) (the relative error e becomes ≈ 3e²/2: 3.5e-2 → 2e-3 →
    /// 5e-6 → 4e-11), then √x = s + (y/2)·(x − s²) with s = x·y and a fused residual (one Heron step,
    /// which multiplies the error by that of y: 4e-11² ≪ 2⁻⁵³).
    @inline(__always)
    public static func squareRoot(_ x: Vector) -> Vector {
        var y = double(0x5FE6_EB50_C7B5_37A9 &- (bits(x) &>> 1))
        let half = 0.5 * x
        for _ in 0..<3 { y = y * fma(-(half * y), y, 1.5) }
        let s = x * y
        let residual = x.addingProduct(-s, s)
        return s.addingProduct(0.5 * y, residual)
    }

    /// √x in every lane, correctly rounded: bit for bit each lane's `squareRoot()` (IEEE 754's square
    /// root, NaN and negative lanes included), in four `sqrtpd` on x86-64 (SSE2, so any build) instead of
    /// the eight scalar `sqrtsd`, each behind a branch to libm's `sqrt` for errno, that `squareRoot()` on
    /// a SIMD vector compiles to on Linux. For the simulator's river split, which must match the one-seed
    /// path's bits.
    @inline(__always)
    public static func correctlyRoundedSquareRoot(_ x: Vector) -> Vector {
        #if arch(x86_64)
        let lo = x.lowHalf, hi = x.highHalf
        return Vector(lowHalf: SIMD4(lowHalf: _mm_sqrt_pd(lo.lowHalf), highHalf: _mm_sqrt_pd(lo.highHalf)),
                      highHalf: SIMD4(lowHalf: _mm_sqrt_pd(hi.lowHalf), highHalf: _mm_sqrt_pd(hi.highHalf)))
        #else
        return x.squareRoot()
        #endif
    }

    // Cephes sin.c: sin x = x + x³·P(x²), cos x = 1 − x²/2 + x⁴·Q(x²) on |x| ≤ π/4 (Horner steps fused).
    static let s0 = 1.58962301576546568060e-10, s1 = -2.50507477628578072866e-8
    static let s2 = 2.75573136213857245213e-6, s3 = -1.98412698295895385996e-4
    static let s4 = 8.33333333332211858878e-3, s5 = -1.66666666666666307295e-1
    static let c0 = -1.13585365213876817300e-11, c1 = 2.08757008419747316778e-9
    static let c2 = -2.75573141792967388112e-7, c3 = 2.48015872888517045348e-5
    static let c4 = -1.38888888888730564116e-3, c5 = 4.16666666666665929218e-2

    /// (sin φ, cos φ) for |φ| ≤ π/4.
    @inline(__always)
    public static func sinCos(_ phi: Vector) -> (sin: Vector, cos: Vector) {
        let z = phi * phi
        let p = fma(fma(fma(fma(fma(Vector(repeating: s0), z, s1), z, s2), z, s3), z, s4), z, s5)
        let q = fma(fma(fma(fma(fma(Vector(repeating: c0), z, c1), z, c2), z, c3), z, c4), z, c5)
        return (phi.addingProduct(phi * z, p), (1 - 0.5 * z).addingProduct(z * z, q))
    }

    /// (sin θ, cos θ) for θ = v·π/2, v ∈ [0, 4) (v in quarter turns).
    ///
    /// k = round(v) and r = v − k ∈ [−½, ½] are exact, so θ = k·π/2 + r·π/2 needs no Cody–Waite
    /// reduction: sin θ and cos θ are ±sin φ, ±cos φ of φ = r·π/2 (|φ| ≤ π/4), chosen by k mod 4.
    @inline(__always)
    public static func sinCosTurns(_ v: Vector) -> (sin: Vector, cos: Vector) {
        let magic = 6_755_399_441_055_744.0  // 1.5·2⁵²: adding it rounds to an integer kept in the low bits
        let t = v + magic
        let k = bits(t)
        let r = v - (t - magic)
        let (s, c) = sinCos(r * (Double.pi / 2))
        // k odd: swap sin and cos; sin θ < 0 for k mod 4 ∈ {2, 3}; cos θ < 0 for k mod 4 ∈ {1, 2}.
        let swap = 0 &- (k & 1)
        let sb = bits(s), cb = bits(c)
        let sinBits = ((sb & ~swap) | (cb & swap)) ^ ((k & 2) &<< 62)
        let cosBits = ((cb & ~swap) | (sb & swap)) ^ (((k &+ 1) & 2) &<< 62)
        return (double(sinBits), double(cosBits))
    }
}
