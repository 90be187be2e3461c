import Testing
@testable import LinearAlgebra

/// Philox4x32-10 against its published known answers, and the 8-lane SIMD rounds against the scalar ones.
@Suite struct PhiloxTests {
    /// (counter, key, expected block): the Philox4x32-10 lines of the Random123 distribution's
    /// `kat_vectors` file (Salmon et al., SC '11), as reproduced in D. E. Shaw Research's fs123
    /// repository, core123/ut/ut_philox.cpp (test_kat_philox4x32).
    static let knownAnswers: [(SIMD4<UInt32>, SIMD2<UInt32>, SIMD4<UInt32>)] = [
        (SIMD4(0, 0, 0, 0), SIMD2(0, 0), SIMD4(0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8)),
        (SIMD4(repeating: 0xffff_ffff), SIMD2(repeating: 0xffff_ffff),
         SIMD4(0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd)),
        (SIMD4(0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344), SIMD2(0xa409_3822, 0x299f_31d0),
         SIMD4(0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1)),
    ]

    @Test func scalarMatchesPublishedKnownAnswers() {
        for (counter, key, expected) in Self.knownAnswers {
            #expect(Philox4x32.block(counter: counter, key: key) == expected)
        }
    }

    @Test func simdLanesMatchPublishedKnownAnswers() {
        for (counter, key, expected) in Self.knownAnswers {
            func lanes(_ i: Int) -> SIMD8<UInt64> { SIMD8(repeating: UInt64(counter[i])) }
            let (x0, x1, x2, x3) = Philox4x32.blocks(lanes(0), lanes(1), lanes(2), lanes(3), key: (key[0], key[1]))
            for l in 0..<8 {
                #expect(SIMD4(UInt32(x0[l]), UInt32(x1[l]), UInt32(x2[l]), UInt32(x3[l])) == expected)
            }
        }
    }

    /// Eight different counters per call (as `PhiloxGaussian` uses them), 1000 calls with arbitrary keys:
    /// every lane equals the scalar block.
    @Test func simdLanesMatchScalarOnDistinctCounters() {
        var words = ArbitraryWords(state: 0x1234_5678_9abc_def0)
        func word() -> UInt32 { words.next() }
        for _ in 0..<1000 {
            var c = [[UInt32]](repeating: [], count: 8)
            for l in 0..<8 { c[l] = (0..<4).map { _ in word() } }
            let key = (word(), word())
            func lanes(_ i: Int) -> SIMD8<UInt64> {
                var v = SIMD8<UInt64>()
                for l in 0..<8 { v[l] = UInt64(c[l][i]) }
                return v
            }
            let (x0, x1, x2, x3) = Philox4x32.blocks(lanes(0), lanes(1), lanes(2), lanes(3), key: key)
            for l in 0..<8 {
                let scalar = Philox4x32.block(counter: SIMD4(c[l][0], c[l][1], c[l][2], c[l][3]), key: SIMD2(key.0, key.1))
                #expect(SIMD4(UInt32(x0[l]), UInt32(x1[l]), UInt32(x2[l]), UInt32(x3[l])) == scalar)
            }
        }
    }

    /// Four sets of eight counters with their rounds interleaved (`blocks4`, the simulator's noise): every
    /// lane of every set equals the scalar block, 250 calls with arbitrary counters and keys.
    @Test func interleavedSetsMatchScalar() {
        var words = ArbitraryWords(state: 0x0fed_cba9_8765_4321)
        func word() -> UInt32 { words.next() }
        for _ in 0..<250 {
            let c = (0..<4).map { _ in (0..<8).map { _ in (0..<4).map { _ in word() } } }  // set, lane, word
            let key = (word(), word())
            func lanes(_ set: Int) -> Philox4x32.Lanes {
                func w(_ i: Int) -> SIMD8<UInt64> { SIMD8((0..<8).map { UInt64(c[set][$0][i]) }) }
                return (w(0), w(1), w(2), w(3))
            }
            let (a, b, cc, d) = Philox4x32.blocks4(lanes(0), lanes(1), lanes(2), lanes(3), key: key)
            for (set, x) in [a, b, cc, d].enumerated() {
                for l in 0..<8 {
                    let scalar = Philox4x32.block(counter: SIMD4(c[set][l][0], c[set][l][1], c[set][l][2], c[set][l][3]),
                                                  key: SIMD2(key.0, key.1))
                    #expect(SIMD4(UInt32(x.0[l]), UInt32(x.1[l]), UInt32(x.2[l]), UInt32(x.3[l])) == scalar)
                }
            }
        }
    }
}

/// Arbitrary 32-bit words for the Philox tests' counters and keys (Knuth's MMIX LCG, its high half).
struct ArbitraryWords {
    var state: UInt64
    mutating func next() -> UInt32 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return UInt32(truncatingIfNeeded: state >> 32)
    }
}
