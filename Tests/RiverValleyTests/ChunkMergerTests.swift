import Dispatch
import Foundation
import Testing
@testable import RiverValley

/// `ChunkMerger` merges the chunks' moments in chunk order whatever order they finish in, so a simulation's
/// tables are the bits of the serial merge that ran after all chunks (the order `Simulation.run` used
/// before the merger): checked for finishing orders that are sequential, reversed, scrambled and
/// concurrent, with chunks of unequal sizes and one chunk with no samples.
@Suite struct ChunkMergerTests {
    /// 16 chunks × `count` moments from a fixed LCG; chunk 6 has no samples (as a chunk past a divergence).
    static func chunks(count: Int) -> [[Moments]] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func uniform() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(state >> 11) * 0x1p-53
        }
        return (0..<16).map { c in
            (0..<count).map { i in
                var m = Moments()
                for _ in 0..<(c == 6 ? 0 : 1 + (c + i) % 5) { m.add(100 * uniform() - 30 + Double(i)) }
                return m
            }
        }
    }

    /// The merge of the previous `Simulation.run`: all chunks kept, then merged record by record in order.
    static func serial(_ chunks: [[Moments]]) -> [Moments] {
        (0..<chunks[0].count).map { i in
            var t = Moments()
            for c in chunks { t.merge(c[i]) }
            return t
        }
    }

    static func bits(_ m: [Moments]) -> [UInt64] { m.flatMap { [$0.n, $0.shift, $0.s1, $0.s2].map(\.bitPattern) } }

    static func output(_ moments: [Moments]) -> SimulationChunk.Output {
        var out = SimulationChunk.Output()
        out.moments = moments
        return out
    }

    @Test func anyFinishingOrderGivesTheSerialBits() {
        let chunks = Self.chunks(count: 301)
        let expected = Self.bits(Self.serial(chunks))
        let orders: [[Int]] = [Array(0..<16), Array((0..<16).reversed()),
                               [5, 0, 3, 1, 2, 15, 4, 7, 6, 9, 8, 14, 10, 11, 13, 12]]
        for order in orders {
            let merger = ChunkMerger(chunks: 16, count: 301)
            for c in order { merger.finish(Self.output(chunks[c]), chunk: c) }
            #expect(Self.bits(merger.total) == expected, "finishing order \(order)")
            #expect(merger.outputs.allSatisfy { $0.moments.isEmpty })
        }
    }

    @Test func concurrentFinishingGivesTheSerialBits() {
        let chunks = Self.chunks(count: 1000)
        let expected = Self.bits(Self.serial(chunks))
        for round in 0..<20 {
            let merger = ChunkMerger(chunks: 16, count: 1000)
            DispatchQueue.concurrentPerform(iterations: 16) { c in
                var buffer = merger.buffer()
                buffer.removeAll(keepingCapacity: true)
                buffer.append(contentsOf: chunks[c])
                if (c + round) % 3 == 0 { usleep(UInt32(50 * (c % 4))) }  // vary who finishes first
                merger.finish(Self.output(buffer), chunk: c)
            }
            #expect(Self.bits(merger.total) == expected, "round \(round)")
        }
    }

    /// Chunks finishing in order each get the previous chunk's storage back, so one buffer serves all.
    @Test func mergedBuffersAreReused() {
        let chunks = Self.chunks(count: 500)
        let merger = ChunkMerger(chunks: 16, count: 500)
        var storage: Set<UnsafeMutableRawPointer> = []
        for c in 0..<16 {
            var buffer = merger.buffer()
            if c > 0 { #expect(buffer.capacity >= 500, "chunk \(c) got no merged buffer") }
            buffer.removeAll(keepingCapacity: true)
            buffer.append(contentsOf: chunks[c])
            buffer.withUnsafeMutableBytes { storage.insert($0.baseAddress!) }
            merger.finish(Self.output(buffer), chunk: c)
        }
        #expect(storage.count == 1)
        #expect(Self.bits(merger.total) == Self.bits(Self.serial(chunks)))
    }

    /// A chunk with an error is never merged; the chunks after it are not either (the run throws).
    @Test func aFailedChunkStopsTheMerge() {
        let chunks = Self.chunks(count: 10)
        let merger = ChunkMerger(chunks: 16, count: 10)
        for c in 0..<16 {
            var out = Self.output(chunks[c])
            if c == 3 { out.error = SimulationError.invalid("chunk 3 failed") }
            merger.finish(out, chunk: c)
        }
        #expect(Self.bits(merger.total) == Self.bits(Self.serial(Array(chunks[0..<3]))))
        #expect(merger.outputs[3].error != nil)
    }
}

/// `Moments.add8` is eight `add`s of its lanes in order, bit for bit: on empty moments (the shift is lane
/// 0) and on moments with samples, with ±0, subnormal, huge, infinite and NaN lanes.
@Suite struct MomentsAdd8Tests {
    static func bits(_ m: Moments) -> [UInt64] { [m.n, m.shift, m.s1, m.s2].map(\.bitPattern) }

    @Test func sameBitsAsEightAdds() {
        let inputs: [SIMD8<Double>] = [
            SIMD8(0.1, -0.2, 0.30000000000000004, 1e-300, -0.0, 0.0, 7.5, 1e16),
            SIMD8(-0.0, 3, 4, 5, 6, 7, 8, 9),
            SIMD8(1, .infinity, 2, 3, 4, 5, 6, 7),
            SIMD8(1, 2, .nan, 3, 4, 5, 6, 7),
            SIMD8(2.2250738585072014e-308, 5e-324, -5e-324, 1, 1, 1, 1, 1),
            SIMD8(1e308, -1e308, 1e308, 1e308, 0.5, 0.25, 0.125, 1),
        ]
        for first in inputs {
            for second in inputs {
                var a = Moments(), b = Moments()
                for x in [first, second] {
                    a.add8(x)
                    for l in 0..<8 { b.add(x[l]) }
                    #expect(Self.bits(a) == Self.bits(b), "\(first) then \(second)")
                }
            }
        }
    }
}
