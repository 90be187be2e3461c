/// Philox4x32-10, the counter-based generator of Salmon, Moraes, Dror & Shaw, "Parallel random numbers:
/// as easy as 1, 2, 3" (SC '11), as specified by the Random123 library (`philox.h`).
///
/// A keyed bijection of a 128-bit counter c = (c₀, c₁, c₂, c₃) under a 64-bit key k = (k₀, k₁):
/// ten rounds of
///
///     (hi₀, lo₀) = M₀·c₀,  (hi₁, lo₁) = M₁·c₂          (32 × 32 → 64-bit products)
///     c ← (hi₁ ⊕ c₁ ⊕ k₀,  lo₁,  hi₀ ⊕ c₃ ⊕ k₁,  lo₀)
///
/// with M₀ = 0xD2511F53, M₁ = 0xCD9E8D57, and the key bumped by the Weyl constants
/// (0x9E3779B9, 0xBB67AE85) before every round but the first. There is no state: block n of a stream is a
/// pure function of (key, counter), so any block can be computed directly, in any order, on any thread.
/// Random123 reports that Philox4x32-10 passes TestU01's BigCrush with a wide safety margin (7 rounds
/// already pass). Its published known answers are checked in Tests/LinearAlgebraTests/PhiloxTests.swift.
public enum Philox4x32 {
    public static let multipliers: (UInt32, UInt32) = (0xD251_1F53, 0xCD9E_8D57)
    public static let weyl: (UInt32, UInt32) = (0x9E37_79B9, 0xBB67_AE85)
    public static let rounds = 10

    /// One block: the scalar reference implementation (the SIMD path is tested against it).
    public static func block(counter: SIMD4<UInt32>, key: SIMD2<UInt32>) -> SIMD4<UInt32> {
        var c = counter, k = key
        for r in 0..<rounds {
            if r > 0 { k &+= SIMD2(weyl.0, weyl.1) }
            let p0 = UInt64(multipliers.0) * UInt64(c[0]), p1 = UInt64(multipliers.1) * UInt64(c[2])
            c = SIMD4(UInt32(truncatingIfNeeded: p1 >> 32) ^ c[1] ^ k[0], UInt32(truncatingIfNeeded: p1),
                      UInt32(truncatingIfNeeded: p0 >> 32) ^ c[3] ^ k[1], UInt32(truncatingIfNeeded: p0))
        }
        return c
    }

    /// Eight blocks at once, one per lane. Each lane of the inputs and outputs holds a 32-bit word in a
    /// 64-bit slot, so a round's 32 × 32 → 64-bit products are single `vpmuludq` instructions on AVX2.
    @inline(__always)
    static func blocks(_ c0: SIMD8<UInt64>, _ c1: SIMD8<UInt64>, _ c2: SIMD8<UInt64>, _ c3: SIMD8<UInt64>,
                       key: (UInt32, UInt32)) -> (SIMD8<UInt64>, SIMD8<UInt64>, SIMD8<UInt64>, SIMD8<UInt64>) {
        let low = SIMD8<UInt64>(repeating: 0xFFFF_FFFF)
        let m0 = SIMD8<UInt64>(repeating: UInt64(multipliers.0)), m1 = SIMD8<UInt64>(repeating: UInt64(multipliers.1))
        var x0 = c0, x1 = c1, x2 = c2, x3 = c3
        var k0 = key.0, k1 = key.1
        for r in 0..<rounds {
            if r > 0 { k0 &+= weyl.0; k1 &+= weyl.1 }
            let p0 = (x0 & low) &* m0, p1 = (x2 & low) &* m1
            let y0 = (p1 &>> 32) ^ x1 ^ SIMD8(repeating: UInt64(k0))
            let y2 = (p0 &>> 32) ^ x3 ^ SIMD8(repeating: UInt64(k1))
            x0 = y0; x1 = p1; x2 = y2; x3 = p0
        }
        // Only the low 32 bits of each slot are the word: the multiplications read only those, so the
        // high halves carry junk through the rounds and are cleared once here, not twice a round.
        return (x0 & low, x1 & low, x2 & low, x3 & low)
    }
}
