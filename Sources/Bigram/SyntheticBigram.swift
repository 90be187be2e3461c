import Foundation
import LinearAlgebra

/// The successor distribution a synthetic context token gets.
public enum ContextKind: Sendable, Equatable, CustomStringConvertible {
    /// One successor, chosen at random.
    case deterministic
    /// Uniform over k distinct random successors (entropy log k).
    case uniform(k: Int)
    /// A Dirichlet(1,…,1) draw over all V tokens, tempered (p ∝ θ^β, β by bisection) to the given
    /// entropy in nats, 0 < entropy ≤ log V.
    case dirichlet(entropy: Double)

    public var description: String {
        switch self {
        case .deterministic: return "deterministic"
        case let .uniform(k): return "uniform-\(k)"
        case let .dirichlet(h): return "dirichlet-\(h)"
        }
    }

    /// Parses "deterministic", "uniform-K" or "dirichlet-H".
    public init(parsing s: String) throws {
        let t = s.trimmingCharacters(in: .whitespaces).lowercased()
        if t == "deterministic" { self = .deterministic; return }
        if t.hasPrefix("uniform-"), let k = Int(t.dropFirst("uniform-".count)) { self = .uniform(k: k); return }
        if t.hasPrefix("dirichlet-"), let h = Double(t.dropFirst("dirichlet-".count)) {
            self = .dirichlet(entropy: h); return
        }
        throw BigramError.invalid("unknown context kind '\(s)'; allowed: deterministic, uniform-K (K ≥ 1), dirichlet-H (entropy H > 0 nats)")
    }
}

/// Context-token frequencies.
public enum FrequencyLaw: Sendable, Equatable {
    case uniform
    /// πᵢ ∝ (i + 1)^(−exponent) (token 0 most frequent).
    case zipf(exponent: Double)

    public init(parsing s: String) throws {
        let t = s.lowercased()
        if t == "uniform" { self = .uniform; return }
        if t == "zipf" { self = .zipf(exponent: 1); return }
        if t.hasPrefix("zipf-"), let a = Double(t.dropFirst(5)), a >= 0, a.isFinite { self = .zipf(exponent: a); return }
        throw BigramError.invalid("unknown frequency law '\(s)'; allowed: uniform, zipf, zipf-A (exponent A ≥ 0)")
    }
}

/// A seeded synthetic bigram language with a chosen mix of predictable and unpredictable contexts.
public struct SyntheticBigramSpec: Sendable, Equatable {
    public var vocabularySize: Int
    /// Context kinds and their shares of the vocabulary (shares are normalised).
    public var mix: [(kind: ContextKind, share: Double)]
    public var frequencies: FrequencyLaw
    public var seed: UInt64

    public init(vocabularySize: Int, mix: [(kind: ContextKind, share: Double)], frequencies: FrequencyLaw = .uniform,
                seed: UInt64 = 0) {
        self.vocabularySize = vocabularySize
        self.mix = mix
        self.frequencies = frequencies
        self.seed = seed
    }

    public static func == (a: Self, b: Self) -> Bool {
        a.vocabularySize == b.vocabularySize && a.frequencies == b.frequencies && a.seed == b.seed
            && a.mix.count == b.mix.count && zip(a.mix, b.mix).allSatisfy { $0.kind == $1.kind && $0.share == $1.share }
    }

    /// Parses "deterministic:0.5,uniform-4:0.5" (a kind without ":share" gets share 1).
    public static func parseMix(_ s: String) throws -> [(kind: ContextKind, share: Double)] {
        try s.split(separator: ",").map { item in
            let parts = item.split(separator: ":")
            try require(parts.count == 1 || parts.count == 2, "bad mix entry '\(item)'; expected KIND or KIND:SHARE")
            let kind = try ContextKind(parsing: String(parts[0]))
            let share = parts.count == 2 ? Double(parts[1]) : 1
            guard let share, share.isFinite, share >= 0 else {
                throw BigramError.invalid("bad share in mix entry '\(item)'; shares must be numbers ≥ 0")
            }
            return (kind, share)
        }
    }

    /// Checks the spec: V ≥ 2, k ≤ V, 0 < entropy ≤ log V, shares with a positive sum.
    public func validate() throws {
        try require(vocabularySize >= 2, "vocabulary size V = \(vocabularySize) is not allowed; need V ≥ 2")
        try BigramLimits.checkVocabulary(vocabularySize)
        try require(!mix.isEmpty, "the class mix is empty; give at least one kind")
        let total = mix.reduce(0) { $0 + $1.share }
        try require(total > 0 && mix.allSatisfy { $0.share >= 0 && $0.share.isFinite },
                    "class shares must be ≥ 0 with a positive sum, got \(mix.map(\.share))")
        for (kind, _) in mix {
            switch kind {
            case .deterministic: break
            case let .uniform(k):
                try require(k >= 1 && k <= vocabularySize,
                            "uniform-\(k): k = \(k) is not allowed; need 1 ≤ k ≤ V = \(vocabularySize)")
            case let .dirichlet(h):
                let hMax = log(Double(vocabularySize))
                try require(h.isFinite && h > 0 && h <= hMax,
                            "dirichlet entropy \(h) is not allowed; need 0 < H ≤ log V = \(hMax) nats")
            }
        }
    }

    /// Number of context tokens of each kind (largest-remainder rounding of the shares).
    public func counts() -> [Int] {
        let total = mix.reduce(0) { $0 + $1.share }
        let exact = mix.map { $0.share / total * Double(vocabularySize) }
        var n = exact.map { Int($0.rounded(.down)) }
        let order = exact.indices.sorted { (exact[$0] - Double(n[$0])) > (exact[$1] - Double(n[$1])) }
        var left = vocabularySize - n.reduce(0, +)
        for i in order where left > 0 { n[i] += 1; left -= 1 }
        return n
    }

    /// Generates the language. Same spec, same language on every machine.
    public func generate() throws -> BigramDistribution {
        try validate()
        let v = vocabularySize
        let rng = RandomSource(seed: seed)
        // Kinds assigned to tokens in a seeded random order, so frequency rank and class are independent.
        var kinds: [ContextKind] = []
        for (m, c) in zip(mix, counts()) { kinds += Array(repeating: m.kind, count: c) }
        for i in stride(from: v - 1, to: 0, by: -1) { kinds.swapAt(i, rng.int(below: i + 1)) }
        var p = Matrix(rows: v, cols: v)
        for i in 0..<v {
            switch kinds[i] {
            case .deterministic:
                p[i, rng.int(below: v)] = 1
            case let .uniform(k):
                var perm = Array(0..<v)
                for a in 0..<k { perm.swapAt(a, a + rng.int(below: v - a)) }
                for a in 0..<k { p[i, perm[a]] = 1 / Double(k) }
            case let .dirichlet(h):
                let theta = rng.dirichlet([Double](repeating: 1, count: v))
                let row = Self.temper(theta, toEntropy: h)
                for j in 0..<v { p[i, j] = row[j] }
            }
        }
        let f: [Double]
        switch frequencies {
        case .uniform: f = [Double](repeating: 1, count: v)
        case let .zipf(a): f = (0..<v).map { pow(Double($0 + 1), -a) }
        }
        return try BigramDistribution(transitions: p, frequencies: f, labels: kinds.map(\.description))
    }

    static func entropy(_ p: [Double]) -> Double { p.reduce(0) { $1 > 0 ? $0 - $1 * log($1) : $0 } }

    /// p ∝ θ^β with β chosen by bisection so that H(p) = h (H falls monotonically from log V at β = 0).
    static func temper(_ theta: [Double], toEntropy h: Double) -> [Double] {
        let logs = theta.map { log(max($0, .leastNormalMagnitude)) }
        func dist(_ beta: Double) -> [Double] { Softmax.probabilities(logs.map { beta * $0 }) }
        var lo = 0.0, hi = 1.0
        while entropy(dist(hi)) > h && hi < 1e6 { hi *= 2 }
        for _ in 0..<200 {
            let mid = 0.5 * (lo + hi)
            if entropy(dist(mid)) > h { lo = mid } else { hi = mid }
            if hi - lo < 1e-14 * hi { break }
        }
        return dist(0.5 * (lo + hi))
    }
}
