import Foundation
import Testing
@testable import Experiments
import RiverValley

/// The figure contract: every experiment, run at smoke scale, writes exactly the files it declares
/// (`Experiment.outputs`), each with exactly the declared columns, at least one row, and in the text
/// columns with declared values only those values (one naming case: the CLI's kebab-case raw values).
@Suite(.serialized) struct FigureContractTests {
    @Test func declarationsAreUniqueAndNonEmpty() {
        let contract = ExperimentContract.all
        #expect(Set(contract.map(\.name)).count == contract.count)
        for e in contract {
            #expect(!e.outputs.isEmpty, "\(e.name) declares no output")
            #expect(Set(e.outputs.map(\.file)).count == e.outputs.count, "\(e.name) declares a file twice")
            for o in e.outputs {
                #expect(Set(o.columns).count == o.columns.count, "\(e.name)/\(o.file) declares a column twice")
                for (column, values) in o.values {
                    #expect(o.columns.contains(column), "\(e.name)/\(o.file): values for undeclared column \(column)")
                    #expect(!values.contains { $0.contains("_") && ["schedule", "run"].contains(column) },
                            "\(e.name)/\(o.file): \(column) values must be kebab-case")
                }
            }
        }
    }

    @Test func smokeRunWritesExactlyTheDeclaredFilesAndColumns() throws {
        guard FileManager.default.fileExists(atPath: URL(fileURLWithPath: ProcessInfo.processInfo.environment["RIVER_DATA"] ?? "data")
            .appendingPathComponent("shakespeare.txt").path) else {
            Issue.record("the trainer experiments need the Shakespeare corpus in data/ (scripts/fetch_corpora.sh)")
            return
        }
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("river-contract-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        for e in allExperiments {
            let dir = root.appendingPathComponent(e.name)
            try e.run(ExperimentSettings(outputDirectory: dir, quick: true, smoke: true, seed: 0))
            let written = Set(try FileManager.default.contentsOfDirectory(atPath: dir.path))
            #expect(written == Set(e.outputs.map(\.file)), "\(e.name) wrote \(written.sorted())")
            for o in e.outputs where written.contains(o.file) {
                let text = try String(contentsOf: dir.appendingPathComponent(o.file), encoding: .utf8)
                let lines = text.split(separator: "\n").filter { !$0.hasPrefix("#") }.map(String.init)
                let header = lines.first.map(Self.cells) ?? []
                #expect(header == o.columns, "\(e.name)/\(o.file) header \(header)")
                #expect(lines.count > 1, "\(e.name)/\(o.file) has no rows")
                for line in lines.dropFirst() {
                    let row = Self.cells(line)
                    #expect(row.count == header.count, "\(e.name)/\(o.file): row \(line)")
                    for (column, allowed) in o.values {
                        guard let j = header.firstIndex(of: column), j < row.count else { continue }
                        #expect(allowed.contains(row[j]), "\(e.name)/\(o.file): \(column) = '\(row[j])' is not declared")
                    }
                }
            }
        }
    }

    /// The cells of one CSV line (RFC 4180 quotes, as CSVTable writes them).
    static func cells(_ line: String) -> [String] {
        var out: [String] = [], cell = "", quoted = false
        var chars = Array(line)[...]
        while let c = chars.popFirst() {
            if quoted {
                if c == "\"" { if chars.first == "\"" { cell.append("\""); chars.removeFirst() } else { quoted = false } }
                else { cell.append(c) }
            } else if c == "\"" { quoted = true }
            else if c == "," { out.append(cell); cell = "" }
            else { cell.append(c) }
        }
        out.append(cell)
        return out
    }
}
