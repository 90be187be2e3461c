import Foundation
import Testing

/// `river analyze` end to end: a tiny run trained in the test, then the commands and their errors.
@Suite("river analyze CLI", .serialized)
struct AnalyzeCLITests {
    /// A 20-step run of a very small model (checkpoints at 10 and 20), a second run of another width,
    /// and the corpus.
    nonisolated(unsafe) static let fixture: (dir: URL, a: String, b: String, other: String, text: String) = {
        let dir = try! RiverCLI.temporaryDirectory()
        let words = ["the", "river", "valley", "hill", "loss", "rate", "decay", "stable", "king", "thou", "art", "of"]
        var state: UInt64 = 99
        var text = ""
        while text.utf8.count < 30_000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            text += words[Int(state >> 60) % words.count] + ((state >> 40) % 9 == 0 ? ".\n" : " ")
        }
        let corpus = dir.appendingPathComponent("corpus.txt")
        try! text.write(to: corpus, atomically: true, encoding: .utf8)
        func train(_ name: String, width: Int) -> URL {
            let config = dir.appendingPathComponent("\(name).json")
            try! """
            {"model": {"vocabSize": 256, "contextLength": 16, "width": \(width), "layers": 1, "heads": 2, "mlpHidden": 16},
             "data": {"corpus": "\(corpus.path)", "splitBlock": 512}, "batchSize": 4,
             "schedule": {"kind": "constant", "steps": 20, "peak": 0.01},
             "evalEvery": 0, "evalWindows": 2, "checkpointEvery": 10, "keepLast": 5}
            """.write(to: config, atomically: true, encoding: .utf8)
            let run = dir.appendingPathComponent(name)
            let r = try! RiverCLI.run(["train", "--out", run.path, "--config", config.path, "--quiet"])
            precondition(r.status == 0, r.stderr)
            return run.appendingPathComponent("checkpoints")
        }
        let main = train("main", width: 8), other = train("other", width: 12)
        return (dir, main.appendingPathComponent("step-000010.safetensors").path,
                main.appendingPathComponent("step-000020.safetensors").path,
                other.appendingPathComponent("step-000020.safetensors").path, corpus.path)
    }()

    @Test("interpolate: CSV alpha,loss on the extended grid; alpha = 0 and 1 print exactly river eval's losses")
    func interpolateEndsEqualEval() throws {
        let f = Self.fixture
        let r = try RiverCLI.run(["analyze", "interpolate", "--from", f.a, "--to", f.b, "--text", f.text,
                                  "--max-bytes", "1000", "--points", "5", "--extend", "0.5"])
        #expect(r.status == 0, "\(r.stderr)")
        let (header, rows) = RiverCLI.parseCSV(r.stdout)
        #expect(header == ["alpha", "loss"])
        #expect(rows.map { $0[0] } == [-0.5, -0.25, 0, 0.25, 0.5, 0.75, 1, 1.25, 1.5])
        func evalLoss(_ ck: String) throws -> String {
            let e = try RiverCLI.run(["eval", "--checkpoint", ck, "--text", f.text, "--max-bytes", "1000"])
            let json = try JSONSerialization.jsonObject(with: Data(e.stdout.utf8)) as! [String: Any]
            return "\(json["loss"] as! Double)"
        }
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines[3] == "0.0,\(try evalLoss(f.a))")
        #expect(lines[7] == "1.0,\(try evalLoss(f.b))")
    }

    @Test("hessian prints the JSON fields; eigenvalues descending (ascending with --bottom); --density writes lambda,density")
    func hessianJSON() throws {
        let f = Self.fixture
        let density = f.dir.appendingPathComponent("density.csv")
        let r = try RiverCLI.run(["analyze", "hessian", "--checkpoint", f.b, "--text", f.text, "--max-bytes", "300",
                                  "--top", "3", "--iterations", "12", "--trace-probes", "3", "--density", density.path,
                                  "--density-runs", "2", "--seed", "1"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        for key in ["step", "loss", "eigenvalues", "trace", "trace_stderr", "hvp_seconds", "parameters"] {
            #expect(json[key] != nil, "missing \(key)")
        }
        let ev = json["eigenvalues"] as! [Double]
        #expect(ev.count == 3 && ev == ev.sorted(by: >) && json["step"] as? Int == 20)
        #expect(json["threshold"] is NSNull)  // only with --preconditioned
        let csv = try String(contentsOf: density, encoding: .utf8)
        #expect(csv.hasPrefix("lambda,density\n"))
        let b = try RiverCLI.run(["analyze", "hessian", "--checkpoint", f.b, "--text", f.text, "--max-bytes", "300",
                                  "--top", "2", "--iterations", "12", "--trace-probes", "0", "--bottom", "--preconditioned"])
        #expect(b.status == 0, "\(b.stderr)")
        let bj = try JSONSerialization.jsonObject(with: Data(b.stdout.utf8)) as! [String: Any]
        let bev = bj["eigenvalues"] as! [Double]
        #expect(bev == bev.sorted() && bj["trace"] is NSNull && (bj["threshold"] as? Double ?? 0) > 0)
    }

    @Test("bad input: missing or corrupt checkpoint, different architectures, too-short text, --points 1, NaN, every command has --help with an example")
    func badInput() throws {
        let f = Self.fixture
        func fails(_ args: [String], _ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let r = try RiverCLI.run(["analyze"] + args)
            #expect(r.status != 0, "accepted: \(args)", sourceLocation: sourceLocation)
            #expect(r.stderr.contains(text), "stderr: \(r.stderr)", sourceLocation: sourceLocation)
        }
        try fails(["hessian", "--checkpoint", f.dir.appendingPathComponent("nope.safetensors").path, "--text", f.text], "does not exist")
        let corrupt = f.dir.appendingPathComponent("corrupt.safetensors")
        try Data("not a checkpoint".utf8).write(to: corrupt)
        try fails(["hessian", "--checkpoint", corrupt.path, "--text", f.text], "cannot be read")
        try fails(["interpolate", "--from", f.a, "--to", f.other, "--text", f.text], "different architectures")
        let one = f.dir.appendingPathComponent("one.txt")
        try "x".write(to: one, atomically: true, encoding: .utf8)
        try fails(["hessian", "--checkpoint", f.a, "--text", one.path], "at least 2 tokens")
        try fails(["interpolate", "--from", f.a, "--to", f.b, "--text", f.text, "--points", "1"], "--points must be at least 2")
        try fails(["interpolate", "--from", f.a, "--to", f.b, "--text", f.text, "--extend", "nan"], "--extend must be finite")
        try fails(["hessian", "--checkpoint", f.a, "--text", f.text, "--top", "5", "--iterations", "3"], "--iterations (3) must be at least --top (5)")
        try fails(["hessian", "--checkpoint", f.a, "--text", f.text, "--max-bytes", "1"], "--max-bytes must be at least 2")
        for command in ["hessian", "interpolate"] {
            let h = try RiverCLI.run(["analyze", command, "--help"])
            #expect(h.status == 0 && h.stdout.contains("Example:") && h.stdout.contains("river analyze \(command)"))
        }
    }
}
