import Foundation

/// exp and log on four doubles at once (AVX2 lanes), for the Multi-Power Law's inner sum, where one
/// evaluation needs millions of (log, exp) pairs. Written with bit tricks only (no lane-wise conversions or
/// masks, which Swift lowers to scalar code), so each call is a few dozen vector instructions. Accuracy:
/// within a few ulps of glibc's scalar results (CurveLawTests checks 1e-15 relative).
enum VectorMath {
    typealias V = SIMD4<Double>
    typealias U = SIMD4<UInt64>

    private static let ln2Hi = 6.93147180369123816490e-01
    private static let ln2Lo = 1.90821492927058770002e-10
    private static let log2e = 1.44269504088896338700e+00
    /// 1.5·2^52: adding it rounds a double of magnitude < 2^51 to an integer held in the low mantissa bits.
    private static let shifter = 6755399441055744.0

    /// e^x for |x| ≤ 708 (x is clamped there).
    @inline(__always)
    static func exp(_ xIn: V) -> V {
        var x = xIn
        x.replace(with: -708, where: xIn .< -708)
        x.replace(with: 708, where: xIn .> 708)
        let k = x * log2e + shifter
        let n = k - shifter                      // round(x / ln 2)
        let r = x - n * ln2Hi - n * ln2Lo        // |r| ≤ ln2/2
        // Taylor series of e^r to r^13 (error < 2e-17 for |r| ≤ 0.347), Horner form.
        var p = V(repeating: 1.0 / 6227020800.0)
        p = p * r + 1.0 / 479001600.0
        p = p * r + 1.0 / 39916800.0
        p = p * r + 1.0 / 3628800.0
        p = p * r + 1.0 / 362880.0
        p = p * r + 1.0 / 40320.0
        p = p * r + 1.0 / 5040.0
        p = p * r + 1.0 / 720.0
        p = p * r + 1.0 / 120.0
        p = p * r + 1.0 / 24.0
        p = p * r + 1.0 / 6.0
        p = p * r + 0.5
        p = p * r + 1.0
        p = p * r + 1.0
        // 2^n: the low bits of k hold n + 2^51 (two's complement wrap), so (bits(k) + 1023) << 52 is 2^n.
        let bits = (unsafeBitCast(k, to: U.self) &+ 1023) &<< 52
        return p * unsafeBitCast(bits, to: V.self)
    }

    /// ln x for finite normal x > 0.
    @inline(__always)
    static func log(_ x: V) -> V {
        let bits = unsafeBitCast(x, to: U.self)
        // Exponent e as a double via the 2^52 trick: bits(2^52 + e) − 2^52 (e = biased − 1023).
        let biased = bits &>> 52
        let e = unsafeBitCast(biased &+ 0x4330_0000_0000_0000, to: V.self) - (4503599627370496.0 + 1023)
        let m = unsafeBitCast((bits & 0x000F_FFFF_FFFF_FFFF) | 0x3FF0_0000_0000_0000, to: V.self)  // m ∈ [1, 2)
        // ln m = 2·atanh(s), s = (m − 1)/(m + 1) ∈ [0, 1/3): series to s^37 (error < 1e-18).
        let s = (m - 1) / (m + 1)
        let z = s * s
        var q = V(repeating: 1.0 / 37)
        q = q * z + 1.0 / 35
        q = q * z + 1.0 / 33
        q = q * z + 1.0 / 31
        q = q * z + 1.0 / 29
        q = q * z + 1.0 / 27
        q = q * z + 1.0 / 25
        q = q * z + 1.0 / 23
        q = q * z + 1.0 / 21
        q = q * z + 1.0 / 19
        q = q * z + 1.0 / 17
        q = q * z + 1.0 / 15
        q = q * z + 1.0 / 13
        q = q * z + 1.0 / 11
        q = q * z + 1.0 / 9
        q = q * z + 1.0 / 7
        q = q * z + 1.0 / 5
        q = q * z + 1.0 / 3
        q = q * z + 1
        return e * ln2Hi + (e * ln2Lo + 2 * s * q)
    }
}
