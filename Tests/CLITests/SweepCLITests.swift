import Foundation
import Testing

/// `river sweep` as a plan of jobs: plan / job / collect, the local runner, and bad input.
@Suite("river sweep plans, jobs and the local runner")
struct SweepCLITests {
    /// Every run single-threaded, so a worker process and the serial sweep compute the same bits.
    static let oneThread = ["RIVER_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"]
    static let tables = ["tuning.csv", "results.csv", "summary.csv", "paired.csv", "curves.csv"]

    static func settings(_ config: URL) -> [String] {
        ["--config", config.path, "--budgets", "20,40", "--seeds", "0,1", "--peak-grid", "2e-3,4e-3", "--warmup", "4",
         "--variants", "wsds-other-decay-of,wsds-rewarmup,wsds-reset,cyclic-cosine-matched", "--rewarmup", "2",
         "--shapes", "linear,inv", "--decays", "0.1,0.2", "--fine-eval", "0.05"]
    }

    @Test("a tuned plan run by 2 workers in shuffled order gives tables identical, bit for bit, to the serial sweep")
    func shuffledWorkersMatchSerial() throws {
        let (dir, config) = try TrainFixture.setUp()
        let serial = dir.appendingPathComponent("serial"), planned = dir.appendingPathComponent("planned")
        let s = try RiverCLI.run(["sweep", "--out", serial.path] + Self.settings(config) + ["--quiet"], environment: Self.oneThread)
        #expect(s.status == 0, "\(s.stderr)")
        for (stage, shuffle) in [("tune", "7"), ("main", "11")] {
            let plan = dir.appendingPathComponent("\(stage).jsonl")
            let w = try RiverCLI.run(["sweep", "--out", planned.path] + Self.settings(config) + ["--plan", plan.path, "--stage", stage])
            #expect(w.status == 0 && w.stdout.contains("jobs (stage \(stage))"), "\(w.stderr)")
            let r = try RiverCLI.run(["sweep", "--plan", plan.path, "--workers", "2", "--threads", "1", "--shuffle", shuffle])
            #expect(r.status == 0, "\(r.stderr)")
            // Every line names its command, run directory and dependencies; branches depend on their main run.
            let lines = try String(contentsOf: plan, encoding: .utf8).split(separator: "\n")
            let jobs = try lines.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
            for (i, j) in jobs.enumerated() {
                #expect((j["command"] as! String).hasSuffix("sweep --plan \(plan.path) --job \(i)"))
                let deps = j["depends_on"] as! [Int]
                if (j["name"] as! String).contains("wsd-B") || (j["name"] as! String).contains("pct") {
                    #expect(deps.count == 1 && (jobs[deps[0]]["name"] as! String).hasSuffix("wsd-main"))
                } else { #expect(deps.isEmpty) }
            }
        }
        for t in Self.tables {
            let a = try Data(contentsOf: serial.appendingPathComponent(t)), b = try Data(contentsOf: planned.appendingPathComponent(t))
            #expect(a == b, "\(t) differs between the serial sweep and the shuffled 2-worker plan")
        }
        // The tuning chose per family and budget; tuned.json agrees with tuning.csv's chosen rows.
        let tuning = try String(contentsOf: planned.appendingPathComponent("tuning.csv"), encoding: .utf8)
        #expect(tuning.split(separator: "\n").count == 1 + 4 * 2 * 2)
        // Collect again from the plan: same bytes (a no-op on a finished sweep).
        let before = try Data(contentsOf: planned.appendingPathComponent("results.csv"))
        let c = try RiverCLI.run(["sweep", "--plan", dir.appendingPathComponent("main.jsonl").path, "--collect"])
        #expect(c.status == 0 && c.stdout.hasPrefix("arm,schedule,budget"), "\(c.stderr)")
        #expect(try Data(contentsOf: planned.appendingPathComponent("results.csv")) == before)
        // Every variant arm is in the summary, with three seeds' worth of paired rows against its base arm.
        let summary = try String(contentsOf: planned.appendingPathComponent("summary.csv"), encoding: .utf8)
        for arm in ["wsds-per-cycle", "wsds-rewarmup", "wsds-reset", "cyclic-cosine-matched", "wsd-linear-10pct", "wsd-linear-20pct", "wsd-inv-20pct"] {
            #expect(summary.contains("\n\(arm),"), "\(arm) missing")
        }
        #expect(!summary.contains("wsd-inv-10pct"))   // the sweep's own decay is the base arm
        // paired.csv recomputed from results.csv: mean of the per-seed differences ± t(0.975, 1)·sd/√2.
        func rows(_ f: String) throws -> [[String]] {
            try String(contentsOf: planned.appendingPathComponent(f), encoding: .utf8).split(separator: "\n").dropFirst()
                .map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        }
        let results = try rows("results.csv"), paired = try rows("paired.csv")
        func loss(_ arm: String, _ seed: String) -> Double { Double(results.first { $0[0] == arm && $0[2] == seed && $0[3] == "40" }![5])! }
        let d = ["0", "1"].map { loss("wsds-reset", $0) - loss("wsds", $0) }
        let mean = (d[0] + d[1]) / 2, sd = abs(d[0] - d[1]) / 2.0.squareRoot()
        let half = 12.706204736174694 * sd / 2.0.squareRoot()   // scipy.stats.t.ppf(0.975, 1)
        let row = paired.first { $0[0] == "wsds-reset" && $0[1] == "wsds" && $0[2] == "40" }!
        #expect(abs(Double(row[3])! - mean) <= 1e-12 && abs(Double(row[4])! - (mean - half)) <= 1e-9 * max(1, abs(half))
                && abs(Double(row[5])! - (mean + half)) <= 1e-9 * max(1, abs(half)), "\(row) vs \(mean) ± \(half)")
        #expect(row[6] == "2" && Int(row[7])! == d.filter { $0 < 0 }.count)
    }

    @Test("one job runs from its plan line; a finished job is skipped; --collect before the jobs finish is refused")
    func jobAndCollect() throws {
        let (dir, config) = try TrainFixture.setUp()
        let out = dir.appendingPathComponent("s"), plan = dir.appendingPathComponent("p.jsonl")
        let w = try RiverCLI.run(["sweep", "--out", out.path, "--config", config.path, "--budgets", "20", "--seeds", "0",
                                  "--schedules", "wsd,cosine", "--plan", plan.path])
        #expect(w.status == 0, "\(w.stderr)")
        let early = try RiverCLI.run(["sweep", "--plan", plan.path, "--collect"])
        #expect(early.status != 0 && early.stderr.contains("have not finished"), "\(early.stderr)")
        for n in 0..<3 {
            let r = try RiverCLI.run(["sweep", "--plan", plan.path, "--job", String(n), "--quiet"])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let again = try RiverCLI.run(["sweep", "--plan", plan.path, "--job", "0"])
        #expect(again.status == 0 && again.stderr.contains("done"), "\(again.stderr)")
        let c = try RiverCLI.run(["sweep", "--plan", plan.path, "--collect"])
        #expect(c.status == 0 && c.stdout.contains("\nwsd,wsd,20,") && c.stdout.contains("\ncosine,cosine,20,"), "\(c.stdout) \(c.stderr)")
    }

    @Test("bad input: unknown family, empty or non-increasing budgets, a plan of another sweep, a job out of range — clear errors, nothing lost")
    func badInput() throws {
        let (dir, config) = try TrainFixture.setUp()
        let out = dir.appendingPathComponent("s"), plan = dir.appendingPathComponent("p.jsonl")
        func fails(_ args: [String], _ words: [String]) throws {
            let r = try RiverCLI.run(["sweep"] + args)
            #expect(r.status != 0, "\(args) should fail")
            for w in words { #expect(r.stderr.contains(w), "\(args): '\(w)' not in \(r.stderr)") }
        }
        try fails(["--out", out.path, "--config", config.path, "--schedules", "wsd,wsdd"], ["wsdd", "cyclic-cosine"])
        try fails(["--out", out.path, "--config", config.path, "--budgets", ""], ["budgets"])
        try fails(["--out", out.path, "--config", config.path, "--budgets", "40,20"], ["increasing", "20", "40"])
        try fails(["--out", out.path, "--config", config.path, "--peak-grid", "1e-3,nan"], ["nan"])
        try fails(["--out", out.path, "--config", config.path, "--variants", "wsds-rewarmup"], ["--rewarmup"])
        #expect(!FileManager.default.fileExists(atPath: out.path))
        // A finished job, then the directory is re-planned with other settings: the old plan is refused.
        let w = try RiverCLI.run(["sweep", "--out", out.path, "--config", config.path, "--budgets", "20", "--seeds", "0",
                                  "--schedules", "cosine", "--plan", plan.path])
        #expect(w.status == 0, "\(w.stderr)")
        try fails(["--plan", plan.path, "--job", "5"], ["job 5", "out of range", "1 jobs"])
        try fails(["--plan", plan.path, "--job=-1"], ["--job -1", "≥ 0"])
        let r = try RiverCLI.run(["sweep", "--plan", plan.path, "--job", "0", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let run = out.appendingPathComponent("seed0/cosine-B20/metrics.jsonl")
        let metrics = try Data(contentsOf: run)
        try fails(["--out", out.path, "--config", config.path, "--budgets", "20", "--seeds", "0", "--schedules", "cosine",
                   "--peak", "1e-3", "--plan", dir.appendingPathComponent("q.jsonl").path], ["different settings"])
        // Overwriting sweep.json by hand (another sweep in the same folder) makes the plan a stranger.
        let sweepJSON = out.appendingPathComponent("sweep.json")
        let text = try String(contentsOf: sweepJSON, encoding: .utf8).replacingOccurrences(of: "\"warmupSteps\" : 0", with: "\"warmupSteps\" : 2")
        try text.write(to: sweepJSON, atomically: true, encoding: .utf8)
        try fails(["--plan", plan.path, "--job", "0"], ["different sweep", out.path])
        try fails(["--plan", plan.path, "--collect"], ["different sweep"])
        #expect(try Data(contentsOf: run) == metrics)   // nothing already run was touched
        try fails(["--plan", dir.appendingPathComponent("missing.jsonl").path, "--collect"], ["cannot read the plan file"])
        try "not json\n".write(to: plan, atomically: true, encoding: .utf8)
        try fails(["--plan", plan.path, "--job", "0"], ["line 1", "not a sweep job"])
        try fails(["--plan", plan.path], ["--job", "--workers", "--collect"])
    }
}
