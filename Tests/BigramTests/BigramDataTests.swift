import Bigram
import Foundation
import LinearAlgebra
import Testing

@Suite("Bigram data")
struct BigramDataTests {
    @Test func generatorHitsRequestedUncertainty() throws {
        let spec = SyntheticBigramSpec(vocabularySize: 20,
                                       mix: [(.deterministic, 0.5), (.uniform(k: 4), 0.25), (.dirichlet(entropy: 1.5), 0.25)],
                                       frequencies: .zipf(exponent: 1), seed: 42)
        let d = try spec.generate()
        #expect(spec.counts() == [10, 5, 5])
        var seen = [String: Int]()
        for i in 0..<20 {
            let label = d.labels![i]
            seen[label, default: 0] += 1
            let h = d.entropy(ofRow: i)
            switch label {
            case "deterministic": #expect(h == 0 && d.supportSize(ofRow: i) == 1)
            case "uniform-4": #expect(abs(h - log(4.0)) <= 1e-14 && d.supportSize(ofRow: i) == 4)
            default: #expect(abs(h - 1.5) <= 1e-9)
            }
        }
        #expect(seen == ["deterministic": 10, "uniform-4": 5, "dirichlet-1.5": 5])
        // Zipf(1): π₀/π₁ = 2, π₀/π₉ = 10.
        #expect(abs(d.frequencies[0] / d.frequencies[1] - 2) <= 1e-12)
        #expect(abs(d.frequencies[0] / d.frequencies[9] - 10) <= 1e-12)
        // Reproducible from the seed, different for another seed.
        #expect(try spec.generate() == d)
        var other = spec; other.seed = 43
        #expect(try other.generate() != d)
    }

    @Test func byteBigramsOfText() throws {
        let d = try BigramDistribution.byteBigrams(of: Array("abab.".utf8))
        // Alphabet ".", "a", "b" (ascending bytes); pairs a→b ×2, b→a, b→. ; "." never a context.
        #expect(d.vocabularySize == 3 && d.tokenNames! == [".", "a", "b"])
        #expect(d.transitions.row(1) == [0, 0, 1])
        #expect(d.transitions.row(2) == [0.5, 0.5, 0])
        #expect(d.frequencies == [0, 0.5, 0.5])
        #expect(abs(d.entropyFloor - 0.5 * log(2.0)) <= 1e-15)
    }

    @Test func csvRoundTrip() throws {
        let d = try Fixtures.mixed()
        let t = try BigramDistribution.parseMatrixCSV(d.transitionsCSV)
        let f = try BigramDistribution.parseVectorCSV(d.frequenciesCSV)
        let back = try BigramDistribution(transitions: t, frequencies: f)
        #expect(back.transitions == d.transitions)
        #expect(Fixtures.relativeError(back.frequencies, d.frequencies) <= 1e-15)
    }

    /// Bad input: each error names the value and what is allowed.
    @Test func badInput() throws {
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "" } catch { return "\(error)" }
        }
        #expect(message { _ = try SyntheticBigramSpec(vocabularySize: 4, mix: [(.uniform(k: 5), 1)]).generate() }
            .contains("k = 5 is not allowed; need 1 ≤ k ≤ V = 4"))
        #expect(message { _ = try SyntheticBigramSpec(vocabularySize: 4, mix: [(.dirichlet(entropy: -1), 1)]).generate() }
            .contains("dirichlet entropy -1.0 is not allowed"))
        #expect(message { _ = try SyntheticBigramSpec(vocabularySize: 4, mix: [(.dirichlet(entropy: 2), 1)]).generate() }
            .contains("log V"))
        #expect(message { _ = try FactorizedBigram(vocabularySize: 4, width: 0) }.contains("d = 0 is not allowed"))
        #expect(message { _ = try BigramDistribution.byteBigrams(of: []) }.contains("need at least 2"))
        #expect(message { _ = try BigramDistribution.parseMatrixCSV("") }.contains("empty"))
        #expect(message { _ = try BigramDistribution.parseMatrixCSV("0.5,0.5\n1,0\n0,1") }.contains("square"))
        #expect(message { _ = try BigramDistribution.parseMatrixCSV("a,b\n1,0") }.contains("'a' is not a number"))
        #expect(message { _ = try BigramDistribution(transitions: Matrix(rows: 2, cols: 2, data: [0.5, 0.4, 0, 1])) }
            .contains("row 0 sums to 0.9"))
        #expect(message { _ = try BigramDistribution(transitions: Matrix(rows: 2, cols: 2, data: [1.5, -0.5, 0, 1])) }
            .contains("P[0,1] = -0.5"))
        #expect(message { _ = try BigramDistribution(transitions: .identity(2), frequencies: [1]) }
            .contains("got 1 frequencies for a vocabulary of 2"))
        #expect(message { _ = try ContextKind(parsing: "sometimes") }.contains("unknown context kind"))
    }
}
