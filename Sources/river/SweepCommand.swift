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

    @Option(name: .long, help: "Sweep directory.") var out: String
    @Option(name: .long, help: "Base run config JSON (model, data, optimizer, batch, eval).") var config: String?
    @Option(name: .long, help: "Comma-separated increasing step budgets.") var budgets: String = "250,500,1000"
    @Option(name: .long, help: "Comma-separated seeds.") var seeds: String = "0,1"
    @Option(name: .long, help: "Comma-separated schedules: wsd, wsds, cyclic-cosine, cosine.") var schedules: String = "wsd,wsds,cyclic-cosine,cosine"
    @Option(name: .long, help: "Decay length: fraction (<= 1) or whole steps.") var decay: Double = 0.1
    @Option(name: .long, help: "WSD-S decay convention: cycle or cumulative.") var convention: String = "cumulative"
    @Option(name: .long, help: "Decay shape: linear, cosine, 1-sqrt, exp, inv.") var shape: String = "inv"
    @Option(name: .long, help: "Decay floor as a fraction of the peak.") var minRatio: Double = 0.1
    @Option(name: .long, help: "Peak learning rate (default: the config's schedule.peak).") var peak: Double?
    @Option(name: .long, help: "Warmup in whole steps (0 or >= 2).") var warmup: Int = 0
    @Flag(name: .long, help: "No progress bars.") var quiet = false

    static func parseList<T>(_ s: String, _ name: String, _ f: (String) -> T?) throws -> [T] {
        let parts = s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        return try parts.map { p in
            guard let v = f(p) else { throw ValidationError("--\(name): '\(p)' is not a valid value in '\(s)'") }
            return v
        }
    }

    func spec() throws -> SweepSpec {
        let base = try config.map { try RunConfig.load(URL(fileURLWithPath: $0)) } ?? RunConfig()
        guard let conv = DecayConvention(rawValue: convention) else {
            throw ValidationError("--convention '\(convention)' is not allowed (allowed: cycle, cumulative)")
        }
        guard let sh = DecayShape(rawValue: shape) else {
            throw ValidationError("--shape '\(shape)' is not allowed (allowed: \(DecayShape.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let spec = SweepSpec(base: base, budgets: try Self.parseList(budgets, "budgets") { Int($0) },
                             seeds: try Self.parseList(seeds, "seeds") { UInt64($0) },
                             schedules: try Self.parseList(schedules, "schedules (allowed: \(ScheduleFamily.allCases.map(\.rawValue).joined(separator: ", ")))") { ScheduleFamily(rawValue: $0) },
                             decay: decay, convention: conv, shape: sh, minRatio: minRatio, peak: peak, warmupSteps: warmup)
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
