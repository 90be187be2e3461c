import Foundation
import Testing
import LinearAlgebra

/// The lane-parallel log / sin / cos of `SIMDMath` against Foundation's (glibc's) scalar functions, in
/// units in the last place of the reference, over the ranges `PhiloxGaussian` uses.
@Suite struct SIMDMathTests {
    /// |a − ref| in ulps of ref.
    static func ulps(_ a: Double, _ ref: Double) -> Double { abs(a - ref) / ref.ulp }

    /// Applies a SIMD function to scalars eight at a time.
    static func lanes(_ xs: [Double], _ f: (SIMD8<Double>) -> SIMD8<Double>) -> [Double] {
        var out: [Double] = []
        for b in stride(from: 0, to: xs.count, by: 8) {
            var v = SIMD8<Double>(repeating: 1)
            for l in 0..<min(8, xs.count - b) { v[l] = xs[b + l] }
            let y = f(v)
            for l in 0..<min(8, xs.count - b) { out.append(y[l]) }
        }
        return out
    }

    static func lcg(_ state: inout UInt64) -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state
    }

    /// log on the u₁ values of the Box–Muller transform (1 − a·2⁻⁵², a < 2⁵²), on log-uniform x over
    /// [2⁻¹⁰²², 2¹⁰²³], and next to 1 (where ln x → 0): ≤ 1 ulp of glibc's log everywhere.
    @Test func logWithinOneUlp() {
        var state: UInt64 = 1
        var xs: [Double] = []
        for _ in 0..<200_000 { xs.append(1 - Double(Self.lcg(&state) >> 12) * 0x1p-52) }
        for _ in 0..<200_000 {
            let e = Double(Int(Self.lcg(&state) >> 53) % 2045 - 1022)
            xs.append(exp2(e) * (1 + Double(Self.lcg(&state) >> 12) * 0x1p-52))
        }
        for k in 1...2000 { xs.append(1 - Double(k) * 0x1p-53); xs.append(1 + Double(k) * 0x1p-52) }
        xs += [0x1p-52, 0x1p-1022, 0.5, 2.0.squareRoot(), 0.5.squareRoot(), 1, Double.greatestFiniteMagnitude]
        let ys = Self.lanes(xs, SIMDMath.log)
        var worst = 0.0, at = 0.0
        for (x, y) in zip(xs, ys) {
            let ref = log(x)
            let e = ref == 0 ? abs(y) : Self.ulps(y, ref)
            if e > worst { worst = e; at = x }
        }
        #expect(worst <= 1, "log: \(worst) ulp at x = \(at)")
    }

    /// sin and cos on |φ| ≤ π/4 (the reduced range): ≤ 1 ulp of glibc's.
    @Test func sinCosOnReducedRangeWithinOneUlp() {
        let n = 400_000
        let phis = (0...n).map { (Double($0) / Double(n) * 2 - 1) * (Double.pi / 4) }
        let sines = Self.lanes(phis) { SIMDMath.sinCos($0).sin }
        let cosines = Self.lanes(phis) { SIMDMath.sinCos($0).cos }
        var worstSin = 0.0, worstCos = 0.0
        for (k, phi) in phis.enumerated() {
            if phi != 0 { worstSin = max(worstSin, Self.ulps(sines[k], sin(phi))) }
            worstCos = max(worstCos, Self.ulps(cosines[k], cos(phi)))
        }
        #expect(worstSin <= 1 && worstCos <= 1, "sin \(worstSin) ulp, cos \(worstCos) ulp")
    }

    /// sin and cos of v·π/2 for v ∈ [0, 4) (52-bit v, as the transform uses) against an 80-bit reference
    /// (θ = v·π/2 and its sine in Float80, whose 64-bit mantissa makes the reference ≈ 2000× more
    /// precise): absolute error ≤ 2.3e-16, i.e. ≤ 2 ulp at |sin| or |cos| ≥ ½, and exact signs/quadrants.
    @Test func quarterTurnsWithinAbsoluteBound() {
        var state: UInt64 = 7
        var vs: [Double] = (0..<16).map { Double($0) / 4 }  // quadrant boundaries and midpoints
        vs += [0x1p-52, 4 - 0x1p-50, 0.5 - 0x1p-53, 0.5 + 0x1p-53, 1.5, 2.5, 3.5]
        for _ in 0..<300_000 { vs.append(4 * Double(Self.lcg(&state) >> 12) * 0x1p-52) }
        let sines = Self.lanes(vs) { SIMDMath.sinCosTurns($0).sin }
        let cosines = Self.lanes(vs) { SIMDMath.sinCosTurns($0).cos }
        var worstAbs = 0.0, worstUlp = 0.0
        for (k, v) in vs.enumerated() {
            let theta = Float80(v) * (Float80.pi / 2)
            let (rs, rc) = (Double(sinl(theta)), Double(cosl(theta)))
            worstAbs = max(worstAbs, abs(sines[k] - rs), abs(cosines[k] - rc))
            if abs(rs) >= 0.5 { worstUlp = max(worstUlp, Self.ulps(sines[k], rs)) }
            if abs(rc) >= 0.5 { worstUlp = max(worstUlp, Self.ulps(cosines[k], rc)) }
        }
        #expect(worstAbs <= 2.3e-16 && worstUlp <= 2, "abs \(worstAbs), \(worstUlp) ulp")
    }

    /// √x on the Box–Muller range [0, 72.1] (−2 ln u₁ ≤ 104 ln 2), at 0, and on log-uniform x over
    /// [2⁻¹⁰²⁰, 2¹⁰²⁰]: ≤ 1 ulp of `Double.squareRoot()` (correctly rounded), and √0 = 0.
    /// `correctlyRoundedSquareRoot` is each lane's `squareRoot()`, bit for bit: random magnitudes over the
    /// whole exponent range, subnormals, ±0, ±∞, NaN and negative lanes.
    @Test func correctlyRoundedSquareRootIsLaneSquareRoot() {
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        var values: [Double] = [0, -0.0, 5e-324, 2.2250738585072014e-308, 1, 2, .infinity, -.infinity, .nan, -1,
                                -5e-324, .greatestFiniteMagnitude, 0.25, 1e-300]
        for _ in 0..<20_000 {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            values.append(Double(bitPattern: state & 0x7FFF_FFFF_FFFF_FFFF))  // any non-negative bit pattern
        }
        for start in stride(from: 0, to: values.count - 8, by: 3) {
            let x = SIMD8<Double>(values[start..<start + 8])
            let y = SIMDMath.correctlyRoundedSquareRoot(x)
            for l in 0..<8 {
                #expect(y[l].bitPattern == x[l].squareRoot().bitPattern, "√\(x[l])")
            }
        }
    }

    @Test func squareRootWithinOneUlp() {
        var state: UInt64 = 3
        var xs: [Double] = [0, 0x1p-1020, 1e-300, 1, 2, 4, 72.08, 1e300]
        for _ in 0..<300_000 { xs.append(72.1 * Double(Self.lcg(&state) >> 11) * 0x1p-53) }
        for _ in 0..<100_000 {
            let e = Double(Int(Self.lcg(&state) >> 53) % 2040 - 1020)
            xs.append(exp2(e) * (1 + Double(Self.lcg(&state) >> 12) * 0x1p-52))
        }
        let ys = Self.lanes(xs, SIMDMath.squareRoot)
        var worst = 0.0, at = 0.0
        for (x, y) in zip(xs, ys) {
            let ref = x.squareRoot()
            let e = ref == 0 ? abs(y) : Self.ulps(y, ref)
            if e > worst { worst = e; at = x }
        }
        #expect(worst <= 1, "sqrt: \(worst) ulp at x = \(at)")
    }
}
