import Foundation

/// Vector width of the hand-written kernels (16 Float32 = one AVX-512 register, two AVX2 registers).
typealias F16 = SIMD16<Float>

@inline(__always) func load16(_ p: UnsafePointer<Float>) -> F16 {
    UnsafeRawPointer(p).loadUnaligned(as: F16.self)
}

@inline(__always) func load16(_ p: UnsafeMutablePointer<Float>) -> F16 {
    UnsafeRawPointer(p).loadUnaligned(as: F16.self)
}

@inline(__always) func store16(_ v: F16, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: F16.self)
}

/// Loads `n < 16` floats, filling the other lanes with `pad`.
@inline(__always) func loadPartial(_ p: UnsafePointer<Float>, _ n: Int, pad: Float) -> F16 {
    var v = F16(repeating: pad)
    for i in 0..<n { v[i] = p[i] }
    return v
}

@inline(__always) func storePartial(_ v: F16, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
    for i in 0..<n { p[i] = v[i] }
}

/// eˣ on 16 lanes (Cephes `expf` scheme: x = n·ln2 + r, degree-6 polynomial for eʳ, 2ⁿ from the
/// exponent bits). Relative error ≲ 2 ulp on [−87, 88]; inputs are clamped to that range, so
/// exp(−∞) returns ≈ 1.6e−38 instead of 0 (harmless after max-subtraction in softmax).
@inline(__always) func simdExp(_ x: F16) -> F16 {
    // (`clamped`/`pointwiseMax` go lane by lane through memory; compare-and-blend vectorises.)
    let lo = F16(repeating: -87.0), hi = F16(repeating: 88.0)
    var x = x.replacing(with: lo, where: x .< lo)
    x = x.replacing(with: hi, where: hi .< x)
    // Round x·log2(e) to the nearest integer with the 1.5·2²³ trick: the integer lands in the low
    // mantissa bits of t.
    let magic: Float = 12_582_912
    let t = x * 1.442_695_04 + magic
    let n = t - magic
    var r = x - n * 0.693_359_375
    r = r - n * -2.121_944_4e-4
    var p = F16(repeating: 1.987_569_15e-4)
    p = p * r + 1.398_199_95e-3
    p = p * r + 8.333_451_9e-3
    p = p * r + 4.166_579_59e-2
    p = p * r + 1.666_666_55e-1
    p = p * r + 5.000_000_12e-1
    p = p * (r * r) + r + 1
    // 2ⁿ: the low bits of t hold n (two's complement); shifting by 23 drops t's own exponent bits.
    let bits = (unsafeBitCast(t, to: SIMD16<Int32>.self) &<< 23) &+ Int32(127 << 23)
    return p * unsafeBitCast(bits, to: F16.self)
}

/// Lane-wise maximum (NaN-oblivious), as one compare and blend.
@inline(__always) func vmax(_ a: F16, _ b: F16) -> F16 { a.replacing(with: b, where: a .< b) }

/// Scalar eˣ through the same 16-lane code, so tails of rows match their bodies exactly.
@inline(__always) func scalarExp(_ x: Float) -> Float { simdExp(F16(repeating: x))[0] }
