import Foundation
import LinearAlgebra

extension BigramDistribution {
    /// Byte-bigram statistics of a text: the vocabulary is the distinct bytes that occur (ascending),
    /// Pᵢⱼ = count(i→j)/count(i→·), πᵢ ∝ count(i→·). A byte seen only as the last one gets frequency 0
    /// and a uniform row (it never acts as a context).
    public static func byteBigrams(of bytes: [UInt8]) throws -> BigramDistribution {
        try require(bytes.count >= 2, "the corpus has \(bytes.count) byte(s); bigram statistics need at least 2")
        var present = [Bool](repeating: false, count: 256)
        for b in bytes { present[Int(b)] = true }
        let alphabet = (0..<256).filter { present[$0] }
        var index = [Int](repeating: -1, count: 256)
        for (k, b) in alphabet.enumerated() { index[b] = k }
        let v = alphabet.count
        var counts = Matrix(rows: v, cols: v)
        for t in 1..<bytes.count { counts[index[Int(bytes[t - 1])], index[Int(bytes[t])]] += 1 }
        var freq = [Double](repeating: 0, count: v)
        for i in 0..<v {
            var s = 0.0
            for j in 0..<v { s += counts[i, j] }
            freq[i] = s
            for j in 0..<v { counts[i, j] = s > 0 ? counts[i, j] / s : 1 / Double(v) }
        }
        var d = try BigramDistribution(transitions: counts, frequencies: freq)
        d.tokenNames = alphabet.map { b in
            let c = UInt8(b)
            if c >= 33 && c < 127 { return String(UnicodeScalar(c)) }
            return String(format: "0x%02X", b)
        }
        return d
    }

    /// Byte bigrams of a file (any bytes; UTF-8 text is read byte by byte).
    public static func byteBigrams(ofFile url: URL) throws -> BigramDistribution {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw BigramError.invalid("cannot read corpus \(url.path): \(error.localizedDescription)")
        }
        try require(!data.isEmpty, "corpus \(url.path) is empty; need at least 2 bytes of text")
        return try byteBigrams(of: [UInt8](data))
    }
}
