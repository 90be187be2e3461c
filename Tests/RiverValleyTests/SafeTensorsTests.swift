import Foundation
import Testing
import RiverValley

/// Bit-at-a-time CRC-32 (the textbook definition), the independent reference for the table version.
private func referenceCRC32(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for b in bytes {
        crc ^= UInt32(b)
        for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}

private func tempDir() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("st-test-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A file holding one tensor of every supported dtype, with deterministic contents.
private func sampleFile() -> SafeTensors {
    var st = SafeTensors(metadata: ["step": "42", "note": "quote \" backslash \\ tab\t é"])
    st["weights.f32"] = SafeTensor((0..<24).map { Float($0) * 0.25 - 3 }, shape: [2, 3, 4])
    st["adam/m"] = SafeTensor((0..<7).map { Double($0) / 3 }, shape: [7])
    st["step"] = SafeTensor([Int64(-5), Int64.max], shape: [2])
    st["tokens"] = SafeTensor([Int32(1), -2, 3, 4], shape: [2, 2])
    st["rng"] = SafeTensor((0..<13).map { UInt8($0 * 19 & 0xFF) })
    st["scalar"] = SafeTensor([Float(1.5)], shape: [])
    st["empty"] = SafeTensor([Float](), shape: [0, 3])
    return st
}

/// Builds a safetensors file by hand from a header string and data bytes (the format spec, independent of
/// the writer under test).
private func handMade(header: String, data: [UInt8], declaredLength: UInt64? = nil) -> Data {
    let h = Array(header.utf8)
    var n = (declaredLength ?? UInt64(h.count)).littleEndian
    var out = Data()
    withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
    out.append(contentsOf: h)
    out.append(contentsOf: data)
    return out
}

private func expectError(_ kind: SafeTensorsError.Kind, _ data: Data, mentioning text: String? = nil,
                         sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        _ = try SafeTensors.parse(data, path: "x.safetensors")
        Issue.record("expected \(kind) error, parse succeeded", sourceLocation: sourceLocation)
    } catch let e as SafeTensorsError {
        #expect(e.kind == kind, "\(e)", sourceLocation: sourceLocation)
        #expect(e.description.hasPrefix("x.safetensors: "), sourceLocation: sourceLocation)
        if let text { #expect(e.message.contains(text), "\(e)", sourceLocation: sourceLocation) }
    } catch {
        Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
    }
}

@Suite("CRC-32")
struct CRC32Tests {
    @Test("standard check value of \"123456789\" is 0xCBF43926")
    func checkValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([UInt8]()) == 0)
        #expect(CRC32.hex(0xCBF4_3926) == "cbf43926")
        #expect(CRC32.hex(0x1) == "00000001")
    }

    @Test("slicing-by-8 equals the bit-at-a-time definition on random buffers, incremental or whole")
    func matchesReference() {
        var g = SystemRandomNumberGenerator()
        for n in [1, 7, 8, 9, 63, 64, 1000, 4099] {
            let bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &g) }
            #expect(CRC32.checksum(bytes) == referenceCRC32(bytes))
            var c = CRC32()
            c.update(bytes[..<(n / 3)])
            c.update(bytes[(n / 3)...])
            #expect(c.value == referenceCRC32(bytes))
        }
    }
}

@Suite("SafeTensors")
struct SafeTensorsTests {
    @Test("write then read returns every tensor bit-for-bit, with metadata, for all dtypes")
    func roundTrip() throws {
        let dir = try tempDir()
        let url = dir.appendingPathComponent("a.safetensors")
        let st = sampleFile()
        try st.write(to: url)
        let back = try SafeTensors.read(from: url)
        #expect(back == st)
        #expect(try back.tensor("weights.f32").floats() == (0..<24).map { Float($0) * 0.25 - 3 })
        #expect(try back.tensor("step").int64s() == [-5, Int64.max])
        #expect(try back.tensor("scalar").shape == [])
        #expect(try back.tensor("empty").count == 0)
        // The on-disk bytes equal the in-memory serialisation, and no temporary files remain.
        #expect(try Data(contentsOf: url) == st.serialized())
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["a.safetensors"])
    }

    @Test("layout follows the spec: LE length, space-padded JSON to 8 bytes, aligned tiling offsets")
    func layout() throws {
        let bytes = [UInt8](sampleFile().serialized())
        let n = bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        #expect((8 + Int(n)) % 8 == 0)
        let header = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + Int(n))])) as! [String: Any]
        let meta = header["__metadata__"] as! [String: String]
        #expect(meta["step"] == "42")
        let data = Array(bytes[(8 + Int(n))...])
        #expect(meta["checksum.data"] == CRC32.hex(referenceCRC32(data)))
        let w = header["weights.f32"] as! [String: Any]
        #expect(w["dtype"] as? String == "F32")
        #expect(w["shape"] as? [Int] == [2, 3, 4])
        let off = w["data_offsets"] as! [Int]
        #expect(off[0] % 4 == 0 && off[1] - off[0] == 96)
        // Element 5 of the F32 tensor, decoded by hand from little-endian bytes.
        let b = Array(data[(off[0] + 20)..<(off[0] + 24)])
        let bits = UInt32(b[0]) | UInt32(b[1]) << 8 | UInt32(b[2]) << 16 | UInt32(b[3]) << 24
        #expect(Float(bitPattern: bits) == 5 * 0.25 - 3)
    }

    @Test("a hand-made file from the spec (no metadata, no checksum) is read")
    func readsForeignFile() throws {
        // Two F32 values and one I64, offsets written by hand.
        var data = [UInt8]()
        for f in [Float(1), Float(-2)] { withUnsafeBytes(of: f.bitPattern.littleEndian) { data += $0 } }
        withUnsafeBytes(of: Int64(7).littleEndian) { data += $0 }
        let header = #"{"b":{"dtype":"I64","shape":[1],"data_offsets":[8,16]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        let st = try SafeTensors.parse(handMade(header: header, data: data))
        #expect(try st.tensor("a").floats() == [1, -2])
        #expect(try st.tensor("b").int64s() == [7])
        #expect(st.metadata.isEmpty)
    }

    @Test("every truncation of a valid file is rejected with a clear error")
    func truncation() throws {
        let full = sampleFile().serialized()
        for cut in stride(from: 0, to: full.count, by: 1) {
            do {
                _ = try SafeTensors.parse(full.prefix(cut), path: "t")
                Issue.record("truncated to \(cut) of \(full.count) bytes was accepted")
            } catch let e as SafeTensorsError {
                #expect(e.kind == .truncated || e.kind == .corruptHeader, "cut \(cut): \(e)")
            }
        }
        expectError(.truncated, full.prefix(full.count - 3), mentioning: "truncated")
        expectError(.truncated, full.prefix(5), mentioning: "shorter than the 8-byte")
    }

    @Test("flipping any single data byte or any header byte is detected")
    func corruption() throws {
        let full = [UInt8](sampleFile().serialized())
        let n = Int(full[0]) | Int(full[1]) << 8
        var detected = 0, trials = 0
        for i in stride(from: 8, to: full.count, by: 3) {
            var bad = full
            bad[i] ^= 0x10
            // A flip inside the header's trailing padding or in JSON whitespace may be harmless only if it
            // leaves valid content; there is no whitespace except padding, which turns into a non-space.
            trials += 1
            do { _ = try SafeTensors.parse(Data(bad)) } catch is SafeTensorsError { detected += 1 }
        }
        #expect(detected == trials)
        var bad = full
        bad[8 + n + 10] ^= 1
        expectError(.checksumMismatch, Data(bad), mentioning: "data checksum mismatch")
    }

    @Test("header errors: length beyond file, offsets out of range, dtype size mismatch, gaps, bad dtype")
    func headerErrors() {
        let eight = [UInt8](repeating: 0, count: 8)
        expectError(.truncated, handMade(header: "{}", data: [], declaredLength: 1000), mentioning: "header length 1000")
        expectError(.truncated, handMade(header: #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, data: eight),
                    mentioning: "ends at data byte 16")
        expectError(.corruptHeader, handMade(header: #"{"a":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}}"#, data: eight),
                    mentioning: "needs 16 bytes")
        expectError(.corruptHeader, handMade(header: #"{"a":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}}"#, data: eight),
                    mentioning: "gap")
        expectError(.corruptHeader, handMade(header: #"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}}"#, data: eight),
                    mentioning: "trailing")
        expectError(.corruptHeader, handMade(header: #"{"a":{"dtype":"Q7","shape":[8],"data_offsets":[0,8]}}"#, data: eight),
                    mentioning: "unknown dtype 'Q7'")
        expectError(.corruptHeader, handMade(header: #"{"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}"#, data: eight),
                    mentioning: "not valid JSON")
        expectError(.corruptHeader, handMade(header: #"{"a":{"dtype":"U8","shape":[-8],"data_offsets":[0,8]}}"#, data: eight),
                    mentioning: "shape")
        expectError(.corruptHeader, handMade(header: #"{"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},"b":{"dtype":"U8","shape":[4],"data_offsets":[2,6]}}"#, data: eight),
                    mentioning: "overlaps")
    }

    @Test("an altered name, shape or metadata value is caught by the index checksum")
    func indexChecksum() throws {
        var st = SafeTensors(metadata: ["step": "10"])
        st["ab"] = SafeTensor([Float](repeating: 1, count: 6), shape: [2, 3])
        var text = [UInt8](st.serialized())
        // Same-length byte replacement (the data section is binary, so no String round trip).
        func replace(_ a: String, _ b: String) -> Data {
            let x = Array(a.utf8), y = Array(b.utf8)
            precondition(x.count == y.count)
            var out = text
            for i in 0...(out.count - x.count) where Array(out[i..<(i + x.count)]) == x {
                out.replaceSubrange(i..<(i + x.count), with: y)
                break
            }
            return Data(out)
        }
        expectError(.checksumMismatch, replace(#""shape":[2,3]"#, #""shape":[3,2]"#), mentioning: "header checksum")
        expectError(.checksumMismatch, replace(#""step":"10""#, #""step":"19""#), mentioning: "header checksum")
        expectError(.checksumMismatch, replace(#""ab":"#, #""ba":"#), mentioning: "header checksum")
        text = [UInt8](st.serialized())
        #expect(try SafeTensors.parse(Data(text)) == st)
        // Without verification the altered file parses (a foreign reader would see the same thing).
        #expect(try SafeTensors.parse(replace(#""step":"10""#, #""step":"19""#), verifyChecksum: false).metadata["step"] == "19")
    }

    @Test("a missing tensor or a wrong dtype gives an error naming what exists")
    func accessErrors() throws {
        let st = sampleFile()
        #expect(throws: SafeTensorsError.self) { try st.tensor("nope") }
        do { _ = try st.tensor("nope", path: "ck.safetensors") } catch let e as SafeTensorsError {
            #expect(e.kind == .missingTensor && e.message.contains("weights.f32"))
        }
        #expect(throws: SafeTensorsError.self) { try st.tensor("step").floats() }
    }

    @Test("an atomic overwrite replaces the whole file; a failed write leaves the old file intact")
    func atomicOverwrite() throws {
        let dir = try tempDir()
        let url = dir.appendingPathComponent("c.safetensors")
        var a = SafeTensors(); a["x"] = SafeTensor([Float](repeating: 1, count: 1000))
        var b = SafeTensors(); b["x"] = SafeTensor([Float](repeating: 2, count: 10))
        try a.write(to: url)
        try b.write(to: url)
        #expect(try SafeTensors.read(from: url) == b)
        // Writing into a missing directory fails and creates nothing.
        let bad = dir.appendingPathComponent("missing/c.safetensors")
        #expect(throws: AtomicFile.WriteError.self) { try a.write(to: bad) }
        #expect(try SafeTensors.read(from: url) == b)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["c.safetensors"])
    }
}
