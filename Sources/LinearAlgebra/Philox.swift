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

    /// The words of eight blocks, one block per lane: (w₀, w₁, w₂, w₃), each word in the low half of a
    /// 64-bit slot, so a round's 32 × 32 → 64-bit products are single `vpmuludq` instructions on AVX2.
    typealias Lanes = (SIMD8<UInt64>, SIMD8<UInt64>, SIMD8<UInt64>, SIMD8<UInt64>)

    /// One round on eight blocks with the round key (k0, k1) broadcast. Only the low 32 bits of each slot
    /// are the word: the multiplications read only those, so the high halves carry junk through the rounds
    /// and `words` clears them once at the end, not twice a round.
    @inline(__always)
    static func round(_ x: Lanes, _ k0: SIMD8<UInt64>, _ k1: SIMD8<UInt64>) -> Lanes {
        let low = SIMD8<UInt64>(repeating: 0xFFFF_FFFF)
        let p0 = (x.0 & low) &* SIMD8(repeating: UInt64(multipliers.0))
        let p1 = (x.2 & low) &* SIMD8(repeating: UInt64(multipliers.1))
        return ((p1 &>> 32) ^ x.1 ^ k0, p1, (p0 &>> 32) ^ x.3 ^ k1, p0)
    }

    @inline(__always)
    static func words(_ x: Lanes) -> Lanes {
        let low = SIMD8<UInt64>(repeating: 0xFFFF_FFFF)
        return (x.0 & low, x.1 & low, x.2 & low, x.3 & low)
    }

    /// Eight blocks at once, one per lane (counter words c₀…c₃ in the low halves of the slots).
    @inline(__always)
    static func blocks(_ c0: SIMD8<UInt64>, _ c1: SIMD8<UInt64>, _ c2: SIMD8<UInt64>, _ c3: SIMD8<UInt64>,
                       key: (UInt32, UInt32)) -> Lanes {
        var x = (c0, c1, c2, c3)
        var k0 = key.0, k1 = key.1
        for r in 0..<rounds {
            if r > 0 { k0 &+= weyl.0; k1 &+= weyl.1 }
            x = round(x, SIMD8(repeating: UInt64(k0)), SIMD8(repeating: UInt64(k1)))
        }
        return words(x)
    }

    /// Four sets of eight blocks under one key, their rounds interleaved: each set's ten rounds are a chain
    /// of dependent products, shifts and xors, and a round of four independent chains keeps the core busy
    /// where one chain at a time leaves it waiting on the product's latency (the compiler does not
    /// interleave four separate round loops itself). The same operations per block as `blocks`, so the
    /// same words.
    @inline(__always)
    static func blocks4(_ a: Lanes, _ b: Lanes, _ c: Lanes, _ d: Lanes,
                        key: (UInt32, UInt32)) -> (Lanes, Lanes, Lanes, Lanes) {
        var a = a, b = b, c = c, d = d
        var k0 = key.0, k1 = key.1
        for r in 0..<rounds {
            if r > 0 { k0 &+= weyl.0; k1 &+= weyl.1 }
            let kk0 = SIMD8<UInt64>(repeating: UInt64(k0)), kk1 = SIMD8<UInt64>(repeating: UInt64(k1))
            a = round(a, kk0, kk1); b = round(b, kk0, kk1); c = round(c, kk0, kk1); d = round(d, kk0, kk1)
        }
        return (words(a), words(b), words(c), words(d))
    }
}
