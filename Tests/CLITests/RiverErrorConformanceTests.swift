import Foundation
import Testing

/// Every error type the toolkit declares is a `RiverError` (LinearAlgebra/RiverError.swift), so the `river`
/// command reports it as `error: <description>` without a usage line (docs/cli.md, "Errors and output").
/// The check reads the sources: a type declared `: Error` must declare `RiverError` too or get it in an
/// `extension [Outer.]Name: RiverError` somewhere under Sources/. A new error type that is not a runtime
/// failure (an argument parse error) goes into `argumentErrors` with its reason.
@Suite struct RiverErrorConformanceTests {
    /// Error types that are argument errors, reported by ArgumentParser with the usage line.
    static let argumentErrors: [String: String] = [
        "ParseError": "CommaList.ParseError: a bad list element, thrown inside ArgumentParser's option transform",
    ]

    @Test func everyErrorTypeIsARiverError() throws {
        let root = VocabularyTests.repositoryRoot.appendingPathComponent("Sources")
        guard let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else {
            throw CLITestError("cannot list \(root.path)")
        }
        var sources: [(String, String)] = []
        for case let url as URL in files where url.pathExtension == "swift" {
            // Without line comments, so a commented-out conformance does not count.
            let text = try String(contentsOf: url, encoding: .utf8)
            sources.append((url.path, text.split(separator: "\n", omittingEmptySubsequences: false)
                .map { line in line.range(of: "//").map { String(line[..<$0.lowerBound]) } ?? String(line) }
                .joined(separator: "\n")))
        }
        #expect(sources.count > 50, "found only \(sources.count) Swift files under \(root.path)")
        let all = sources.map(\.1).joined(separator: "\n")
        let declaration = try NSRegularExpression(pattern: #"(?:struct|enum|class)\s+(\w+)\s*(?:<[^>{]*>)?\s*:([^{]*)\{"#)
        var found = 0
        for (path, text) in sources {
            let range = NSRange(text.startIndex..., in: text)
            for m in declaration.matches(in: text, range: range) {
                let name = String(text[Range(m.range(at: 1), in: text)!])
                let inherits = text[Range(m.range(at: 2), in: text)!].split(separator: ",").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
                guard inherits.contains("Error") || inherits.contains("RiverError") else { continue }
                found += 1
                if inherits.contains("RiverError") || Self.argumentErrors[name] != nil { continue }
                let conformance = try NSRegularExpression(pattern: #"extension\s+(?:[\w.]+\.)?"# + name + #"\s*:\s*[^{]*\bRiverError\b"#)
                let conforms = conformance.firstMatch(in: all, range: NSRange(all.startIndex..., in: all)) != nil
                #expect(conforms, "\(name) (\(path.replacingOccurrences(of: root.path + "/", with: ""))) is an Error but not a RiverError: add `extension \(name): RiverError {}` to the module's RiverErrors.swift (or, for an argument error, list it in RiverErrorConformanceTests.argumentErrors)")
            }
        }
        #expect(found >= 13, "found only \(found) error types; the declaration pattern no longer matches the sources")
    }
}
