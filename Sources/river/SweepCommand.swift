import ArgumentParser
import Foundation
import RiverValley
import Trainer

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Budget sweep: WSD (main + decay branches), WSD-S, cyclic cosine and per-budget cosine at equal peak LR.",
        discussion: """
        Trains every schedule for every seed under --out (one run directory each; rerun the same command to
        resume) and writes results.csv (schedule,seed,budget,val_loss), summary.csv (mean ± std over seeds
        and the optimizer steps/tokens each schedule spent) and curves.csv (every metrics line).

        Example (quick):
          river sweep --out runs/sweep --config tiny.json --budgets 100,200,400 --seeds 0,1 --peak 3e-3
        """)

    @Option(name: .long, help: ArgumentHelp("Sweep directory.", valueName: "path")) var out: String
    @Option(name: .long, help: ArgumentHelp("Base run config JSON (model, data, optimizer, batch, eval).", valueName: "file")) var config: String?
    @Option(name: .long, help: ArgumentHelp("Step budgets, increasing.", valueName: "n,..."), transform: CommaList<Int>.parse)
    var budgets: CommaList<Int> = [250, 500, 1000]
    @Option(name: .long, help: ArgumentHelp("Seeds.", valueName: "seed,..."), transform: CommaList<UInt64>.parse)
    var seeds: CommaList<UInt64> = [0, 1]
    @Option(name: .long, help: ArgumentHelp("Schedules: wsd, wsds, cyclic-cosine, cosine.", valueName: "schedule,..."),
            transform: CommaList<String>.parse)
    var schedules: CommaList<String> = ["wsd", "wsds", "cyclic-cosine", "cosine"]
    /// --decay (a fraction of the budget / cycle / cumulative budget, or whole steps), --shape, --min-ratio.
    @OptionGroup var decay: DecayOptions
    @OptionGroup var convention: DecayConventionOptions
    /// Deprecated spelling of --decay-of.
    @Option(name: .customLong("convention"), help: .hidden) var deprecatedConvention: DecayConvention?
    @Option(name: .long, parsing: .unconditional,
            help: ArgumentHelp("Peak learning rate (default: the config's schedule.peak).", valueName: "lr")) var peak: Double?
    @Option(name: .long, parsing: .unconditional,
            help: ArgumentHelp("Warmup in whole steps (0 or ≥ 2), the same for every schedule so WSD branches share the main run.", valueName: "length"))
    var warmup: Double = 0
    @Flag(name: .long, help: "No progress bars.") var quiet = false

    mutating func validate() throws {
        Deprecated.merge(old: "--convention", oldValue: deprecatedConvention, new: "--decay-of", into: &convention.decayOf)
        deprecatedConvention = nil
        guard warmup.isFinite, warmup == warmup.rounded(), warmup == 0 || (warmup >= 2 && warmup <= Double(Int32.max)) else {
            throw ValidationError("--warmup \(warmup) is not allowed: the sweep takes a whole number of steps, 0 or ≥ 2 (not a fraction: the budgets differ)")
        }
    }

    func spec() throws -> SweepSpec {
        let base = try config.map { try RunConfig.load(URL(fileURLWithPath: $0)) } ?? RunConfig()
        let spec = SweepSpec(base: base, budgets: budgets.elements, seeds: seeds.elements, schedules: schedules.elements,
                             decay: decay.decayOrDefault, convention: convention.decayOf, shape: decay.shape,
                             minRatio: decay.minRatio, peak: peak, warmupSteps: Int(warmup))
        do { try spec.validate() } catch { throw ValidationError("\(error)") }
        return spec
    }

    func run() throws {
        let sweep = Sweep(directory: URL(fileURLWithPath: out), spec: try spec())
        let q = quiet
        try sweep.run(log: { if !q { FileHandle.standardError.write(Data("sweep: \($0)\n".utf8)) } },
                      progress: { q ? nil : ProgressBar(label: $0) })
        FileHandle.standardOutput.write(try Data(contentsOf: sweep.directory.appendingPathComponent("summary.csv")))
    }
}
