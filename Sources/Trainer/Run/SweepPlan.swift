import Foundation
import RiverValley

/// One line of a plan file: a run of the sweep as an independent job.
public struct SweepJob: Codable, Sendable, Equatable {
    /// The identity of the sweep and stage the plan was written for (``SweepSpec/identity(stage:tuned:)``).
    public var sweep: String
    public var stage: SweepStage
    /// The job's index in the plan (0-based, the line number).
    public var job: Int
    /// The sweep directory and the run directory (absolute paths).
    public var directory: String
    public var run: String
    /// The run's name inside the sweep directory and its arm.
    public var name: String
    public var arm: String
    /// The command that runs this job.
    public var command: String
    /// Jobs that must finish first (a decay branch depends on its main run's checkpoint).
    public var dependsOn: [Int]
    /// Optimizer steps the job trains (a branch: from its fork), for progress and the ETA.
    public var steps: Int

    enum CodingKeys: String, CodingKey {
        case sweep, stage, job, directory, run, name, arm, command, dependsOn = "depends_on", steps
    }
}

/// A sweep stage as a plan of independent jobs: `river sweep … --plan FILE` writes it (one JSON line per
/// job), `river sweep --plan FILE --job N` runs one job (on a cluster, one array task per job),
/// `--workers W` runs them all with W local processes, `--collect` builds the tables.
public struct SweepPlan: Sendable {
    public var jobs: [SweepJob]
    public var url: URL

    /// The plan of `stage` for a prepared sweep (the main stage of a tuned sweep needs tuned.json).
    public static func make(_ sweep: Sweep, stage: SweepStage, url: URL, executable: String = "river") throws -> SweepPlan {
        try sweep.prepare()
        let tuned = stage == .main ? try sweep.tunedPeaks() : nil
        let runs = try sweep.runs(stage)
        let id = try sweep.spec.identity(stage: stage, tuned: tuned)
        var index: [String: Int] = [:]
        for (i, r) in runs.enumerated() { index[r.name] = i }
        let jobs = runs.enumerated().map { i, r in
            SweepJob(sweep: id, stage: stage, job: i, directory: sweep.directory.path,
                     run: sweep.directory.appendingPathComponent(r.name).path, name: r.name, arm: r.arm,
                     command: "\(executable) sweep --plan \(shellQuoted(url.path)) --job \(i)",
                     dependsOn: r.dependsOn.flatMap { index[$0] }.map { [$0] } ?? [], steps: r.config.steps - (r.config.parent?.step ?? 0))
        }
        return SweepPlan(jobs: jobs, url: url)
    }

    static func shellQuoted(_ s: String) -> String {
        s.allSatisfy { $0.isLetter || $0.isNumber || "/._-+=:@".contains($0) } ? s : "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    public func write() throws {
        let enc = JSONEncoder(); enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var text = ""
        for j in jobs { text += String(decoding: try enc.encode(j), as: UTF8.self) + "\n" }
        try AtomicFile.write(text, to: url)
    }

    /// Reads a plan file; every line must parse, belong to the same sweep and stage, and be numbered in order.
    public static func read(_ url: URL) throws -> SweepPlan {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw RunError("cannot read the plan file \(url.path): write one with `river sweep --out DIR … --plan \(url.path)`")
        }
        let dec = JSONDecoder()
        var jobs: [SweepJob] = []
        for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            let job: SweepJob
            do { job = try dec.decode(SweepJob.self, from: Data(line.utf8)) } catch {
                throw RunError("\(url.path) line \(n + 1) is not a sweep job: \(error)")
            }
            guard job.job == n else { throw RunError("\(url.path) line \(n + 1) holds job \(job.job): the plan is damaged (jobs must be numbered 0, 1, … in order)") }
            if let first = jobs.first, first.sweep != job.sweep || first.stage != job.stage || first.directory != job.directory {
                throw RunError("\(url.path) line \(n + 1) belongs to another sweep than line 1: the plan is damaged")
            }
            if let bad = job.dependsOn.first(where: { $0 < 0 || $0 >= n }) {
                throw RunError("\(url.path) line \(n + 1): dependency \(bad) is not an earlier job")
            }
            jobs.append(job)
        }
        guard !jobs.isEmpty else { throw RunError("the plan file \(url.path) holds no jobs") }
        return SweepPlan(jobs: jobs, url: url)
    }

    /// The sweep the plan belongs to, checked against the directory's current spec (a plan written for
    /// other settings, or for a tuning that has since changed, is refused).
    public func sweep() throws -> (Sweep, [SweepSpec.PlannedRun]) {
        let first = jobs[0]
        let sweep = try Sweep.open(URL(fileURLWithPath: first.directory))
        let tuned = first.stage == .main ? try sweep.tunedPeaks() : nil
        let id = try sweep.spec.identity(stage: first.stage, tuned: tuned)
        guard id == first.sweep else {
            throw RunError("the plan \(url.path) was written for a different sweep (id \(first.sweep)) than the one in \(first.directory) (id \(id)): write a new plan with `river sweep --out \(first.directory) … --plan FILE`")
        }
        let runs = try sweep.runs(first.stage)
        guard runs.map(\.name) == jobs.map(\.name) else {
            throw RunError("the plan \(url.path) does not list the runs the sweep in \(first.directory) plans: write a new plan")
        }
        return (sweep, runs)
    }

    public func job(_ n: Int) throws -> SweepJob {
        guard n >= 0 && n < jobs.count else {
            throw RunError("job \(n) is out of range: the plan \(url.path) has \(jobs.count) jobs (0...\(jobs.count - 1))")
        }
        return jobs[n]
    }

    /// Seconds between two looks at an unfinished dependency: `RIVER_POLL_SECONDS`, else 15.
    public static var defaultPoll: Double {
        ProcessInfo.processInfo.environment["RIVER_POLL_SECONDS"].flatMap(Double.init).map { min(max($0, 0.1), 3600) } ?? 15
    }

    /// Runs job `n`: waits (polling every `poll` seconds, saying so) until its dependencies have finished,
    /// then trains it (or skips it when finished).
    public func run(job n: Int, poll: Double = SweepPlan.defaultPoll, log: (String) -> Void = { _ in }, progress: TrainingProgress? = nil) throws {
        let job = try self.job(n)
        let (sweep, runs) = try self.sweep()
        var said = Date.distantPast
        while let waiting = job.dependsOn.first(where: { !sweep.isFinished(runs[$0]) }) {
            if Date().timeIntervalSince(said) >= 60 {
                log("job \(n) (\(job.name)) waits for job \(waiting) (\(jobs[waiting].name)) to finish")
                said = Date()
            }
            Thread.sleep(forTimeInterval: poll)
        }
        try sweep.train(runs[n], log: log, progress: progress)
    }

    /// Builds the stage's tables: tuning.csv + tuned.json for the tuning stage, the result tables for the
    /// main stage. Every job must have finished.
    public func collect() throws {
        let (sweep, runs) = try self.sweep()
        let missing = runs.indices.filter { !sweep.isFinished(runs[$0]) }
        guard missing.isEmpty else {
            throw RunError("\(missing.count) of \(runs.count) jobs have not finished (first: job \(missing[0]), \(runs[missing[0]].name)); run them before --collect")
        }
        if jobs[0].stage == .tune { try sweep.writeTuning() } else { try sweep.writeTables() }
    }
}

/// Runs a plan's jobs with W local worker processes (`river sweep --plan FILE --job N` each, with
/// `threads` OpenBLAS/kernel threads), in dependency order: plan order, or a random dependency-respecting
/// order for `shuffleSeed` (a test of order independence). Each job's output goes to
/// DIR/logs/job-N.log; a progress line with an ETA is printed every `reportEvery` seconds.
public struct SweepRunner {
    public var plan: SweepPlan
    public var executable: URL
    public var workers: Int
    public var threads: Int
    public var shuffleSeed: UInt64?
    public var reportEvery: Double = 30

    public init(plan: SweepPlan, executable: URL, workers: Int, threads: Int, shuffleSeed: UInt64? = nil) {
        self.plan = plan; self.executable = executable; self.workers = workers; self.threads = threads
        self.shuffleSeed = shuffleSeed
    }

    public func run(log: (String) -> Void) throws {
        let (sweep, runs) = try plan.sweep()
        let logs = sweep.directory.appendingPathComponent("logs")
        try FileManager.default.createDirectory(at: logs, withIntermediateDirectories: true)
        var done = Set(runs.indices.filter { sweep.isFinished(runs[$0]) })
        let totalSteps = plan.jobs.reduce(0) { $0 + $1.steps }
        let skippedSteps = done.reduce(0) { $0 + plan.jobs[$1].steps }
        var pending = runs.indices.filter { !done.contains($0) }
        if let seed = shuffleSeed {
            var rng = SplitMix(seed: seed)
            for i in stride(from: pending.count - 1, to: 0, by: -1) { pending.swapAt(i, Int(rng.next() % UInt64(i + 1))) }
        }
        var running: [Int: Process] = [:]
        var failed: [Int] = []
        let start = Date()
        var lastReport = Date()
        var env = ProcessInfo.processInfo.environment
        env["RIVER_THREADS"] = String(threads)
        env["OPENBLAS_NUM_THREADS"] = String(threads)
        log("\(plan.jobs.count) jobs (\(done.count) already finished), \(workers) workers × \(threads) thread(s); logs in \(logs.path)")
        while !(pending.isEmpty && running.isEmpty) {
            // Start every ready job while a worker is free (none after a failure).
            while failed.isEmpty, running.count < workers,
                  let k = pending.firstIndex(where: { plan.jobs[$0].dependsOn.allSatisfy(done.contains) }) {
                let n = pending.remove(at: k)
                let p = Process()
                p.executableURL = executable
                p.arguments = ["sweep", "--plan", plan.url.path, "--job", String(n), "--quiet"]
                p.environment = env
                let logURL = logs.appendingPathComponent("job-\(n).log")
                FileManager.default.createFile(atPath: logURL.path, contents: nil)
                let h = try FileHandle(forWritingTo: logURL)
                p.standardOutput = h; p.standardError = h
                try p.run()
                running[n] = p
            }
            if running.isEmpty {
                if !failed.isEmpty { break }
                throw RunError("no job can start: jobs \(pending.prefix(5).map(String.init).joined(separator: ", ")) wait for jobs that cannot run")
            }
            Thread.sleep(forTimeInterval: 0.2)
            for (n, p) in running where !p.isRunning {
                running[n] = nil
                if p.terminationStatus == 0 { done.insert(n) } else {
                    failed.append(n)
                    log("job \(n) (\(plan.jobs[n].name)) failed with status \(p.terminationStatus): see \(logs.appendingPathComponent("job-\(n).log").path)")
                }
            }
            if Date().timeIntervalSince(lastReport) >= reportEvery {
                lastReport = Date()
                let stepsDone = done.reduce(0) { $0 + plan.jobs[$1].steps } - skippedSteps
                let left = totalSteps - skippedSteps - stepsDone
                let elapsed = Date().timeIntervalSince(start)
                let eta = stepsDone > 0 ? " · ETA \(ProgressBar.duration(elapsed / Double(stepsDone) * Double(left)))" : ""
                log("\(done.count)/\(plan.jobs.count) jobs done, \(running.count) running · \(ProgressBar.duration(elapsed)) elapsed\(eta)")
            }
        }
        guard failed.isEmpty else {
            throw RunError("\(failed.count) job(s) failed (\(failed.map(String.init).joined(separator: ", "))); finished runs are kept — fix the cause and rerun the same command to resume")
        }
        log("all \(plan.jobs.count) jobs finished in \(ProgressBar.duration(Date().timeIntervalSince(start)))")
    }
}

/// SplitMix64: the runner's shuffle (a fixed, documented generator so a shuffle seed means the same order everywhere).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
