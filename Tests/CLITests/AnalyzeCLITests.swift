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
            let r = try! TrainFixture.train(run, config: config, ["--quiet"])
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
        let r = try RiverCLI.run(["analyze", "interpolate", "--checkpoints", f.a + "," + f.b, "--text", f.text,
                                  "--max-bytes", "1000", "--points", "5", "--extend", "0.5"])
        #expect(r.status == 0, "\(r.stderr)")
        let (header, rows) = RiverCLI.parseCSV(r.stdout)
        #expect(header == ["alpha", "loss"])
        #expect(rows.map { $0[0] } == [-0.5, -0.25, 0, 0.25, 0.5, 0.75, 1, 1.25, 1.5])
        func evalLoss(_ ck: String) throws -> String {
            let e = try RiverCLI.run(["eval", "--checkpoint", ck, "--text", f.text, "--max-bytes", "1000"])
            return "\(RiverCLI.jsonNumber(e.stdout, "loss")!)"
        }
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(lines[3] == "0,\(try evalLoss(f.a))")
        #expect(lines[7] == "1,\(try evalLoss(f.b))")
    }

    @Test("hessian prints the JSON fields; eigenvalues descending (ascending with --bottom); --density writes lambda,density")
    func hessianJSON() throws {
        let f = Self.fixture
        let density = f.dir.appendingPathComponent("density.csv")
        let r = try RiverCLI.run(["analyze", "hessian", "--checkpoint", f.b, "--text", f.text, "--max-bytes", "300",
                                  "--top", "3", "--iterations", "12", "--trace-probes", "3", "--density", density.path,
                                  "--probes", "2", "--seed", "1"])
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
        try fails(["interpolate", "--checkpoints", f.a + "," + f.other, "--text", f.text], "different architectures")
        let one = f.dir.appendingPathComponent("one.txt")
        try "x".write(to: one, atomically: true, encoding: .utf8)
        try fails(["hessian", "--checkpoint", f.a, "--text", one.path], "at least 2 tokens")
        try fails(["interpolate", "--checkpoints", f.a + "," + f.b, "--text", f.text, "--points", "1"], "--points must be at least 2")
        try fails(["interpolate", "--checkpoints", f.a + "," + f.b, "--text", f.text, "--extend", "nan"], "--extend must be finite")
        try fails(["hessian", "--checkpoint", f.a, "--text", f.text, "--top", "5", "--iterations", "3"], "--iterations (3) must be at least --top (5)")
        try fails(["hessian", "--checkpoint", f.a, "--text", f.text, "--max-bytes", "1"], "--max-bytes must be at least 2")
        for command in ["hessian", "interpolate", "tokens", "noise", "sharpness", "decay-probe"] {
            let h = try RiverCLI.run(["analyze", command, "--help"])
            #expect(h.status == 0 && h.stdout.contains("Example:") && h.stdout.contains("river analyze \(command)"))
        }
    }

    @Test("tokens: one row per checkpoint and bucket; buckets hold every token once; weighted means equal river eval")
    func tokensCSV() throws {
        let f = Self.fixture
        for source in ["ngram", "model:\(f.a)"] {
            let r = try RiverCLI.run(["analyze", "tokens", "--checkpoints", "\(f.a),\(f.b)", "--text", f.text,
                                      "--max-bytes", "800", "--uncertainty", source, "--buckets", "4"])
            #expect(r.status == 0, "\(r.stderr)")
            let lines = r.stdout.split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
            #expect(lines[0] == ["checkpoint", "step", "bucket", "uncertainty_lo", "uncertainty_hi", "tokens", "mean_loss"])
            #expect(lines.count == 9)
            for (ck, rows) in [(f.a, lines[1...4]), (f.b, lines[5...8])] {
                #expect(rows.allSatisfy { $0[0] == ck })
                #expect(rows.map { Int($0[5])! }.reduce(0, +) == 799)
                let weighted = rows.reduce(0.0) { $0 + Double($1[5])! * Double($1[6])! } / 799
                let e = try RiverCLI.run(["eval", "--checkpoint", ck, "--text", f.text, "--max-bytes", "800"])
                let eval = (try JSONSerialization.jsonObject(with: Data(e.stdout.utf8)) as! [String: Any])["loss"] as! Double
                #expect(abs(weighted - eval) <= 1e-9 * eval)
            }
        }
        let bad = try RiverCLI.run(["analyze", "tokens", "--checkpoints", "\(f.a),,\(f.b)", "--text", f.text])
        #expect(bad.status != 0 && bad.stderr.contains("is empty"))
        let src = try RiverCLI.run(["analyze", "tokens", "--checkpoints", f.a, "--text", f.text, "--uncertainty", "bigram"])
        #expect(src.status != 0 && src.stderr.contains("uncertainty"))
    }

    @Test("noise: JSON traces with standard errors; per example = batch size × per batch; odd --batches rejected")
    func noiseJSON() throws {
        let f = Self.fixture
        let r = try RiverCLI.run(["analyze", "noise", "--checkpoint", f.b, "--batches", "6", "--batch-size", "3", "--seed", "2"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        let batch = json["trace_per_batch"] as! [String: Double], example = json["trace_per_example"] as! [String: Double]
        #expect(batch["estimate"]! > 0 && batch["stderr"]! > 0 && abs(example["estimate"]! - 3 * batch["estimate"]!) <= 1e-12 * example["estimate"]!)
        #expect(json["trace_per_batch_preconditioned"] is [String: Double])
        let bad = try RiverCLI.run(["analyze", "noise", "--checkpoint", f.b, "--batches", "5"])
        #expect(bad.status != 0 && bad.stderr.contains("--batches must be an even number"))
    }

    @Test("sharpness: one row per checkpoint; lambda_max equals analyze hessian's; Adam threshold (2+2b1)/((1-b1) lr)")
    func sharpnessCSV() throws {
        let f = Self.fixture
        let run = URL(fileURLWithPath: f.b).deletingLastPathComponent().deletingLastPathComponent().path
        let r = try RiverCLI.run(["analyze", "sharpness", "--run", run, "--text", f.text, "--max-bytes", "300",
                                  "--iterations", "15"])
        #expect(r.status == 0, "\(r.stderr)")
        let (header, rows) = RiverCLI.parseCSV(r.stdout)
        #expect(header == ["step", "lr", "loss", "lambda_max", "lambda_max_preconditioned", "threshold"])
        #expect(rows.map { $0[0] } == [10, 20])
        #expect(rows.allSatisfy { $0[1] == 0.01 && abs($0[5] - 3.8 / (0.1 * 0.01)) < 1e-9 })
        let h = try RiverCLI.run(["analyze", "hessian", "--checkpoint", f.b, "--text", f.text, "--max-bytes", "300",
                                  "--top", "1", "--iterations", "15", "--trace-probes", "0"])
        let ev = (try JSONSerialization.jsonObject(with: Data(h.stdout.utf8)) as! [String: Any])["eigenvalues"] as! [Double]
        #expect(rows[1][3] == ev[0])
        let none = try RiverCLI.run(["analyze", "sharpness", "--run", f.dir.path, "--text", f.text])
        #expect(none.status != 0 && none.stderr.contains("not a run directory"))
    }

    @Test("sharpness --runs: a run column; each run's rows equal its --run output")
    func sharpnessSeveralRuns() throws {
        let f = Self.fixture
        let main = URL(fileURLWithPath: f.b).deletingLastPathComponent().deletingLastPathComponent().path
        let other = URL(fileURLWithPath: f.other).deletingLastPathComponent().deletingLastPathComponent().path
        func rows(_ args: [String]) throws -> [String] {
            let r = try RiverCLI.run(["analyze", "sharpness", "--text", f.text, "--max-bytes", "300", "--iterations", "6"] + args)
            #expect(r.status == 0, "\(r.stderr)")
            return r.stdout.split(separator: "\n").map(String.init)
        }
        // Checkpoints of different architectures in one table are refused (one token stream, one tokenizer).
        let mixed = try RiverCLI.run(["analyze", "sharpness", "--runs", "\(main),\(other)", "--text", f.text, "--max-bytes", "300"])
        #expect(mixed.status != 0 && mixed.stderr.contains("different architectures"), "\(mixed.stderr)")
        let both = try rows(["--runs", "\(main),\(main)"])
        let single = try rows(["--run", main])
        #expect(both[0] == "run," + single[0])
        #expect(both.count == 1 + 2 * (single.count - 1))
        for (i, line) in single.dropFirst().enumerated() {
            #expect(both[1 + i] == "\(main),\(line)")
            #expect(both[single.count + i] == "\(main),\(line)")
        }
        let neither = try RiverCLI.run(["analyze", "sharpness", "--text", f.text])
        #expect(neither.status != 0 && neither.stderr.contains("exactly one of --run"))
    }

    /// `river eval`'s loss of a checkpoint on the fixture text's first 2000 bytes.
    static func evalLoss(_ checkpoint: String) throws -> Double {
        let e = try RiverCLI.run(["eval", "--checkpoint", checkpoint, "--text", fixture.text, "--max-bytes", "2000"])
        precondition(e.status == 0, e.stderr)
        // Parsed with Double(String), exact: Foundation's JSONSerialization on Linux can land one ulp off
        // (0.21634307988230178 → 0.21634307988230175), which broke the exact comparisons below.
        return RiverCLI.jsonNumber(e.stdout, "loss")!
    }

    @Test("decay-probe: measured drop equals river branch + river eval; prediction = (lr_before - lr_after) Tr(P^-1/2 Sigma P^-1/2)/4; rerun reuses the branch; another branch at --out is refused untouched")
    func decayProbe() throws {
        let f = Self.fixture
        let main = URL(fileURLWithPath: f.b).deletingLastPathComponent().deletingLastPathComponent()
        let probe = f.dir.appendingPathComponent("probe-10")
        let args = ["analyze", "decay-probe", "--run", main.path, "--step", "10", "--decay", "5", "--out", probe.path,
                    "--text", f.text, "--max-bytes", "2000", "--batches", "6", "--quiet"]
        let r = try RiverCLI.run(args)
        #expect(r.status == 0, "\(r.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]

        // The same branch by `river branch`, evaluated by `river eval`.
        let branch = f.dir.appendingPathComponent("branch-10")
        let b = try RiverCLI.run(["branch", "--parent", main.path, "--step", "10", "--decay", "5", "--out", branch.path, "--quiet"])
        #expect(b.status == 0, "\(b.stderr)")
        #expect(try Data(contentsOf: branch.appendingPathComponent("config.json")) == Data(contentsOf: probe.appendingPathComponent("config.json")))
        let before = try Self.evalLoss(main.appendingPathComponent("checkpoints/step-000010.safetensors").path)
        let after = try Self.evalLoss(branch.appendingPathComponent("checkpoints/step-000015.safetensors").path)
        #expect(RiverCLI.jsonNumber(r.stdout, "loss_before") == before && RiverCLI.jsonNumber(r.stdout, "loss_after") == after)
        #expect(RiverCLI.jsonNumber(r.stdout, "measured_drop") == before - after)
        #expect(json["budget"] as? Int == 15 && json["decay_steps"] as? Int == 5 && json["step"] as? Int == 10)
        // The parent has no checkpoint at 15: no constant-LR comparison.
        #expect(json["loss_constant"] is NSNull && json["drop_vs_constant"] is NSNull)

        // The prediction: the hill term with the preconditioned noise trace (the fixture trains AdamW).
        let lrBefore = RiverCLI.jsonNumber(r.stdout, "lr_before")!, lrAfter = RiverCLI.jsonNumber(r.stdout, "lr_after")!
        // lr_after is the branch schedule's LR at its last update (step 14), as `river schedule` prints it.
        let sched = try RiverCLI.run(["schedule", "--kind", "wsd", "--steps", "15", "--peak", "0.01", "--decay", "5",
                                      "--shape", "inv", "--min-ratio", "0.1"])
        #expect(lrBefore == 0.01 && RiverCLI.parseCSV(sched.stdout).rows.last! == [14, lrAfter], "\(sched.stdout)")
        let noise = json["noise_trace_preconditioned"] as! [String: Double]
        let predicted = json["predicted_drop"] as! Double
        #expect(abs(predicted - (lrBefore - lrAfter) * noise["estimate"]! / 4) <= 1e-12 * abs(predicted))
        #expect(abs((json["predicted_drop_stderr"] as! Double) - (lrBefore - lrAfter) * noise["stderr"]! / 4) <= 1e-12 * predicted)
        #expect(abs((json["ratio"] as! Double) - (before - after) / predicted) <= 1e-12 * abs((before - after) / predicted))
        let raw = json["noise_trace"] as! [String: Double]
        #expect(abs((json["predicted_drop_sgd"] as! Double) - (lrBefore - lrAfter) * raw["estimate"]! / 4) <= 1e-12 * (json["predicted_drop_sgd"] as! Double))

        // Rerunning reuses the finished branch (nothing retrained or rewritten) and reports the same.
        let ckURL = probe.appendingPathComponent("checkpoints/step-000015.safetensors")
        let bytes = try Data(contentsOf: ckURL)
        let modified = try FileManager.default.attributesOfItem(atPath: ckURL.path)[.modificationDate] as! Date
        let again = try RiverCLI.run(args)
        #expect(again.status == 0 && again.stdout == r.stdout, "\(again.stderr)")
        #expect(try Data(contentsOf: ckURL) == bytes)
        #expect(try FileManager.default.attributesOfItem(atPath: ckURL.path)[.modificationDate] as! Date == modified)

        // Another branch at the same --out: refused, and the directory is left as it was.
        let other = try RiverCLI.run(["analyze", "decay-probe", "--run", main.path, "--step", "10", "--decay", "4",
                                      "--out", probe.path, "--text", f.text, "--max-bytes", "2000", "--batches", "6", "--quiet"])
        #expect(other.status != 0 && other.stderr.contains("already holds a different run"), "\(other.stderr)")
        #expect(try Data(contentsOf: ckURL) == bytes)
        #expect(try MetricsLines.count(probe) == 5)

        // Without --out the branch goes beside the run, named after the fork and the decay.
        let defaulted = try RiverCLI.run(Array(args.filter { $0 != "--out" && $0 != probe.path }))
        let sibling = main.deletingLastPathComponent().appendingPathComponent(main.lastPathComponent + "-probe-10-inv-5")
        #expect(defaulted.status == 0, "\(defaulted.stderr)")
        let reported = try JSONSerialization.jsonObject(with: Data(defaulted.stdout.utf8)) as! [String: Any]
        #expect(reported["branch"] as? String == sibling.path && reported["measured_drop"] as? Double == json["measured_drop"] as? Double)
        #expect(try Data(contentsOf: sibling.appendingPathComponent("config.json")) == Data(contentsOf: probe.appendingPathComponent("config.json")))

        // Bad input fails before anything is written (each case replaces or adds one option).
        func fails(_ change: [String: String], _ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
            let out = f.dir.appendingPathComponent("probe-bad-\(UUID().uuidString)")
            var options = ["--run": main.path, "--step": "10", "--decay": "5", "--out": out.path, "--text": f.text]
            options.merge(change) { $1 }
            let r = try RiverCLI.run(["analyze", "decay-probe", "--quiet"] + options.sorted { $0.key < $1.key }.flatMap { [$0.key, $0.value] })
            #expect(r.status != 0, "accepted: \(change)", sourceLocation: sourceLocation)
            #expect(r.stderr.contains(text), "stderr: \(r.stderr)", sourceLocation: sourceLocation)
            #expect(!FileManager.default.fileExists(atPath: out.path), "\(out.path) written", sourceLocation: sourceLocation)
        }
        try fails(["--batches": "5"], "--batches must be an even number")
        try fails(["--step": "7"], "no checkpoint at step 7")
        try fails(["--budget": "18"], "forks at step 13, not 10")
        try fails(["--decay": "nan"], "--decay nan is not allowed")
        try fails(["--min-ratio": "2"], "--min-ratio 2.0 is not allowed")
        let one = f.dir.appendingPathComponent("one-byte.txt")
        try "x".write(to: one, atomically: true, encoding: .utf8)
        try fails(["--text": one.path], "at least 2 tokens")
    }
}

/// Lines of a run's metrics.jsonl.
enum MetricsLines {
    static func count(_ run: URL) throws -> Int {
        try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n").count
    }
}
