import Foundation
import LinearAlgebra

/// The element type of the transformer: `Float` for training, `Double` for curvature analysis
/// (Hessian-vector products by central differences of gradients need the gradient to ~1e-15 relative,
/// see `TextLoss`).
///
/// One implementation of every layer serves both: the kernels are generic over `ModelScalar` and the
/// compiler specialises them per type (whole-module optimisation), so the Float path runs the code a
/// Float-only kernel would. The only type-specific maths are ``vexp(_:)`` and
/// ``vlog(_:)``, which branch on the type (the branch folds away in each specialisation, and the Float
/// exponential stays inlined into the softmax loops — a protocol requirement was not).
protocol ModelScalar: BLASScalar {}

extension Float: ModelScalar {}
extension Double: ModelScalar {}

/// eˣ on 16 lanes: Float → the Cephes-style ``simdExp(_:)`` (≲ 2 ulp; clamps to [−87, 88]);
/// Double → glibc's `exp` lane by lane (exp(−∞) = 0 exactly).
@inline(__always) func vexp<S: ModelScalar>(_ x: SIMD16<S>) -> SIMD16<S> {
    if S.self == Float.self {
        return unsafeBitCast(simdExp(unsafeBitCast(x, to: F16.self)), to: SIMD16<S>.self)
    }
    var r = SIMD16<S>()
    for i in 0..<16 { r[i] = S(Foundation.exp(Double(x[i]))) }
    return r
}

/// ln x of a positive scalar (the log-sum-exp of cross-entropy): through Double for both types, so
/// Float rounds once, as the Float32 trainer always has.
@inline(__always) func vlog<S: ModelScalar>(_ x: S) -> S {
    S(Foundation.log(Double(x)))
}

/// Vector width of the hand-written kernels (16 Float32 = one AVX-512 register, two AVX2 registers).
typealias F16 = SIMD16<Float>

// Unaligned vector loads and stores. The concrete Float and Double paths matter: `loadUnaligned` and
// `storeBytes` on an unconstrained generic SIMD16<T> go through a temporary copy even once specialised,
// while the concrete (BitwiseCopyable) overloads compile to single vector moves. The type branches fold
// away in each specialisation.
@inline(__always) func load16<T: SIMDScalar>(_ p: UnsafePointer<T>) -> SIMD16<T> {
    let raw = UnsafeRawPointer(p)
    if T.self == Float.self { return unsafeBitCast(raw.loadUnaligned(as: SIMD16<Float>.self), to: SIMD16<T>.self) }
    if T.self == Double.self { return unsafeBitCast(raw.loadUnaligned(as: SIMD16<Double>.self), to: SIMD16<T>.self) }
    return raw.loadUnaligned(as: SIMD16<T>.self)
}

@inline(__always) func load16<T: SIMDScalar>(_ p: UnsafeMutablePointer<T>) -> SIMD16<T> {
    load16(UnsafePointer(p))
}

@inline(__always) func store16<T: SIMDScalar>(_ v: SIMD16<T>, _ p: UnsafeMutablePointer<T>) {
    let raw = UnsafeMutableRawPointer(p)
    if T.self == Float.self { return raw.storeBytes(of: unsafeBitCast(v, to: SIMD16<Float>.self), as: SIMD16<Float>.self) }
    if T.self == Double.self { return raw.storeBytes(of: unsafeBitCast(v, to: SIMD16<Double>.self), as: SIMD16<Double>.self) }
    raw.storeBytes(of: v, as: SIMD16<T>.self)
}

@inline(__always) func load8<T: SIMDScalar>(_ p: UnsafePointer<T>) -> SIMD8<T> {
    let raw = UnsafeRawPointer(p)
    if T.self == Float.self { return unsafeBitCast(raw.loadUnaligned(as: SIMD8<Float>.self), to: SIMD8<T>.self) }
    if T.self == Double.self { return unsafeBitCast(raw.loadUnaligned(as: SIMD8<Double>.self), to: SIMD8<T>.self) }
    return raw.loadUnaligned(as: SIMD8<T>.self)
}

/// Loads `n < 16` values, filling the other lanes with `pad`.
@inline(__always) func loadPartial<T: SIMDScalar>(_ p: UnsafePointer<T>, _ n: Int, pad: T) -> SIMD16<T> {
    var v = SIMD16<T>(repeating: pad)
    for i in 0..<n { v[i] = p[i] }
    return v
}

@inline(__always) func loadPartial<T: SIMDScalar>(_ p: UnsafeMutablePointer<T>, _ n: Int, pad: T) -> SIMD16<T> {
    loadPartial(UnsafePointer(p), n, pad: pad)
}

@inline(__always) func storePartial<T: SIMDScalar>(_ v: SIMD16<T>, _ p: UnsafeMutablePointer<T>, _ n: Int) {
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
/// (The standard library's vectorised `.<` and `replacing(with:where:)` exist only for concrete types:
/// generic code would compare lane by lane, hence the branches.)
@inline(__always) func vmax<T: ModelScalar>(_ a: SIMD16<T>, _ b: SIMD16<T>) -> SIMD16<T> {
    if T.self == Float.self {
        let x = unsafeBitCast(a, to: SIMD16<Float>.self), y = unsafeBitCast(b, to: SIMD16<Float>.self)
        return unsafeBitCast(x.replacing(with: y, where: x .< y), to: SIMD16<T>.self)
    }
    if T.self == Double.self {
        let x = unsafeBitCast(a, to: SIMD16<Double>.self), y = unsafeBitCast(b, to: SIMD16<Double>.self)
        return unsafeBitCast(x.replacing(with: y, where: x .< y), to: SIMD16<T>.self)
    }
    return a.replacing(with: b, where: a .< b)
}

/// The largest lane: one compare-and-blend folds lane i + 8 onto lane i (``vmax``), then a scalar max over
/// the eight lanes left. The standard library's `max()` is not inlined and visits all 16 lanes one by one
/// (1% of a 0.86M training step's CPU time, once per softmax row). Equal (`==`) to `max()` for every input
/// without NaN; it may return −0 where `max()` returns +0 or the reverse, which no caller can tell apart
/// (they subtract it from the lanes or add a logarithm to it). With a NaN lane the two may differ (NaN or
/// not, by position); a NaN score already makes its softmax row and the loss NaN either way.
@inline(__always) func hmax<T: ModelScalar>(_ v: SIMD16<T>) -> T {
    let m = vmax(v, SIMD16(lowHalf: v.highHalf, highHalf: v.lowHalf)).lowHalf
    var r = m[0]
    for i in 1..<8 { r = Swift.max(r, m[i]) }
    return r
}

/// The sum of the 16 lanes in lane order, ((v₀ + v₁) + v₂) + …: the same additions, in the same order, as
/// the standard library's `sum()` (which starts from −0, and −0 + v₀ = v₀ exactly), so the same bits (a NaN
/// result may differ in sign or payload, by the operand order the compiler picks); but inlined, where the
/// profile of a training step showed `sum()` as an out-of-line call, once per softmax row.
@inline(__always) func laneSum<T: ModelScalar>(_ v: SIMD16<T>) -> T {
    var r = v[0]
    for i in 1..<16 { r += v[i] }
    return r
}
