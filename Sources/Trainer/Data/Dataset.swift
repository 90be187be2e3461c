import Foundation

/// Where the text comes from: a named corpus fetched by `scripts/fetch_corpora.sh` ("shakespeare",
/// "kjv", looked up as `<data dir>/<name>.txt` with the data dir `$RIVER_DATA` or `./data`), or a path
/// to any UTF-8 file, or to a folder whose `*.txt` files are concatenated in byte-wise name order.
public enum Corpus {
    public static let named = ["shakespeare", "kjv"]

    /// The data folder: `$RIVER_DATA`, else `./data`.
    public static var dataDirectory: URL {
        URL(fileURLWithPath: ProcessInfo.processInfo.environment["RIVER_DATA"] ?? "data")
    }

    /// Resolves a corpus name or path to the files it reads.
    public static func files(for corpus: String) throws -> [URL] {
        let fm = FileManager.default
        if named.contains(corpus) {
            let url = dataDirectory.appendingPathComponent("\(corpus).txt")
            guard fm.fileExists(atPath: url.path) else {
                throw DataError("corpus '\(corpus)' not found at \(url.path): run scripts/fetch_corpora.sh (or set RIVER_DATA to the folder holding \(corpus).txt)")
            }
            return [url]
        }
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: corpus, isDirectory: &isDir) else {
            throw DataError("corpus '\(corpus)' not found: give one of \(named.joined(separator: ", ")) (fetched by scripts/fetch_corpora.sh) or the path of a UTF-8 text file or folder")
        }
        if !isDir.boolValue { return [URL(fileURLWithPath: corpus)] }
        let names = try fm.contentsOfDirectory(atPath: corpus).filter { $0.hasSuffix(".txt") }
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        guard !names.isEmpty else { throw DataError("corpus folder '\(corpus)' holds no .txt files") }
        return names.map { URL(fileURLWithPath: corpus).appendingPathComponent($0) }
    }

    /// The corpus bytes (files concatenated). Rejects empty or non-UTF-8 text.
    public static func load(_ corpus: String) throws -> [UInt8] {
        var bytes: [UInt8] = []
        for url in try files(for: corpus) {
            let d = try Data(contentsOf: url)
            guard String(data: d, encoding: .utf8) != nil else {
                throw DataError("\(url.path) is not UTF-8 text")
            }
            bytes.append(contentsOf: d)
        }
        guard !bytes.isEmpty else { throw DataError("corpus '\(corpus)' is empty") }
        return bytes
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): a tiny, stateless-to-seed generator used to draw batches.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in 0..<n (Lemire's multiply-shift with rejection; unbiased).
    public mutating func below(_ n: Int) -> Int {
        precondition(n > 0)
        let bound = UInt64(n)
        let threshold = (0 &- bound) % bound
        while true {
            let r = next()
            let m = r.multipliedFullWidth(by: bound)
            if m.low >= threshold { return Int(m.high) }
        }
    }
}

/// Tokenized text split into a training and a validation stream, and the batches drawn from them.
///
/// Split: the token stream is cut into blocks of `splitBlock` tokens; every `validationEvery`-th block
/// (block index i with i % validationEvery == validationEvery − 1) goes to validation, the rest, in order,
/// to training. Deterministic and interleaved, so validation covers the whole corpus.
///
/// Batches: ``trainBatch(step:seed:batch:sequenceLength:into:targets:)`` draws `batch` windows of
/// T + 1 tokens at uniform offsets from a SplitMix64 seeded by (seed, step): a pure function of
/// (seed, step), so resuming and branching need no data-loader state.
public struct TokenDataset: Sendable {
    public let train: [Int32]
    public let validation: [Int32]
    public let vocabSize: Int
    /// Bytes each token stands for (bits per byte).
    public let validationBytes: Int

    public init(tokens: [Int32], vocabSize: Int, validationEvery: Int = 10, splitBlock: Int = 4096,
                byteLength: (Int32) -> Int = { _ in 1 }) throws {
        guard validationEvery >= 2 else { throw DataError("validationEvery must be at least 2, got \(validationEvery)") }
        guard splitBlock >= 1 else { throw DataError("splitBlock must be at least 1, got \(splitBlock)") }
        var train: [Int32] = [], val: [Int32] = []
        train.reserveCapacity(tokens.count)
        var start = 0, block = 0
        while start < tokens.count {
            let end = min(start + splitBlock, tokens.count)
            if block % validationEvery == validationEvery - 1 { val.append(contentsOf: tokens[start..<end]) }
            else { train.append(contentsOf: tokens[start..<end]) }
            start = end; block += 1
        }
        self.train = train
        self.validation = val
        self.vocabSize = vocabSize
        self.validationBytes = val.reduce(0) { $0 + byteLength($1) }
    }

    /// The seed of the batch at `step` (mixes the run's data seed with the step).
    @inline(__always) static func batchSeed(seed: UInt64, step: Int) -> UInt64 {
        var g = SplitMix64(seed: seed ^ 0xD1B5_4A32_D192_ED03)
        let a = g.next()
        return a ^ (UInt64(truncatingIfNeeded: step) &* 0x9E37_79B9_7F4A_7C15)
    }

    /// Fills `tokens` and `targets` ([batch, T] row-major) with the training batch of `step`.
    public func trainBatch(step: Int, seed: UInt64, batch: Int, sequenceLength T: Int,
                           into tokens: UnsafeMutableBufferPointer<Int32>, targets: UnsafeMutableBufferPointer<Int32>) {
        precondition(train.count > T + 1, "training stream (\(train.count) tokens) shorter than a window of \(T + 1)")
        precondition(tokens.count >= batch * T && targets.count >= batch * T)
        var g = SplitMix64(seed: Self.batchSeed(seed: seed, step: step))
        let span = train.count - T
        train.withUnsafeBufferPointer { src in
            for b in 0..<batch {
                let o = g.below(span)
                for t in 0..<T {
                    tokens[b * T + t] = src[o + t]
                    targets[b * T + t] = src[o + t + 1]
                }
            }
        }
    }

    /// The training batch of `step` as arrays (allocates; for tests).
    public func trainBatch(step: Int, seed: UInt64, batch: Int, sequenceLength T: Int) -> (tokens: [Int32], targets: [Int32]) {
        var x = [Int32](repeating: 0, count: batch * T), y = x
        x.withUnsafeMutableBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                trainBatch(step: step, seed: seed, batch: batch, sequenceLength: T, into: xp, targets: yp)
            }
        }
        return (x, y)
    }

    /// Non-overlapping windows of the validation stream: window k predicts tokens kT+1 … kT+T from
    /// tokens kT … kT+T−1. At most `maxWindows` (the first ones), so every evaluation uses the same tokens.
    public func validationWindows(sequenceLength T: Int, maxWindows: Int) -> Int {
        guard validation.count > T else { return 0 }
        return min(maxWindows, (validation.count - 1) / T)
    }
}
