import Foundation
import Testing

/// Helpers for the train/eval CLI tests: a synthetic corpus and a tiny config file.
enum TrainFixture {
    static func setUp() throws -> (dir: URL, config: URL) {
        let dir = try RiverCLI.temporaryDirectory()
        let words = ["the", "river", "valley", "hill", "loss", "rate", "decay", "stable", "king", "thou", "art", "of"]
        var state: UInt64 = 12345
        var text = ""
        while text.utf8.count < 60_000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            text += words[Int(state >> 60) % words.count] + ((state >> 40) % 9 == 0 ? ".\n" : " ")
        }
        let corpus = dir.appendingPathComponent("corpus.txt")
        try text.write(to: corpus, atomically: true, encoding: .utf8)
        let config = dir.appendingPathComponent("tiny.json")
        try """
        {"model": {"vocabSize": 256, "contextLength": 32, "width": 32, "layers": 2, "heads": 2, "mlpHidden": 64},
         "data": {"corpus": "\(corpus.path)", "splitBlock": 512}, "batchSize": 4,
         "schedule": {"kind": "cosine", "steps": 60, "peak": 0.003, "warmup": 5},
         "evalEvery": 10, "evalWindows": 8, "checkpointEvery": 5, "keepLast": 2}
        """.write(to: config, atomically: true, encoding: .utf8)
        return (dir, config)
    }

    /// `river train --out run --config config` followed by `arguments`.
    static func train(_ run: URL, config: URL, _ arguments: [String] = []) throws -> RiverCLI.Result {
        try RiverCLI.run(["train", "--out", run.path, "--config", config.path] + arguments)
    }

    /// A JSON object file of a run (config.json, kernels.json), as a dictionary.
    static func object(_ url: URL) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }

    /// metrics.jsonl lines without the wall-clock field.
    static func metrics(_ run: URL) throws -> [String] {
        let text = try String(contentsOf: run.appendingPathComponent("metrics.jsonl"), encoding: .utf8)
        return text.split(separator: "\n").map { line in
            String(line.replacingOccurrences(of: #",\"wall\":[^}]*"#, with: "", options: .regularExpression))
        }
    }
}

@Suite("river train / eval / branch CLI")
struct TrainCLITests {
    @Test("train --out --config --steps --seed writes config, metrics with step/lr/loss/val_loss, checkpoints")
    func trainWritesRun() throws {
        let (dir, config) = try TrainFixture.setUp()
        let run = dir.appendingPathComponent("run")
        let r = try TrainFixture.train(run, config: config, ["--steps", "20", "--seed", "3"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("tok/s") && r.stderr.contains("ETA"))
        let lines = try TrainFixture.metrics(run)
        #expect(lines.count == 20)
        let last = try JSONSerialization.jsonObject(with: Data(lines.last!.utf8)) as! [String: Any]
        #expect(last["step"] as? Int == 20 && last["lr"] != nil && last["loss"] != nil && last["val_loss"] != nil)
        let cfg = try TrainFixture.object(run.appendingPathComponent("config.json"))
        #expect(cfg["seed"] as? Int == 3 && (cfg["schedule"] as! [String: Any])["steps"] as? Int == 20)
        #expect(FileManager.default.fileExists(atPath: run.appendingPathComponent("checkpoints/step-000020.safetensors").path))
        // Same command again: refuses to overwrite.
        let again = try TrainFixture.train(run, config: config)
        #expect(again.status != 0 && again.stderr.contains("already holds a run"))
    }

    @Test("SIGKILL at random moments, then --resume: metrics bit-identical to an unbroken run")
    func killAndResume() throws {
        let (dir, config) = try TrainFixture.setUp()
        let whole = dir.appendingPathComponent("whole")
        let start = Date()
        #expect(try TrainFixture.train(whole, config: config, ["--quiet"]).status == 0)
        let duration = Date().timeIntervalSince(start)
        let reference = try TrainFixture.metrics(whole)
        #expect(reference.count == 60)

        let killed = dir.appendingPathComponent("killed")
        var rng = SystemRandomNumberGenerator()
        var first = true
        for _ in 0..<3 {
            let p = Process()
            p.executableURL = RiverCLI.executable
            p.arguments = first ? ["train", "--out", killed.path, "--config", config.path, "--quiet"]
                                : ["train", "--out", killed.path, "--resume", "--quiet"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            first = false
            // A random moment within the run (startup included).
            usleep(UInt32(Double.random(in: 0.05...max(0.1, duration * 0.8), using: &rng) * 1_000_000))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            if !FileManager.default.fileExists(atPath: killed.appendingPathComponent("config.json").path) { first = true }
        }
        let args = first ? ["train", "--out", killed.path, "--config", config.path, "--quiet"]
                         : ["train", "--out", killed.path, "--resume", "--quiet"]
        let r = try RiverCLI.run(args)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try TrainFixture.metrics(killed) == reference)
    }

    @Test("eval prints loss and bits_per_byte = loss / ln 2 for bytes; per-token dump averages to loss")
    func eval() throws {
        let (dir, config) = try TrainFixture.setUp()
        let run = dir.appendingPathComponent("run")
        #expect(try TrainFixture.train(run, config: config, ["--steps", "10", "--quiet"]).status == 0)
        let dump = dir.appendingPathComponent("pt.csv")
        let r = try RiverCLI.run(["eval", "--checkpoint", run.appendingPathComponent("checkpoints/step-000010.safetensors").path,
                                  "--text", dir.appendingPathComponent("corpus.txt").path, "--max-bytes", "5000",
                                  "--per-token", dump.path])
        #expect(r.status == 0, "\(r.stderr)")
        let obj = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as! [String: Any]
        let loss = obj["loss"] as! Double, bpb = obj["bits_per_byte"] as! Double
        #expect(abs(bpb - loss / log(2.0)) < 1e-12 * bpb)
        #expect(obj["tokens"] as? Int == 4999 && loss > 0 && loss < log(256.0) + 0.5)
        let rows = RiverCLI.parseCSV(try String(contentsOf: dump, encoding: .utf8)).rows
        #expect(rows.count == 4999)
        let mean = rows.reduce(0.0) { $0 + $1[2] } / Double(rows.count)
        #expect(abs(mean - loss) < 1e-5 * loss)   // Float32 losses printed with ~7 digits
    }

    @Test("--fp32-matmul onednn: the config keeps fp32Matmul, kernels.json names oneDNN's kernels, stderr says which library ran; --resume with --fp32-matmul and an unknown library are refused")
    func fp32Matmul() throws {
        let (dir, config) = try TrainFixture.setUp()
        let run = dir.appendingPathComponent("onednn")
        let r = try TrainFixture.train(run, config: config, ["--steps", "6", "--fp32-matmul", "onednn"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("fp32 linear layers on oneDNN"), "\(r.stderr)")
        let cfg = try TrainFixture.object(run.appendingPathComponent("config.json"))
        #expect(cfg["fp32Matmul"] as? String == "onednn")
        let report = try TrainFixture.object(run.appendingPathComponent("kernels.json"))
        #expect(report["fp32Matmul"] as? String == "onednn" && !(report["kernels"] as! [Any]).isEmpty)
        let resume = try RiverCLI.run(["train", "--out", run.path, "--resume", "--fp32-matmul", "openblas"])
        #expect(resume.status != 0 && resume.stderr.contains("--fp32-matmul"), "\(resume.stderr)")
        let bad = try TrainFixture.train(dir.appendingPathComponent("mkl"), config: config, ["--fp32-matmul", "mkl"])
        #expect(bad.status != 0 && bad.stderr.contains("mkl") && bad.stderr.contains("openblas"), "\(bad.stderr)")
        // The default writes neither the key nor a kernel report.
        let plain = dir.appendingPathComponent("openblas")
        #expect(try TrainFixture.train(plain, config: config, ["--steps", "6", "--quiet"]).status == 0)
        let plainText = try String(contentsOf: plain.appendingPathComponent("config.json"), encoding: .utf8)
        #expect(!plainText.contains("fp32Matmul") && !FileManager.default.fileExists(atPath: plain.appendingPathComponent("kernels.json").path))
    }

    @Test("bad input fails with a clear message and no run directory: heads, missing corpus, resume without run")
    func badInput() throws {
        let (dir, config) = try TrainFixture.setUp()
        var text = try String(contentsOf: config, encoding: .utf8)
        text = text.replacingOccurrences(of: #""heads": 2"#, with: #""heads": 3"#)
        let bad = dir.appendingPathComponent("bad.json")
        try text.write(to: bad, atomically: true, encoding: .utf8)
        let out = dir.appendingPathComponent("r1")
        let r = try TrainFixture.train(out, config: bad)
        #expect(r.status != 0 && r.stderr.contains("heads (3) must divide width (32)"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
        let r2 = try RiverCLI.run(["train", "--out", out.path, "--resume"])
        #expect(r2.status != 0 && r2.stderr.contains("holds no run"))
        let r3 = try RiverCLI.run(["train", "--out", out.path, "--steps", "5"], environment: ["RIVER_DATA": dir.appendingPathComponent("none").path])
        #expect(r3.status != 0 && r3.stderr.contains("fetch_corpora.sh"), "\(r3.stderr)")
    }

    @Test("branch from a constant-LR checkpoint decays to the floor and reports its final validation loss")
    func branch() throws {
        let (dir, config) = try TrainFixture.setUp()
        var text = try String(contentsOf: config, encoding: .utf8)
        text = text.replacingOccurrences(of: #""kind": "cosine""#, with: #""kind": "constant""#)
        let constant = dir.appendingPathComponent("constant.json")
        try text.write(to: constant, atomically: true, encoding: .utf8)
        let main = dir.appendingPathComponent("main")
        #expect(try TrainFixture.train(main, config: constant, ["--steps", "20", "--quiet"]).status == 0)
        let br = dir.appendingPathComponent("b")
        let r = try RiverCLI.run(["branch", "--parent", main.path, "--step", "20", "--budget", "25", "--decay", "5", "--out", br.path, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = try TrainFixture.metrics(br)
        #expect(lines.count == 5)
        let last = try JSONSerialization.jsonObject(with: Data(lines.last!.utf8)) as! [String: Any]
        #expect(last["step"] as? Int == 25 && last["val_loss"] != nil)
        let lr = last["lr"] as! Double
        #expect(lr < 0.003 * 0.5)
        let bad = try RiverCLI.run(["branch", "--parent", main.path, "--step", "7", "--budget", "12", "--decay", "5", "--out", dir.appendingPathComponent("b2").path])
        #expect(bad.status != 0 && bad.stderr.contains("no checkpoint at step 7"), "\(bad.stderr)")
    }

    @Test("branch of a parent with a fractional warmup (0.05 of 20 steps = 1 step) keeps the 1-step warmup")
    func branchKeepsFractionalWarmup() throws {
        let (dir, config) = try TrainFixture.setUp()
        var text = try String(contentsOf: config, encoding: .utf8)
        text = text.replacingOccurrences(of: #""kind": "cosine""#, with: #""kind": "constant""#)
            .replacingOccurrences(of: #""warmup": 5"#, with: #""warmup": 0.05"#)
            .replacingOccurrences(of: #""keepLast": 2"#, with: #""keepLast": 2, "checkpointAt": [15]"#)
        let constant = dir.appendingPathComponent("constant.json")
        try text.write(to: constant, atomically: true, encoding: .utf8)
        let main = dir.appendingPathComponent("main")
        let m = try TrainFixture.train(main, config: constant, ["--steps", "20", "--quiet"])
        #expect(m.status == 0, "\(m.stderr)")
        let br = dir.appendingPathComponent("b")
        let r = try RiverCLI.run(["branch", "--parent", main.path, "--step", "15", "--budget", "20", "--decay", "5", "--out", br.path, "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let cfg = try TrainFixture.object(br.appendingPathComponent("config.json"))
        let schedule = cfg["schedule"] as! [String: Any]
        #expect(schedule["warmupSteps"] as? Int == 1 && schedule["warmup"] as? Double == 0)
        // The default budget for a fraction: the largest budget forking at --step (15 / 0.75 = 20).
        let r2 = try RiverCLI.run(["branch", "--parent", main.path, "--step", "15", "--decay", "0.25", "--out", dir.appendingPathComponent("b2").path, "--quiet"])
        #expect(r2.status == 0, "\(r2.stderr)")
        let last = try JSONSerialization.jsonObject(with: Data(TrainFixture.metrics(dir.appendingPathComponent("b2")).last!.utf8)) as! [String: Any]
        #expect(last["step"] as? Int == 20)
    }

    @Test("sweep with a single budget runs every family (one cycle)")
    func sweepSingleBudget() throws {
        let (dir, config) = try TrainFixture.setUp()
        let out = dir.appendingPathComponent("sweep")
        let r = try RiverCLI.run(["sweep", "--out", out.path, "--config", config.path, "--budgets", "20", "--seeds", "0", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = r.stdout.split(separator: "\n").dropFirst().map { $0.split(separator: ",").map(String.init) }
        #expect(rows.map { $0[0] } == ["wsd", "wsds", "cyclic-cosine", "cosine"] && rows.allSatisfy { $0[2] == "20" })
        let bad = try RiverCLI.run(["sweep", "--out", dir.appendingPathComponent("s2").path, "--config", config.path,
                                    "--budgets", "20", "--schedules", "wsd,cyclic_cosine"])
        #expect(bad.status != 0 && bad.stderr.contains("cyclic_cosine") && bad.stderr.contains("cyclic-cosine"), "\(bad.stderr)")
    }
}
