import Foundation

/// The NumPy `.npy` format (NEP 1, "A simple file format for NumPy arrays"): the magic bytes
/// `\x93NUMPY`, a major and a minor version byte, the header length (version 1: UInt16 LE; versions 2
/// and 3: UInt32 LE), then the header — a Python dict literal
/// `{'descr': '<i4', 'fortran_order': False, 'shape': (N,), }` (latin-1 in versions 1–2, UTF-8 in 3),
/// space-padded and ending in a newline — and the raw array data.
public enum NPY {
    public static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93 N U M P Y

    /// A parsed header.
    public struct Header: Sendable, Equatable {
        /// NumPy's dtype string, e.g. `<i4`.
        public var descr: String
        public var fortranOrder: Bool
        public var shape: [Int]
        /// Offset of the first data byte from the start of the file.
        public var dataOffset: Int
        /// Number of elements (the product of the shape; 1 for a scalar).
        public var count: Int
    }

    /// Whether `bytes` begins with the `.npy` magic.
    public static func hasMagic(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= magic.count && zip(bytes.prefix(magic.count), magic).allSatisfy { $0 == $1 }
    }

    /// Parses the preamble and header dict of a `.npy` file (`path` only labels errors). Checks the
    /// version (1, 2 or 3), the dict's three keys and their types, and that the shape's element count
    /// does not overflow; does not check the data length (that depends on the dtype).
    public static func parseHeader(_ bytes: UnsafeRawBufferPointer, path: String) throws -> Header {
        func fail(_ m: String) -> DataError { DataError("\(path): \(m)") }
        guard hasMagic(bytes) else {
            throw fail("not a NumPy .npy file (it does not start with the magic bytes \\x93NUMPY)")
        }
        guard bytes.count >= 10 else { throw fail("file is \(bytes.count) bytes, too short for a .npy preamble (truncated?)") }
        let major = bytes[6], minor = bytes[7]
        let headerLength: Int, start: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            start = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw fail("file is \(bytes.count) bytes, too short for a version-\(major) .npy preamble") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            start = 12
        default:
            throw fail(".npy format version \(major).\(minor) is not supported (allowed: 1.0, 2.0, 3.0)")
        }
        guard headerLength <= bytes.count - start else {
            throw fail("header length \(headerLength) goes beyond the end of the \(bytes.count)-byte file (truncated?)")
        }
        let raw = Array(bytes[start..<(start + headerLength)])
        let text: String
        if major == 3 {
            guard let s = String(bytes: raw, encoding: .utf8) else { throw fail("version-3 header is not UTF-8") }
            text = s
        } else {
            text = String(raw.map { Character(Unicode.Scalar($0)) })  // latin-1
        }
        var parser = DictParser(text: Array(text.unicodeScalars), path: path)
        let dict = try parser.parseDict()
        let keys = Set(dict.keys)
        guard keys == ["descr", "fortran_order", "shape"] else {
            throw fail("header keys are \(keys.sorted()) (a .npy header has exactly descr, fortran_order, shape)")
        }
        guard case .string(let descr) = dict["descr"]! else { throw fail("header 'descr' is not a string") }
        guard case .bool(let fortran) = dict["fortran_order"]! else { throw fail("header 'fortran_order' is not True or False") }
        guard case .tuple(let shape) = dict["shape"]! else { throw fail("header 'shape' is not a tuple of integers") }
        var count = 1
        for d in shape {
            let (p, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else { throw fail("shape \(shape) has more elements than can be addressed") }
            count = p
        }
        return Header(descr: descr, fortranOrder: fortran, shape: shape, dataOffset: start + headerLength, count: count)
    }

    /// A minimal `.npy` version-1.0 file of little-endian float32 values in C order.
    public static func float32File(_ values: [Float], shape: [Int]) -> Data {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not hold \(values.count) values")
        let dims = shape.count == 1 ? "\(shape[0])," : shape.map(String.init).joined(separator: ", ")
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(dims)), }"
        // Pad so that magic + version + length + header (with its newline) is a multiple of 64.
        let total = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - total % 64) % 64) + "\n"
        var out = Data(magic + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)])
        out.append(contentsOf: Array(header.utf8))
        values.withUnsafeBufferPointer { b in
            for v in b { withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
        }
        return out
    }

    /// A value of the header dict literal.
    enum Value: Equatable { case string(String), bool(Bool), tuple([Int]) }

    /// Recursive-descent parser for the header's Python literal: a dict of quoted-string keys whose
    /// values are quoted strings, `True`/`False`, or tuples of non-negative integers.
    struct DictParser {
        let text: [Unicode.Scalar]
        let path: String
        var i = 0

        init(text: [Unicode.Scalar], path: String) { self.text = text; self.path = path }

        func fail(_ m: String) -> DataError {
            DataError("\(path): .npy header is not a valid dict literal: \(m) at character \(i) of '\(String(String.UnicodeScalarView(text)).trimmingCharacters(in: .whitespacesAndNewlines))'")
        }
        mutating func skipSpace() { while i < text.count, text[i].properties.isWhitespace { i += 1 } }
        mutating func expect(_ c: Unicode.Scalar) throws {
            skipSpace()
            guard i < text.count, text[i] == c else { throw fail("expected '\(c)'") }
            i += 1
        }
        mutating func peek() -> Unicode.Scalar? { skipSpace(); return i < text.count ? text[i] : nil }

        mutating func parseDict() throws -> [String: Value] {
            try expect("{")
            var out: [String: Value] = [:]
            while true {
                if peek() == "}" { i += 1; break }
                let key = try parseString()
                try expect(":")
                guard out[key] == nil else { throw fail("duplicate key '\(key)'") }
                out[key] = try parseValue()
                if peek() == "," { i += 1; continue }
                try expect("}")
                break
            }
            skipSpace()
            guard i == text.count else { throw fail("unexpected text after the dict") }
            return out
        }

        mutating func parseString() throws -> String {
            guard let q = peek(), q == "'" || q == "\"" else { throw fail("expected a quoted string") }
            i += 1
            var s = String.UnicodeScalarView()
            while i < text.count, text[i] != q { s.append(text[i]); i += 1 }
            guard i < text.count else { throw fail("unterminated string") }
            i += 1
            return String(s)
        }

        mutating func parseValue() throws -> Value {
            switch peek() {
            case "'", "\"": return .string(try parseString())
            case "(": return .tuple(try parseTuple())
            default:
                var word = String.UnicodeScalarView()
                while i < text.count, text[i].properties.isAlphabetic { word.append(text[i]); i += 1 }
                switch String(word) {
                case "True": return .bool(true)
                case "False": return .bool(false)
                default: throw fail("expected a string, a tuple, True or False")
                }
            }
        }

        mutating func parseTuple() throws -> [Int] {
            try expect("(")
            var out: [Int] = []
            while true {
                if peek() == ")" { i += 1; return out }
                var digits = ""
                while i < text.count, ("0"..."9").contains(text[i]) { digits.unicodeScalars.append(text[i]); i += 1 }
                if i < text.count, text[i] == "L" { i += 1 }  // Python 2 long suffix
                guard !digits.isEmpty, let v = Int(digits) else { throw fail("expected a non-negative integer dimension") }
                out.append(v)
                if peek() == "," { i += 1; continue }
                try expect(")")
                return out
            }
        }
    }
}
