import ArgumentParser
import Experiments
import Foundation
import RiverValley

struct ExperimentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "experiment",
        abstract: "Compute the data behind the paper's figures (one experiment per figure).",
        discussion: """
        Each experiment writes CSV/JSON tables under OUT/<name>/; python/figures.py renders them into Figures/.
        A finished experiment leaves OUT/<name>/.done and is skipped on the next run (resumable), unless --force.
        Examples:
          river experiment --list
          river experiment all --out out
          river experiment schedule-zoo loss-split --out out --full
        """)

    @Argument(help: "Experiment names, or 'all'.")
    var names: [String] = []

    @Flag(help: "List the experiments and exit.")
    var list = false

    @Option(help: ArgumentHelp("Output folder; each experiment writes into OUT/<name>/.", valueName: "path"))
    var out: String = "out"

    @Flag(help: "Full setting (longer, closer to the paper) instead of the quick default.")
    var full = false

    @Option(help: ArgumentHelp("Base seed.", valueName: "seed"))
    var seed: UInt64 = 0

    @Flag(help: "Recompute experiments that are already done.")
    var force = false

    func validate() throws {
        if list { return }
        if names.isEmpty { throw ValidationError("name at least one experiment, or 'all' (see --list)") }
        let known = Set(allExperiments.map { $0.name })
        for n in names where n != "all" && !known.contains(n) {
            throw ValidationError("unknown experiment '\(n)'; known: \(allExperiments.map { $0.name }.joined(separator: ", ")), all")
        }
    }

    func run() throws {
        if list {
            for e in allExperiments { print("\(e.name.padding(toLength: 24, withPad: " ", startingAt: 0)) \(e.summary)") }
            return
        }
        let chosen = names.contains("all") ? allExperiments : allExperiments.filter { names.contains($0.name) }
        let root = URL(fileURLWithPath: out)
        let started = Date()
        for (i, e) in chosen.enumerated() {
            let dir = root.appendingPathComponent(e.name)
            let marker = dir.appendingPathComponent(".done")
            let stamp = "mode=\(full ? "full" : "quick") seed=\(seed)\n"
            if !force, (try? String(contentsOf: marker, encoding: .utf8)) == stamp {
                log("[\(i + 1)/\(chosen.count)] \(e.name): already done, skipping (use --force to recompute)")
                continue
            }
            let t0 = Date()
            let elapsed = t0.timeIntervalSince(started)
            let eta = i == 0 ? "" : String(format: ", ~%.0fs left", elapsed / Double(i) * Double(chosen.count - i))
            log("[\(i + 1)/\(chosen.count)] \(e.name): \(e.summary)\(eta)")
            try? FileManager.default.removeItem(at: marker)
            try e.run(ExperimentSettings(outputDirectory: dir, quick: !full, seed: seed))
            try AtomicFile.write(stamp, to: marker)
            log(String(format: "[\(i + 1)/\(chosen.count)] \(e.name): done in %.1fs", Date().timeIntervalSince(t0)))
        }
    }

    private func log(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }
}
