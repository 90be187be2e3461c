import Foundation
import LinearAlgebra

/// How predictable a context token's successor is.
public enum TokenClass: String, Codable, Sendable, CaseIterable {
    /// Exactly one successor (entropy 0): no finite optimum, a river direction.
    case deterministic
    /// More than one successor (entropy > 0): fixed-curvature hill directions at the optimum.
    case uncertain
}

/// A bigram language: context frequencies πᵢ and next-token distributions Pᵢⱼ = P(next = j | context = i).
///
/// The population cross-entropy of logits z is L = Σᵢ πᵢ (lse(zᵢ) − Σⱼ Pᵢⱼ zᵢⱼ), and its minimum over all
/// logit tables is the entropy floor Σᵢ πᵢ H(Pᵢ) (reached only in the limit for rows with zeros).
public struct BigramDistribution: Sendable, Equatable {
    /// V×V row-stochastic matrix, row = context token.
    public let transitions: Matrix
    /// V context frequencies, summing to 1.
    public let frequencies: [Double]
    /// Optional finer labels from the generator ("deterministic", "uniform-4", "dirichlet-1.5", ...).
    public var labels: [String]?
    /// Optional token names (bytes of a corpus), for reports.
    public var tokenNames: [String]?

    public var vocabularySize: Int { frequencies.count }

    /// Validates and stores the distribution. Rows must be non-negative and sum to 1 within `tolerance`
    /// (they are then renormalised exactly); frequencies must be non-negative with a positive sum
    /// (they are normalised to sum to 1, so counts work too).
    public init(transitions: Matrix, frequencies: [Double]? = nil, labels: [String]? = nil,
                tolerance: Double = 1e-6) throws {
        let v = transitions.rows
        try require(v > 0, "the transition matrix is empty; it must be V×V with V ≥ 1")
        try require(transitions.cols == v,
                    "the transition matrix must be square (V×V), got \(transitions.rows)×\(transitions.cols)")
        var p = transitions
        for i in 0..<v {
            var s = 0.0
            for j in 0..<v {
                let x = p[i, j]
                try require(x.isFinite && x >= 0,
                            "transition P[\(i),\(j)] = \(x) is not allowed; entries must be finite and ≥ 0")
                s += x
            }
            try require(abs(s - 1) <= tolerance,
                        "transition row \(i) sums to \(s); each row must sum to 1 (within \(tolerance))")
            for j in 0..<v { p[i, j] /= s }
        }
        var f = frequencies ?? [Double](repeating: 1, count: v)
        try require(f.count == v, "got \(f.count) frequencies for a vocabulary of \(v); need exactly \(v)")
        var total = 0.0
        for (i, x) in f.enumerated() {
            try require(x.isFinite && x >= 0, "frequency \(i) = \(x) is not allowed; frequencies must be finite and ≥ 0")
            total += x
        }
        try require(total > 0, "the frequencies sum to 0; at least one must be positive")
        for i in f.indices { f[i] /= total }
        if let labels { try require(labels.count == v, "got \(labels.count) labels for V = \(v)") }
        self.transitions = p
        self.frequencies = f
        self.labels = labels
    }

    /// Shannon entropy (nats) of row i, with 0·log 0 = 0.
    public func entropy(ofRow i: Int) -> Double {
        var h = 0.0
        let v = vocabularySize
        for j in 0..<v {
            let x = transitions.data[i * v + j]
            if x > 0 { h -= x * log(x) }
        }
        return h
    }

    /// Entropy of every row.
    public var rowEntropies: [Double] { (0..<vocabularySize).map(entropy(ofRow:)) }

    /// The best achievable population loss Σᵢ πᵢ H(Pᵢ) (nats per token).
    public var entropyFloor: Double {
        var s = 0.0
        for i in 0..<vocabularySize where frequencies[i] > 0 { s += frequencies[i] * entropy(ofRow: i) }
        return s
    }

    /// Number of successors with positive probability in row i.
    public func supportSize(ofRow i: Int) -> Int {
        let v = vocabularySize
        return (0..<v).reduce(0) { $0 + (transitions.data[i * v + $1] > 0 ? 1 : 0) }
    }

    /// Deterministic (one successor) or uncertain (several).
    public func tokenClass(ofRow i: Int) -> TokenClass { supportSize(ofRow: i) == 1 ? .deterministic : .uncertain }

    public var classes: [TokenClass] { (0..<vocabularySize).map(tokenClass(ofRow:)) }
}

// MARK: - CSV

extension BigramDistribution {
    /// Reads a V×V row-stochastic matrix from CSV text (no header, comma-separated, one row per line).
    public static func parseMatrixCSV(_ text: String, name: String = "transitions") throws -> Matrix {
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        try require(!lines.isEmpty, "\(name) file is empty; expected a V×V matrix of numbers")
        var data: [Double] = []
        var cols = -1
        for (r, line) in lines.enumerated() {
            let cells = line.split(separator: ",", omittingEmptySubsequences: false)
            if cols < 0 { cols = cells.count }
            try require(cells.count == cols,
                        "\(name) line \(r + 1) has \(cells.count) values, line 1 has \(cols); every row needs the same count")
            for (c, cell) in cells.enumerated() {
                let s = cell.trimmingCharacters(in: .whitespaces)
                guard let x = Double(s) else {
                    throw BigramError.invalid("\(name) line \(r + 1), column \(c + 1): '\(s)' is not a number (no header allowed)")
                }
                data.append(x)
            }
        }
        try require(lines.count == cols, "\(name) must be square (V×V), got \(lines.count)×\(cols)")
        return Matrix(rows: lines.count, cols: cols, data: data)
    }

    /// Reads V numbers: one per line, or one comma-separated line.
    public static func parseVectorCSV(_ text: String, name: String = "frequencies") throws -> [Double] {
        var out: [Double] = []
        for (r, line) in text.split(whereSeparator: \.isNewline).enumerated() {
            for cell in line.split(separator: ",") {
                let s = cell.trimmingCharacters(in: .whitespaces)
                if s.isEmpty { continue }
                guard let x = Double(s) else {
                    throw BigramError.invalid("\(name) line \(r + 1): '\(s)' is not a number")
                }
                out.append(x)
            }
        }
        try require(!out.isEmpty, "\(name) file is empty; expected V numbers")
        return out
    }

    /// Loads T.csv (and optionally F.csv).
    public static func load(transitions: URL, frequencies: URL? = nil) throws -> BigramDistribution {
        func read(_ url: URL) throws -> String {
            do { return try String(contentsOf: url, encoding: .utf8) } catch {
                throw BigramError.invalid("cannot read \(url.path): \(error.localizedDescription)")
            }
        }
        let t = try parseMatrixCSV(read(transitions), name: transitions.lastPathComponent)
        let f = try frequencies.map { try parseVectorCSV(read($0), name: $0.lastPathComponent) }
        return try BigramDistribution(transitions: t, frequencies: f)
    }

    /// CSV of the transition matrix (full round-trip precision).
    public var transitionsCSV: String {
        let v = vocabularySize
        return (0..<v).map { i in (0..<v).map { "\(transitions.data[i * v + $0])" }.joined(separator: ",") }
            .joined(separator: "\n") + "\n"
    }

    /// CSV of the frequencies, one per line.
    public var frequenciesCSV: String { frequencies.map { "\($0)" }.joined(separator: "\n") + "\n" }
}
