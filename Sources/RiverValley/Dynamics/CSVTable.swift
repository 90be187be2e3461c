import Foundation

/// A small CSV builder for experiment tables with text and number columns (written atomically).
public struct CSVTable: Sendable {
    public let header: [String]
    public private(set) var lines: [String] = []

    public init(_ header: [String]) { self.header = header }

    public enum Cell: Sendable, ExpressibleByStringLiteral, ExpressibleByFloatLiteral, ExpressibleByIntegerLiteral {
        case text(String), number(Double)
        public init(stringLiteral value: String) { self = .text(value) }
        public init(floatLiteral value: Double) { self = .number(value) }
        public init(integerLiteral value: Int) { self = .number(Double(value)) }
        var rendered: String {
            switch self {
            case let .text(s): return s
            case let .number(v): return SimulationTable.format(v)
            }
        }
    }

    public mutating func append(_ cells: [Cell]) {
        precondition(cells.count == header.count, "row has \(cells.count) cells, header has \(header.count)")
        lines.append(cells.map(\.rendered).joined(separator: ","))
    }

    public var text: String { ([header.joined(separator: ",")] + lines).joined(separator: "\n") + "\n" }

    /// Writes the table to `url` atomically (temp file + rename).
    public func write(to url: URL) throws { try AtomicFile.write(text, to: url) }
}

extension CSVTable.Cell {
    public static func n(_ v: Double) -> Self { .number(v) }
    public static func i(_ v: Int) -> Self { .number(Double(v)) }
    public static func t(_ s: String) -> Self { .text(s) }
}
