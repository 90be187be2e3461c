import Foundation

/// Runs the `river` executable built next to this test binary and captures its output.
enum RiverCLI {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    /// The build products folder (.build/<triple>/<config>), found from this test process's executable.
    static var productsDirectory: URL {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        return exe.deletingLastPathComponent()
    }

    static var executable: URL { productsDirectory.appendingPathComponent("river") }

    /// Runs `river args…` with an optional working directory, this process's environment with `environment`
    /// set and the variables in `unsetting` removed, and returns its exit status and output.
    @discardableResult
    static func run(_ args: [String], in directory: URL? = nil, environment: [String: String] = [:],
                    unsetting: [String] = []) throws -> Result {
        let p = Process()
        p.executableURL = executable
        p.arguments = args
        if let directory { p.currentDirectoryURL = directory }
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        for k in unsetting { env[k] = nil }
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        // Read both pipes before waiting so a chatty command cannot fill a pipe and block.
        final class Box: @unchecked Sendable { var data = Data() }
        let errBox = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { errBox.data = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        let errData = errBox.data
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self))
    }

    /// The number printed for `key` in a JSON object's text, parsed with Swift's exact `Double(String)`
    /// (Foundation's JSONSerialization may round the last bit of a shortest-representation double).
    static func jsonNumber(_ text: String, _ key: String) -> Double? {
        guard let r = text.range(of: "\"\(key)\":") else { return nil }
        let rest = text[r.upperBound...].prefix { !",}] \n".contains($0) }
        return Double(String(rest))
    }

    /// A fresh temporary directory for a test's files.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("river-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Parses CSV text with a header into (header, rows of Doubles).
    static func parseCSV(_ text: String) -> (header: [String], rows: [[Double]]) {
        var lines = text.split(separator: "\n").map(String.init)
        guard !lines.isEmpty else { return ([], []) }
        let header = lines.removeFirst().split(separator: ",").map(String.init)
        let rows = lines.map { $0.split(separator: ",").map { Double($0) ?? .nan } }
        return (header, rows)
    }
}
