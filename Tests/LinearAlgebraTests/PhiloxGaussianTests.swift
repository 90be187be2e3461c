import Dispatch
import Foundation
import Testing
import LinearAlgebra

/// `PhiloxGaussian`: the definition (a scalar reference), reproducibility in any blocking, and statistics
/// with fixed seeds and stated error bars (k = 4 standard errors unless stated).
@Suite struct PhiloxGaussianTests {
    static func draws(seed: UInt64, stream: UInt64, count: Int) -> [Double] {
        var g = PhiloxGaussian(seed: seed, stream: stream)
        var z = [Double](repeating: 0, count: count)
        g.fill(&z)
        return z
    }

    /// z_n from the definition in `PhiloxGaussian`'s documentation, with the scalar Philox and glibc's
    /// log / cos / sin.
    static func reference(seed: UInt64, stream: UInt64, index n: Int) -> (z: Double, radius: Double) {
        let b = n / 16, h = (n % 16) / 8, l = n % 8
        let j = UInt64(8 * b + l)
        let w = Philox4x32.block(counter: SIMD4(UInt32(truncatingIfNeeded: j), UInt32(truncatingIfNeeded: j >> 32),
                                                UInt32(truncatingIfNeeded: stream), UInt32(truncatingIfNeeded: stream >> 32)),
                                 key: SIMD2(UInt32(truncatingIfNeeded: seed), UInt32(truncatingIfNeeded: seed >> 32)))
        let a = UInt64(w[0]) << 20 | UInt64(w[1]) >> 12, c = UInt64(w[2]) << 20 | UInt64(w[3]) >> 12
        let u1 = 1 - Double(a) * 0x1p-52, u2 = Double(c) * 0x1p-52
        let r = (-2 * log(u1)).squareRoot()
        return (h == 0 ? r * cos(2 * Double.pi * u2) : r * sin(2 * Double.pi * u2), r)
    }

    /// The SIMD path equals the definition to 3e-15·max(1, r), r = √(−2 ln u₁) (the reference's own
    /// rounding of 2πu₂ moves the angle by up to ≈ 1e-15) for 4 seeds × 2 streams × 4096 draws, including
    /// seeds and streams above 2³².
    @Test func matchesScalarDefinition() {
        for seed: UInt64 in [0, 1, 0xDEAD_BEEF_0000_0001, .max] {
            for stream: UInt64 in [0, 0x1_0000_0003] {
                let z = Self.draws(seed: seed, stream: stream, count: 4096)
                for n in z.indices {
                    let ref = Self.reference(seed: seed, stream: stream, index: n)
                    #expect(abs(z[n] - ref.z) <= 3e-15 * max(1, ref.radius), "seed \(seed) stream \(stream) n \(n)")
                }
            }
        }
    }

    /// Pinned bits: draws of `fill` (from the start, and after a skip-ahead) and of `fillAcrossStreams`,
    /// recorded from the implementation that computed one block and its transform at a time (before the
    /// four-at-a-time loops): any change to the stream's definition or arithmetic shows here.
    @Test func pinnedBits() {
        let z = Self.draws(seed: 42, stream: 3, count: 200)
        let fill: [(Int, UInt64)] = [
            (0, 0xbfa8c3f56fcc3607), (1, 0xbfe43e4653f5530f), (7, 0x3fec4f0d2819ac84), (8, 0xbfd2188ebcd7216a),
            (15, 0x3fde9f23b6bf7b7f), (16, 0x3fede56c1ce86af0), (63, 0x3fed2bc813c69f35), (64, 0x3fcac6a14079d992),
            (65, 0x3f8e65f1e7798dd5), (127, 0xbffb7364386985e5), (128, 0xbff2520109aab4fe), (199, 0x3fe4ae758554b6b3)]
        for (n, bits) in fill { #expect(z[n].bitPattern == bits, "fill: draw \(n)") }

        var g = PhiloxGaussian(seed: .max, stream: 0x1_0000_0003, position: 5)
        var y = [Double](repeating: 0, count: 70)
        g.fill(&y)
        let skip: [(Int, UInt64)] = [(0, 0xbfe7726f08de55c9), (10, 0x3ff54baa64ee5873), (11, 0x4001a96276f9bb26),
                                     (69, 0x3fab743e9d7ce2ec)]
        for (n, bits) in skip { #expect(y[n].bitPattern == bits, "after a skip to 5: draw \(n)") }

        let out = UnsafeMutablePointer<SIMD8<Double>>.allocate(capacity: 16 * 5)
        defer { out.deallocate() }
        PhiloxGaussian.fillAcrossStreams(seed: 7, firstStream: 16, fromBatch: 3, batches: 5, into: out)
        let across: [(Int, Int, UInt64)] = [(0, 0, 0xbfe6f998d0d3bcec), (3, 5, 0xbfe5c8ffac32c692), (8, 7, 0x3feade2d1ea8ed71),
                                            (15, 2, 0xbfb957ac86e8cf3a), (79, 6, 0x3fc853b27e711785)]
        for (k, l, bits) in across { #expect(out[k][l].bitPattern == bits, "across streams: row \(k), lane \(l)") }
    }

    /// The stream does not depend on how it is cut: fills of 1, 3, 7, 15, 16, 17, 100 … draws, `next()`
    /// and skip-ahead (`position:`) all give the one sequence; the same (seed, stream) gives it twice.
    @Test func sameSequenceInAnyBlocking() {
        let whole = Self.draws(seed: 42, stream: 3, count: 5000)
        #expect(whole == Self.draws(seed: 42, stream: 3, count: 5000))
        var g = PhiloxGaussian(seed: 42, stream: 3)
        var pieces: [Double] = []
        var sizes = [1, 3, 7, 15, 16, 17, 100, 0, 31, 33, 64, 2]
        while pieces.count < 5000 {
            let k = min(sizes.removeFirst(), 5000 - pieces.count)
            sizes.append(k == 0 ? 5 : k)
            var part = [Double](repeating: .nan, count: k)
            g.fill(&part)
            pieces += part
            if pieces.count < 5000 { pieces.append(g.next()) }
        }
        #expect(pieces == whole)
        #expect(g.position == 5000)
        for p in [0, 1, 15, 16, 17, 999, 4095] {
            var h = PhiloxGaussian(seed: 42, stream: 3, position: UInt64(p))
            var tail = [Double](repeating: 0, count: 5000 - p)
            h.fill(&tail)
            #expect(tail == Array(whole[p...]), "skip-ahead to \(p)")
        }
    }

    /// `fillAcrossStreams` puts stream firstStream + l in lane l, bit for bit `fill`'s draws of that
    /// stream, from any starting batch, including streams that cross 2³² between lanes.
    @Test func acrossStreamsEqualsPerStreamFill() {
        for (seed, firstStream): (UInt64, UInt64) in [(0, 0), (7, 1000), (0xDEAD_BEEF, 0xFFFF_FFFC)] {
            for (b0, batches) in [(0, 1), (0, 40), (3, 7)] {
                var lanes = [SIMD8<Double>](repeating: .zero, count: 16 * batches)
                lanes.withUnsafeMutableBufferPointer {
                    PhiloxGaussian.fillAcrossStreams(seed: seed, firstStream: firstStream, fromBatch: UInt64(b0),
                                                     batches: batches, into: $0.baseAddress!)
                }
                for l in 0..<8 {
                    var g = PhiloxGaussian(seed: seed, stream: firstStream + UInt64(l), position: UInt64(16 * b0))
                    var z = [Double](repeating: 0, count: 16 * batches)
                    g.fill(&z)
                    let same = lanes.map { $0[l] } == z
                    #expect(same, "seed \(seed) stream \(firstStream + UInt64(l)) from batch \(b0)")
                }
            }
        }
    }

    /// Streams drawn on concurrent threads (in any order, any chunking) equal the sequential ones.
    @Test func independentOfThreadsAndChunking() {
        let streams = 24, count = 1000
        let sequential = (0..<streams).map { Self.draws(seed: 5, stream: UInt64($0), count: count) }
        final class Box: @unchecked Sendable { var z: [Double] = [] }
        let boxes = (0..<streams).map { _ in Box() }
        DispatchQueue.concurrentPerform(iterations: 4) { chunk in
            for s in stride(from: 3 - chunk, to: streams, by: 4).reversed() {
                var g = PhiloxGaussian(seed: 5, stream: UInt64(s))
                var z = [Double](repeating: 0, count: count)
                z.withUnsafeMutableBufferPointer { p in
                    for k in stride(from: 0, to: count, by: 37) {  // odd-sized pieces
                        g.fill(UnsafeMutableBufferPointer(rebasing: p[k..<min(count, k + 37)]))
                    }
                }
                boxes[s].z = z
            }
        }
        #expect(boxes.map(\.z) == sequential)
    }

    /// Mean, variance, skewness and excess kurtosis of 2²⁰ draws (seed 2026) against 0, 1, 0, 0 within
    /// 4 standard errors: SE = 1/√n, √(2/n), √(6/n), √(24/n) for normal samples.
    @Test func momentsWithinErrorBars() {
        let z = Self.draws(seed: 2026, stream: 0, count: 1 << 20)
        let n = Double(z.count)
        let mean = z.reduce(0, +) / n
        var m2 = 0.0, m3 = 0.0, m4 = 0.0
        for x in z { let d = x - mean, d2 = d * d; m2 += d2; m3 += d2 * d; m4 += d2 * d2 }
        m2 /= n; m3 /= n; m4 /= n
        let variance = m2 * n / (n - 1), skewness = m3 / pow(m2, 1.5), kurtosis = m4 / (m2 * m2) - 3
        #expect(abs(mean) <= 4 / n.squareRoot(), "mean \(mean)")
        #expect(abs(variance - 1) <= 4 * (2 / n).squareRoot(), "variance \(variance)")
        #expect(abs(skewness) <= 4 * (6 / n).squareRoot(), "skewness \(skewness)")
        #expect(abs(kurtosis) <= 4 * (24 / n).squareRoot(), "excess kurtosis \(kurtosis)")
        // Tails: the fractions beyond |z| > 3 and > 4 against 2Φ(−3), 2Φ(−4), binomial error bars.
        for c in [3.0, 4.0] {
            let p = erfc(c / 2.0.squareRoot())
            let frac = Double(z.lazy.filter { abs($0) > c }.count) / n
            #expect(abs(frac - p) <= 4 * (p * (1 - p) / n).squareRoot(), "P(|Z| > \(c)) = \(frac), expected \(p)")
        }
    }

    /// Kolmogorov's asymptotic tail Q(λ) = 2 Σ (−1)^(k−1) e^(−2k²λ²), with Stephens' λ = (√n + 0.12 +
    /// 0.11/√n)·D (Numerical Recipes §14.3).
    static func kolmogorovSmirnov(_ sample: [Double]) -> (d: Double, p: Double) {
        let x = sample.sorted()
        let n = Double(x.count)
        var d = 0.0
        for (i, v) in x.enumerated() {
            let f = 0.5 * erfc(-v / 2.0.squareRoot())
            d = max(d, Double(i + 1) / n - f, f - Double(i) / n)
        }
        let lambda = (n.squareRoot() + 0.12 + 0.11 / n.squareRoot()) * d
        var q = 0.0
        for k in 1...100 { q += (k % 2 == 1 ? 2 : -2) * exp(-2 * Double(k * k) * lambda * lambda) }
        return (d, min(max(q, 0), 1))
    }

    /// KS against the normal CDF on 2²⁰ draws of two (seed, stream) pairs: p > 0.001 each. The test has
    /// power: the same draws scaled by 1.01 (σ off by 1%) are rejected with p < 1e-4.
    @Test func kolmogorovSmirnovAgainstNormalCDF() {
        for (seed, stream): (UInt64, UInt64) in [(2026, 0), (7, 12345)] {
            let z = Self.draws(seed: seed, stream: stream, count: 1 << 20)
            let (d, p) = Self.kolmogorovSmirnov(z)
            #expect(p > 0.001, "seed \(seed) stream \(stream): D = \(d), p = \(p)")
            let scaled = Self.kolmogorovSmirnov(z.map { 1.01 * $0 })
            #expect(scaled.p < 1e-4, "scaled draws not rejected: D = \(scaled.d), p = \(scaled.p)")
        }
    }

    static func correlation(_ a: ArraySlice<Double>, _ b: ArraySlice<Double>) -> Double {
        let n = Double(a.count)
        let ma = a.reduce(0, +) / n, mb = b.reduce(0, +) / n
        var sab = 0.0, saa = 0.0, sbb = 0.0
        for (x, y) in zip(a, b) { sab += (x - ma) * (y - mb); saa += (x - ma) * (x - ma); sbb += (y - mb) * (y - mb) }
        return sab / (saa * sbb).squareRoot()
    }

    /// 64 streams of one seed, and stream 0 of 64 seeds, 16384 draws each: over the 2016 pairs, n·r² has
    /// mean 1 (χ²₁) within 4·√(2/2016) and no pair has √n·|r| > 5.5 (probability ≈ 8e-5 under
    /// independence). No draw appears twice among the 2²⁰ (overlapping streams would repeat values).
    @Test func streamsAndSeedsAreUncorrelated() {
        let n = 16384, k = 64
        for family in ["streams", "seeds"] {
            let zs = (0..<k).map {
                family == "streams" ? Self.draws(seed: 99, stream: UInt64($0), count: n)
                    : Self.draws(seed: UInt64($0), stream: 0, count: n)
            }
            var sum = 0.0, worst = 0.0
            for a in 0..<k { for b in (a + 1)..<k {
                let r = Self.correlation(zs[a][...], zs[b][...])
                sum += Double(n) * r * r
                worst = max(worst, Double(n).squareRoot() * abs(r))
            } }
            let pairs = Double(k * (k - 1) / 2)
            #expect(abs(sum / pairs - 1) <= 4 * (2 / pairs).squareRoot(), "\(family): mean n·r² = \(sum / pairs)")
            #expect(worst <= 5.5, "\(family): largest √n·|r| = \(worst)")
            #expect(Set(zs.joined()).count == n * k, "\(family): repeated draws")
        }
    }

    /// Within one stream (2²⁰ draws): lag-1 autocorrelation, and the correlation of the two normals of
    /// one Box–Muller pair and of their squares (dependent if the transform were wrong), within 4/√m.
    @Test func noSerialOrPairCorrelation() {
        let z = Self.draws(seed: 31, stream: 4, count: 1 << 20)
        let lag1 = Self.correlation(z.dropLast(), z.dropFirst())
        #expect(abs(lag1) <= 4 / Double(z.count - 1).squareRoot(), "lag-1 autocorrelation \(lag1)")
        var first: [Double] = [], second: [Double] = []
        for b in stride(from: 0, to: z.count, by: 16) { for l in 0..<8 { first.append(z[b + l]); second.append(z[b + 8 + l]) } }
        let m = Double(first.count)
        let pair = Self.correlation(first[...], second[...])
        let squares = Self.correlation(first.map { $0 * $0 }[...], second.map { $0 * $0 }[...])
        #expect(abs(pair) <= 4 / m.squareRoot() && abs(squares) <= 4 / m.squareRoot(), "pair \(pair), squares \(squares)")
    }
}
