import Foundation
import LinearAlgebra
import RiverValley
import Trainer

/// The trained runs shared by the five checkpoint-analysis experiments (lm-interpolation, lm-sharpness,
/// lm-token-buckets, lm-decay-prediction, lm-spectrum; paper-notes/paper.md §2.5): made once, resumable,
/// next to the experiments' folders (`OUT/lm-runs-<mode>-seed<S>/`).
///
/// For every seed and every peak LR: one constant-LR main run (`seed<k>/peak<i>/main`, warmup then
/// constant, permanent checkpoints at ``Setting/checkpointSteps``) and one `inv` decay branch to
/// 0.1·peak from each fork step F (`seed<k>/peak<i>/decay-F`), made by ``BranchRequest`` — the same
/// branch machinery as `river branch` and `river analyze decay-probe` — keeping a checkpoint every
/// ``Setting/decayCheckpointEvery`` steps along the decay. Every analysis measures `river eval`'s loss on
/// the first tokens of the runs' own validation split (held out from training).
enum LMRuns {
    struct Setting {
        var base: RunConfig
        var seeds: [UInt64]
        /// Constant LRs of the main runs; `referencePeak` is the one the single-run analyses use.
        var peaks: [Double]
        var referencePeak: Double
        var warmupSteps: Int
        /// Main-run length (≥ every fork + decay, so the constant continuation at F + D exists).
        var steps: Int
        /// Fork steps of the decay branches (ascending) and the decay length in steps.
        var forks: [Int]
        var decaySteps: Int
        var decayCheckpointEvery: Int
        /// An early stable-phase checkpoint (after warmup) for the token buckets.
        var early: Int
        /// Gaps (steps) of the constant-LR interpolation pairs, all from the first fork.
        var gaps: [Int]
        /// Main-run checkpoints analysed for sharpness.
        var sharpnessSteps: [Int]
        /// Validation tokens for losses (interpolation, buckets, decay drops) and for curvature (HVPs).
        var evalTokens: Int
        var curvatureTokens: Int
        var lanczosIterations: Int
        var slqRuns: Int
        var noiseBatches: Int
        var interpolationPoints: Int
        var interpolationExtend: Double
        var buckets: Int
        var ngramOrder: Int

        /// Every checkpoint step the main runs keep.
        var checkpointSteps: [Int] {
            Array(Set([early, steps] + forks + forks.map { $0 + decaySteps } + gaps.map { forks[0] + $0 } + sharpnessSteps)).sorted()
        }
    }

    static func setting(_ settings: ExperimentSettings) -> Setting {
        var base = RunConfig()
        base.checkpointEvery = 0
        base.evalEvery = 0
        if settings.smoke {
            base.model = TransformerConfig(vocabSize: 256, contextLength: 16, width: 16, layers: 1, heads: 2)
            base.batchSize = 4
            base.evalWindows = 4
            return Setting(base: base, seeds: [settings.seed], peaks: [2e-3, 6e-3], referencePeak: 6e-3, warmupSteps: 4,
                           steps: 24, forks: [12, 18], decaySteps: 6, decayCheckpointEvery: 3, early: 6, gaps: [3, 6],
                           sharpnessSteps: [6, 12, 18], evalTokens: 512, curvatureTokens: 128, lanczosIterations: 4,
                           slqRuns: 1, noiseBatches: 4, interpolationPoints: 5, interpolationExtend: 0.25, buckets: 5,
                           ngramOrder: 1)
        }
        if settings.quick {
            base.model = TransformerConfig(vocabSize: 256, contextLength: 64, width: 64, layers: 2, heads: 4)
            base.batchSize = 16
            base.evalWindows = 64
            return Setting(base: base, seeds: [settings.seed, settings.seed + 1, settings.seed + 2],
                           peaks: [2e-3, 6e-3], referencePeak: 6e-3, warmupSteps: 20,
                           steps: 200, forks: [100, 180], decaySteps: 20, decayCheckpointEvery: 10, early: 40,
                           gaps: [20, 50, 100], sharpnessSteps: [40, 100, 180], evalTokens: 4096,
                           curvatureTokens: 512, lanczosIterations: 8, slqRuns: 2, noiseBatches: 16,
                           interpolationPoints: 11, interpolationExtend: 0.3, buckets: 5, ngramOrder: 2)
        }
        base.model = .default
        base.batchSize = 16
        base.evalWindows = 64
        return Setting(base: base, seeds: [settings.seed, settings.seed + 1, settings.seed + 2],
                       peaks: [1e-3, 3e-3], referencePeak: 3e-3, warmupSteps: 100,
                       steps: 2200, forks: [1000, 2000], decaySteps: 200, decayCheckpointEvery: 50, early: 300,
                       gaps: [200, 500, 1000], sharpnessSteps: [300, 600, 1000, 1500, 2000], evalTokens: 65536,
                       curvatureTokens: 4096, lanczosIterations: 20, slqRuns: 4, noiseBatches: 32,
                       interpolationPoints: 21, interpolationExtend: 0.25, buckets: 5, ngramOrder: 2)
    }

    /// The runs of one seed and peak.
    struct Runs {
        let seed: UInt64
        let peak: Double
        let main: URL
        var branches: [(fork: Int, directory: URL)]
        func checkpoint(step: Int) -> URL {
            main.appendingPathComponent("checkpoints").appendingPathComponent(Checkpoint.fileName(step: step))
        }
        func branch(fork: Int) -> URL { branches.first { $0.fork == fork }!.directory }
        func branchEnd(fork: Int, decaySteps: Int) -> URL {
            branch(fork: fork).appendingPathComponent("checkpoints").appendingPathComponent(Checkpoint.fileName(step: fork + decaySteps))
        }
        func request(fork: Int, _ s: Setting) -> BranchRequest {
            BranchRequest(parent: main, step: fork, decay: Double(s.decaySteps), shape: .inv, minRatio: 0.1)
        }
    }

    /// Everything the experiments read: the setting, the runs and the evaluation tokens.
    struct Trained {
        let setting: Setting
        let directory: URL
        let runs: [Runs]
        /// The first `evalTokens` / `curvatureTokens` tokens of the runs' validation split.
        let evalTokens: [Int32]
        let curvatureTokens: [Int32]
        func runs(seed: UInt64, peak: Double) -> Runs { runs.first { $0.seed == seed && $0.peak == peak }! }
        var reference: [Runs] { setting.seeds.map { runs(seed: $0, peak: setting.referencePeak) } }
    }

    /// Trains (or resumes, or reuses) every run and returns them.
    static func ensure(_ settings: ExperimentSettings) throws -> Trained {
        let s = setting(settings)
        let dir = settings.outputDirectory.deletingLastPathComponent()
            .appendingPathComponent("lm-runs-" + settings.mode + "-seed\(settings.seed)")
        // (seed, peak) jobs in parallel, OpenBLAS on one thread each (these models are too small for
        // threaded GEMMs); a main run trains before its branches.
        let jobs = s.seeds.flatMap { seed in s.peaks.indices.map { (seed, $0) } }
        let all = try Parallel.map(jobs.indices.map { $0 }) { j -> Runs in try train(seed: jobs[j].0, peakIndex: jobs[j].1, s, directory: dir) }
        let validation = try TrainingRun.open(at: all[0].main).dataset.validation
        guard validation.count >= s.evalTokens, s.evalTokens >= s.curvatureTokens else {
            throw RunError("the validation split has \(validation.count) tokens; the lm experiments need \(s.evalTokens)")
        }
        return Trained(setting: s, directory: dir, runs: all, evalTokens: Array(validation.prefix(s.evalTokens)),
                       curvatureTokens: Array(validation.prefix(s.curvatureTokens)))
    }

    static func log(_ m: String) { FileHandle.standardError.write(Data("lm runs: \(m)\n".utf8)) }

    /// The main run of one seed and peak, and its decay branches.
    static func train(seed: UInt64, peakIndex i: Int, _ s: Setting, directory dir: URL) throws -> Runs {
        let peak = s.peaks[i]
        let folder = dir.appendingPathComponent("seed\(seed)/peak\(i)")
        var cfg = s.base
        cfg.seed = seed; cfg.dataSeed = seed
        cfg.schedule = ScheduleSpec(kind: .constant, steps: s.steps, peak: peak, warmup: Double(s.warmupSteps))
        cfg.checkpointAt = s.checkpointSteps
        cfg.evalAt = []
        let main = folder.appendingPathComponent("main")
        try trainRun(at: main, config: cfg, name: "seed \(seed) peak \(peak) main")
        var runs = Runs(seed: seed, peak: peak, main: main, branches: [])
        for f in s.forks {
            let d = folder.appendingPathComponent("decay-\(f)")
            runs.branches.append((f, d))
            // BranchRequest: the branch `river branch` and `river analyze decay-probe` make.
            try runs.request(fork: f, s).train(at: d, checkpointEvery: s.decayCheckpointEvery)
        }
        return runs
    }

    /// Creates and trains the run, resumes it, or leaves it if finished; a different config is an error.
    static func trainRun(at dir: URL, config: RunConfig, name: String) throws {
        let training: TrainingRun
        if FileManager.default.fileExists(atPath: dir.appendingPathComponent("config.json").path) {
            training = try TrainingRun.open(at: dir)
            guard training.config == config else {
                throw RunError("\(dir.path) holds a run with a different config than the lm experiments plan; remove it or use another --out")
            }
            if training.checkpointSteps().contains(config.steps) { return }
            log("\(name): resuming")
        } else {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            training = try TrainingRun.create(at: dir, config: config)
            log("\(name): \(config.steps) steps")
        }
        try training.train()
    }

    static func checkpoint(_ url: URL) throws -> Checkpoint { try Checkpoint.read(from: url) }

    /// Least squares through the origin y = a·x, and R² = 1 − SS_res / SS_tot (SS_tot about the mean of y).
    static func fitThroughOrigin(x: [Double], y: [Double]) -> (slope: Double, r2: Double) {
        let sxy = zip(x, y).reduce(0) { $0 + $1.0 * $1.1 }, sxx = x.reduce(0) { $0 + $1 * $1 }
        let a = sxx > 0 ? sxy / sxx : .nan
        let mean = y.reduce(0, +) / Double(max(y.count, 1))
        let res = zip(x, y).reduce(0) { $0 + ($1.1 - a * $1.0) * ($1.1 - a * $1.0) }
        let tot = y.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
        return (a, tot > 0 ? 1 - res / tot : .nan)
    }
}
