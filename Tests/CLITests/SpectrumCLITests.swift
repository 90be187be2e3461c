import Foundation
import Testing

@Suite struct SpectrumCLITests {
    /// GOE 50×50: 50 rows of `index,eigenvalue`, descending, trace-free-ish spectrum inside [−2.5, 2.5].
    @Test func randomSymmetricDenseCSV() throws {
        let r = try RiverCLI.run(["spectrum", "--random-symmetric", "50", "--seed", "3"])
        #expect(r.status == 0, "\(r.stderr)")
        let (header, rows) = RiverCLI.parseCSV(r.stdout)
        #expect(header == ["index", "eigenvalue"])
        #expect(rows.count == 50 && rows.allSatisfy { $0.count == 2 })
        let values = rows.map { $0[1] }
        #expect(zip(values, values.dropFirst()).allSatisfy { $0 >= $1 })
        #expect(values.allSatisfy { abs($0) < 2.5 })
        #expect(r.stderr.contains(" s"))
    }

    /// Lanczos top 3 (40 steps on a 60×60 matrix) equals the dense top 3 to 1e-8 (independent dsyevd).
    @Test func lanczosMatchesDense() throws {
        let dense = try RiverCLI.run(["spectrum", "--random-symmetric", "60", "--seed", "9", "--top", "3"])
        let lanczos = try RiverCLI.run(["spectrum", "--random-symmetric", "60", "--seed", "9", "--method", "lanczos",
                                        "--top", "3", "--iterations", "40"])
        #expect(dense.status == 0 && lanczos.status == 0, "\(lanczos.stderr)")
        let d = RiverCLI.parseCSV(dense.stdout).rows.map { $0[1] }, l = RiverCLI.parseCSV(lanczos.stdout).rows.map { $0[1] }
        #expect(d.count == 3 && l.count == 3)
        for (x, y) in zip(d, l) { #expect(abs(x - y) < 1e-8) }
    }

    /// --write-matrix dumps N² little-endian doubles whose trace equals the sum of the printed eigenvalues.
    @Test func writeMatrixAndJSON() throws {
        let dir = try RiverCLI.temporaryDirectory()
        let path = dir.appendingPathComponent("m.bin").path
        let r = try RiverCLI.run(["spectrum", "--random-symmetric", "20", "--seed", "1", "--json", "--write-matrix", path])
        #expect(r.status == 0, "\(r.stderr)")
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(data.count == 20 * 20 * 8)
        let m = data.withUnsafeBytes { Array($0.bindMemory(to: Double.self)) }
        let trace = (0..<20).map { m[$0 * 21] }.reduce(0, +)
        let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        let values = obj["eigenvalues"] as! [Double]
        #expect(values.count == 20 && obj["seconds"] is Double)
        #expect(abs(values.reduce(0, +) - trace) < 1e-12)
    }

    @Test func slqDensityCSV() throws {
        let r = try RiverCLI.run(["spectrum", "--random-symmetric", "80", "--method", "slq", "--grid-points", "64"])
        #expect(r.status == 0, "\(r.stderr)")
        let (header, rows) = RiverCLI.parseCSV(r.stdout)
        #expect(header == ["lambda", "density"] && rows.count == 64)
        let h = rows[1][0] - rows[0][0]
        #expect(abs(h * rows.map { $0[1] }.reduce(0, +) - 1) < 0.05)
    }

    /// Straight valley with a linear river: the Hessian is diag(0, λ, …, λ) in closed form (to 1e-12).
    @Test func straightValleyOnRiverClosedForm() throws {
        let r = try RiverCLI.run(["spectrum", "--landscape", "straight-valley", "--dim", "5", "--hill-curvature", "4",
                                  "--river-slope", "0.3", "--on-river", "0.5"])
        #expect(r.status == 0, "\(r.stderr)")
        let values = RiverCLI.parseCSV(r.stdout).rows.map { $0[1] }
        #expect(values.count == 5)
        for (v, e) in zip(values, [4.0, 4, 4, 4, 0]) { #expect(abs(v - e) < 1e-12) }
    }

    /// Power river ℓ = A(1+x)^(−α) on the river at x = 1: eigenvalues λ (×3) and ℓ''(1) = Aα(α+1)·2^(−α−2).
    @Test func powerRiverCurvatureClosedForm() throws {
        let r = try RiverCLI.run(["spectrum", "--landscape", "straight-valley", "--dim", "4", "--hill-curvature", "10",
                                  "--river-profile", "power", "--power-amplitude", "2", "--power-exponent", "0.5",
                                  "--on-river", "1"])
        #expect(r.status == 0, "\(r.stderr)")
        let values = RiverCLI.parseCSV(r.stdout).rows.map { $0[1] }
        let riverCurvature = 2 * 0.5 * 1.5 * pow(2, -2.5)
        #expect(values.count == 4)
        for (v, e) in zip(values, [10, 10, 10, riverCurvature]) { #expect(abs(v - e) < 1e-9 * max(1, e)) }
    }

    /// Off the river of a curved valley: Lanczos on the HVP equals dsyevd on the dense Hessian (1e-10).
    @Test func curvedValleyLanczosMatchesDense() throws {
        let common = ["spectrum", "--landscape", "curved-valley", "--dim", "4", "--at", "0.2,0.1,-0.3,0.4"]
        let dense = try RiverCLI.run(common)
        let lanczos = try RiverCLI.run(common + ["--method", "lanczos", "--top", "4"])
        #expect(dense.status == 0 && lanczos.status == 0, "\(lanczos.stderr)")
        let d = RiverCLI.parseCSV(dense.stdout).rows.map { $0[1] }, l = RiverCLI.parseCSV(lanczos.stdout).rows.map { $0[1] }
        #expect(d.count == 4 && l.count == 4)
        for (x, y) in zip(d, l) { #expect(abs(x - y) < 1e-10 * max(1, abs(x))) }
    }

    @Test(arguments: [
        (["spectrum", "--random-symmetric", "0"], "--random-symmetric 0"),
        (["spectrum", "--random-symmetric", "5", "--method", "qr"], "qr"),
        (["spectrum", "--random-symmetric", "5", "--top", "0"], "--top 0"),
        (["spectrum"], "exactly one of"),
        (["spectrum", "--landscape", "moon-valley", "--dim", "3"], "moon-valley"),
        (["spectrum", "--landscape", "quadratic", "--dim", "3", "--at", "1,2"], "--at '1,2'"),
        (["spectrum", "--landscape", "straight-valley", "--dim", "3", "--hill-curvature=-1"], "-1"),
    ])
    func badInputFailsWithMessage(args: [String], mention: String) throws {
        let r = try RiverCLI.run(args)
        #expect(r.status != 0)
        #expect(r.stdout.isEmpty)
        #expect(r.stderr.contains(mention), "\(r.stderr)")
    }

    @Test func badWriteMatrixPathLeavesNothing() throws {
        let dir = try RiverCLI.temporaryDirectory()
        let path = dir.appendingPathComponent("missing/m.bin").path
        let r = try RiverCLI.run(["spectrum", "--random-symmetric", "5", "--write-matrix", path])
        #expect(r.status != 0 && r.stdout.isEmpty)
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}
