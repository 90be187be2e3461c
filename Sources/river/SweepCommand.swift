import ArgumentParser
import Foundation
import RiverValley
import Trainer

/// The sweep's extra arms (`--variants`).
enum SweepVariantName: String, CaseIterable, ExpressibleByArgument {
    /// WSD-S with the other decay convention (per-cycle beside cumulative).
    case wsdsOtherDecayOf = "wsds-other-decay-of"
    /// WSD-S with a rewarmup of --rewarmup steps after every decay.
    case wsdsRewarmup = "wsds-rewarmup"
    /// WSD-S resetting the optimizer state at every cycle start.
    case wsdsReset = "wsds-reset"
    /// Cyclic cosine with its peak raised to WSD-S's Σ η at the last budget.
    case cyclicCosineMatched = "cyclic-cosine-matched"
}

extension SweepStage: ExpressibleByArgument {}

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Budget sweep: WSD (main + decay branches), WSD-S, cyclic cosine and per-budget cosine, with peak tuning, variants and a plan of jobs for a cluster.",
        discussion: """
        Trains every schedule for every seed under --out (one run directory each; rerun the same command to
        resume) and writes results.csv (arm,schedule,seed,budget,peak,val_loss,train_loss,lr_area,final_lr),
        summary.csv (mean ± std over seeds, compute, train − validation gap), paired.csv (paired differences
        between arms with 95% t intervals) and curves.csv (every metrics line, with a smoothed training loss).
        With --peak-grid the peak is tuned per family and budget on the first seed (stage tune, tuning.csv and
        tuned.json), then every seed is trained at the chosen peaks (stage main).

        As a plan of independent jobs (a cluster, or several local worker processes):
          river sweep --out DIR [settings] --plan tune.jsonl --stage tune   one JSON line per run
          river sweep --plan tune.jsonl --job N                             run job N (waits for its dependencies)
          river sweep --plan tune.jsonl --workers 2 --threads 1             run every job with 2 local processes
          river sweep --plan tune.jsonl --collect                           tuning.csv + tuned.json (or the tables)
        then the same with --stage main. scripts/slurm/sweep.sbatch runs a plan as a Slurm job array.

        Example (quick):
          river sweep --out runs/sweep --config tiny.json --budgets 100,200,400 --seeds 0,1 --peak 3e-3
        Example (tuned, with variants, as a plan run by two local workers):
          river sweep --out runs/s --config small.json --budgets 500,1000,2000 --seeds 0,1,2 --peak-grid 2e-3,4e-3,8e-3 --warmup 50 --variants wsds-reset,cyclic-cosine-matched --plan runs/s-tune.jsonl --stage tune --workers 2 --threads 1
        """)

    @Option(name: .long, help: ArgumentHelp("Sweep directory (not needed with --plan and --job, --workers or --collect).", valueName: "path")) var out: String?
    @Option(name: .long, help: ArgumentHelp("Base run config JSON (model, data, optimizer, batch, eval).", valueName: "file")) var config: String?
    @Option(name: .long, help: ArgumentHelp("Step budgets, increasing.", valueName: "n,..."), transform: CommaList<Int>.parse)
    var budgets: CommaList<Int> = [250, 500, 1000]
    @Option(name: .long, help: ArgumentHelp("Seeds (same seed = same initialisation and batches in every arm).", valueName: "seed,..."), transform: CommaList<UInt64>.parse)
    var seeds: CommaList<UInt64> = [0, 1]
    @Option(name: .long, help: ArgumentHelp("Schedule families: \(ScheduleFamily.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "schedule,..."),
            transform: CommaList<ScheduleFamily>.parse)
    var schedules: CommaList<ScheduleFamily> = CommaList(ScheduleFamily.allCases)
    /// --decay (a fraction of the budget / cycle / cumulative budget, or whole steps), --shape, --min-ratio.
    @OptionGroup var decay: DecayOptions
    @OptionGroup var convention: DecayConventionOptions
    /// Deprecated spelling of --decay-of.
    @Option(name: .customLong("convention"), help: .hidden) var deprecatedConvention: DecayConvention?
    @Option(name: .long, parsing: .unconditional,
            help: ArgumentHelp("Peak learning rate (default: the config's schedule.peak); with --peak-grid, not used.", valueName: "lr")) var peak: Double?
    @Option(name: .long, parsing: .unconditional,
            help: ArgumentHelp("Warmup in whole steps (0 or ≥ 2), the same for every schedule so WSD branches share the main run.", valueName: "length"))
    var warmup: Double = 0
    @Option(name: .customLong("peak-grid"), parsing: .unconditional,
            help: ArgumentHelp("Peak LRs to tune over on the first seed, per family and budget (then every seed runs at the chosen peaks).", valueName: "lr,..."),
            transform: CommaList<Double>.parse)
    var peakGrid: CommaList<Double> = []
    @Option(name: .long, help: ArgumentHelp("Extra arms: \(SweepVariantName.allCases.map(\.rawValue).joined(separator: ", ")).", valueName: "variant,..."),
            transform: CommaList<SweepVariantName>.parse)
    var variants: CommaList<SweepVariantName> = []
    @Option(name: .long, parsing: .unconditional,
            help: ArgumentHelp("Rewarmup of the wsds-rewarmup arm, in whole steps (≥ 2).", valueName: "length"))
    var rewarmup: Double?
    @Option(name: .long, help: ArgumentHelp("WSD decay ablation at the last budget: decay shapes (with --decays).", valueName: "shape,..."),
            transform: CommaList<DecayShape>.parse)
    var shapes: CommaList<DecayShape> = []
    @Option(name: .long, parsing: .unconditional,
            help: ArgumentHelp("WSD decay ablation at the last budget: decay lengths as fractions of it (with --shapes).", valueName: "length,..."),
            transform: CommaList<Double>.parse)
    var decays: CommaList<Double> = []
    @Option(name: .customLong("fine-eval"), parsing: .unconditional,
            help: ArgumentHelp("Validate every this fraction of a budget inside each decay window ending at it (0: off).", valueName: "ratio"))
    var fineEval: Double = 0
    @Option(name: .long, help: ArgumentHelp("Plan file (JSON lines, one job per run): written with --out, read without.", valueName: "file"))
    var plan: String?
    @Option(name: .long, help: ArgumentHelp("The stage a plan is written for: tune (peak grid on the first seed) or main.", valueName: "stage"))
    var stage: SweepStage = .main
    @Option(name: .long, help: ArgumentHelp("Run one job of the plan (0-based line number).", valueName: "n")) var job: Int?
    @Option(name: .long, help: ArgumentHelp("Run the plan with this many local worker processes.", valueName: "n")) var workers: Int?
    @Option(name: .long, help: ArgumentHelp("BLAS and kernel threads per worker process (default: cores ÷ workers).", valueName: "n")) var threads: Int?
    @Option(name: .long, help: ArgumentHelp("Run the plan's jobs in a random dependency-respecting order from this seed (an order-independence check).", valueName: "seed"))
    var shuffle: UInt64?
    @Flag(name: .long, help: "Build the plan's tables (every job must have finished).") var collect = false
    @Flag(name: .long, help: "No progress bars.") var quiet = false

    mutating func validate() throws {
        Deprecated.merge(old: "--convention", oldValue: deprecatedConvention, new: "--decay-of", into: &convention.decayOf)
        deprecatedConvention = nil
        guard warmup.isFinite, warmup == warmup.rounded(), warmup == 0 || (warmup >= 2 && warmup <= Double(Int32.max)) else {
            throw ValidationError("--warmup \(warmup) is not allowed: the sweep takes a whole number of steps, 0 or ≥ 2 (not a fraction: the budgets differ)")
        }
        if let r = rewarmup {
            guard r.isFinite, r == r.rounded(), r >= 2, r <= Double(Int32.max) else {
                throw ValidationError("--rewarmup \(r) is not allowed: the sweep takes a whole number of steps ≥ 2")
            }
            guard variants.elements.contains(.wsdsRewarmup) else { throw ValidationError("--rewarmup needs --variants wsds-rewarmup") }
        } else if variants.elements.contains(.wsdsRewarmup) {
            throw ValidationError("--variants wsds-rewarmup needs --rewarmup STEPS (the rewarmup length, ≥ 2 steps)")
        }
        if let j = job, j < 0 { throw ValidationError("--job \(j) is not allowed: a job index is ≥ 0") }
        if let w = workers, !(1...256).contains(w) { throw ValidationError("--workers \(w) is not allowed: 1...256") }
        if let t = threads, !(1...1024).contains(t) { throw ValidationError("--threads \(t) is not allowed: 1...1024") }
        let modes = [job != nil, collect, workers != nil && out == nil].filter { $0 }.count
        if modes > 1 { throw ValidationError("--job, --collect and --workers (without --out) are separate actions: give one") }
        if out == nil {
            guard plan != nil else { throw ValidationError("give --out DIR (the sweep directory), or --plan FILE with --job, --workers or --collect") }
            guard modes == 1 else { throw ValidationError("--plan FILE without --out needs --job N, --workers W or --collect") }
        } else if job != nil || collect {
            throw ValidationError("--job and --collect read the plan file only: drop --out and the sweep settings")
        }
    }

    func spec() throws -> SweepSpec {
        let base = try config.map { try RunConfig.load(URL(fileURLWithPath: $0)) } ?? RunConfig()
        var v = SweepVariants()
        let chosen = Set(variants.elements)
        v.wsdsOtherConvention = chosen.contains(.wsdsOtherDecayOf)
        v.wsdsRewarmupSteps = chosen.contains(.wsdsRewarmup) ? Int(rewarmup ?? 0) : 0
        v.wsdsResetOptimizer = chosen.contains(.wsdsReset)
        v.cyclicCosineMatched = chosen.contains(.cyclicCosineMatched)
        v.ablationShapes = shapes.elements
        v.ablationDecays = decays.elements
        let spec = SweepSpec(base: base, budgets: budgets.elements, seeds: seeds.elements, schedules: schedules.elements,
                             decay: decay.decayOrDefault, convention: convention.decayOf, shape: decay.shape,
                             minRatio: decay.minRatio, peak: peak, warmupSteps: Int(warmup), peakGrid: peakGrid.elements,
                             variants: v, fineEval: fineEval)
        do { try spec.validate() } catch { throw ValidationError("\(error)") }
        return spec
    }

    var executable: URL {
        URL(fileURLWithPath: Bundle.main.executablePath ?? CommandLine.arguments[0]).resolvingSymlinksInPath()
    }

    func say(_ s: String) { if !quiet { FileHandle.standardError.write(Data("sweep: \(s)\n".utf8)) } }

    func run() throws {
        if let out {
            let sweep = Sweep(directory: URL(fileURLWithPath: out), spec: try spec())
            guard let plan else {
                try sweep.run(log: say, progress: { quiet ? nil : ProgressBar(label: $0) })
                FileHandle.standardOutput.write(try Data(contentsOf: sweep.directory.appendingPathComponent("summary.csv")))
                return
            }
            let p = try SweepPlan.make(sweep, stage: stage, url: URL(fileURLWithPath: plan), executable: "river")
            try p.write()
            FileHandle.standardOutput.write(Data("wrote \(p.jobs.count) jobs (stage \(stage.rawValue)) to \(plan)\n".utf8))
            if let w = workers { try runLocally(p, workers: w) }
            else {
                FileHandle.standardOutput.write(Data("run them with `river sweep --plan \(plan) --workers 2` or scripts/slurm/sweep.sbatch, then `river sweep --plan \(plan) --collect`\n".utf8))
            }
            return
        }
        let p = try SweepPlan.read(URL(fileURLWithPath: plan!))
        if let job {
            try p.run(job: job, log: { FileHandle.standardError.write(Data("sweep: \($0)\n".utf8)) },
                      progress: quiet ? nil : ProgressBar(label: "job \(job)"))
        } else if collect {
            try p.collect()
            let (sweep, _) = try p.sweep()
            let file = p.jobs[0].stage == .tune ? "tuning.csv" : "summary.csv"
            FileHandle.standardOutput.write(try Data(contentsOf: sweep.directory.appendingPathComponent(file)))
        } else if let w = workers {
            try runLocally(p, workers: w)
        }
    }

    func runLocally(_ p: SweepPlan, workers w: Int) throws {
        let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let runner = SweepRunner(plan: p, executable: executable, workers: w, threads: threads ?? max(1, cores / w), shuffleSeed: shuffle)
        try runner.run(log: { FileHandle.standardError.write(Data("sweep: \($0)\n".utf8)) })
        try p.collect()
        let (sweep, _) = try p.sweep()
        say("tables written to \(sweep.directory.path)")
    }
}
