import ArgumentParser
import Foundation
import RiverValley

/// `river simulate`: GD / SGD / momentum / Adam on a built-in landscape under any schedule, many seeds
/// at once; writes means and standard deviations over seeds, plus theory overlays, as CSV.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Simulate an optimizer on a river-valley landscape under a schedule; write CSV (means and stds over seeds).",
        discussion: """
        Examples:
          river simulate --landscape straight-valley --dim 10 --hill-curvature 4 --river-slope 0.1 --noise 1 \\
                         --optimizer sgd --kind wsd --steps 2000 --peak 0.1 --decay 0.2 --seed-count 64 --out sgd.csv
          river simulate --landscape curved-valley --dim 2 --hill-curvature 10 --noise 0.5 --optimizer momentum \\
                         --kind cosine --steps 1000 --peak 0.05 --seed-count 8 --out curved.csv
        Row t describes the iterate after the update with lr(t); cumulative_lr = Σ_{s≤t} lr(s). Columns:
        step,lr,cumulative_lr,loss,river_loss,hill_loss,distance_to_river,river_coord[,top_eigenvalue], the
        same with _std (over seeds), then for gd/sgd on straight valleys the theory overlays
        theory_hill_loss (exact expectation under the schedule), theory_hill_loss_stationary
        (Σ ησ²/(2(2−ηλ))), theory_hill_loss_approx (η·TrΣ/4) and, for a linear river, theory_river_coord
        (x₀ + s·Σ η). gd ignores --noise. A run that diverges (e.g. lr × curvature > 2) stops with a
        message and exit code 3, writing nothing unless --allow-divergence is given.
        """)

    @OptionGroup var landscape: LandscapeOptions

    @Option(parsing: .unconditional,
            help: ArgumentHelp("Gradient-noise std σ: one value (every coordinate) or one per coordinate (≥ 0).", valueName: "x,..."),
            transform: CommaList<Double>.parse)
    var noise: CommaList<Double> = [0]

    @Option(help: ArgumentHelp("Optimizer.", valueName: "optimizer"))
    var optimizer: SimulationOptimizer = .gd

    @Option(parsing: .unconditional, help: ArgumentHelp("Momentum μ (momentum optimizer, PyTorch convention).", valueName: "x"))
    var momentum: Double = 0.9

    @Flag(help: "Nesterov momentum.")
    var nesterov = false

    @Option(name: .customLong("weight-decay"), parsing: .unconditional,
            help: ArgumentHelp("L2 weight decay (sgd, momentum, adam).", valueName: "x"))
    var weightDecay: Double = 0

    @Option(parsing: .unconditional, help: ArgumentHelp("Adam β₁.", valueName: "x"))
    var beta1: Double = 0.9

    @Option(parsing: .unconditional, help: ArgumentHelp("Adam β₂.", valueName: "x"))
    var beta2: Double = 0.999

    @Option(parsing: .unconditional, help: ArgumentHelp("Adam ε.", valueName: "x"))
    var epsilon: Double = 1e-8

    @OptionGroup var schedule: ScheduleOptions

    @OptionGroup var seeds: SeedCountOptions

    /// Deprecated spelling of --seed-count (`--seeds` is a list of seeds everywhere else).
    @Option(name: .customLong("seeds"), help: .hidden)
    var deprecatedSeeds: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Start point, d values (default: the river point at x = 0).", valueName: "x,..."),
            transform: CommaList<Double>.parse)
    var start: CommaList<Double>?

    @Option(name: .customLong("record-every"), help: ArgumentHelp("Write every k-th step (and the last).", valueName: "n"))
    var recordEvery: Int = 1

    @Flag(name: .customLong("top-eigenvalue"), help: "Also record the largest Hessian eigenvalue (dense; small d).")
    var topEigenvalue = false

    @Flag(name: .customLong("allow-divergence"), help: "On divergence, write the rows before it (with a warning) instead of failing.")
    var allowDivergence = false

    @Option(help: ArgumentHelp("Output CSV file (written atomically); default: standard output.", valueName: "path"))
    var out: String?

    mutating func validate() throws {
        Deprecated.merge(old: "--seeds", oldValue: deprecatedSeeds, new: "--seed-count", into: &seeds.seedCount)
        deprecatedSeeds = nil
    }

    func makeConfig() throws -> SimulationConfig {
        let land = try landscape.make(default: .straightValley)
        let hyper = optimizer.hyperparameters(momentum: momentum, nesterov: nesterov, weightDecay: weightDecay,
                                              beta1: beta1, beta2: beta2, epsilon: epsilon)
        let config = SimulationConfig(landscape: land, optimizer: optimizer, hyperparameters: hyper, noise: noise.elements,
                                      schedule: try schedule.schedule(), seeds: seeds.seedCount, seed: seeds.seed,
                                      start: start?.elements, recordEvery: recordEvery, topEigenvalue: topEigenvalue)
        do { try config.validate() } catch { throw ValidationError("\(error)") }
        return config
    }

    func run() throws {
        let config = try makeConfig()
        var url: URL? = nil
        if let out {
            let u = URL(fileURLWithPath: out)
            let dir = u.deletingLastPathComponent().path
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue,
                  FileManager.default.isWritableFile(atPath: dir) else {
                throw CLIError("cannot write --out '\(out)': the directory '\(dir)' does not exist or is not writable")
            }
            url = u
        }
        let result = try Simulation.run(config)
        if let div = result.divergence {
            if !allowDivergence || result.steps.isEmpty {
                FileHandle.standardError.write(Data("error: \(div.description)\n".utf8))
                throw ExitCode(3)
            }
            FileHandle.standardError.write(Data("warning: \(div.description); writing the \(result.steps.count) rows before it\n".utf8))
        }
        let table = result.table(extra: SimulationTable.theoryColumns(config, result))
        if let url {
            try table.write(to: url)
        } else {
            table.writeToStandardOutput()
        }
    }
}
