import ArgumentParser
import Foundation
import RiverValley

/// The decay phase of a WSD-style schedule (`--decay`, `--shape`, `--min-ratio`): shared by `river schedule`,
/// `simulate` and `bigram train` (through `ScheduleOptions`), `branch` and `sweep`.
struct DecayOptions: ParsableArguments {
    @Option(parsing: .unconditional,
            help: ArgumentHelp("Decay length: a fraction (≤ 1) or whole steps (> 1); the fraction is of the run or branch budget (WSD), or of the cycle or cumulative budget (WSD-S, --decay-of). Default 0.1.",
                               valueName: "length"))
    var decay: Double?

    @Option(help: ArgumentHelp("Decay shape.", valueName: "shape"))
    var shape: DecayShape = .inv

    @Option(name: .customLong("min-ratio"), parsing: .unconditional,
            help: ArgumentHelp("Floor ratio r: a decay ends at r × peak, in [0, 1].", valueName: "ratio"))
    var minRatio: Double = 0.1

    /// The decay length, or the default fraction 0.1.
    var decayOrDefault: Double { decay ?? ScheduleSpec.defaultDecayFraction }
}

/// `--decay-of cycle|cumulative`: how a fractional WSD-S decay is measured. One default everywhere,
/// `cumulative` (lingua's convention; the paper's "10% of the cumulative budget", paper-notes/paper.md).
struct DecayConventionOptions: ParsableArguments {
    @Option(name: .customLong("decay-of"),
            help: ArgumentHelp("WSD-S decay measured per cycle (Levanter, OLMo-core) or of the cumulative budget (lingua).",
                               valueName: "convention"))
    var decayOf: DecayConvention = .cumulative
}

/// The schedule flags shared by `river schedule`, `river simulate` and `river bigram train`.
struct ScheduleOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Schedule kind.", valueName: "kind"))
    var kind: ScheduleKind = .wsd

    @Option(help: ArgumentHelp("Total steps N; the schedule covers steps 0..<N.", valueName: "n"))
    var steps: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Peak learning rate η_max (> 0).", valueName: "lr"))
    var peak: Double?

    @Option(parsing: .unconditional,
            help: ArgumentHelp("Warmup: a fraction (≤ 1) of the first cycle, or whole steps (> 1).", valueName: "length"))
    var warmup: Double = 0

    @OptionGroup var decay: DecayOptions

    @Option(help: ArgumentHelp("Cycle end steps for wsds / cyclic-cosine, increasing (e.g. 300,700).", valueName: "n,..."),
            transform: CommaList<Int>.parse)
    var cycles: CommaList<Int>?

    @Option(name: .customLong("cycle-count"),
            help: ArgumentHelp("Or a number of equal cycles for wsds / cyclic-cosine.", valueName: "n"))
    var cycleCount: Int?

    @Option(parsing: .unconditional,
            help: ArgumentHelp("Rewarmup at each later cycle: a fraction of the cycle or whole steps; 0 jumps back to the peak.",
                               valueName: "length"))
    var rewarmup: Double = 0

    @OptionGroup var convention: DecayConventionOptions

    @Option(help: ArgumentHelp("A Levanter optimizer YAML (learning_rate, min_lr_ratio, warmup, decay, rewarmup, cycles, cycle_length, lr_schedule); gives Levanter's own curve.",
                               valueName: "file"))
    var levanter: String?

    /// Deprecated spelling of `--levanter`.
    @Option(name: .customLong("config"), help: .hidden)
    var deprecatedConfig: String?

    mutating func validate() throws {
        levanter = try Deprecated.merge(old: "--config", oldValue: deprecatedConfig, new: "--levanter", newValue: levanter)
        deprecatedConfig = nil
    }

    /// The spec from the flags (not for --levanter).
    func spec() throws -> ScheduleSpec {
        guard let steps else { throw ValidationError("--steps is required (the number of steps, ≥ 1)") }
        guard let peak else { throw ValidationError("--peak is required (the peak learning rate, > 0)") }
        return ScheduleSpec(kind: kind, steps: steps, peak: peak, warmup: warmup, decay: decay.decay,
                            shape: decay.shape, minRatio: decay.minRatio, cycles: cycles?.elements,
                            cycleCount: cycleCount, rewarmup: rewarmup, decayOf: convention.decayOf)
    }

    /// The validated schedule: from --levanter (a Levanter YAML) or from the flags. A bad flag value is a
    /// `ValidationError` (with the usage line); an unreadable or bad YAML is a runtime `RiverError`.
    func schedule() throws -> Schedule {
        if let levanter {
            guard let text = try? String(contentsOfFile: levanter, encoding: .utf8) else {
                throw CLIError("cannot read the Levanter YAML '\(levanter)' (--levanter)")
            }
            do { return try LevanterScheduleConfig(yaml: text).build(steps: steps) }
            catch let e as ScheduleError { throw CLIError("\(levanter): \(e.description)") }
        }
        do { return try spec().build() } catch let e as ScheduleError { throw ValidationError(e.description) }
    }
}

extension ScheduleKind: ExpressibleByArgument {}
extension DecayShape: ExpressibleByArgument {}
extension DecayConvention: ExpressibleByArgument {}
