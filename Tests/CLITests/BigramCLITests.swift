import Foundation
import Testing

/// `river bigram …` end to end. References are closed forms: at W = 0 the table model predicts uniformly,
/// so loss = log V, gradient = πᵢ(1/V − Pᵢ), Hessian blocks πᵢ(I/V − 11ᵀ/V²) with eigenvalues πᵢ/V
/// (V−1 times) and 0, trace Σπᵢ(1 − 1/V).
@Suite("river bigram CLI")
struct BigramCLITests {
    /// A minimal safetensors file of F64 tensors, written independently of the toolkit's writer.
    static func safetensors(_ tensors: [(String, [Int], [Double])]) -> Data {
        var header = "{"
        var offset = 0
        var body = Data()
        for (k, (name, shape, values)) in tensors.enumerated() {
            let n = values.count * 8
            header += (k > 0 ? "," : "") + "\"\(name)\":{\"dtype\":\"F64\",\"shape\":\(shape),\"data_offsets\":[\(offset),\(offset + n)]}"
            offset += n
            for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { body.append(contentsOf: $0) } }
        }
        header += "}"
        var out = Data()
        withUnsafeBytes(of: UInt64(header.utf8.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: Array(header.utf8))
        out.append(body)
        return out
    }

    func json(_ s: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(s.utf8)) as! [String: Any]
    }

    @Test func evaluateAtUniformPrediction() throws {
        let dir = try RiverCLI.temporaryDirectory()
        let p: [[Double]] = [[1, 0, 0], [0.5, 0.5, 0], [0.2, 0.3, 0.5]]
        let f = [1.0, 2.0, 1.0]
        try p.map { $0.map { "\($0)" }.joined(separator: ",") }.joined(separator: "\n")
            .write(to: dir.appendingPathComponent("T.csv"), atomically: true, encoding: .utf8)
        try f.map { "\($0)" }.joined(separator: "\n").write(to: dir.appendingPathComponent("F.csv"), atomically: true, encoding: .utf8)
        try Self.safetensors([("W", [3, 3], [Double](repeating: 0, count: 9))]).write(to: dir.appendingPathComponent("P.safetensors"))
        let r = try RiverCLI.run(["bigram", "evaluate", "--transitions", dir.appendingPathComponent("T.csv").path,
                                  "--frequencies", dir.appendingPathComponent("F.csv").path, "--model", "table",
                                  "--parameters", dir.appendingPathComponent("P.safetensors").path])
        #expect(r.status == 0, "\(r.stderr)")
        let o = try json(r.stdout)
        let pi = f.map { $0 / 4 }
        #expect(abs((o["loss"] as! Double) - log(3.0)) <= 1e-14)
        let floor = pi[1] * log(2.0) - pi[2] * (0.2 * log(0.2) + 0.3 * log(0.3) + 0.5 * log(0.5))
        #expect(abs((o["entropy_floor"] as! Double) - floor) <= 1e-14)
        var g2 = 0.0
        for i in 0..<3 { for j in 0..<3 { g2 += pow(pi[i] * (1.0 / 3 - p[i][j]), 2) } }
        #expect(abs((o["gradient_norm"] as! Double) - g2.squareRoot()) <= 1e-14)
        let top = o["hessian_top"] as! [Double]
        let want = [pi[1] / 3, pi[1] / 3, pi[0] / 3, pi[0] / 3, pi[2] / 3]
        #expect(top.count == 5 && zip(top, want).allSatisfy { abs($0 - $1) <= 1e-15 })
        #expect(abs((o["hessian_trace"] as! Double) - 2.0 / 3) <= 1e-14)
    }

    @Test func generateTrainAnalyze() throws {
        let dir = try RiverCLI.temporaryDirectory()
        let gen = try RiverCLI.run(["bigram", "generate", "--vocab", "16", "--mix", "deterministic:1,uniform-4:1",
                                    "--data-seed", "3", "--out", dir.path])
        #expect(gen.status == 0, "\(gen.stderr)")
        // Half deterministic, half uniform-4: floor = ½ log 4.
        #expect(abs((try json(gen.stdout)["entropy_floor"] as! Double) - 0.5 * log(4.0)) <= 1e-14)
        let t = dir.appendingPathComponent("transitions.csv").path
        let out = dir.appendingPathComponent("train.csv").path
        let params = dir.appendingPathComponent("p.safetensors").path
        let train = try RiverCLI.run(["bigram", "train", "--transitions", t, "--model", "factorized", "--width", "4",
                                      "--optimizer", "adam", "--kind", "wsd", "--steps", "400", "--peak", "0.05",
                                      "--decay", "0.2", "--log-every", "50", "--eigen-every", "200",
                                      "--out", out, "--save-parameters", params])
        #expect(train.status == 0, "\(train.stderr)")
        let csv = RiverCLI.parseCSV(try String(contentsOfFile: out, encoding: .utf8))
        for c in ["step", "lr", "loss", "deterministic_loss", "uncertain_excess", "hill_loss", "distance_to_river", "top_eigenvalue"] {
            #expect(csv.header.contains(c))
        }
        let loss = csv.header.firstIndex(of: "loss")!
        #expect(csv.rows.count == 9 && csv.rows.last![loss] < csv.rows.first![loss] - 0.5)
        let an = try RiverCLI.run(["bigram", "analyze", "--transitions", t, "--model", "factorized", "--parameters", params,
                                   "--spectrum-out", dir.appendingPathComponent("s.csv").path])
        #expect(an.status == 0, "\(an.stderr)")
        let s = RiverCLI.parseCSV(try String(contentsOfFile: dir.appendingPathComponent("s.csv").path, encoding: .utf8))
        #expect(s.rows.count == 2 * 16 * 4 + 16)
        // Masses of each eigenvector sum to 1.
        #expect(s.rows.allSatisfy { abs($0[2] + $0[3] + $0[4] - 1) <= 1e-12 })
    }

    @Test func badInputFailsCleanly() throws {
        let dir = try RiverCLI.temporaryDirectory()
        let empty = dir.appendingPathComponent("empty.txt")
        try Data().write(to: empty)
        let out = dir.appendingPathComponent("o.csv").path
        let cases: [([String], String)] = [
            (["bigram", "generate", "--vocab", "4", "--mix", "uniform-5", "--out", dir.path], "k = 5 is not allowed"),
            (["bigram", "generate", "--vocab", "4", "--mix", "dirichlet--1", "--out", dir.path], "entropy -1.0 is not allowed"),
            (["bigram", "train", "--vocab", "4", "--mix", "deterministic", "--model", "factorized", "--width", "0", "--steps", "10", "--peak", "1",
              "--out", out], "d = 0 is not allowed"),
            (["bigram", "train", "--corpus", empty.path, "--steps", "10", "--peak", "1", "--out", out], "is empty"),
            (["bigram", "train", "--vocab", "4", "--mix", "deterministic", "--optimizer", "lion", "--steps", "10", "--peak", "1", "--out", out], "lion"),
        ]
        for (args, message) in cases {
            let r = try RiverCLI.run(args)
            #expect(r.status != 0 && r.stderr.contains(message), "\(args): \(r.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: out))
    }
}
