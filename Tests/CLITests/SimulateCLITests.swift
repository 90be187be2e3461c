import Foundation
import Testing

/// `river simulate` end to end: columns, closed-form river progress, bad input, divergence.
@Suite struct SimulateCLITests {
    static let base = ["simulate", "--landscape", "straight-valley", "--dim", "4", "--hill-curvature", "3",
                       "--river-slope", "0.2", "--noise", "0.5"]

    @Test func writesTheDocumentedColumns() throws {
        let dir = try RiverCLI.temporaryDirectory()
        let out = dir.appendingPathComponent("sim.csv")
        let r = try RiverCLI.run(Self.base + ["--optimizer", "gd", "--kind", "wsd", "--steps", "120", "--peak", "0.1",
                                              "--decay", "0.25", "--seed-count", "3", "--out", out.path])
        #expect(r.status == 0, "\(r.stderr)")
        let (header, rows) = RiverCLI.parseCSV(try String(contentsOf: out, encoding: .utf8))
        for c in ["step", "lr", "loss", "river_loss", "hill_loss", "distance_to_river", "river_coord", "cumulative_lr",
                  "loss_std", "theory_river_coord", "theory_hill_loss"] {
            #expect(header.contains(c), "missing column \(c)")
        }
        #expect(rows.count == 120)
        let x = header.firstIndex(of: "river_coord")!, cum = header.firstIndex(of: "cumulative_lr")!
        // GD on the linear river: x = s·Σ η (closed form), to 1e-12.
        for row in rows { #expect(abs(row[x] - 0.2 * row[cum]) <= 1e-12 * max(1, row[x])) }
        #expect(rows.allSatisfy { $0.allSatisfy { $0.isFinite } })
    }

    @Test(arguments: [
        (["--landscape", "bumpy-valley"], "bumpy-valley"),
        (["--noise", "-1"], "-1"),
        (["--optimizer", "lion"], "lion"),
        (["--hill-curvature", "0"], "0.0"),
    ]) func badInputFailsClearlyWithoutFile(_ extra: [String], _ named: String) throws {
        let dir = try RiverCLI.temporaryDirectory()
        let out = dir.appendingPathComponent("bad.csv")
        let r = try RiverCLI.run(Self.base + ["--optimizer", "sgd", "--kind", "constant", "--steps", "10", "--peak", "0.1",
                                              "--out", out.path] + extra)
        #expect(r.status != 0)
        #expect(r.stderr.contains(named), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }

    @Test func unwritablePathFails() throws {
        let r = try RiverCLI.run(Self.base + ["--kind", "constant", "--steps", "10", "--peak", "0.1",
                                              "--out", "/nonexistent-dir/x.csv"])
        #expect(r.status != 0 && r.stderr.contains("/nonexistent-dir"))
    }

    @Test func divergenceExitsWithoutATable() throws {
        let dir = try RiverCLI.temporaryDirectory()
        let out = dir.appendingPathComponent("div.csv")
        let r = try RiverCLI.run(Self.base + ["--optimizer", "sgd", "--kind", "constant", "--steps", "500", "--peak", "0.9",
                                              "--out", out.path])
        #expect(r.status == 3)
        #expect(r.stderr.contains("diverged") && r.stderr.contains("stability limit"))
        #expect(!FileManager.default.fileExists(atPath: out.path))
    }
}
