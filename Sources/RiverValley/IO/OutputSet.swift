import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The outputs of one command, written all or nothing: a command that writes several files writes none
/// unless every one can be written.
///
/// Outputs are staged in memory (`add`), then `commit` (1) checks every destination first — its directory
/// exists (or may be created) and is writable, it is not a directory, no path is given twice — (2) writes
/// each to a temporary file in its own directory and fsyncs it, and only when all of those succeeded
/// (3) renames them over their destinations. A failure in (1) or (2) removes the temporary files (and
/// any directory (1) created), so no destination is touched. Renames in one directory do not fail for
/// lack of space, so step (3) is as close to all-or-nothing as POSIX allows without a journal.
public struct OutputSet {
    /// A destination that cannot be written; names the path and the reason.
    public struct Unwritable: Error, CustomStringConvertible, Equatable {
        public let path: String
        public let reason: String
        public var description: String { "cannot write \(path): \(reason); nothing was written" }
    }

    private var items: [(url: URL, data: Data)] = []

    public init() {}

    /// The destinations staged so far, in order.
    public var paths: [String] { items.map { $0.url.path } }

    public mutating func add(_ data: Data, to url: URL) { items.append((url, data)) }
    public mutating func add(_ text: String, to url: URL) { add(Data(text.utf8), to: url) }
    public mutating func add(_ data: Data, toPath path: String) { add(data, to: URL(fileURLWithPath: path)) }
    public mutating func add(_ text: String, toPath path: String) { add(Data(text.utf8), to: URL(fileURLWithPath: path)) }

    /// Checks that every staged destination can be written, without writing anything.
    ///
    /// - Parameter createDirectories: directories that may be created (with their parents) if missing.
    public func check(createDirectories: Set<String> = []) throws {
        var seen: Set<String> = []
        for (url, _) in items {
            let path = url.standardizedFileURL.path
            guard seen.insert(path).inserted else {
                throw Unwritable(path: url.path, reason: "the same path is given for two outputs")
            }
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue {
                throw Unwritable(path: url.path, reason: "it is a directory")
            }
            let dir = url.deletingLastPathComponent().standardizedFileURL.path
            if createDirectories.contains(dir) { continue }
            guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) else {
                throw Unwritable(path: url.path, reason: "the directory '\(dir)' does not exist")
            }
            guard isDir.boolValue else { throw Unwritable(path: url.path, reason: "'\(dir)' is not a directory") }
            guard access(dir, W_OK | X_OK) == 0 else {
                throw Unwritable(path: url.path, reason: "the directory '\(dir)' is not writable")
            }
        }
    }

    /// Checks that one destination can be written (its directory exists and is writable), without
    /// writing it: a command calls this before long work whose result goes to `path`.
    public static func checkWritable(_ path: String) throws {
        var one = OutputSet()
        one.add(Data(), toPath: path)
        try one.check()
    }

    /// Writes every staged output, or none (see the type's description).
    ///
    /// - Parameter createDirectories: directories (paths) that may be created if missing; a directory
    ///   created here is removed again when the commit fails.
    public func commit(createDirectories: [String] = []) throws {
        let wanted = Set(createDirectories.map { URL(fileURLWithPath: $0).standardizedFileURL.path })
        try check(createDirectories: wanted)
        var created: [String] = []
        var temporaries: [(tmp: String, url: URL)] = []
        do {
            for dir in wanted.sorted() where !FileManager.default.fileExists(atPath: dir) {
                // Remember the topmost missing ancestor, so a failure removes everything created here.
                var top = URL(fileURLWithPath: dir)
                while !FileManager.default.fileExists(atPath: top.deletingLastPathComponent().path) {
                    top = top.deletingLastPathComponent()
                }
                do {
                    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                } catch {
                    throw Unwritable(path: dir, reason: "cannot create the directory (\(error.localizedDescription))")
                }
                created.append(top.path)
            }
            for (url, data) in items {
                let tmp = try data.withUnsafeBytes { try AtomicFile.writeTemporary(chunks: [$0], for: url) }
                temporaries.append((tmp, url))
            }
        } catch {
            for t in temporaries { unlink(t.tmp) }
            for dir in created.reversed() { try? FileManager.default.removeItem(atPath: dir) }
            throw error
        }
        for (i, t) in temporaries.enumerated() {
            do { try AtomicFile.commit(t.tmp, to: t.url) } catch {
                for rest in temporaries[(i + 1)...] { unlink(rest.tmp) }
                throw error
            }
        }
    }
}
