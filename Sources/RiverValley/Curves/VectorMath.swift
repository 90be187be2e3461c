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

    /// 1/k! for k = 13 … 0 (highest power first): the Taylor series of e^r.
    private static let expTaylor: [Double] = (0...13).reversed().map { k in 1 / (1...max(k, 1)).reduce(1.0) { $0 * Double($1) } }
    /// 1/(2k + 1) for k = 10 … 0 (highest power first): atanh(s)/s as a series in s².
    private static let atanhSeries: [Double] = (0...10).reversed().map { 1 / Double(2 * $0 + 1) }

    /// Σ c_i x^(n−i) in Horner form with fused multiply-adds, `c` highest power first.
    @inline(__always)
    private static func horner(_ c: [Double], _ x: V) -> V {
        var p = V(repeating: c[0])
        for k in 1..<c.count { p = V(repeating: c[k]).addingProduct(p, x) }
        return p
    }

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
        let p = horner(expTaylor, r)
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
        let q = horner(atanhSeries, w)
        return (ed * ln2Lo).addingProduct(2 * s, q) + ed * ln2Hi
    }
}
