import Foundation

/// A config file (JSON or YAML) holds a key that is not part of its schema. A misspelt key would
/// otherwise be ignored silently and change the experiment, so it is an error naming the key, where it
/// is (a dotted path such as `schedule.warmpu`) and the nearest allowed key.
public struct UnknownKeyError: Error, CustomStringConvertible, Equatable {
    /// The unknown key.
    public let key: String
    /// Its dotted path from the document root (`schedule.warmpu`; just the key at the top level).
    public let path: String
    /// The allowed key nearest in edit distance, when one is close enough to be a plausible typo.
    public let suggestion: String?
    /// Every key allowed at that place.
    public let allowed: [String]

    public init(key: String, path: String, suggestion: String?, allowed: [String]) {
        self.key = key; self.path = path; self.suggestion = suggestion; self.allowed = allowed
    }

    public var description: String {
        let hint = suggestion.map { " — did you mean '\($0)'?" } ?? ""
        return "unknown key '\(path)'\(hint) (allowed here: \(allowed.joined(separator: ", ")))"
    }
}

public enum ConfigKeys {
    /// Throws `UnknownKeyError` for the first key (in sorted order) of `keys` not in `allowed`.
    ///
    /// - Parameter at: the dotted path of the object holding the keys ("" for the root).
    public static func check<S: Sequence>(_ keys: S, allowed: [String], at path: String) throws where S.Element == String {
        let allowedSet = Set(allowed)
        guard let bad = keys.sorted().first(where: { !allowedSet.contains($0) }) else { return }
        throw UnknownKeyError(key: bad, path: path.isEmpty ? bad : "\(path).\(bad)",
                              suggestion: nearest(to: bad, in: allowed), allowed: allowed)
    }

    /// The dotted path of a Codable coding path (`[schedule]` → "schedule", array indices as `[i]`).
    public static func path(_ codingPath: [CodingKey]) -> String {
        var out = ""
        for k in codingPath {
            if let i = k.intValue { out += "[\(i)]" } else { out += out.isEmpty ? k.stringValue : ".\(k.stringValue)" }
        }
        return out
    }

    /// The allowed key with the smallest case-insensitive edit distance to `key` (ties: first in
    /// `allowed`), if that distance is at most max(2, ⌊|key|/3⌋) — farther keys are not plausible typos.
    public static func nearest(to key: String, in allowed: [String]) -> String? {
        let k = key.lowercased()
        var best: (String, Int)? = nil
        for a in allowed {
            let d = editDistance(k, a.lowercased())
            if best == nil || d < best!.1 { best = (a, d) }
        }
        guard let (name, d) = best, d <= max(2, key.count / 3) else { return nil }
        return name
    }

    /// Levenshtein distance with adjacent transpositions counted as one edit (optimal string alignment):
    /// `warmpu` → `warmup` is 1.
    public static func editDistance(_ a: String, _ b: String) -> Int {
        let s = Array(a.unicodeScalars), t = Array(b.unicodeScalars)
        if s.isEmpty { return t.count }
        if t.isEmpty { return s.count }
        var d = [[Int]](repeating: [Int](repeating: 0, count: t.count + 1), count: s.count + 1)
        for i in 0...s.count { d[i][0] = i }
        for j in 0...t.count { d[0][j] = j }
        for i in 1...s.count {
            for j in 1...t.count {
                let cost = s[i - 1] == t[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, s[i - 1] == t[j - 2], s[i - 2] == t[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[s.count][t.count]
    }
}

/// A coding key for any string, to list the keys a JSON object actually holds.
public struct AnyCodingKey: CodingKey, Hashable {
    public var stringValue: String
    public var intValue: Int? { nil }
    public init(_ s: String) { stringValue = s }
    public init?(stringValue: String) { self.stringValue = stringValue }
    public init?(intValue: Int) { return nil }
}

extension Decoder {
    /// Throws `UnknownKeyError` if the JSON object being decoded holds a key not in `allowed`.
    public func rejectUnknownKeys(allowed: [String]) throws {
        let c = try container(keyedBy: AnyCodingKey.self)
        try ConfigKeys.check(c.allKeys.map(\.stringValue), allowed: allowed, at: ConfigKeys.path(codingPath))
    }
}
