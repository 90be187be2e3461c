import Foundation

/// Checks, before a command computes anything, that each output file can be created: its folder exists and
/// is writable. A command that writes several outputs calls this first so a bad path fails before any
/// output is written (docs/cli.md: "writes none unless all succeed").
enum OutputPaths {
    /// Throws a `CLIError` naming the flag and path of the first output that cannot be written.
    static func checkWritable(_ outputs: [(flag: String, path: String)]) throws {
        let fm = FileManager.default
        for (flag, path) in outputs {
            let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
            var isDir: ObjCBool = false
            guard fm.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue, fm.isWritableFile(atPath: dir) else {
                throw CLIError("cannot write \(flag) '\(path)': the folder '\(dir)' does not exist or is not writable")
            }
        }
    }
}
