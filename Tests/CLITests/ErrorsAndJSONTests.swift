import Foundation
import Testing

/// docs/cli.md, "Errors and output" and "Value types": runtime errors print `error: …` without usage and
/// exit 1; argument errors print the usage and exit 64; JSON is valid for any path and writes non-finite
/// numbers as null; lists, negative numbers, the decay-convention default and the deprecated spellings.
@Suite struct ErrorsAndJSONTests {
    func json(_ s: String) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(s.utf8)) as! [String: Any]
    }

    /// A write error is a runtime error: `error: …` naming the path, no usage line, exit 1, nothing written.
    @Test func writeErrorPrintsNoUsage() throws {
        let dir = try RiverCLI.temporaryDirectory()
        let path = dir.appendingPathComponent("missing/m.bin").path
        let r = try RiverCLI.run(["spectrum", "--random-symmetric", "5", "--write-matrix", path])
        #expect(r.status == 1, "\(r.stderr)")
        #expect(r.stderr.hasPrefix("error: ") && r.stderr.contains(path), "\(r.stderr)")
        #expect(!r.stderr.contains("Usage"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: path))

        let sim = try RiverCLI.run(["simulate", "--kind", "constant", "--steps", "5", "--peak", "0.1",
                                    "--out", dir.appendingPathComponent("none/x.csv").path])
        #expect(sim.status == 1 && sim.stderr.hasPrefix("error: cannot write --out") && !sim.stderr.contains("Usage"), "\(sim.stderr)")
    }

    /// An argument error keeps ArgumentParser's behaviour: the message, the usage line, exit 64.
    @Test func argumentErrorPrintsUsage() throws {
        let r = try RiverCLI.run(["spectrum", "--random-symmetric", "5", "--top", "0"])
        #expect(r.status == 64 && r.stderr.contains("--top 0") && r.stderr.contains("Usage:"), "\(r.stderr)")
    }

    /// Help still goes through ArgumentParser (the root `main` catches only runtime errors): `--help` and
    /// `river help …` print the help with its example and exit 0.
    @Test func helpStillWorks() throws {
        for args in [["simulate", "--help"], ["help", "bigram", "train"], ["bigram", "train", "-h"]] {
            let r = try RiverCLI.run(args)
            #expect(r.status == 0 && r.stdout.contains("USAGE") && r.stdout.contains("Example") && r.stderr.isEmpty,
                    "\(args): \(r.stderr)")
        }
    }

    /// A command with two outputs writes neither when the second cannot be written.
    @Test func noPartialOutput() throws {
        let dir = try RiverCLI.temporaryDirectory()
        let out = dir.appendingPathComponent("train.csv").path
        let r = try RiverCLI.run(["bigram", "train", "--vocab", "4", "--mix", "deterministic", "--steps", "5", "--peak", "0.1",
                                  "--out", out, "--save-parameters", dir.appendingPathComponent("missing/p.safetensors").path])
        #expect(r.status == 1 && r.stderr.contains("--save-parameters"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    /// The run summary of `river train` is valid JSON for a directory name with a quote, a backslash and a
    /// newline, and gives the path back exactly.
    @Test func jsonWithAQuoteInThePathParses() throws {
        let (dir, config) = try TrainFixture.setUp()
        let run = dir.appendingPathComponent("my \"run\" \\ 1\nend")
        let r = try TrainFixture.train(run, config: config, ["--steps", "8", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let obj = try json(r.stdout)
        #expect(obj["run"] as? String == run.path)
        #expect(obj["step"] as? Int == 8)
        #expect(obj["loss"] is Double)
        #expect(obj.keys.contains("val_loss"))
    }

    /// A non-finite number is written as null: the curvature–entropy correlation over a single context with
    /// nonzero frequency is undefined (NaN), and `bigram analyze` prints it as null.
    @Test func nanBecomesNull() throws {
        let dir = try RiverCLI.temporaryDirectory()
        try "1,0\n0.5,0.5".write(to: dir.appendingPathComponent("T.csv"), atomically: true, encoding: .utf8)
        try "1\n0".write(to: dir.appendingPathComponent("F.csv"), atomically: true, encoding: .utf8)
        let p = dir.appendingPathComponent("P.safetensors")
        try BigramCLITests.safetensors([("W", [2, 2], [0, 0, 0, 0])]).write(to: p)
        let r = try RiverCLI.run(["bigram", "analyze", "--transitions", dir.appendingPathComponent("T.csv").path,
                                  "--frequencies", dir.appendingPathComponent("F.csv").path,
                                  "--model", "table", "--parameters", p.path])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("\"spearman_curvature_entropy\":null"), "\(r.stdout)")
        let obj = try json(r.stdout)
        #expect(obj["spearman_curvature_entropy"] is NSNull)
        // The finite fields are numbers: loss at uniform logits is log 2 (only context 0 counts).
        #expect(abs((obj["loss"] as! Double) - log(2.0)) <= 1e-14)
    }

    /// Negative numbers parse wherever a value can be negative.
    @Test func negativeValues() throws {
        let at = try RiverCLI.run(["spectrum", "--landscape", "quadratic", "--dim", "2", "--hill-curvature", "3,5", "--at", "-1,0"])
        #expect(at.status == 0, "\(at.stderr)")
        #expect(RiverCLI.parseCSV(at.stdout).rows.map { $0[1] } == [5, 3])
        let river = try RiverCLI.run(["spectrum", "--landscape", "straight-valley", "--dim", "2", "--hill-curvature", "4",
                                      "--on-river", "-0.5"])
        #expect(river.status == 0 && river.stderr.contains("(-0.5,"), "\(river.stderr)")
    }

    /// A bad list element is named; an empty element is refused.
    @Test func commaListErrorsNameTheElement() throws {
        let bad = try RiverCLI.run(["branch-plan", "--budgets", "100,2x0,400"])
        #expect(bad.status == 64 && bad.stderr.contains("'2x0'") && bad.stderr.contains("element 2"), "\(bad.stderr)")
        let empty = try RiverCLI.run(["branch-plan", "--budgets", "100,,400"])
        #expect(empty.status == 64 && empty.stderr.contains("empty"), "\(empty.stderr)")
        let shape = try RiverCLI.run(["sweep", "--out", "x", "--seeds", "0,-1"])
        #expect(shape.status == 64 && shape.stderr.contains("'-1'"), "\(shape.stderr)")
    }

    /// The decay convention defaults to cumulative in `schedule` as elsewhere: with cycles ending at 100 and
    /// 400 and decay 0.1, the second decay lasts 0.1·400 = 40 steps (from step 360); per cycle it would
    /// last 0.1·300 = 30 (from step 370). So step 365 is decaying by default and at the peak with `cycle`.
    @Test func decayConventionDefaultsToCumulative() throws {
        let base = ["schedule", "--kind", "wsds", "--steps", "400", "--peak", "1", "--cycles", "100", "--decay", "0.1"]
        let byDefault = try RiverCLI.run(base), cumulative = try RiverCLI.run(base + ["--decay-of", "cumulative"])
        let cycle = try RiverCLI.run(base + ["--decay-of", "cycle"])
        #expect(byDefault.status == 0 && cycle.status == 0)
        #expect(byDefault.stdout == cumulative.stdout)
        let lr = { (text: String) in RiverCLI.parseCSV(text).rows[365][1] }
        #expect(lr(byDefault.stdout) < 1 && lr(cycle.stdout) == 1)
        #expect(RiverCLI.parseCSV(byDefault.stdout).rows[359][1] == 1)
    }

    /// A leaf subcommand is parsed directly (the fast path of `River.runMain`) only when that parse
    /// succeeds: a warning from its validation is printed once whether the command then runs or fails, and
    /// a failing command line is reported by the root parse, with the subcommand's usage line.
    @Test func directLeafParseWarnsOnceAndReportsErrorsInContext() throws {
        let warning = "warning: --seeds is deprecated; use --seed-count"
        let ok = try RiverCLI.run(["simulate", "--kind", "constant", "--steps", "5", "--peak", "0.1", "--seeds", "2"])
        #expect(ok.status == 0 && ok.stderr.components(separatedBy: warning).count == 2, "\(ok.stderr)")
        let bad = try RiverCLI.run(["simulate", "--kind", "constant", "--steps", "5", "--peak", "0.1", "--seeds", "2",
                                    "--noise", "nan"])
        #expect(bad.status == 64 && bad.stderr.components(separatedBy: warning).count == 2, "\(bad.stderr)")
        let unknown = try RiverCLI.run(["simulate", "--bogus"])
        #expect(unknown.status == 64 && unknown.stderr.contains("Usage: river simulate"), "\(unknown.stderr)")
        let help = try RiverCLI.run(["simulate", "--steps", "5", "--help"])
        #expect(help.status == 0 && help.stdout.contains("USAGE: river simulate"), "\(help.stdout)")
    }

    /// The old spellings still work, with a warning naming the new flag.
    @Test func deprecatedSpellingsWarn() throws {
        let dir = try RiverCLI.temporaryDirectory()
        let sim = try RiverCLI.run(["simulate", "--kind", "constant", "--steps", "5", "--peak", "0.1", "--noise", "1",
                                    "--optimizer", "sgd", "--seeds", "3"])
        let simNew = try RiverCLI.run(["simulate", "--kind", "constant", "--steps", "5", "--peak", "0.1", "--noise", "1",
                                       "--optimizer", "sgd", "--seed-count", "3"])
        #expect(sim.status == 0 && sim.stderr.contains("warning: --seeds is deprecated; use --seed-count"), "\(sim.stderr)")
        #expect(sim.stdout == simNew.stdout && !simNew.stderr.contains("warning"))

        let yaml = dir.appendingPathComponent("lev.yaml")
        try "learning_rate: 0.001\nwarmup: 0.1\ndecay: 0.2\nmin_lr_ratio: 0.1\nlr_schedule: linear\n"
            .write(to: yaml, atomically: true, encoding: .utf8)
        let old = try RiverCLI.run(["schedule", "--config", yaml.path, "--steps", "50"])
        let new = try RiverCLI.run(["schedule", "--levanter", yaml.path, "--steps", "50"])
        #expect(old.status == 0 && old.stderr.contains("use --levanter") && old.stdout == new.stdout, "\(old.stderr)")

        let slq = try RiverCLI.run(["spectrum", "--random-symmetric", "20", "--method", "slq", "--runs", "2", "--grid-points", "8"])
        let slqNew = try RiverCLI.run(["spectrum", "--random-symmetric", "20", "--method", "slq", "--probes", "2", "--grid-points", "8"])
        #expect(slq.status == 0 && slq.stderr.contains("use --probes") && slq.stdout == slqNew.stdout, "\(slq.stderr)")

        let out = dir.appendingPathComponent("t.csv").path, params = dir.appendingPathComponent("p.safetensors").path
        let train = try RiverCLI.run(["bigram", "train", "--vocab", "4", "--mix", "deterministic", "--steps", "5", "--peak", "0.1",
                                      "--batch", "8", "--out", out, "--params-out", params])
        #expect(train.status == 0 && train.stderr.contains("use --batch-size") && train.stderr.contains("use --save-parameters"),
                "\(train.stderr)")
        let ev = try RiverCLI.run(["bigram", "analyze", "--vocab", "4", "--mix", "deterministic", "--model", "table", "--params", params])
        #expect(ev.status == 0 && ev.stderr.contains("use --parameters"), "\(ev.stderr)")
        let branch = try RiverCLI.run(["branch", "--from", dir.appendingPathComponent("none").path, "--step", "5",
                                       "--out", dir.appendingPathComponent("b").path])
        #expect(branch.status == 1 && branch.stderr.contains("use --parent") && branch.stderr.contains("error: "), "\(branch.stderr)")
        let both = try RiverCLI.run(["bigram", "analyze", "--vocab", "4", "--mix", "deterministic", "--model", "table",
                                     "--params", params, "--parameters", params])
        #expect(both.status == 64 && both.stderr.contains("give only --parameters"), "\(both.stderr)")
    }
}
