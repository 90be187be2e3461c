import Foundation
import LinearAlgebra
import RiverValley

/// Runs a ``SweepSpec`` in a directory and tabulates the results.
///
///     DIR/sweep.json     the spec (a rerun with other settings is refused)
///     DIR/tuned.json     the peaks the tuning stage chose (tuned sweeps)
///     DIR/tuning.csv     every tuning run's loss per budget and which peak won
///     DIR/results.csv    one row per arm, seed and budget
///     DIR/summary.csv    mean ± std over seeds, compute, train − validation gap
///     DIR/paired.csv     paired differences between arms (same seed) with 95% t intervals
///     DIR/curves.csv     every metrics line of every run, with a smoothed training loss
public struct Sweep {
    public let directory: URL
    public let spec: SweepSpec

    public init(directory: URL, spec: SweepSpec) {
        self.directory = directory; self.spec = spec
    }

    var tunedURL: URL { directory.appendingPathComponent("tuned.json") }

    /// Creates the directory (saving sweep.json) or checks an existing one was made by the same spec.
    public func prepare() throws {
        try spec.validate()
        // Every run's config (peak, floor, …) is checked before the directory is made: a bad value fails
        // with nothing written. (A tuned sweep's main-stage configs are checked when tuned.json exists.)
        let stages: [SweepStage] = spec.tuned ? [.tune] : [.main]
        for stage in stages {
            for r in try spec.plannedRuns(directory: directory, stage: stage) {
                do { try r.config.validate() } catch { throw RunError("\(r.name): \(error)") }
            }
        }
        let url = directory.appendingPathComponent("sweep.json")
        let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try enc.encode(spec)
        if let old = try? Data(contentsOf: url) {
            let previous: SweepSpec
            do { previous = try JSONDecoder().decode(SweepSpec.self, from: old) } catch {
                throw RunError("\(url.path) is not a sweep spec this version reads: \(error)")
            }
            guard previous == spec else {
                throw RunError("\(directory.path) holds a sweep with different settings (sweep.json); use another --out or the same settings to resume it")
            }
            return
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try AtomicFile.write(data, to: url)
    }

    /// Reads an existing sweep directory's spec.
    public static func open(_ directory: URL) throws -> Sweep {
        let url = directory.appendingPathComponent("sweep.json")
        guard let data = try? Data(contentsOf: url) else {
            throw RunError("\(directory.path) holds no sweep (sweep.json missing)")
        }
        do { return Sweep(directory: directory, spec: try JSONDecoder().decode(SweepSpec.self, from: data)) }
        catch { throw RunError("\(url.path) is not a valid sweep spec: \(error)") }
    }

    /// The tuning stage's choice (nil for an untuned sweep or before the tuning was collected).
    public func tunedPeaks() throws -> TunedPeaks? {
        guard spec.tuned, let data = try? Data(contentsOf: tunedURL) else { return nil }
        do { return try JSONDecoder().decode(TunedPeaks.self, from: data) }
        catch { throw RunError("\(tunedURL.path) is damaged (\(error)); rerun the tuning stage's --collect") }
    }

    /// The runs of a stage (the main stage of a tuned sweep needs tuned.json).
    public func runs(_ stage: SweepStage) throws -> [SweepSpec.PlannedRun] {
        try spec.plannedRuns(directory: directory, stage: stage, tuned: stage == .main ? try tunedPeaks() : nil)
    }

    /// Whether a run has finished: its final checkpoint exists, or it diverged (``divergedURL(_:)``).
    public func isFinished(_ r: SweepSpec.PlannedRun) -> Bool {
        if FileManager.default.fileExists(atPath: divergedURL(r).path) { return true }
        let ck = directory.appendingPathComponent(r.name).appendingPathComponent("checkpoints")
            .appendingPathComponent(Checkpoint.fileName(step: r.config.steps))
        return FileManager.default.fileExists(atPath: ck.path)
    }

    /// A run whose loss became non-finite is a result (an infinite loss at its budgets: a peak too high),
    /// not a failure of the sweep: the error is kept in `RUN/diverged.txt`.
    public func divergedURL(_ r: SweepSpec.PlannedRun) -> URL { divergedURL(name: r.name) }

    func divergedURL(name: String) -> URL {
        directory.appendingPathComponent(name).appendingPathComponent("diverged.txt")
    }

    /// Trains one planned run (creating, resuming or skipping it). Another process training the same run
    /// at the same time is refused through a lock file in the run directory.
    public func train(_ r: SweepSpec.PlannedRun, log: (String) -> Void = { _ in }, progress: TrainingProgress? = nil) throws {
        let dir = directory.appendingPathComponent(r.name)
        let fm = FileManager.default
        if fm.fileExists(atPath: divergedURL(r).path) { log("\(r.name): diverged earlier (\(divergedURL(r).path))"); return }
        if let parent = r.dependsOn, fm.fileExists(atPath: divergedURL(name: parent).path) {
            try fm.createDirectory(at: dir, withIntermediateDirectories: true)
            try AtomicFile.write("the run it branches from, \(parent), diverged\n", to: divergedURL(r))
            log("\(r.name): its main run \(parent) diverged; counted as an infinite loss")
            return
        }
        if fm.fileExists(atPath: dir.appendingPathComponent("config.json").path) {
            let existing = try RunConfig.load(dir.appendingPathComponent("config.json"))
            guard existing == r.config else {
                throw RunError("\(dir.path) holds a run with a different config than the sweep plans")
            }
            if isFinished(r) { log("\(r.name): done"); return }
        }
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)
        let lock = try RunLock(directory: dir)
        defer { lock.release() }
        let training: TrainingRun
        if fm.fileExists(atPath: dir.appendingPathComponent("config.json").path) {
            training = try TrainingRun.open(at: dir)
            log("\(r.name): resuming")
        } else {
            training = try TrainingRun.create(at: dir, config: r.config)
            log("\(r.name): \(r.config.schedule.kind.rawValue), \(r.config.steps) steps, peak \(r.peak)")
        }
        do { try training.train(progress: progress) } catch let e as RunError where e.divergence {
            try AtomicFile.write(e.message + "\n", to: divergedURL(r))
            log("\(r.name): diverged (\(divergedURL(r).path)); counted as an infinite loss")
        }
    }

    /// Trains every stage in this process, in plan order, then writes the tables.
    public func run(log: (String) -> Void = { _ in }, progress: (String) -> TrainingProgress? = { _ in nil }) throws {
        try prepare()
        if spec.tuned {
            for r in try runs(.tune) { try train(r, log: log, progress: progress(r.name)) }
            try writeTuning()
        }
        for r in try runs(.main) { try train(r, log: log, progress: progress(r.name)) }
        try writeTables()
    }

    // MARK: results

    /// One result row: the validation loss of an arm at a budget for a seed, with the smoothed training
    /// loss, the LR area Σ η and the last LR there.
    public struct Result: Sendable {
        public var arm: String
        public var schedule: ScheduleFamily
        public var seed: UInt64
        public var budget: Int
        public var peak: Double
        public var valLoss: Double
        public var trainLoss: Double
        public var lrArea: Double
        public var finalLR: Double
    }

    /// The smoothing window of the training loss: 1% of a run's steps (at least one step).
    public static func smoothingWindow(steps: Int) -> Int { max(1, steps / 100) }

    /// Trailing mean of the training loss over ``smoothingWindow(steps:)`` steps, per metrics line.
    static func smoothed(_ metrics: [MetricsRecord], steps: Int) -> [Double] {
        let w = smoothingWindow(steps: steps)
        var out: [Double] = []; out.reserveCapacity(metrics.count)
        var sum = 0.0
        for (i, m) in metrics.enumerated() {
            sum += m.loss
            if i >= w { sum -= metrics[i - w].loss }
            out.append(sum / Double(min(i + 1, w)))
        }
        return out
    }

    /// A run of a stage with its metrics lines and its smoothed training loss (metrics.jsonl read once).
    struct LoadedRun {
        let run: SweepSpec.PlannedRun
        let metrics: [MetricsRecord]
        let smooth: [Double]
    }

    func load(_ stage: SweepStage) throws -> [LoadedRun] {
        try runs(stage).map { r in
            let m = try MetricsRecord.read(directory.appendingPathComponent(r.name).appendingPathComponent("metrics.jsonl"))
            return LoadedRun(run: r, metrics: m, smooth: Self.smoothed(m, steps: r.config.steps))
        }
    }

    /// Results of a stage's runs (every budget each run serves that it has reached and evaluated).
    public func results(_ stage: SweepStage = .main) throws -> [Result] { try results(load(stage)) }

    func results(_ loaded: [LoadedRun]) throws -> [Result] {
        var out: [Result] = []
        for l in loaded where l.run.schedule != .wsdMain {
            let (r, m) = (l.run, l.metrics)
            let schedule = try r.config.schedule.build()
            func result(_ b: Int, _ v: Double, _ train: Double) -> Result {
                Result(arm: r.arm, schedule: r.schedule.family, seed: r.seed, budget: b, peak: r.peak, valLoss: v,
                       trainLoss: train, lrArea: schedule.cumulativeLR(upTo: b), finalLR: schedule.lr(at: b - 1))
            }
            if FileManager.default.fileExists(atPath: divergedURL(r).path) {
                for b in r.serves where !m.contains(where: { $0.step == b && $0.valLoss != nil }) {
                    out.append(result(b, .infinity, .infinity))
                }
            }
            for b in r.serves {
                guard let i = m.firstIndex(where: { $0.step == b }), let v = m[i].valLoss else { continue }
                out.append(result(b, v, l.smooth[i]))
            }
        }
        return out
    }

    /// The columns of the tables (docs/trainer-format.md).
    public static let resultColumns = ["arm", "schedule", "seed", "budget", "peak", "val_loss", "train_loss", "lr_area", "final_lr"]
    public static let summaryColumns = ["arm", "schedule", "budget", "peak", "val_loss_mean", "val_loss_std", "seeds",
                                        "compute_steps", "compute_tokens", "train_minus_val"]
    public static let pairedColumns = ["arm", "versus", "budget", "diff_mean", "ci95_low", "ci95_high", "seeds", "arm_better"]
    public static let tuningColumns = ["schedule", "budget", "peak", "val_loss", "chosen"]
    public static let riverTimeFitColumns = ["model", "points", "r2", "rmse", "intercept", "log_lr_area", "final_lr"]
    public static let curveColumns = ["run", "arm", "schedule", "seed", "budget", "step", "lr", "loss", "loss_smooth", "val_loss"]

    /// The pairs compared in paired.csv, (arm, versus), where both arms exist.
    static func comparisons(arms: [String]) -> [(String, String)] {
        var pairs: [(String, String)] = [("wsds", "wsd"), ("wsds", "cyclic-cosine"), ("wsds", "cosine"), ("wsd", "cyclic-cosine"),
                                         ("wsd", "cosine"), ("wsds", "cyclic-cosine-matched"), ("cyclic-cosine-matched", "cyclic-cosine")]
        for a in arms where a.hasPrefix("wsds-") { pairs.append((a, "wsds")) }
        for a in arms where a.hasPrefix("wsd-") { pairs.append((a, "wsd")) }
        return pairs.filter { arms.contains($0.0) && arms.contains($0.1) }
    }

    /// Chooses the best peak per family and budget on the tuning seed; writes tuning.csv and tuned.json.
    @discardableResult
    public func writeTuning() throws -> TunedPeaks {
        let rows = try results(.tune)
        var tuned = TunedPeaks()
        var table = CSVTable(Self.tuningColumns)
        for f in ScheduleFamily.allCases where spec.schedules.contains(f) {
            for b in spec.budgets {
                let candidates = rows.filter { $0.schedule == f && $0.budget == b }
                guard candidates.count == spec.peakGrid.count else {
                    throw RunError("the tuning stage is not finished: \(f.rawValue) at budget \(b) has \(candidates.count) of \(spec.peakGrid.count) peaks")
                }
                // The lowest validation loss wins; a tie goes to the smaller peak (the grid's order is irrelevant).
                let best = candidates.min { ($0.valLoss, $0.peak) < ($1.valLoss, $1.peak) }!
                tuned.peaks[f.rawValue, default: [:]][String(b)] = best.peak
                for c in candidates.sorted(by: { $0.peak < $1.peak }) {
                    table.append([.t(f.rawValue), .i(b), .n(c.peak), .n(c.valLoss), .i(c.peak == best.peak ? 1 : 0)])
                }
            }
        }
        try table.write(to: directory.appendingPathComponent("tuning.csv"))
        let enc = JSONEncoder(); enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        try AtomicFile.write(try enc.encode(tuned), to: tunedURL)
        return tuned
    }

    /// Writes results.csv, summary.csv, paired.csv and curves.csv of the main stage.
    public func writeTables() throws {
        let loaded = try load(.main)
        let results = try self.results(loaded)
        var csv = CSVTable(Self.resultColumns)
        for r in results {
            csv.append([.t(r.arm), .t(r.schedule.rawValue), .t(String(r.seed)), .i(r.budget), .n(r.peak), .n(r.valLoss),
                        .n(r.trainLoss), .n(r.lrArea), .n(r.finalLR)])
        }
        try csv.write(to: directory.appendingPathComponent("results.csv"))

        var arms: [String] = []
        for r in results where !arms.contains(r.arm) { arms.append(r.arm) }
        let tokensPerStep = spec.base.tokensPerStep
        var sum = CSVTable(Self.summaryColumns)
        for a in arms {
            for b in spec.budgets {
                let rows = results.filter { $0.arm == a && $0.budget == b }
                guard let first = rows.first else { continue }
                let v = rows.map(\.valLoss)
                let c = try spec.computeSteps(arm: a)
                sum.append([.t(a), .t(first.schedule.rawValue), .i(b), .n(first.peak), .n(Statistics.mean(v)),
                            .n(Statistics.standardDeviation(v)), .i(v.count), .i(c), .i(c * tokensPerStep),
                            .n(Statistics.mean(rows.map { $0.trainLoss - $0.valLoss }))])
            }
        }
        try sum.write(to: directory.appendingPathComponent("summary.csv"))

        var paired = CSVTable(Self.pairedColumns)
        for (a, v) in Self.comparisons(arms: arms) {
            for b in spec.budgets {
                var diffs: [Double] = []
                for s in spec.seeds {
                    guard let x = results.first(where: { $0.arm == a && $0.budget == b && $0.seed == s }),
                          let y = results.first(where: { $0.arm == v && $0.budget == b && $0.seed == s }) else { continue }
                    diffs.append(x.valLoss - y.valLoss)
                }
                guard !diffs.isEmpty else { continue }
                let m = Statistics.mean(diffs)
                let half = diffs.count > 1
                    ? Statistics.studentTQuantile(0.975, df: Double(diffs.count - 1)) * Statistics.standardDeviation(diffs) / Double(diffs.count).squareRoot()
                    : Double.nan
                paired.append([.t(a), .t(v), .i(b), .n(m), .n(m - half), .n(m + half), .i(diffs.count), .i(diffs.filter { $0 < 0 }.count)])
            }
        }
        try paired.write(to: directory.appendingPathComponent("paired.csv"))

        try Self.riverTimeFit(results).write(to: directory.appendingPathComponent("river-time-fit.csv"))

        var curves = CSVTable(Self.curveColumns)
        for l in loaded {
            let r = l.run
            for (i, x) in l.metrics.enumerated() {
                curves.append([.t(r.name), .t(r.arm), .t(r.schedule.rawValue), .t(String(r.seed)), .i(r.budget), .i(x.step), .n(x.lr),
                               .n(x.loss), .n(l.smooth[i]), .n(x.valLoss)])
            }
        }
        try curves.write(to: directory.appendingPathComponent("curves.csv"))
    }
}

extension Sweep {
    /// How far the final validation loss is a function of river time and the final LR (the theory: river
    /// term(Σ η) + hill term ∝ η): least-squares fits over every finite result (arm, seed, budget) of
    /// `river`: L = c0 + c1·ln Σ η, and `river+hill`: L = c0 + c1·ln Σ η + c2·η_final, with R² and RMSE.
    public static func riverTimeFit(_ results: [Result]) throws -> CSVTable {
        var t = CSVTable(riverTimeFitColumns)
        let rows = results.filter { $0.valLoss.isFinite && $0.lrArea > 0 }
        let y = rows.map(\.valLoss)
        for (name, k) in [("river", 2), ("river+hill", 3)] {
            guard rows.count > k else { continue }
            var a = Matrix(rows: rows.count, cols: k)
            for (i, r) in rows.enumerated() {
                a[i, 0] = 1; a[i, 1] = log(r.lrArea)
                if k == 3 { a[i, 2] = r.finalLR }
            }
            let (x, rss) = try leastSquares(a, y)
            let mean = Statistics.mean(y)
            let tss = y.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
            t.append([.t(name), .i(rows.count), .n(1 - rss / tss), .n((rss / Double(rows.count)).squareRoot()), .n(x[0]), .n(x[1]),
                      k == 3 ? .n(x[2]) : .t("")])
        }
        return t
    }
}

/// An exclusive lock on a run directory (`.lock` holding host and pid), so two workers never train the
/// same run at once. A lock left by a process that is gone (same host, pid not alive) is taken over.
final class RunLock {
    let url: URL
    private var held = false

    init(directory: URL) throws {
        url = directory.appendingPathComponent(".lock")
        let host = ProcessInfo.processInfo.hostName
        let me = "\(host) \(getpid())"
        for _ in 0..<2 {
            let fd = open(url.path, O_CREAT | O_EXCL | O_WRONLY, 0o644)
            if fd >= 0 {
                _ = me.withCString { write(fd, $0, strlen($0)) }
                close(fd)
                held = true
                return
            }
            let owner = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
            let parts = owner.split(separator: " ")
            if parts.count == 2, String(parts[0]) == host, let pid = Int32(parts[1]), kill(pid, 0) != 0, errno == ESRCH {
                try? FileManager.default.removeItem(at: url)   // its owner is gone: take it over
                continue
            }
            throw RunError("\(directory.path) is being trained by another process (\(owner.isEmpty ? "unknown" : owner), lock \(url.path)); if that process is gone, delete the lock file")
        }
        throw RunError("cannot lock \(directory.path) (\(url.path))")
    }

    func release() {
        if held { try? FileManager.default.removeItem(at: url); held = false }
    }

    deinit { release() }
}
