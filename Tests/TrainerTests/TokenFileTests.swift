import Foundation
import Testing
@testable import Trainer

/// A `.npy` file built byte by byte from NEP 1 (independent of ``NPY``): magic, version, header length
/// (UInt16 LE in version 1, UInt32 LE in 2 and 3), the header dict padded with spaces to a multiple of 64
/// and ended by a newline, then the raw data.
private func npyFile(major: UInt8, header dict: String, data: [UInt8]) -> Data {
    let prefix = major == 1 ? 10 : 12
    var header = Array(dict.utf8)
    header += [UInt8](repeating: 0x20, count: (64 - (prefix + header.count + 1) % 64) % 64) + [0x0A]
    let n = header.count
    var out: [UInt8] = [0x93] + Array("NUMPY".utf8) + [major, 0]
    out += major == 1 ? [UInt8(n & 0xFF), UInt8(n >> 8)] : [UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 24)]
    return Data(out + header + data)
}

private func le32(_ v: [Int32]) -> [UInt8] { v.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) } }
private func le64(_ v: [Int64]) -> [UInt8] { v.flatMap { withUnsafeBytes(of: $0.littleEndian, Array.init) } }

/// The error message of `body`, or nil when it does not throw a DataError.
private func dataErrorMessage(_ body: () throws -> Any) -> String? {
    do { _ = try body(); return nil } catch let e as DataError { return e.message } catch { return nil }
}

@Suite("Token files (.npy and raw int32)")
struct TokenFileTests {
    let ids: [Int32] = [0, 5, 63, 17, 42, 1]

    @Test("versions 1, 2 and 3 with int32 and int64, 1-D and 2-D (C order, rows concatenated)")
    func readsNPY() throws {
        for major: UInt8 in [1, 2, 3] {
            for (descr, bytes) in [("<i4", le32(ids)), ("<i8", le64(ids.map(Int64.init)))] {
                for shape in ["(6,)", "(2, 3)", "(3, 2)", "(1, 6)"] {
                    let file = npyFile(major: major, header: "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shape), }", data: bytes)
                    let got = try TokenFile.parse(file, path: "t.npy", vocabSize: 64)
                    #expect(got == ids, "version \(major) \(descr) \(shape)")
                }
            }
        }
        // Narrower and unsigned integer types.
        let u2 = npyFile(major: 1, header: "{'descr': '<u2', 'fortran_order': False, 'shape': (3,), }", data: [0x10, 0x00, 0xFF, 0xFF, 0x00, 0x01])
        #expect(try TokenFile.parse(u2, path: "t.npy", vocabSize: 65536) == [16, 65535, 256])
        let u1 = npyFile(major: 1, header: "{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }", data: [200, 7])
        #expect(try TokenFile.parse(u1, path: "t.npy", vocabSize: 256) == [200, 7])
        let i2 = npyFile(major: 1, header: "{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }", data: [5, 0, 0xFE, 0xFF])
        #expect(dataErrorMessage { try TokenFile.parse(i2, path: "t.npy", vocabSize: 64) }?.contains("token id -2 at index 1") == true)
        let u8 = npyFile(major: 1, header: "{'descr': '<u8', 'fortran_order': False, 'shape': (1,), }", data: [UInt8](repeating: 0xFF, count: 8))
        #expect(dataErrorMessage { try TokenFile.parse(u8, path: "t.npy", vocabSize: 64) }?.contains("token id 18446744073709551615 at index 0") == true)
        // Double quotes, no trailing comma, Fortran order of a single row, Python 2 long dims.
        let alt = npyFile(major: 1, header: "{\"descr\": \"<i4\", \"shape\": (1L, 6L), \"fortran_order\": True}", data: le32(ids))
        #expect(try TokenFile.parse(alt, path: "t.NPY", vocabSize: 64) == ids)
        let empty = npyFile(major: 1, header: "{'descr': '<i4', 'fortran_order': False, 'shape': (0,), }", data: [])
        #expect(try TokenFile.parse(empty, path: "t.npy", vocabSize: 64) == [])
    }

    @Test("raw files are little-endian int32")
    func readsRaw() throws {
        #expect(try TokenFile.parse(Data(le32(ids)), path: "t.bin", vocabSize: 64) == ids)
        #expect(dataErrorMessage { try TokenFile.parse(Data(le32(ids) + [1]), path: "t.bin", vocabSize: 64) }?
            .contains("25 bytes is not a whole number") == true)
        let npy = npyFile(major: 1, header: "{'descr': '<i4', 'fortran_order': False, 'shape': (6,), }", data: le32(ids))
        #expect(dataErrorMessage { try TokenFile.parse(npy, path: "t.bin", vocabSize: 64) }?.contains("rename it to .npy") == true)
    }

    @Test("ids outside the vocabulary are errors naming the id, its index and the range")
    func rangeChecked() {
        #expect(dataErrorMessage { try TokenFile.parse(Data(le32([1, 64])), path: "t.bin", vocabSize: 64) }?
            .hasPrefix("t.bin: token id 64 at index 1 is outside the model's vocabulary 0..<64 (raw files are read as little-endian int32; uint16 ids") == true)
        #expect(dataErrorMessage { try TokenFile.parse(Data(le32([-1])), path: "t.bin", vocabSize: 64) }?.contains("token id -1 at index 0") == true)
        let big = npyFile(major: 1, header: "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", data: le64([3, 1 << 40]))
        #expect(dataErrorMessage { try TokenFile.parse(big, path: "t.npy", vocabSize: 64) }?.contains("token id 1099511627776 at index 1") == true)
    }

    @Test("bad headers and data are errors that say what is wrong", arguments: [
        (Data(Array("PK\u{3}\u{4}not npy".utf8)), "does not start with the magic"),
        (npyFile(major: 4, header: "{'descr': '<i4', 'fortran_order': False, 'shape': (6,), }", data: []), "version 4.0 is not supported"),
        (npyFile(major: 1, header: "{'descr': '>i4', 'fortran_order': False, 'shape': (6,), }", data: []), "dtype '>i4' is not supported"),
        (npyFile(major: 1, header: "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", data: []), "dtype '<f4' is not supported"),
        (npyFile(major: 1, header: "{'descr': '<i4', 'fortran_order': False, 'shape': (6,), }", data: [1, 2, 3]), "needs 24 data bytes but the file holds 3"),
        (npyFile(major: 1, header: "{'descr': '<i4', 'fortran_order': False, 'shape': (1,), }", data: [0, 0, 0, 0, 9]), "1 bytes follow"),
        (npyFile(major: 1, header: "{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3), }", data: []), "Fortran order"),
        (npyFile(major: 1, header: "{'descr': '<i4', 'fortran_order': False, 'shape': (1, 2, 3), }", data: []), "must be 1-D, or 2-D"),
        (npyFile(major: 1, header: "{'descr': '<i4', 'fortran_order': False, 'shape': (), }", data: [0, 0, 0, 0]), "is a scalar"),
        (npyFile(major: 1, header: "{'descr': '<i4', 'shape': (6,), }", data: []), "header keys are"),
        (npyFile(major: 1, header: "{'descr': '<i4', 'fortran_order': False, 'shape': (6,), 'x': 1}", data: []), "expected a string, a tuple"),
        (npyFile(major: 1, header: "{'descr': '<i4', 'fortran_order': 0, 'shape': (6,), }", data: []), "expected a string, a tuple"),
        (npyFile(major: 1, header: "{'descr': '<i4', 'fortran_order': False, 'shape': (-6,), }", data: []), "non-negative integer"),
        (npyFile(major: 1, header: "{'descr': '<i4', 'fortran_order': False, 'shape': (6,), ", data: []), "expected a quoted string"),
        (npyFile(major: 1, header: "{'descr': '<i4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", data: []), "more elements than can be addressed"),
        (Data([0x93] + Array("NUMPY".utf8) + [1, 0, 0xFF, 0x00, 0x7B]), "goes beyond the end"),
        (Data([0x93] + Array("NUMPY".utf8) + [1]), "too short"),
    ] as [(Data, String)])
    func badHeaders(_ file: Data, _ expected: String) {
        let message = dataErrorMessage { try TokenFile.parse(file, path: "bad.npy", vocabSize: 64) }
        #expect(message?.contains(expected) == true, "got \(message ?? "no DataError")")
        #expect(message?.hasPrefix("bad.npy: ") == true)
    }

    @Test("NPY.float32File writes what the parser reads back")
    func float32RoundTrip() throws {
        let file = NPY.float32File([1, -2.5, 3, 0.125, 5, 6], shape: [2, 3])
        let h = try file.withUnsafeBytes { try NPY.parseHeader($0, path: "f.npy") }
        #expect(h.descr == "<f4" && h.shape == [2, 3] && !h.fortranOrder && h.dataOffset % 64 == 0)
        #expect(file.count == h.dataOffset + 24)
        let x = file.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: h.dataOffset + 4, as: Float.self) }
        #expect(x == -2.5)
    }

    @Test("a token source is exactly one of --text and --tokens; --max-bytes only with --text")
    func sourceChoice() throws {
        #expect(try TokenSource(text: "a.txt", tokens: nil) == .text(path: "a.txt", maxBytes: nil))
        #expect(try TokenSource(text: nil, tokens: "a.npy") == .tokenFile(path: "a.npy"))
        #expect(dataErrorMessage { try TokenSource(text: nil, tokens: nil) }?.contains("--text FILE") == true)
        #expect(dataErrorMessage { try TokenSource(text: "a", tokens: "b") }?.contains("not both") == true)
        #expect(dataErrorMessage { try TokenSource(text: nil, tokens: "b", maxBytes: 10) }?.contains("applies to --text only") == true)
        #expect(dataErrorMessage { try TokenSource(text: "a", tokens: nil, maxBytes: 1) }?.contains("at least 2") == true)
    }
}
