import Foundation
import Testing
import RiverValley
@testable import Trainer

/// The textbook BPE encoder: apply every merge, in rank order, to the whole chunk (all occurrences,
/// left to right). Independent of the lowest-rank-first loop in `BPETokenizer`.
private func naiveEncode(_ bytes: [UInt8], merges: [(Int32, Int32)]) -> [Int32] {
    var out: [Int32] = []
    for chunk in BPETokenizer.chunks(bytes) {
        var w = chunk.map { Int32($0) }
        for (i, (a, b)) in merges.enumerated() {
            var nw: [Int32] = [], k = 0
            while k < w.count {
                if k + 1 < w.count && w[k] == a && w[k + 1] == b { nw.append(Int32(256 + i)); k += 2 } else { nw.append(w[k]); k += 1 }
            }
            w = nw
        }
        out += w
    }
    return out
}

@Suite("Trainer data")
struct DataTests {
    @Test("SplitMix64 matches the reference sequence for seed 0")
    func splitMix() {
        var g = SplitMix64(seed: 0)
        #expect(g.next() == 0xE220_A839_7B1D_CDAF)
        #expect(g.next() == 0x6E78_9E6A_A1B9_65F4)
        #expect(g.next() == 0x06C4_5D18_8009_454F)
    }

    @Test("BPE: decode(encode(x)) == x for text and arbitrary bytes; encoder equals the naive merge loop")
    func bpeRoundTrip() throws {
        let text = Array(RunFixtures.corpusText(bytes: 40_000).utf8)
        let bpe = try BPETokenizer.train(on: text, vocabSize: 320)
        #expect(bpe.vocabSize == 320)   // (this 32-word text runs out of repeated pairs near 390)
        let sample = Array(RunFixtures.corpusText(bytes: 5_000, seed: 99).utf8)
        let enc = bpe.encode(sample)
        #expect(bpe.decode(enc) == sample)
        #expect(enc == naiveEncode(sample, merges: bpe.merges))
        #expect(Double(enc.count) < 0.5 * Double(sample.count))   // real compression on in-domain text
        var g = SplitMix64(seed: 3)
        let noise = (0..<3000).map { _ in UInt8(g.below(256)) } + Array("héllo wörld — ✓\n\t  x".utf8)
        #expect(bpe.decode(bpe.encode(noise)) == noise)
        #expect(bpe.encode(noise) == naiveEncode(noise, merges: bpe.merges))
        // Byte lengths add up to the text length.
        #expect(enc.reduce(0) { $0 + bpe.byteLength(of: $1) } == sample.count)
        // Saved and reloaded, the tokenizer encodes identically.
        let back = try loadTokenizer(json: try bpe.json())
        #expect(back.encode(sample) == enc && back.vocabSize == 320)
    }

    @Test("BPE's first merge is the most frequent adjacent pair, counted by brute force within chunks")
    func bpeFirstMerge() throws {
        let text = Array(RunFixtures.corpusText(bytes: 20_000).utf8)
        let bpe = try BPETokenizer.train(on: text, vocabSize: 257)
        var counts: [[UInt8]: Int] = [:]
        for c in BPETokenizer.chunks(text) { let a = Array(c); for k in 0..<max(0, a.count - 1) { counts[[a[k], a[k + 1]], default: 0] += 1 } }
        let top = counts.values.max()!
        let m = bpe.merges[0]
        #expect(counts[[UInt8(m.0), UInt8(m.1)]] == top)
        #expect(throws: DataError.self) { try BPETokenizer.train(on: text, vocabSize: 100) }
    }

    @Test("split is deterministic and interleaved: every 10th block is validation")
    func split() throws {
        let tokens = (0..<10_000).map { Int32($0 % 251) }
        let d = try TokenDataset(tokens: tokens, vocabSize: 256, validationEvery: 10, splitBlock: 100)
        #expect(d.train.count + d.validation.count == tokens.count)
        #expect(d.validation.count == 1000)
        #expect(Array(d.validation[0..<100]) == Array(tokens[900..<1000]))
        #expect(Array(d.train[900..<1000]) == Array(tokens[1000..<1100]))
        #expect(d.validationBytes == 1000)
    }

    @Test("batches are a pure function of (seed, step): order-independent, windows shifted by one")
    func batches() throws {
        let tokens = (0..<20_000).map { Int32(($0 * 7919) % 256) }
        let d = try TokenDataset(tokens: tokens, vocabSize: 256)
        let a5 = d.trainBatch(step: 5, seed: 1, batch: 4, sequenceLength: 16)
        _ = d.trainBatch(step: 3, seed: 1, batch: 4, sequenceLength: 16)
        let again = d.trainBatch(step: 5, seed: 1, batch: 4, sequenceLength: 16)
        #expect(a5.tokens == again.tokens && a5.targets == again.targets)
        #expect(d.trainBatch(step: 6, seed: 1, batch: 4, sequenceLength: 16).tokens != a5.tokens)
        #expect(d.trainBatch(step: 5, seed: 2, batch: 4, sequenceLength: 16).tokens != a5.tokens)
        // Each row is a contiguous window of the training stream and targets are tokens shifted by one.
        for b in 0..<4 {
            let row = Array(a5.tokens[(b * 16)..<((b + 1) * 16)])
            let tgt = Array(a5.targets[(b * 16)..<((b + 1) * 16)])
            #expect(Array(row.dropFirst()) == Array(tgt.dropLast()))
            let starts = (0..<(d.train.count - 16)).filter { d.train[$0] == row[0] && Array(d.train[$0..<($0 + 16)]) == row }
            #expect(!starts.isEmpty)
        }
        // Offsets are uniform: over many steps, the mean offset is near the middle (3-sigma band).
        var sum = 0.0, n = 0
        for s in 0..<400 {
            var g = SplitMix64(seed: TokenDataset.batchSeed(seed: 9, step: s))
            for _ in 0..<4 { sum += Double(g.below(1000)); n += 1 }
        }
        let sd = 1000 / 12.0.squareRoot() / Double(n).squareRoot()
        #expect(abs(sum / Double(n) - 499.5) < 3 * sd)
    }

    @Test("corpus: named corpora resolve under RIVER_DATA; folders concatenate *.txt in name order")
    func corpus() throws {
        let dir = try RunFixtures.temporaryDirectory()
        try "b".write(to: dir.appendingPathComponent("2.txt"), atomically: true, encoding: .utf8)
        try "a".write(to: dir.appendingPathComponent("1.txt"), atomically: true, encoding: .utf8)
        try "x".write(to: dir.appendingPathComponent("skip.md"), atomically: true, encoding: .utf8)
        #expect(try Corpus.load(dir.path) == Array("ab".utf8))
        try Data([0xFF, 0xFE, 0x00]).write(to: dir.appendingPathComponent("bad.bin"))
        #expect(throws: DataError.self) { try Corpus.load(dir.appendingPathComponent("bad.bin").path) }
    }
}
