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
                         --optimizer sgd --kind wsd --steps 2000 --peak 0.1 --decay 0.2 --seeds 64 --out sgd.csv
          river simulate --landscape curved-valley --dim 2 --hill-curvature 10 --noise 0.5 --optimizer momentum \\
                         --kind cosine --steps 1000 --peak 0.05 --seeds 8 --out curved.csv
        Row t describes the iterate after the update with lr(t); cumulative_lr = Σ_{s≤t} lr(s). Columns:
        step,lr,cumulative_lr,loss,river_loss,hill_loss,distance_to_river,river_coord[,top_eigenvalue], the
        same with _std (over seeds), then for gd/sgd on straight valleys the theory overlays
        theory_hill_loss (exact expectation under the schedule), theory_hill_loss_stationary
        (Σ ησ²/(2(2−ηλ))), theory_hill_loss_approx (η·TrΣ/4) and, for a linear river, theory_river_coord
        (x₀ + s·Σ η). gd ignores --noise. A run that diverges (e.g. lr × curvature > 2) stops with a
        message and exit code 3, writing nothing unless --allow-divergence is given.
        """)

    @Option(help: "Landscape: \(LandscapeCatalog.names.joined(separator: ", ")).")
    var landscape: String = "straight-valley"

    @Option(help: "Dimension d (river coordinate + d−1 hill coordinates).")
    var dim: Int = 2

    @Option(name: .customLong("hill-curvature"), help: "Hill curvature λ: one value, or comma-separated per hill direction.")
    var hillCurvature: String = "10"

    @Option(name: .customLong("river-profile"), help: "River profile: linear (ℓ = −s·x) or power (ℓ = A(1+x)^−α).")
    var riverProfile: String = "linear"

    @Option(name: .customLong("river-slope"), parsing: .unconditional, help: "River slope s of the linear profile (≥ 0).")
    var riverSlope: Double = 1

    @Option(name: .customLong("power-amplitude"), parsing: .unconditional, help: "A of the power profile.")
    var powerAmplitude: Double = 1

    @Option(name: .customLong("power-exponent"), parsing: .unconditional, help: "α of the power profile.")
    var powerExponent: Double = 0.5

    @Option(parsing: .unconditional, help: "Amplitude a of the curved valley's river a·sin(kx).")
    var amplitude: Double = 1

    @Option(parsing: .unconditional, help: "Wavenumber k of the curved valley's river a·sin(kx).")
    var wavenumber: Double = 0.5

    @Option(parsing: .unconditional, help: "Gradient-noise std σ: one value (every coordinate) or comma-separated per coordinate (≥ 0).")
    var noise: String = "0"

    @Option(help: "Optimizer: \(SimulationOptimizer.allCases.map(\.rawValue).joined(separator: ", ")).")
    var optimizer: String = "gd"

    @Option(parsing: .unconditional, help: "Momentum μ (momentum optimizer, PyTorch convention).")
    var momentum: Double = 0.9

    @Flag(help: "Nesterov momentum.")
    var nesterov = false

    @Option(name: .customLong("weight-decay"), parsing: .unconditional, help: "L2 weight decay (sgd, momentum, adam).")
    var weightDecay: Double = 0

    @Option(parsing: .unconditional, help: "Adam β₁.")
    var beta1: Double = 0.9

    @Option(parsing: .unconditional, help: "Adam β₂.")
    var beta2: Double = 0.999

    @Option(parsing: .unconditional, help: "Adam ε.")
    var epsilon: Double = 1e-8

    @OptionGroup var schedule: ScheduleOptions

    @Option(help: "Number of seeds run together (means and stds over them).")
    var seeds: Int = 1

    @Option(help: "Base random seed.")
    var seed: UInt64 = 0

    @Option(parsing: .unconditional, help: "Start point, comma-separated d values (default: the river point at x = 0).")
    var start: String?

    @Option(name: .customLong("record-every"), help: "Write every k-th step (and the last).")
    var recordEvery: Int = 1

    @Flag(name: .customLong("top-eigenvalue"), help: "Also record the largest Hessian eigenvalue (dense; small d).")
    var topEigenvalue = false

    @Flag(name: .customLong("allow-divergence"), help: "On divergence, write the rows before it (with a warning) instead of failing.")
    var allowDivergence = false

    @Option(help: "Output CSV file (written atomically); default: standard output.")
    var out: String?

    static func parseList(_ text: String, _ flag: String) throws -> [Double] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        return try parts.map { part in
            guard let v = Double(part.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("\(flag) '\(text)': '\(part)' is not a number")
            }
            return v
        }
    }

    func makeConfig() throws -> SimulationConfig {
        guard let opt = SimulationOptimizer(rawValue: optimizer) else {
            throw ValidationError("unknown optimizer '\(optimizer)'; allowed: \(SimulationOptimizer.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let params = LandscapeParameters(dimension: dim, hillCurvature: try Self.parseList(hillCurvature, "--hill-curvature"),
                                         riverProfile: riverProfile, riverSlope: riverSlope, powerAmplitude: powerAmplitude,
                                         powerExponent: powerExponent, amplitude: amplitude, wavenumber: wavenumber)
        let land: any Landscape
        do { land = try LandscapeCatalog.make(landscape, params) } catch { throw ValidationError("\(error)") }
        let noiseValues = try Self.parseList(noise, "--noise")
        let hyper = opt.hyperparameters(momentum: momentum, nesterov: nesterov, weightDecay: weightDecay,
                                        beta1: beta1, beta2: beta2, epsilon: epsilon)
        let config = SimulationConfig(landscape: land, optimizer: opt, hyperparameters: hyper, noise: noiseValues,
                                      schedule: try schedule.schedule(), seeds: seeds, seed: seed,
                                      start: try start.map { try Self.parseList($0, "--start") },
                                      recordEvery: recordEvery, topEigenvalue: topEigenvalue)
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
                throw ValidationError("cannot write --out '\(out)': the directory '\(dir)' does not exist or is not writable")
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
        let text = result.csv(extra: SimulationTable.theoryColumns(config, result))
        if let url {
            do { try AtomicFile.write(text, to: url) } catch { throw ValidationError("\(error)") }
        } else {
            FileHandle.standardOutput.write(Data(text.utf8))
        }
    }
}
