import Foundation

/// Every JSON the `river` command prints or writes goes through here: `Codable` (JSONEncoder), so any string
/// (a path with quotes, backslashes or newlines) is escaped correctly, keys are the Swift property names in
/// snake_case, sorted, on one line.
///
/// A non-finite number (NaN, ±∞) is written as `null`, meaning "not a number: undefined or diverged"
/// (docs/cli.md, "Errors and output"). JSON has no NaN; `null` keeps the output valid for every reader
/// (Python's `json` maps it to `None`, `numpy.array(..., dtype=float)` to `nan`).
enum JSONOutput {
    /// What JSONEncoder writes for a non-finite Double before it is replaced by `null`: it contains
    /// noncharacters (U+FDD0), which no path or name the toolkit prints contains.
    static let nonFiniteMarker: String = {
        let nonCharacter = String(Unicode.Scalar(0xFDD0)!)   // not allowed in a Swift string literal
        return nonCharacter + "river-non-finite" + nonCharacter
    }()

    /// The value as one line of JSON (no trailing newline).
    static func string<T: Encodable>(_ value: T, pretty: Bool = false) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = pretty ? [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
                                    : [.sortedKeys, .withoutEscapingSlashes]
        e.keyEncodingStrategy = .convertToSnakeCase
        e.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: nonFiniteMarker, negativeInfinity: nonFiniteMarker, nan: nonFiniteMarker)
        let text = String(decoding: try e.encode(value), as: UTF8.self)
        return text.replacingOccurrences(of: "\"\(nonFiniteMarker)\"", with: "null")
    }

    /// Prints the value as one line of JSON on standard output.
    static func print<T: Encodable>(_ value: T) throws {
        FileHandle.standardOutput.write(Data((try string(value) + "\n").utf8))
    }
}
