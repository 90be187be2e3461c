import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Crash-safe file writes: the bytes go to a temporary file in the same directory, which is flushed to
/// disk (`fsync`) and then renamed over the destination; the directory is fsynced too, so after a crash
/// (or SIGKILL) the destination holds either the complete old content or the complete new content.
public enum AtomicFile {
    public struct WriteError: Error, CustomStringConvertible {
        public let path: String
        public let operation: String
        public let code: Int32
        public var description: String {
            "cannot write \(path): \(operation) failed (\(String(cString: strerror(code))))"
        }
    }

    /// Writes `data` to `url` atomically (temp file + fsync + rename + directory fsync).
    public static func write(_ data: Data, to url: URL) throws {
        try data.withUnsafeBytes { raw in try write(bytes: raw, to: url) }
    }

    /// Writes the bytes of `text` (UTF-8) atomically.
    public static func write(_ text: String, to url: URL) throws {
        try write(Data(text.utf8), to: url)
    }

    /// Writes a sequence of byte chunks atomically (avoids concatenating large buffers first).
    public static func write(chunks: [UnsafeRawBufferPointer], to url: URL) throws {
        let tmp = try writeTemporary(chunks: chunks, for: url)
        try commit(tmp, to: url)
    }

    /// Writes the chunks to a fresh temporary file next to `url` and fsyncs it; returns its path. The
    /// caller renames it over `url` with `commit` or removes it.
    static func writeTemporary(chunks: [UnsafeRawBufferPointer], for url: URL) throws -> String {
        let dir = url.deletingLastPathComponent().path
        let tmp = dir + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw WriteError(path: url.path, operation: "open", code: errno) }
        var ok = false
        defer {
            if !ok { close(fd); unlink(tmp) }
        }
        for chunk in chunks where chunk.count > 0 {
            var done = 0
            while done < chunk.count {
                let n = Glibc.write(fd, chunk.baseAddress! + done, chunk.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw WriteError(path: url.path, operation: "write", code: errno)
                }
                done += n
            }
        }
        guard fsync(fd) == 0 else { throw WriteError(path: url.path, operation: "fsync", code: errno) }
        guard close(fd) == 0 else {
            let e = errno; unlink(tmp); ok = true
            throw WriteError(path: url.path, operation: "close", code: e)
        }
        ok = true
        return tmp
    }

    /// Renames the temporary file over `url` and fsyncs the directory.
    static func commit(_ tmp: String, to url: URL) throws {
        guard rename(tmp, url.path) == 0 else {
            let e = errno; unlink(tmp)
            throw WriteError(path: url.path, operation: "rename", code: e)
        }
        let dir = url.deletingLastPathComponent().path
        let dfd = open(dir.isEmpty ? "." : dir, O_RDONLY)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    }

    private static func write(bytes: UnsafeRawBufferPointer, to url: URL) throws {
        try write(chunks: [bytes], to: url)
    }
}

/// Appends lines to a file, flushing each line to the kernel (a SIGKILL loses at most a line being
/// written; readers skip an incomplete final line).
public final class LineAppender {
    private let handle: FileHandle
    public let url: URL

    /// Opens `url` for appending, creating it if missing.
    public init(url: URL) throws {
        self.url = url
        if !FileManager.default.fileExists(atPath: url.path) {
            _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        }
        handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
    }

    public func append(_ line: String) throws {
        try handle.write(contentsOf: Data((line + "\n").utf8))
    }

    /// Forces the appended lines to disk.
    public func sync() throws { try handle.synchronize() }

    deinit { try? handle.close() }
}
