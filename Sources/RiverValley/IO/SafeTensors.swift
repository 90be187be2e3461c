import Foundation

// The safetensors format (huggingface/safetensors, docs "Format"):
//
//   [8 bytes: N, unsigned little-endian]  [N bytes: UTF-8 JSON header]  [data section]
//
// The header maps each tensor name to {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}
// (byte offsets relative to the start of the data section, end exclusive) plus an optional
// "__metadata__" object of string → string. Tensors are stored C-contiguous, little-endian, and together
// cover the data section exactly, without gaps or overlaps. We pad the header with spaces to a multiple
// of 8 bytes (as the reference writer does) so the data section starts 8-byte aligned, and order the
// tensors by element size (largest first) then name, so every tensor is aligned to its element size.
//
// Integrity: the writer adds two CRC-32 values to "__metadata__" (lowercase hex, 8 digits):
//   "checksum.data"  = CRC-32 of the whole data section (Python: `zlib.crc32(blob[8 + N:])`);
//   "checksum.index" = CRC-32 of the UTF-8 string formed by one line per tensor, in name order,
//                      "name\tdtype\tdim0,dim1,…\tbegin\tend\n", followed by one line per metadata
//                      entry other than the two checksums, in key order, "key\tvalue\n".
// Readers of other frameworks simply ignore them; our reader verifies them when present.

/// Element types of the safetensors format.
public enum SafeTensorsDType: String, Sendable, CaseIterable, Codable {
    case f64 = "F64", f32 = "F32", f16 = "F16", bf16 = "BF16"
    case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8"
    case u64 = "U64", u32 = "U32", u16 = "U16", u8 = "U8", bool = "BOOL"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .f64, .i64, .u64: return 8
        case .f32, .i32, .u32: return 4
        case .f16, .bf16, .i16, .u16: return 2
        case .i8, .u8, .bool: return 1
        }
    }
}

/// What went wrong reading or using a safetensors file. `description` names the file and the problem.
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The file is shorter than its header says (an interrupted copy or write).
        case truncated
        /// The header is not valid (bad JSON, unknown dtype, offsets that do not tile the data, …).
        case corruptHeader
        /// A stored CRC-32 does not match the content.
        case checksumMismatch
        /// A requested tensor is absent.
        case missingTensor
        /// A tensor has a different dtype or shape than requested.
        case typeMismatch
        /// The file could not be read.
        case io
    }
    public let kind: Kind
    public let path: String
    public let message: String

    public init(_ kind: Kind, path: String, _ message: String) {
        self.kind = kind; self.path = path; self.message = message
    }

    public var description: String { "\(path): \(message)" }
}

/// One tensor: dtype, shape and its raw little-endian bytes (C order).
public struct SafeTensor: Sendable, Equatable {
    public var dtype: SafeTensorsDType
    public var shape: [Int]
    public var bytes: [UInt8]

    /// Number of elements (the product of the shape; 1 for a scalar).
    public var count: Int { shape.reduce(1, *) }

    /// A tensor from raw bytes; `bytes.count` must equal count × dtype size.
    public init(dtype: SafeTensorsDType, shape: [Int], bytes: [UInt8]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in shape \(shape)")
        precondition(bytes.count == shape.reduce(1, *) * dtype.size,
                     "\(bytes.count) bytes do not fit shape \(shape) of \(dtype.rawValue)")
        self.dtype = dtype; self.shape = shape; self.bytes = bytes
    }

    private init<T>(_ values: UnsafeBufferPointer<T>, dtype: SafeTensorsDType, shape: [Int]?) {
        let shape = shape ?? [values.count]
        precondition(shape.reduce(1, *) == values.count,
                     "shape \(shape) has \(shape.reduce(1, *)) elements but \(values.count) values were given")
        precondition(MemoryLayout<T>.size == dtype.size)
        self.dtype = dtype; self.shape = shape
        self.bytes = Array(UnsafeRawBufferPointer(values))
    }

    public init(_ values: [Float], shape: [Int]? = nil) { self = values.withUnsafeBufferPointer { .init($0, dtype: .f32, shape: shape) } }
    public init(_ values: UnsafeBufferPointer<Float>, shape: [Int]? = nil) { self.init(values, dtype: .f32, shape: shape) }
    public init(_ values: [Double], shape: [Int]? = nil) { self = values.withUnsafeBufferPointer { .init($0, dtype: .f64, shape: shape) } }
    public init(_ values: [Int64], shape: [Int]? = nil) { self = values.withUnsafeBufferPointer { .init($0, dtype: .i64, shape: shape) } }
    public init(_ values: [Int32], shape: [Int]? = nil) { self = values.withUnsafeBufferPointer { .init($0, dtype: .i32, shape: shape) } }
    public init(_ values: [UInt8], shape: [Int]? = nil) { self = values.withUnsafeBufferPointer { .init($0, dtype: .u8, shape: shape) } }

    private func values<T>(_ dtype: SafeTensorsDType, as _: T.Type) throws -> [T] {
        guard self.dtype == dtype else {
            throw SafeTensorsError(.typeMismatch, path: "", "tensor is \(self.dtype.rawValue), not \(dtype.rawValue)")
        }
        return [T](unsafeUninitializedCapacity: count) { buf, n in
            bytes.withUnsafeBytes { src in UnsafeMutableRawBufferPointer(buf).copyMemory(from: src) }
            n = count
        }
    }

    public func floats() throws -> [Float] { try values(.f32, as: Float.self) }
    public func doubles() throws -> [Double] { try values(.f64, as: Double.self) }
    public func int64s() throws -> [Int64] { try values(.i64, as: Int64.self) }
    public func int32s() throws -> [Int32] { try values(.i32, as: Int32.self) }
    public func uint8s() throws -> [UInt8] { try values(.u8, as: UInt8.self) }

    /// Copies an F32 tensor into `out` (which must have exactly `count` elements).
    public func copyFloats(into out: UnsafeMutableBufferPointer<Float>) throws {
        guard dtype == .f32 else {
            throw SafeTensorsError(.typeMismatch, path: "", "tensor is \(dtype.rawValue), not F32")
        }
        guard out.count == count else {
            throw SafeTensorsError(.typeMismatch, path: "", "tensor has \(count) elements, destination \(out.count)")
        }
        bytes.withUnsafeBytes { UnsafeMutableRawBufferPointer(out).copyMemory(from: $0) }
    }
}

/// A safetensors file in memory: named tensors plus the `__metadata__` string map.
public struct SafeTensors: Sendable, Equatable {
    public var tensors: [String: SafeTensor]
    /// User metadata (the checksum entries are added on write and removed on read).
    public var metadata: [String: String]

    public static let dataChecksumKey = "checksum.data"
    public static let indexChecksumKey = "checksum.index"
    /// The reference implementation refuses headers above 100 MB.
    public static let maxHeaderBytes = 100_000_000

    public init(tensors: [String: SafeTensor] = [:], metadata: [String: String] = [:]) {
        self.tensors = tensors; self.metadata = metadata
    }

    public subscript(name: String) -> SafeTensor? {
        get { tensors[name] }
        set { tensors[name] = newValue }
    }

    /// The tensor called `name`, or an error listing what the file holds.
    public func tensor(_ name: String, path: String = "") throws -> SafeTensor {
        guard let t = tensors[name] else {
            let names = tensors.keys.sorted()
            let shown = names.prefix(20).joined(separator: ", ") + (names.count > 20 ? ", …" : "")
            throw SafeTensorsError(.missingTensor, path: path, "no tensor named '\(name)' (the file holds: \(shown))")
        }
        return t
    }

    /// Names in storage order: element size descending, then name.
    var storageOrder: [String] {
        tensors.keys.sorted { a, b in
            let sa = tensors[a]!.dtype.size, sb = tensors[b]!.dtype.size
            return sa != sb ? sa > sb : a < b
        }
    }

    // MARK: Writing

    /// The header JSON (padded with spaces to a multiple of 8 bytes) and the tensor order.
    private func header() -> (json: [UInt8], order: [String]) {
        let order = storageOrder
        var offsets: [String: (Int, Int)] = [:]
        var position = 0
        for name in order {
            let n = tensors[name]!.bytes.count
            offsets[name] = (position, position + n)
            position += n
        }
        var crc = CRC32()
        for name in order.sorted() { crc.update(Array(Self.indexLine(name, tensors[name]!, offsets[name]!).utf8)) }
        var meta = metadata
        meta[Self.dataChecksumKey] = nil
        meta[Self.indexChecksumKey] = nil
        for key in meta.keys.sorted() { crc.update(Array("\(key)\t\(meta[key]!)\n".utf8)) }
        var dataCRC = CRC32()
        for name in order { tensors[name]!.bytes.withUnsafeBytes { dataCRC.update($0) } }
        meta[Self.dataChecksumKey] = CRC32.hex(dataCRC.value)
        meta[Self.indexChecksumKey] = CRC32.hex(crc.value)

        var s = "{\"__metadata__\":{"
        s += meta.keys.sorted().map { "\(Self.jsonString($0)):\(Self.jsonString(meta[$0]!))" }.joined(separator: ",")
        s += "}"
        for name in order {
            let t = tensors[name]!, (b, e) = offsets[name]!
            s += ",\(Self.jsonString(name)):{\"dtype\":\"\(t.dtype.rawValue)\",\"shape\":["
            s += t.shape.map(String.init).joined(separator: ",")
            s += "],\"data_offsets\":[\(b),\(e)]}"
        }
        s += "}"
        var json = Array(s.utf8)
        while json.count % 8 != 0 { json.append(0x20) }
        return (json, order)
    }

    static func indexLine(_ name: String, _ t: SafeTensor, _ offsets: (Int, Int)) -> String {
        "\(name)\t\(t.dtype.rawValue)\t\(t.shape.map(String.init).joined(separator: ","))\t\(offsets.0)\t\(offsets.1)\n"
    }

    /// The complete file as bytes.
    public func serialized() -> Data {
        let (json, order) = header()
        var data = Data()
        data.reserveCapacity(8 + json.count + order.reduce(0) { $0 + tensors[$1]!.bytes.count })
        var n = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &n) { data.append(contentsOf: $0) }
        data.append(contentsOf: json)
        for name in order { data.append(contentsOf: tensors[name]!.bytes) }
        return data
    }

    /// Writes the file atomically (temp file + fsync + rename + directory fsync): after a crash the
    /// destination holds either its previous content or the complete new file.
    public func write(to url: URL) throws {
        let (json, order) = header()
        var n = UInt64(json.count).littleEndian
        let lengthBytes = withUnsafeBytes(of: &n) { Array($0) }
        // Pin every buffer, then hand the chunks to one atomic write (no concatenated copy).
        var arrays: [[UInt8]] = [lengthBytes, json]
        for name in order { arrays.append(tensors[name]!.bytes) }
        try Self.withPinned(arrays[...]) { chunks in try AtomicFile.write(chunks: chunks, to: url) }
    }

    private static func withPinned<R>(_ arrays: ArraySlice<[UInt8]>, _ acc: [UnsafeRawBufferPointer] = [],
                                      _ body: ([UnsafeRawBufferPointer]) throws -> R) throws -> R {
        guard let first = arrays.first else { return try body(acc) }
        return try first.withUnsafeBytes { try withPinned(arrays.dropFirst(), acc + [$0], body) }
    }

    // MARK: Reading

    /// Reads and validates a file. Throws `SafeTensorsError` naming the file and the problem.
    public static func read(from url: URL, verifyChecksum: Bool = true) throws -> SafeTensors {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw SafeTensorsError(.io, path: url.path, "cannot read: \(error.localizedDescription)")
        }
        return try parse(data, path: url.path, verifyChecksum: verifyChecksum)
    }

    /// Parses and validates the bytes of a file (`path` only labels errors).
    public static func parse(_ data: Data, path: String = "<memory>", verifyChecksum: Bool = true) throws -> SafeTensors {
        func fail(_ kind: SafeTensorsError.Kind, _ message: String) -> SafeTensorsError {
            SafeTensorsError(kind, path: path, message)
        }
        let size = data.count
        guard size >= 8 else {
            throw fail(.truncated, "file is \(size) bytes, shorter than the 8-byte header length (truncated?)")
        }
        let n = data.withUnsafeBytes { raw -> UInt64 in
            var v: UInt64 = 0
            withUnsafeMutableBytes(of: &v) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[0..<8])) }
            return UInt64(littleEndian: v)
        }
        guard n <= UInt64(maxHeaderBytes) else {
            throw fail(.corruptHeader, "header length \(n) exceeds the 100 MB limit (not a safetensors file, or corrupt)")
        }
        guard n <= UInt64(size - 8) else {
            throw fail(.truncated, "header length \(n) goes beyond the end of the \(size)-byte file (truncated?)")
        }
        let headerLength = Int(n)
        let headerBytes = data.subdata(in: 8..<(8 + headerLength))
        guard headerBytes.first == UInt8(ascii: "{") else {
            throw fail(.corruptHeader, "header does not start with '{' (not a safetensors file, or corrupt)")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: headerBytes)
        } catch {
            throw fail(.corruptHeader, "header is not valid JSON (\(error.localizedDescription))")
        }
        guard let dict = object as? [String: Any] else { throw fail(.corruptHeader, "header is not a JSON object") }

        let dataStart = 8 + headerLength
        let dataSize = size - dataStart
        var metadata: [String: String] = [:]
        var entries: [(name: String, dtype: SafeTensorsDType, shape: [Int], begin: Int, end: Int)] = []
        func integer(_ v: Any) -> Int? {
            guard let num = v as? NSNumber else { return nil }
            let d = num.doubleValue
            guard d >= 0, d == d.rounded(), d < 9.0e15 else { return nil }
            return num.intValue
        }
        for (key, value) in dict {
            if key == "__metadata__" {
                guard let m = value as? [String: Any] else { throw fail(.corruptHeader, "__metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw fail(.corruptHeader, "__metadata__ value for '\(k)' is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let info = value as? [String: Any] else { throw fail(.corruptHeader, "entry '\(key)' is not an object") }
            guard let dtypeName = info["dtype"] as? String else { throw fail(.corruptHeader, "tensor '\(key)' has no dtype") }
            guard let dtype = SafeTensorsDType(rawValue: dtypeName) else {
                throw fail(.corruptHeader, "tensor '\(key)' has unknown dtype '\(dtypeName)' (known: \(SafeTensorsDType.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            guard let shapeAny = info["shape"] as? [Any] else { throw fail(.corruptHeader, "tensor '\(key)' has no shape list") }
            let shape = shapeAny.map(integer)
            guard shape.allSatisfy({ $0 != nil }) else { throw fail(.corruptHeader, "tensor '\(key)' has a shape that is not a list of non-negative integers") }
            guard let offAny = info["data_offsets"] as? [Any], offAny.count == 2,
                  let begin = integer(offAny[0]), let end = integer(offAny[1]) else {
                throw fail(.corruptHeader, "tensor '\(key)' needs data_offsets [begin, end] of non-negative integers")
            }
            guard begin <= end else { throw fail(.corruptHeader, "tensor '\(key)' has data_offsets [\(begin), \(end)] with begin > end") }
            let dims = shape.map { $0! }
            // Overflow-checked: a shape such as [2147483648, 2147483648] of F64 needs 2⁶⁵ bytes, which no
            // Int holds; it cannot match any offsets, so it is a corrupt header rather than a trap.
            guard let byteCount = Self.byteCount(shape: dims, dtype: dtype) else {
                throw fail(.corruptHeader, "tensor '\(key)': shape \(dims) of \(dtype.rawValue) needs more than \(Int.max) bytes (the product of the shape overflows) but data_offsets [\(begin), \(end)] span \(end - begin)")
            }
            guard byteCount == end - begin else {
                throw fail(.corruptHeader, "tensor '\(key)': shape \(dims) of \(dtype.rawValue) needs \(byteCount) bytes but data_offsets [\(begin), \(end)] span \(end - begin)")
            }
            entries.append((key, dtype, dims, begin, end))
        }
        // Offsets must tile the data section: sorted by begin, each starts where the previous ended.
        entries.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var position = 0
        for e in entries {
            guard e.begin == position else {
                throw fail(.corruptHeader, e.begin > position
                           ? "gap in the data section before tensor '\(e.name)' (bytes \(position)..<\(e.begin) belong to no tensor)"
                           : "tensor '\(e.name)' overlaps the previous tensor (starts at byte \(e.begin), previous ends at \(position))")
            }
            position = e.end
        }
        if position > dataSize {
            let last = entries.last!
            throw fail(.truncated, "tensor '\(last.name)' ends at data byte \(last.end) but the data section has only \(dataSize) bytes (file truncated?)")
        }
        if position < dataSize {
            throw fail(.corruptHeader, "data section has \(dataSize) bytes but the tensors cover only \(position) (trailing bytes; corrupt or appended file)")
        }

        var tensors: [String: SafeTensor] = [:]
        data.withUnsafeBytes { raw in
            for e in entries {
                let slice = UnsafeRawBufferPointer(rebasing: raw[(dataStart + e.begin)..<(dataStart + e.end)])
                tensors[e.name] = SafeTensor(dtype: e.dtype, shape: e.shape, bytes: Array(slice))
            }
        }

        let storedData = metadata.removeValue(forKey: dataChecksumKey)
        let storedIndex = metadata.removeValue(forKey: indexChecksumKey)
        if verifyChecksum {
            // The writer always stores both; one alone means a damaged key.
            if (storedData == nil) != (storedIndex == nil) {
                throw fail(.checksumMismatch, "header holds only one of \(dataChecksumKey) and \(indexChecksumKey): the header is corrupt")
            }
            if let stored = storedData {
                let actual = data.withUnsafeBytes { CRC32.checksum(UnsafeRawBufferPointer(rebasing: $0[dataStart..<size])) }
                guard stored.lowercased() == CRC32.hex(actual) else {
                    throw fail(.checksumMismatch, "data checksum mismatch (stored crc32 \(stored), computed \(CRC32.hex(actual))): the tensor data is corrupt")
                }
            }
            if let stored = storedIndex {
                var crc = CRC32()
                for e in entries.sorted(by: { $0.name < $1.name }) {
                    crc.update(Array(indexLine(e.name, tensors[e.name]!, (e.begin, e.end)).utf8))
                }
                for key in metadata.keys.sorted() { crc.update(Array("\(key)\t\(metadata[key]!)\n".utf8)) }
                guard stored.lowercased() == CRC32.hex(crc.value) else {
                    throw fail(.checksumMismatch, "header checksum mismatch (stored crc32 \(stored), computed \(CRC32.hex(crc.value))): names, shapes, dtypes or metadata were altered")
                }
            }
        }
        return SafeTensors(tensors: tensors, metadata: metadata)
    }

    /// The bytes of a tensor of this shape and dtype (product of the dimensions × element size), or nil
    /// when a dimension is negative or the product overflows `Int`.
    public static func byteCount(shape: [Int], dtype: SafeTensorsDType) -> Int? {
        if shape.contains(0) && shape.allSatisfy({ $0 >= 0 }) { return 0 }
        var n = dtype.size
        for d in shape {
            guard d >= 0 else { return nil }
            let (p, overflow) = n.multipliedReportingOverflow(by: d)
            if overflow { return nil }
            n = p
        }
        return n
    }

    /// JSON string literal with the escapes RFC 8259 requires.
    static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20:
                let h = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
            default: out.unicodeScalars.append(u)
            }
        }
        return out + "\""
    }
}
