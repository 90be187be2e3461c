import ArgumentParser
import Foundation
import RiverValley

/// The schedule flags shared by `river schedule`, `river simulate` and the trainers.
struct ScheduleOptions: ParsableArguments {
    @Option(help: "Schedule kind: \(ScheduleKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var kind: ScheduleKind = .wsd

    @Option(help: "Total steps N; the schedule covers steps 0..<N.")
    var steps: Int?

    @Option(parsing: .unconditional, help: "Peak learning rate η_max (> 0).")
    var peak: Double?

    @Option(parsing: .unconditional, help: "Warmup: a fraction (≤ 1) of the first cycle, or whole steps (> 1).")
    var warmup: Double = 0

    @Option(parsing: .unconditional, help: "Decay length (wsd, wsds): a fraction (≤ 1) of each cycle or of the cumulative budget (see --decay-of), or whole steps (> 1). Default 0.1.")
    var decay: Double?

    @Option(help: "Decay shape: \(DecayShape.allCases.map(\.rawValue).joined(separator: ", ")).")
    var shape: DecayShape = .inv

    @Option(name: .customLong("min-ratio"), parsing: .unconditional, help: "Floor ratio r: decays end at r × peak, in [0, 1].")
    var minRatio: Double = 0.1

    @Option(help: "Cycle end steps for wsds / cyclic-cosine, comma-separated and increasing (e.g. 300,700).")
    var cycles: String?

    @Option(name: .customLong("cycle-count"), help: "Or a number of equal cycles for wsds / cyclic-cosine.")
    var cycleCount: Int?

    @Option(parsing: .unconditional, help: "Rewarmup at each later cycle: a fraction of the cycle or whole steps; 0 jumps back to the peak.")
    var rewarmup: Double = 0

    @Option(name: .customLong("decay-of"), help: "WSD-S decay measured per cycle (Levanter) or of the cumulative budget (lingua): cycle, cumulative.")
    var decayOf: DecayConvention = .cycle

    @Option(help: "A Levanter optimizer YAML (learning_rate, min_lr_ratio, warmup, decay, rewarmup, cycles, cycle_length, lr_schedule); gives Levanter's own curve.")
    var config: String?

    /// The cycle ends parsed from `--cycles`.
    func cycleEnds() throws -> [Int]? {
        guard let cycles else { return nil }
        let parts = cycles.split(separator: ",", omittingEmptySubsequences: false)
        return try parts.map { part in
            guard let v = Int(part.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--cycles '\(cycles)': '\(part)' is not a whole step number; give end steps like 300,700")
            }
            return v
        }
    }

    /// The spec from the flags (not for --config).
    func spec() throws -> ScheduleSpec {
        guard let steps else { throw ValidationError("--steps is required (the number of steps, ≥ 1)") }
        guard let peak else { throw ValidationError("--peak is required (the peak learning rate, > 0)") }
        return ScheduleSpec(kind: kind, steps: steps, peak: peak, warmup: warmup, decay: decay, shape: shape,
                            minRatio: minRatio, cycles: try cycleEnds(), cycleCount: cycleCount,
                            rewarmup: rewarmup, decayOf: decayOf)
    }

    /// The validated schedule: from --config (Levanter YAML) or from the flags.
    func schedule() throws -> Schedule {
        do {
            if let config {
                guard let text = try? String(contentsOfFile: config, encoding: .utf8) else {
                    throw ValidationError("cannot read the config file '\(config)'")
                }
                return try LevanterScheduleConfig(yaml: text).build(steps: steps)
            }
            return try spec().build()
        } catch let e as ScheduleError {
            throw ValidationError(e.description)
        }
    }
}

extension ScheduleKind: ExpressibleByArgument {}
extension DecayShape: ExpressibleByArgument {}
extension DecayConvention: ExpressibleByArgument {}
