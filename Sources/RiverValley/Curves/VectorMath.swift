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
        let r = x.addingProduct(n, V(repeating: -ln2Hi)).addingProduct(n, V(repeating: -ln2Lo))  // |r| ≤ ln2/2
        // Taylor series of e^r to r^13 (error < 2e-17 for |r| ≤ 0.347), Horner form with fused multiply-adds.
        var p = V(repeating: 1.0 / 6227020800.0)
        p = V(repeating: 1.0 / 479001600.0).addingProduct(p, r)
        p = V(repeating: 1.0 / 39916800.0).addingProduct(p, r)
        p = V(repeating: 1.0 / 3628800.0).addingProduct(p, r)
        p = V(repeating: 1.0 / 362880.0).addingProduct(p, r)
        p = V(repeating: 1.0 / 40320.0).addingProduct(p, r)
        p = V(repeating: 1.0 / 5040.0).addingProduct(p, r)
        p = V(repeating: 1.0 / 720.0).addingProduct(p, r)
        p = V(repeating: 1.0 / 120.0).addingProduct(p, r)
        p = V(repeating: 1.0 / 24.0).addingProduct(p, r)
        p = V(repeating: 1.0 / 6.0).addingProduct(p, r)
        p = V(repeating: 0.5).addingProduct(p, r)
        p = V(repeating: 1.0).addingProduct(p, r)
        p = V(repeating: 1.0).addingProduct(p, r)
        // 2^n: the low bits of k hold n + 2^51 (two's complement wrap), so (bits(k) + 1023) << 52 is 2^n.
        let bits = (unsafeBitCast(k, to: U.self) &+ 1023) &<< 52
        return p * unsafeBitCast(bits, to: V.self)
    }

    /// ln x for finite normal x > 0.
    @inline(__always)
    static func log(_ x: V) -> V {
        typealias I = SIMD4<Int64>
        // x = 2^e·z with z ∈ [√½, √2) (musl's reduction): shift the bits by those of √½ so the exponent
        // field of the difference is e, then put z's bits back under the exponent of √½…√2.
        let off: Int64 = 0x3FE6_A09E_667F_3BCD
        let ix = unsafeBitCast(x, to: I.self)
        let tmp = ix &- off
        let e = tmp &>> 52                                   // arithmetic shift: e may be negative
        let z = unsafeBitCast(ix &- (tmp & I(repeating: -0x10_0000_0000_0000)), to: V.self)
        // e as a double via the 2^52 trick: bits(1.5·2^52 + e) − 1.5·2^52 (|e| < 2^51).
        let ed = unsafeBitCast(e &+ 0x4338_0000_0000_0000, to: V.self) - shifter
        // ln z = 2·atanh(s), s = (z − 1)/(z + 1) ∈ (−0.1716, 0.1716): s² < 0.0295, series to s^21
        // (truncation < 0.0295^11/23 < 1e-18 relative).
        let s = (z - 1) / (z + 1)
        let w = s * s
        var q = V(repeating: 1.0 / 21)
        q = V(repeating: 1.0 / 19).addingProduct(q, w)
        q = V(repeating: 1.0 / 17).addingProduct(q, w)
        q = V(repeating: 1.0 / 15).addingProduct(q, w)
        q = V(repeating: 1.0 / 13).addingProduct(q, w)
        q = V(repeating: 1.0 / 11).addingProduct(q, w)
        q = V(repeating: 1.0 / 9).addingProduct(q, w)
        q = V(repeating: 1.0 / 7).addingProduct(q, w)
        q = V(repeating: 1.0 / 5).addingProduct(q, w)
        q = V(repeating: 1.0 / 3).addingProduct(q, w)
        q = V(repeating: 1).addingProduct(q, w)
        return (ed * ln2Lo).addingProduct(2 * s, q) + ed * ln2Hi
    }
}
