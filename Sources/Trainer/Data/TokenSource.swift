import Foundation

/// Where the tokens a checkpoint is evaluated (or analysed) on come from: a UTF-8 text, encoded with the
/// checkpoint's own tokenizer (`--text FILE`, optionally only its first `--max-bytes N` bytes), or token ids
/// produced by any other tokenizer (`--tokens FILE`) — the way to evaluate an imported checkpoint whose
/// tokenizer river does not have.
///
/// Token files: a NumPy `.npy` array of little-endian int32 (`<i4`) or int64 (`<i8`) — or another integer
/// type: `<u2` (as tokenizers with ≤ 65536 ids save them), `<i2`, `<u4`, `<u8`, `|u1`, `|i1` — 1-D, or 2-D in
/// C order (read flattened, rows concatenated); any other extension is read as raw little-endian int32.
/// Every id must lie in 0..<vocabSize of the model.
public enum TokenSource: Sendable, Equatable {
    case text(path: String, maxBytes: Int?)
    case tokenFile(path: String)

    /// Exactly one of `text` and `tokens` (the values of `--text` and `--tokens`); `maxBytes` only with text.
    public init(text: String?, tokens: String?, maxBytes: Int? = nil) throws {
        switch (text, tokens) {
        case (nil, nil):
            throw DataError("give the data to evaluate on: --text FILE (UTF-8, encoded with the checkpoint's tokenizer) or --tokens FILE (token ids: .npy int32/int64 or raw little-endian int32)")
        case (.some(let t), .some(let k)):
            throw DataError("give either --text or --tokens, not both (got --text '\(t)' and --tokens '\(k)')")
        case (.some(let t), nil):
            if let maxBytes, maxBytes < 2 { throw DataError("--max-bytes must be at least 2, got \(maxBytes)") }
            self = .text(path: t, maxBytes: maxBytes)
        case (nil, .some(let k)):
            if let maxBytes {
                throw DataError("--max-bytes \(maxBytes) applies to --text only; cut the token file '\(k)' itself")
            }
            self = .tokenFile(path: k)
        }
    }

    /// The token stream, and the tokenizer that produced it when river has it (to count bytes).
    public struct Tokens {
        public var ids: [Int32]
        /// The checkpoint's tokenizer for a text source; nil for a token file (its bytes are unknown).
        public var tokenizer: (any Tokenizer)?
    }

    /// Loads the tokens for a model with `vocabSize` ids whose tokenizer is `tokenizerJSON` (a
    /// checkpoint's "tokenizer" metadata; `tokenizerSource` names it in errors).
    public func load(tokenizerJSON: Data, tokenizerSource: String, vocabSize: Int) throws -> Tokens {
        switch self {
        case .text(let path, let maxBytes):
            guard let data = FileManager.default.contents(atPath: path) else {
                throw DataError("text file '\(path)' cannot be read")
            }
            let tokenizer = try loadTokenizer(json: tokenizerJSON, source: tokenizerSource)
            var bytes = [UInt8](data)
            if let maxBytes, bytes.count > maxBytes { bytes = Array(bytes.prefix(maxBytes)) }
            return Tokens(ids: tokenizer.encode(bytes), tokenizer: tokenizer)
        case .tokenFile(let path):
            return Tokens(ids: try TokenFile.read(path: path, vocabSize: vocabSize), tokenizer: nil)
        }
    }
}

/// Reads token-id files (see ``TokenSource``).
public enum TokenFile {
    /// The ids in the file at `path`, each checked to lie in 0..<vocabSize.
    public static func read(path: String, vocabSize: Int) throws -> [Int32] {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw DataError("token file '\(path)' cannot be read: \(error.localizedDescription)")
        }
        return try parse(data, path: path, vocabSize: vocabSize)
    }

    /// Parses file bytes: `.npy` when `path` ends in `.npy` (any case), raw little-endian int32 otherwise.
    public static func parse(_ data: Data, path: String, vocabSize: Int) throws -> [Int32] {
        try data.withUnsafeBytes { raw in
            if path.lowercased().hasSuffix(".npy") {
                return try parseNPY(raw, path: path, vocabSize: vocabSize)
            }
            if NPY.hasMagic(raw) {
                throw DataError("\(path): starts with the NumPy magic bytes but is not named .npy; rename it to .npy (other extensions are read as raw little-endian int32)")
            }
            guard raw.count % 4 == 0 else {
                throw DataError("\(path): \(raw.count) bytes is not a whole number of raw little-endian int32 token ids (a multiple of 4); a NumPy array must be named .npy")
            }
            return try decode(raw, from: 0, count: raw.count / 4, width: 4, signed: true, path: path, vocabSize: vocabSize,
                              hint: " (raw files are read as little-endian int32; uint16 ids such as nanoGPT's .bin files must be converted, e.g. np.fromfile(f, np.uint16).astype(np.int32), or saved as .npy)")
        }
    }

    static func parseNPY(_ raw: UnsafeRawBufferPointer, path: String, vocabSize: Int) throws -> [Int32] {
        let h = try NPY.parseHeader(raw, path: path)
        // Little-endian (or single-byte) integers; '<' and '|' are the byte orders numpy writes for them.
        let kinds: [String: (width: Int, signed: Bool)] = [
            "|u1": (1, false), "|i1": (1, true), "<u2": (2, false), "<i2": (2, true),
            "<u4": (4, false), "<i4": (4, true), "<u8": (8, false), "<i8": (8, true),
        ]
        guard let (width, signed) = kinds[h.descr] else {
            throw DataError("\(path): dtype '\(h.descr)' is not supported for token ids (allowed: little-endian integers '<i4' int32, '<i8' int64, also '<u2', '<i2', '<u4', '<u8', '|u1', '|i1'; convert with np.asarray(ids, dtype=np.int32))")
        }
        switch h.shape.count {
        case 0: throw DataError("\(path): the array is a scalar (shape ()); token ids must be a 1-D or 2-D array")
        case 1: break
        case 2:
            if h.fortranOrder && h.shape[0] > 1 && h.shape[1] > 1 {
                throw DataError("\(path): the \(h.shape[0])×\(h.shape[1]) array is in Fortran order; save np.ascontiguousarray(ids) so rows read in order")
            }
        default:
            throw DataError("\(path): the array has shape \(h.shape); token ids must be 1-D, or 2-D (rows are concatenated)")
        }
        let (needed, overflow) = h.count.multipliedReportingOverflow(by: width)
        let available = raw.count - h.dataOffset
        guard !overflow, needed <= available else {
            throw DataError("\(path): shape \(h.shape) of \(h.descr) needs \(overflow ? "more" : String(needed)) data bytes but the file holds \(available) (truncated?)")
        }
        guard needed == available else {
            throw DataError("\(path): \(available - needed) bytes follow the \(h.count) values of shape \(h.shape) (corrupt file?)")
        }
        return try decode(raw, from: h.dataOffset, count: h.count, width: width, signed: signed, path: path, vocabSize: vocabSize)
    }

    /// Little-endian integers of `width` bytes (1, 2, 4 or 8; signed or not) from `offset`, each checked
    /// against the vocabulary; `hint` is appended to an out-of-range error.
    static func decode(_ raw: UnsafeRawBufferPointer, from offset: Int, count: Int, width: Int, signed: Bool,
                       path: String, vocabSize: Int, hint: String = "") throws -> [Int32] {
        var out = [Int32](repeating: 0, count: count)
        for k in 0..<count {
            let at = offset + k * width
            var bits: UInt64 = 0
            for b in 0..<width { bits |= UInt64(raw[at + b]) << (8 * b) }
            let shift = UInt64(64 - 8 * width)
            // Sign-extend a signed value (an unsigned 8-byte value above Int64.max reads negative: out of range).
            let v: Int64 = signed ? Int64(bitPattern: bits << shift) >> Int64(shift) : Int64(bitPattern: bits)
            guard v >= 0, v < Int64(vocabSize) else {
                let shown = !signed && width == 8 ? String(bits) : String(v)
                throw DataError("\(path): token id \(shown) at index \(k) is outside the model's vocabulary 0..<\(vocabSize)\(hint)")
            }
            out[k] = Int32(v)
        }
        return out
    }
}
