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
        transform(words(b, seed: seed, stream: stream))
    }

    /// The eight Philox blocks of batch b (blocks 8b … 8b + 7 of the stream), one per lane.
    @inline(__always)
    static func words(_ b: UInt64, seed: UInt64, stream: UInt64) -> Words {
        let c = counters(b, stream: stream)
        return Philox4x32.blocks(c.0, c.1, c.2, c.3, key: key(seed))
    }

    /// The counters of batch b's eight blocks, one per lane.
    @inline(__always)
    static func counters(_ b: UInt64, stream: UInt64) -> Words {
        let j = SIMD8<UInt64>(repeating: b &* 8) &+ SIMD8(0, 1, 2, 3, 4, 5, 6, 7)
        let low = SIMD8<UInt64>(repeating: 0xFFFF_FFFF)
        return (j & low, j &>> 32, SIMD8(repeating: stream & 0xFFFF_FFFF), SIMD8(repeating: stream >> 32))
    }

    @inline(__always)
    static func key(_ seed: UInt64) -> (UInt32, UInt32) {
        (UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32))
    }

    /// Eight Philox blocks, one per lane: the words (w₀, w₁, w₂, w₃), each in the low half of a 64-bit slot.
    typealias Words = Philox4x32.Lanes

    /// Box–Muller of eight Philox blocks, one per lane: (cosine draws, sine draws).
    ///
    /// Callers that need many draws compute four independent sets of blocks first and then their four
    /// transforms, in that order in the source: each block and each transform is a chain of dependent
    /// operations (ten Philox rounds; log, then the square root), and one chain at a time leaves the core
    /// waiting on latencies, while four side by side keep it busy. The four blocks' rounds are interleaved
    /// (`Philox4x32.blocks4`): four separate round loops were not. On the 2-core Zen 4 host the
    /// simulation's noise took 3.5 ns per draw one chain at a time, 2.4–2.6 ns with four blocks then four
    /// transforms, and 2.02 ns with the rounds interleaved too, with the same bits (docs/machine-facts.md,
    /// "The simulator: noise, moments, the table").
    @inline(__always)
    static func transform(_ w: Words) -> (SIMD8<Double>, SIMD8<Double>) {
        let (w0, w1, w2, w3) = w
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
        let key = Self.key(seed)
        // The counter of block j of each lane's stream.
        @inline(__always) func counter(_ j: UInt64) -> Words {
            (SIMD8(repeating: j & 0xFFFF_FFFF), SIMD8(repeating: j >> 32), c2, c3)
        }
        for k in 0..<batches {
            let row = out + 16 * k
            let first = (b0 &+ UInt64(k)) &* 8
            for l in stride(from: 0, to: 8, by: 4) {
                // Four blocks (their rounds interleaved), then their four transforms (see `transform`).
                let j = first &+ UInt64(l)
                let (w0, w1, w2, w3) = Philox4x32.blocks4(counter(j), counter(j &+ 1), counter(j &+ 2), counter(j &+ 3),
                                                          key: key)
                let z0 = transform(w0), z1 = transform(w1), z2 = transform(w2), z3 = transform(w3)
                row[l] = z0.0; row[l + 1] = z1.0; row[l + 2] = z2.0; row[l + 3] = z3.0
                row[8 + l] = z0.1; row[9 + l] = z1.1; row[10 + l] = z2.1; row[11 + l] = z3.1
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
        @inline(__always) func store(_ z: (SIMD8<Double>, SIMD8<Double>), at k: Int) {
            raw.storeBytes(of: z.0, toByteOffset: k * 8, as: SIMD8<Double>.self)
            raw.storeBytes(of: z.1, toByteOffset: (k + 8) * 8, as: SIMD8<Double>.self)
        }
        while n - i >= 64 {
            // Four batches, blocks first (their rounds interleaved), then transforms (see `transform`).
            let b = position / 16
            let (w0, w1, w2, w3) = Philox4x32.blocks4(
                Self.counters(b, stream: stream), Self.counters(b &+ 1, stream: stream),
                Self.counters(b &+ 2, stream: stream), Self.counters(b &+ 3, stream: stream), key: Self.key(seed))
            let z0 = Self.transform(w0), z1 = Self.transform(w1), z2 = Self.transform(w2), z3 = Self.transform(w3)
            store(z0, at: i); store(z1, at: i + 16); store(z2, at: i + 32); store(z3, at: i + 48)
            i += 64
            position += 64
        }
        while n - i >= 16 {
            store(Self.batch(position / 16, seed: seed, stream: stream), at: i)
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
