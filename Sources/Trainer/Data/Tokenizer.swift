import Foundation

/// Turns bytes into token ids and back. Ids are in 0..<vocabSize; decode(encode(x)) == x for any bytes.
public protocol Tokenizer: Sendable {
    var vocabSize: Int { get }
    func encode(_ bytes: [UInt8]) -> [Int32]
    func decode(_ tokens: [Int32]) -> [UInt8]
    /// Number of bytes token `id` stands for (for bits per byte).
    func byteLength(of id: Int32) -> Int
    /// The tokenizer as JSON (saved with a run as tokenizer.json).
    func json() throws -> Data
}

/// One token per byte (vocabulary 256).
public struct ByteTokenizer: Tokenizer {
    public init() {}
    public var vocabSize: Int { 256 }
    public func encode(_ bytes: [UInt8]) -> [Int32] { bytes.map { Int32($0) } }
    public func decode(_ tokens: [Int32]) -> [UInt8] { tokens.map { UInt8(truncatingIfNeeded: $0) } }
    public func byteLength(of id: Int32) -> Int { 1 }
    public func json() throws -> Data { Data(#"{"type":"byte","vocabSize":256}"#.utf8) }
}

/// Byte-level byte-pair encoding (Sennrich et al. 2016; GPT-2's byte-level variant without its regex).
///
/// Training: the text is split into chunks (a run of letters/digits, or a run of other non-space bytes,
/// each with the single space before it attached; newlines and other whitespace alone); starting from the
/// 256 byte tokens, the most frequent adjacent pair inside chunks (ties: the smallest pair (a, b)) is merged
/// into a new token, until `vocabSize` tokens exist or no pair occurs twice. Encoding applies the merges
/// in rank order within each chunk, so the result depends only on the text and the merge list.
///
/// JSON: `{"type": "bpe", "vocabSize": V, "merges": [[a, b], …]}`: merge i creates token 256 + i from
/// tokens a and b.
public struct BPETokenizer: Tokenizer {
    public let merges: [(Int32, Int32)]
    /// Bytes of every token id.
    public let pieces: [[UInt8]]
    private let ranks: [UInt64: Int32]   // pair key → new token id

    public var vocabSize: Int { 256 + merges.count }

    public init(merges: [(Int32, Int32)]) throws {
        var pieces = (0..<256).map { [UInt8($0)] }
        var ranks: [UInt64: Int32] = [:]
        for (i, (a, b)) in merges.enumerated() {
            let id = 256 + i
            guard a >= 0, b >= 0, Int(a) < id, Int(b) < id else {
                throw DataError("BPE merge \(i) = (\(a), \(b)) refers to a token that does not exist yet (ids must be < \(id))")
            }
            // Merging a piece with itself doubles its length: 40 such merges in a few hundred bytes of
            // JSON would ask for a terabyte. Real BPE pieces are words (< 100 bytes).
            guard pieces[Int(a)].count + pieces[Int(b)].count <= Self.maxPieceBytes else {
                throw DataError("BPE merge \(i) = (\(a), \(b)) makes a token of \(pieces[Int(a)].count + pieces[Int(b)].count) bytes; at most \(Self.maxPieceBytes) are allowed")
            }
            pieces.append(pieces[Int(a)] + pieces[Int(b)])
            ranks[Self.key(a, b)] = Int32(id)
        }
        self.merges = merges
        self.pieces = pieces
        self.ranks = ranks
    }

    /// The longest token a merge may make, in bytes.
    public static let maxPieceBytes = 65_536

    @inline(__always) static func key(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(a)) << 32 | UInt64(UInt32(b)) }

    /// Splits bytes into pre-tokenization chunks (see the type's documentation).
    static func chunks(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        func cls(_ b: UInt8) -> Int {
            if b == 0x20 { return 0 }                                       // space
            if b == 0x0A || b == 0x0D || b == 0x09 { return 1 }             // other whitespace: alone
            if (b >= 0x30 && b <= 0x39) || (b | 0x20 >= 0x61 && b | 0x20 <= 0x7A) || b >= 0x80 { return 2 } // word
            return 3                                                        // punctuation
        }
        var out: [ArraySlice<UInt8>] = []
        var i = 0
        let n = bytes.count
        while i < n {
            var j = i
            if bytes[j] == 0x20, j + 1 < n, cls(bytes[j + 1]) >= 2 { j += 1 }  // attach one leading space
            let c = cls(bytes[j])
            j += 1
            if c >= 2 { while j < n && cls(bytes[j]) == c { j += 1 } }
            else if c == 0 { while j < n && bytes[j] == 0x20 && !(j + 1 < n && cls(bytes[j + 1]) >= 2) { j += 1 } }
            out.append(bytes[i..<j])
            i = j
        }
        return out
    }

    /// Trains merges on `bytes` until the vocabulary has `vocabSize` tokens (≥ 256).
    public static func train(on bytes: [UInt8], vocabSize: Int) throws -> BPETokenizer {
        guard vocabSize >= 256 else { throw DataError("BPE vocabSize must be at least 256 (the byte tokens), got \(vocabSize)") }
        guard vocabSize <= 65_536 else { throw DataError("BPE vocabSize must be at most 65536, got \(vocabSize)") }
        // Unique chunks with counts.
        var counts: [ArraySlice<UInt8>: Int] = [:]
        for c in chunks(bytes) { counts[c, default: 0] += 1 }
        var words: [[Int32]] = []
        var freq: [Int] = []
        for (w, c) in counts.sorted(by: { $0.key.lexicographicallyPrecedes($1.key) }) {
            words.append(w.map { Int32($0) }); freq.append(c)
        }
        var pairCounts: [UInt64: Int] = [:]
        var where_: [UInt64: Set<Int>] = [:]   // pair → words containing it
        for (wi, w) in words.enumerated() where w.count > 1 {
            for k in 0..<(w.count - 1) {
                let p = key(w[k], w[k + 1])
                pairCounts[p, default: 0] += freq[wi]
                where_[p, default: []].insert(wi)
            }
        }
        var merges: [(Int32, Int32)] = []
        while 256 + merges.count < vocabSize {
            // Most frequent pair; ties broken by the smallest key so training is deterministic.
            var best: UInt64 = 0, bestCount = 1
            for (p, c) in pairCounts where c > bestCount || (c == bestCount && c > 1 && p < best) {
                best = p; bestCount = c
            }
            if bestCount < 2 { break }
            let a = Int32(truncatingIfNeeded: best >> 32), b = Int32(truncatingIfNeeded: best & 0xFFFF_FFFF)
            let id = Int32(256 + merges.count)
            merges.append((a, b))
            for wi in where_[best] ?? [] {
                let w = words[wi], f = freq[wi]
                // Remove this word's pairs, merge, add them back.
                for k in 0..<(w.count - 1) {
                    let p = key(w[k], w[k + 1])
                    pairCounts[p, default: 0] -= f
                    if pairCounts[p] == 0 { pairCounts[p] = nil }
                }
                var nw: [Int32] = []
                nw.reserveCapacity(w.count)
                var k = 0
                while k < w.count {
                    if k + 1 < w.count && w[k] == a && w[k + 1] == b { nw.append(id); k += 2 } else { nw.append(w[k]); k += 1 }
                }
                words[wi] = nw
                if nw.count > 1 {
                    for k in 0..<(nw.count - 1) {
                        let p = key(nw[k], nw[k + 1])
                        pairCounts[p, default: 0] += f
                        where_[p, default: []].insert(wi)
                    }
                }
            }
            where_[best] = nil
            pairCounts[best] = nil
        }
        return try BPETokenizer(merges: merges)
    }

    /// Applies the merges to one chunk, lowest rank first.
    private func encodeChunk(_ chunk: ArraySlice<UInt8>, into out: inout [Int32]) {
        var w = chunk.map { Int32($0) }
        while w.count > 1 {
            var bestRank = Int32.max, bestAt = -1
            for k in 0..<(w.count - 1) {
                if let r = ranks[Self.key(w[k], w[k + 1])], r < bestRank { bestRank = r; bestAt = k }
            }
            if bestAt < 0 { break }
            let (a, b) = merges[Int(bestRank) - 256]
            var nw: [Int32] = []
            nw.reserveCapacity(w.count)
            var k = 0
            while k < w.count {
                if k + 1 < w.count && w[k] == a && w[k + 1] == b { nw.append(bestRank); k += 2 } else { nw.append(w[k]); k += 1 }
            }
            w = nw
        }
        out.append(contentsOf: w)
    }

    public func encode(_ bytes: [UInt8]) -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(bytes.count / 2)
        var cache: [ArraySlice<UInt8>: Range<Int>] = [:]
        for c in Self.chunks(bytes) {
            if let r = cache[c] { out.append(contentsOf: out[r]); continue }
            let start = out.count
            encodeChunk(c, into: &out)
            if c.count <= 32 { cache[c] = start..<out.count }
        }
        return out
    }

    public func decode(_ tokens: [Int32]) -> [UInt8] {
        var out: [UInt8] = []
        for t in tokens { out.append(contentsOf: pieces[Int(t)]) }
        return out
    }

    public func byteLength(of id: Int32) -> Int { pieces[Int(id)].count }

    public func json() throws -> Data {
        let m = merges.map { "[\($0.0),\($0.1)]" }.joined(separator: ",")
        return Data("{\"type\":\"bpe\",\"vocabSize\":\(vocabSize),\"merges\":[\(m)]}".utf8)
    }
}

/// Reads a tokenizer saved by ``Tokenizer/json()``.
public func loadTokenizer(json data: Data, source: String = "tokenizer.json") throws -> any Tokenizer {
    guard let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let type = obj["type"] as? String else {
        throw DataError("\(source): not a tokenizer JSON object with a \"type\"")
    }
    switch type {
    case "byte": return ByteTokenizer()
    case "bpe":
        guard let raw = obj["merges"] as? [[Any]] else { throw DataError("\(source): bpe tokenizer without a merges list") }
        var merges: [(Int32, Int32)] = []
        for (i, pair) in raw.enumerated() {
            guard pair.count == 2, let a = (pair[0] as? NSNumber)?.int32Value, let b = (pair[1] as? NSNumber)?.int32Value else {
                throw DataError("\(source): merge \(i) is not a pair of integers")
            }
            merges.append((a, b))
        }
        let t = try BPETokenizer(merges: merges)
        if let v = obj["vocabSize"] as? Int, v != t.vocabSize {
            throw DataError("\(source): vocabSize \(v) disagrees with \(merges.count) merges (expected \(t.vocabSize))")
        }
        return t
    case "external":
        // Written by `river import`: the ids come from the original framework's tokenizer.
        let from = (obj["source"] as? String).map { " (\($0))" } ?? ""
        throw DataError("\(source): this checkpoint's tokenizer is external\(from) and river cannot encode text with it; pass token ids made with that tokenizer via --tokens FILE (.npy int32/int64 or raw little-endian int32)")
    default:
        throw DataError("\(source): unknown tokenizer type '\(type)' (allowed: byte, bpe, external)")
    }
}

/// A data-pipeline error with a message naming the bad value and what is allowed.
public struct DataError: Error, CustomStringConvertible, LocalizedError {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
    public var errorDescription: String? { message }
}
