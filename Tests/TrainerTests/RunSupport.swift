import Foundation
import RiverValley
import Testing
@testable import Trainer

/// Shared fixtures for the run and data tests: a synthetic corpus and a very small model config.
enum RunFixtures {
    /// Deterministic pseudo-English: words from a fixed list drawn by SplitMix64, lines of 8–15 words.
    static func corpusText(bytes: Int, seed: UInt64 = 7) -> String {
        let words = ["the", "river", "valley", "hill", "loss", "learning", "rate", "decay", "stable", "warm",
                     "king", "queen", "thou", "art", "more", "lovely", "and", "temperate", "rough", "winds",
                     "do", "shake", "darling", "buds", "of", "may", "summer", "lease", "hath", "all", "too", "short"]
        var g = SplitMix64(seed: seed)
        var s = ""
        while s.utf8.count < bytes {
            let n = 8 + g.below(8)
            s += (0..<n).map { _ in words[g.below(words.count)] }.joined(separator: " ")
            s += g.below(5) == 0 ? ".\n\n" : ",\n"
        }
        return s
    }

    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("river-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Writes a corpus file in `dir` and returns its path.
    static func corpus(in dir: URL, bytes: Int = 60_000) throws -> String {
        let url = dir.appendingPathComponent("corpus.txt")
        try corpusText(bytes: bytes).write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    /// A model small enough for many steps per second.
    static func config(corpus: String, steps: Int = 30, kind: ScheduleKind = .cosine, peak: Double = 3e-3) -> RunConfig {
        var c = RunConfig()
        c.model = TransformerConfig(vocabSize: 256, contextLength: 32, width: 32, layers: 2, heads: 2, mlpHidden: 64)
        c.data = DataConfig(corpus: corpus)
        c.data.splitBlock = 512
        c.batchSize = 4
        c.schedule = ScheduleSpec(kind: kind, steps: steps, peak: peak, warmup: 5)
        c.evalEvery = 5
        c.evalWindows = 8
        c.checkpointEvery = 10
        c.keepLast = 10
        return c
    }

    /// Checks a run-config key written only when it differs from its default: `{key: value}` decodes to a
    /// config whose `read` is `expected`, encodes back with `"key":"value"` and round-trips; the default config
    /// does not write the key (so configs written before it existed hash the same); `bad` is rejected with an
    /// error naming it and `allowed`.
    static func expectOptionalKey<V: Equatable>(_ key: String, value: String, expected: V, read: (RunConfig) -> V,
                                                bad: String, allowed: String) throws {
        let c = try JSONDecoder().decode(RunConfig.self, from: Data("{\"\(key)\": \"\(value)\"}".utf8))
        #expect(read(c) == expected)
        let text = String(decoding: try JSONEncoder().encode(c), as: UTF8.self)
        #expect(text.contains("\"\(key)\":\"\(value)\""))
        #expect(try JSONDecoder().decode(RunConfig.self, from: Data(text.utf8)) == c)
        #expect(!String(decoding: try JSONEncoder().encode(RunConfig()), as: UTF8.self).contains(key))
        do {
            _ = try JSONDecoder().decode(RunConfig.self, from: Data("{\"\(key)\": \"\(bad)\"}".utf8))
            Issue.record("\(key) \(bad) was accepted")
        } catch {
            #expect("\(error)".contains(bad) && "\(error)".contains(allowed), "\(error)")
        }
    }
}
