import ArgumentParser

/// A comma-separated list argument (`--budgets 1000,2000,4000`, `--seeds 0,1,2`, `--at -1,0.5`), parsed
/// element by element by the element type's own `ExpressibleByArgument` parser (docs/cli.md, "Value types").
///
/// Declare it with the throwing `parse` transform so that a bad element is named in the error:
///
///     @Option(help: "Step budgets, increasing.", transform: CommaList<Int>.parse)
///     var budgets: CommaList<Int> = [250, 500, 1000]
///
/// Spaces around elements are ignored; an empty element (`1,,2`, a trailing comma) is an error. Options whose
/// elements can be negative also pass `parsing: .unconditional` so `--at -1,0` is read as a value.
struct CommaList<Element: ExpressibleByArgument & Sendable>: Sendable {
    var elements: [Element]
    /// The text it was parsed from, echoed in messages (`--at '1,2'`); nil for a default.
    var source: String?

    init(_ elements: [Element], source: String? = nil) {
        self.elements = elements
        self.source = source
    }

    /// Why a list did not parse: names the element, its position and the element type's allowed values.
    struct ParseError: Error, CustomStringConvertible {
        var description: String
    }

    /// Parses `text`, throwing a `ParseError` that names the first bad element.
    @Sendable static func parse(_ text: String) throws -> CommaList {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces) }
        var out: [Element] = []
        out.reserveCapacity(parts.count)
        for (i, part) in parts.enumerated() {
            guard !part.isEmpty else {
                throw ParseError(description: "element \(i + 1) of '\(text)' is empty; give comma-separated values without empty entries")
            }
            guard let v = Element(argument: part) else {
                let allowed = Element.allValueStrings
                let hint = allowed.isEmpty ? "not a valid \(Self.elementKind)" : "not one of \(allowed.joined(separator: ", "))"
                throw ParseError(description: "element \(i + 1) of '\(text)', '\(part)', is \(hint)")
            }
            out.append(v)
        }
        return CommaList(out, source: text)
    }

    /// A reader's name for the element type (`whole number`, `number`, …).
    static var elementKind: String {
        switch Element.self {
        case is Int.Type, is Int64.Type, is Int32.Type: return "whole number"
        case is UInt64.Type, is UInt.Type, is UInt32.Type: return "whole number ≥ 0"
        case is Double.Type, is Float.Type: return "number"
        default: return "value"
        }
    }
}

extension CommaList: Collection {
    var startIndex: Int { elements.startIndex }
    var endIndex: Int { elements.endIndex }
    subscript(i: Int) -> Element { elements[i] }
    func index(after i: Int) -> Int { i + 1 }
}

extension CommaList: ExpressibleByArrayLiteral {
    init(arrayLiteral elements: Element...) { self.elements = elements }
}

extension CommaList: Equatable where Element: Equatable {
    static func == (a: CommaList, b: CommaList) -> Bool { a.elements == b.elements }
}

/// Also usable as a plain `ExpressibleByArgument` value (the error then does not name the element: prefer
/// `transform: CommaList.parse`). Shows the default as `a,b,c` in `--help`.
extension CommaList: ExpressibleByArgument {
    init?(argument: String) {
        guard let v = try? Self.parse(argument) else { return nil }
        self = v
    }

    var defaultValueDescription: String { elements.map(\.defaultValueDescription).joined(separator: ",") }

    /// An enum list lists its element values in `--help` (e.g. `--schedules wsd,cosine`).
    static var allValueStrings: [String] { Element.allValueStrings }
}

extension CommaList: CustomStringConvertible {
    /// The text as given, or the elements joined by commas.
    var description: String { source ?? defaultValueDescription }
}
