/// Standard normal draws in blocks: Philox4x32-10 (`Philox4x32`) through a SIMD Box–Muller transform.
///
/// The stream (seed, stream) is one fixed sequence z₀, z₁, …, whatever sizes the `fill` calls have:
/// for n = 16b + 8h + l (lane l < 8, half h < 2), let j = 8b + l and (w₀, w₁, w₂, w₃) the Philox block
/// with key (seed mod 2³², seed >> 32) and counter (j mod 2³², j >> 32, stream mod 2³², stream >> 32);
/// with the 52-bit integers a = (w₀·2²⁰ + w₁ >> 12) and c = (w₂·2²⁰ + w₃ >> 12),
///
///     u₁ = 1 − a·2⁻⁵² ∈ (0, 1],   u₂ = c·2⁻⁵² ∈ [0, 1),
///     z_n = √(−2 ln u₁) · (h = 0 ? cos 2πu₂ : sin 2πu₂)          (Box & Muller 1958).
///
/// Different streams use disjoint counters, so they never overlap; a block depends only on (seed, stream,
/// j), so a simulation that gives each of its seeds a stream is the same on any number of threads and in
/// any chunking. `log`, `sin` and `cos` are the lane-parallel `SIMDMath` functions (≤ 2 ulp). Limits of
/// the transform: |z| ≤ √(104 ln 2) ≈ 8.49 (u₁ ≥ 2⁻⁵²; P(|Z| > 8.49) ≈ 2e-17), and the resolution of u₁ near
/// 0 coarsens the far tail beyond |z| ≈ 7.4 (probability ≈ 1e-13).
/// Statistical tests: Tests/LinearAlgebraTests/PhiloxGaussianTests.swift.
public struct PhiloxGaussian: Sendable {
    public let seed: UInt64
    public let stream: UInt64
    /// Number of draws consumed so far (the index n of the next draw).
    public private(set) var position: UInt64
    /// Batch ⌊position / 16⌋, valid while position is not a multiple of 16.
    private var spare: (SIMD8<Double>, SIMD8<Double>) = (.zero, .zero)

    /// Draws per batch: 8 Philox blocks, two normals each.
    public static let batchSize = 16

    /// The stream (seed, stream), starting at draw `position` (a skip-ahead costs nothing).
    public init(seed: UInt64, stream: UInt64 = 0, position: UInt64 = 0) {
        self.seed = seed
        self.stream = stream
        self.position = position
        if position % 16 != 0 { spare = Self.batch(position / 16, seed: seed, stream: stream) }
    }

    /// The 16 draws z_{16b} … z_{16b+15} of batch b: the cosines of lanes 0…7, then their sines.
    @inline(__always)
    public static func batch(_ b: UInt64, seed: UInt64, stream: UInt64) -> (SIMD8<Double>, SIMD8<Double>) {
        let j = SIMD8<UInt64>(repeating: b &* 8) &+ SIMD8(0, 1, 2, 3, 4, 5, 6, 7)
        let low = SIMD8<UInt64>(repeating: 0xFFFF_FFFF)
        let (w0, w1, w2, w3) = Philox4x32.blocks(
            j & low, j &>> 32, SIMD8(repeating: stream & 0xFFFF_FFFF), SIMD8(repeating: stream >> 32),
            key: (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)))
        return transform(w0, w1, w2, w3)
    }

    /// Box–Muller of eight Philox blocks, one per lane: (cosine draws, sine draws).
    @inline(__always)
    static func transform(_ w0: SIMD8<UInt64>, _ w1: SIMD8<UInt64>, _ w2: SIMD8<UInt64>,
                          _ w3: SIMD8<UInt64>) -> (SIMD8<Double>, SIMD8<Double>) {
        let one = SIMD8<UInt64>(repeating: 0x3FF0_0000_0000_0000)
        let a = (w0 &<< 20) | (w1 &>> 12), c = (w2 &<< 20) | (w3 &>> 12)
        // 1 + a·2⁻⁵² and 1 + c·2⁻⁵² by exponent insertion (exact); u₁ = 2 − (1 + a·2⁻⁵²) is exact too.
        let u1 = 2 - unsafeBitCast(one | a, to: SIMD8<Double>.self)
        let quarterTurns = 4 * (unsafeBitCast(one | c, to: SIMD8<Double>.self) - 1)
        let radius = SIMDMath.squareRoot(-2 * SIMDMath.log(u1))
        let (s, co) = SIMDMath.sinCosTurns(quarterTurns)
        return (radius * co, radius * s)
    }

    /// Draws 16·b₀ … 16·(b₀ + batches) − 1 of the eight streams (seed, firstStream + l), l < 8, across
    /// the lanes: lane l of `out[k]` is draw 16·b₀ + k of stream firstStream + l, bit for bit what `fill`
    /// of that stream gives (each lane runs the same Philox block and transform; only the counter's
    /// stream words differ between lanes). `out` needs 16·batches elements. This is the layout of a
    /// simulation that steps eight seeds at once, one per lane.
    public static func fillAcrossStreams(seed: UInt64, firstStream: UInt64, fromBatch b0: UInt64, batches: Int,
                                         into out: UnsafeMutablePointer<SIMD8<Double>>) {
        let streams = SIMD8<UInt64>(repeating: firstStream) &+ SIMD8(0, 1, 2, 3, 4, 5, 6, 7)
        let low = SIMD8<UInt64>(repeating: 0xFFFF_FFFF)
        let c2 = streams & low, c3 = streams &>> 32
        let key = (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32))
        for k in 0..<batches {
            let b = b0 &+ UInt64(k)
            let row = out + 16 * k
            for l in 0..<8 {
                let j = b &* 8 &+ UInt64(l)
                let (w0, w1, w2, w3) = Philox4x32.blocks(SIMD8(repeating: j & 0xFFFF_FFFF), SIMD8(repeating: j >> 32),
                                                         c2, c3, key: key)
                let (co, s) = transform(w0, w1, w2, w3)
                row[l] = co
                row[8 + l] = s
            }
        }
    }

    /// Fills `out` with the next `out.count` draws of the stream.
    public mutating func fill(_ out: UnsafeMutableBufferPointer<Double>) {
        guard let base = out.baseAddress else { return }
        let n = out.count
        var i = 0
        let offset = Int(position % 16)
        if offset != 0 {
            let take = min(16 - offset, n)
            withUnsafeBytes(of: spare) { raw in
                let s = raw.bindMemory(to: Double.self)
                for k in 0..<take { base[k] = s[offset + k] }
            }
            i = take
            position += UInt64(take)
        }
        let raw = UnsafeMutableRawPointer(base)
        while n - i >= 16 {
            let (lo, hi) = Self.batch(position / 16, seed: seed, stream: stream)
            raw.storeBytes(of: lo, toByteOffset: i * 8, as: SIMD8<Double>.self)
            raw.storeBytes(of: hi, toByteOffset: (i + 8) * 8, as: SIMD8<Double>.self)
            i += 16
            position += 16
        }
        if i < n {
            spare = Self.batch(position / 16, seed: seed, stream: stream)
            let take = n - i
            withUnsafeBytes(of: spare) { raw in
                let s = raw.bindMemory(to: Double.self)
                for k in 0..<take { base[i + k] = s[k] }
            }
            position += UInt64(take)
        }
    }

    /// Fills `out` with the next `out.count` draws of the stream.
    public mutating func fill(_ out: inout [Double]) {
        out.withUnsafeMutableBufferPointer { fill($0) }
    }

    /// The next draw (prefer `fill` for many).
    public mutating func next() -> Double {
        var z = 0.0
        withUnsafeMutablePointer(to: &z) { fill(UnsafeMutableBufferPointer(start: $0, count: 1)) }
        return z
    }
}
