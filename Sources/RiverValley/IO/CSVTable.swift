import Foundation
import LinearAlgebra

/// The one CSV writer: every table the CLI and the experiments write goes through it, so every file has a
/// header, equally long rows and the same number format.
///
/// - Numbers: integers print without a decimal point (`12`, not `12.0`), others in Swift's shortest
///   round-trip form; NaN prints as `nan` and ±∞ as `inf`/`-inf` (numpy's and pandas' spellings).
/// - Text cells are quoted per RFC 4180 when they contain a comma, a quote or a line break.
/// - `comments` are written after the rows as `# …` lines (readers skip them).
public struct CSVTable: Sendable {
    public let header: [String]
    /// The rows, in order, as UTF-8 in blocks of one or more rows joined by line breaks (`init(columns:)`
    /// formats its rows in one block per core). Kept as bytes so that a file is written from the blocks
    /// themselves (`write(to:)`), with no String built, validated and converted back on the way.
    private var blocks: [[UInt8]] = []
    public var comments: [String] = []

    public init(_ header: [String]) { self.header = header }

    /// A table of equally long numeric columns (name, values).
    ///
    /// The rows are formatted on every core, each core building one block of text in place from a
    /// row-major copy of the values (no per-cell arrays or joins, and no reference counting of shared
    /// arrays across threads): a 2000 × 17 simulation table is ~34 000 numbers, most of a quick
    /// `river simulate`.
    public init(columns: [(name: String, values: [Double])]) {
        header = columns.map(\.name)
        let rows = columns.first?.values.count ?? 0, width = columns.count
        var values = [Double](repeating: 0, count: rows * width)
        for (c, column) in columns.enumerated() {
            precondition(column.values.count == rows, "column \(column.name) has \(column.values.count) values, not \(rows)")
            for r in 0..<rows { values[r * width + c] = column.values[r] }
        }
        var parts = [[UInt8]](repeating: [], count: Parallel.workers)
        values.withUnsafeBufferPointer { v in
            parts.withUnsafeMutableBufferPointer { out in
                let cells = v.baseAddress, blocks = out.baseAddress!
                Parallel.chunks(rows, minPerWorker: 256) { worker, range in
                    // UTF-8 bytes, not String appends (which cost more than the number formatting).
                    var bytes: [UInt8] = []
                    bytes.reserveCapacity(range.count * width * 20)
                    for r in range {
                        if r > range.lowerBound { bytes.append(0x0A) }
                        for c in 0..<width {
                            if c > 0 { bytes.append(0x2C) }
                            var cell = CSVTable.format(cells![r * width + c])
                            cell.withUTF8 { bytes.append(contentsOf: $0) }
                        }
                    }
                    blocks[worker] = bytes
                }
            }
        }
        blocks = parts.filter { !$0.isEmpty }
    }

    public enum Cell: Sendable, ExpressibleByStringLiteral, ExpressibleByFloatLiteral, ExpressibleByIntegerLiteral {
        case text(String), number(Double)
        public init(stringLiteral value: String) { self = .text(value) }
        public init(floatLiteral value: Double) { self = .number(value) }
        public init(integerLiteral value: Int) { self = .number(Double(value)) }
        var rendered: String {
            switch self {
            case let .text(s): return CSVTable.quoted(s)
            case let .number(v): return CSVTable.format(v)
            }
        }
    }

    public mutating func append(_ cells: [Cell]) {
        precondition(cells.count == header.count, "row has \(cells.count) cells, header has \(header.count)")
        // Appended rows extend the last block (a line break between rows), so a table has only a few
        // blocks however it was built.
        if blocks.isEmpty { blocks.append([]) } else { blocks[blocks.count - 1].append(0x0A) }
        blocks[blocks.count - 1].append(contentsOf: cells.map(\.rendered).joined(separator: ",").utf8)
    }

    /// The file's lines as byte chunks, in order: the header, the row blocks, the `# ` comments, each
    /// ending in a line break.
    func withChunks<R>(_ body: ([UnsafeRawBufferPointer]) throws -> R) rethrows -> R {
        let head = Array((header.map(CSVTable.quoted).joined(separator: ",") + "\n").utf8)
        let tail = Array(comments.map { "# " + $0 + "\n" }.joined().utf8)
        let newline: [UInt8] = [0x0A]
        return try head.withUnsafeBytes { h in
            try tail.withUnsafeBytes { t in
                try newline.withUnsafeBytes { nl in
                    var chunks = [h]  // then each block and a line break
                    func collect(_ k: Int) throws -> R {
                        if k == blocks.count { return try body(chunks + [t]) }
                        return try blocks[k].withUnsafeBytes { b in
                            chunks += [b, nl]
                            return try collect(k + 1)
                        }
                    }
                    return try collect(0)
                }
            }
        }
    }

    public var text: String {
        withChunks { chunks in
            var bytes: [UInt8] = []
            bytes.reserveCapacity(chunks.reduce(0) { $0 + $1.count })
            for c in chunks { bytes.append(contentsOf: c) }
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    /// Writes the table to `url` atomically (temp file + fsync + rename), straight from its blocks.
    public func write(to url: URL) throws { try withChunks { try AtomicFile.write(chunks: $0, to: url) } }

    /// Writes the table to standard output block by block (no String of the whole table is built).
    public func writeToStandardOutput() {
        withChunks { chunks in for c in chunks where c.count > 0 { FileHandle.standardOutput.write(Data(c)) } }
    }

    /// A number as a cell: integers without a decimal point, NaN as `nan`, ±∞ as `inf`/`-inf`.
    @inline(__always) public static func format(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        if v.isNaN { return "nan" }
        if v.isInfinite { return v > 0 ? "inf" : "-inf" }
        return v.description
    }

    /// A text cell, quoted (with doubled quotes) if it holds a comma, a quote or a line break.
    public static func quoted(_ s: String) -> String {
        guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return s }
        return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

extension CSVTable.Cell {
    public static func n(_ v: Double) -> Self { .number(v) }
    public static func i(_ v: Int) -> Self { .number(Double(v)) }
    public static func t(_ s: String) -> Self { .text(s) }
    /// An optional number: empty when nil (a value not measured at this row).
    public static func n(_ v: Double?) -> Self { v.map { .number($0) } ?? .text("") }
}
