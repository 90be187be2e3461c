import ArgumentParser
import Foundation
import RiverValley
import Trainer

struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a LLaMA-style transformer on a text corpus; a run is a directory (config, metrics, checkpoints).",
        discussion: """
        The run directory RUN holds config.json, tokenizer.json, metrics.jsonl (one JSON line per step:
        step, lr, loss, grad_norm, tokens, val_loss when evaluated, wall) and checkpoints/step-NNNNNN.safetensors
        (docs/trainer-format.md). Without --config: the default model on the Shakespeare corpus
        (scripts/fetch_corpora.sh fetches it into ./data; RIVER_DATA points elsewhere).

        Examples:
          river train --out runs/shakespeare
          river train --out runs/tiny --config tiny.json --steps 200 --seed 1
          river train --out runs/tiny --resume
          river train --out runs/bf16 --precision bf16
          river train --out runs/fp32-onednn --fp32-matmul onednn
        """)

    @Option(name: .long, help: ArgumentHelp("Run directory to create (or to resume with --resume).", valueName: "path"))
    var out: String

    @Option(name: .long, help: ArgumentHelp("Run config JSON (partial configs allowed; missing fields take defaults).", valueName: "file"))
    var config: String?

    @Option(name: .long, help: ArgumentHelp("Training steps (sets schedule.steps).", valueName: "n"))
    var steps: Int?

    @Option(name: .long, help: ArgumentHelp("Seed of the parameter initialisation and of the batches.", valueName: "seed"))
    var seed: UInt64?

    @Option(name: .long, help: ArgumentHelp("Arithmetic of the matrix products, linear layers and attention (sets the config's precision): fp32, or bf16 inputs with fp32 accumulation.", valueName: "precision"))
    var precision: Precision?

    @Option(name: .long, help: ArgumentHelp("Library of an fp32 run's linear-layer GEMMs (sets the config's fp32Matmul): openblas (the reference bits), or onednn (faster on AVX-512 CPUs; equal to about 1e-6 relative).", valueName: "library"))
    var fp32Matmul: Float32Matmul?

    @Flag(name: .long, help: "Continue the run in --out from its newest checkpoint (bit-exact).")
    var resume = false

    @Flag(name: .long, help: "No progress bar.")
    var quiet = false

    @Option(name: .long, help: ArgumentHelp("Stop after this many more steps (for tests).", valueName: "n", visibility: .hidden))
    var stopAfter: Int?

    func validate() throws {
        if resume && (config != nil || steps != nil || seed != nil || precision != nil || fp32Matmul != nil) {
            throw ValidationError("--resume continues the saved config; do not combine it with --config, --steps, --seed, --precision or --fp32-matmul")
        }
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1, got \(steps)") }
        if let stopAfter, stopAfter < 1 { throw ValidationError("--stop-after must be at least 1, got \(stopAfter)") }
    }

    func run() throws {
        let dir = URL(fileURLWithPath: out)
        let training: TrainingRun
        if resume {
            training = try TrainingRun.open(at: dir)
        } else {
            var cfg = try config.map { try RunConfig.load(URL(fileURLWithPath: $0)) } ?? RunConfig()
            if let steps { cfg.schedule.steps = steps }
            if let seed { cfg.seed = seed; cfg.dataSeed = seed }
            if let precision { cfg.precision = precision }
            if let fp32Matmul { cfg.fp32Matmul = fp32Matmul }
            training = try TrainingRun.create(at: dir, config: cfg)
        }
        let c = training.config
        if !quiet {
            let params = training.model.parameterCount
            FileHandle.standardError.write(Data(("\(resume ? "resuming" : "training") \(out): \(params) parameters, "
                + "\(c.steps) steps of \(c.batchSize)×\(c.model.contextLength) tokens, \(c.schedule.kind.rawValue) peak \(c.schedule.peak), "
                + "\(training.dataset.train.count) train / \(training.dataset.validation.count) validation tokens\n").utf8))
        }
        let records = try training.train(progress: quiet ? nil : ProgressBar(), stopAfter: stopAfter)
        if !quiet, let report = training.kernelReport {
            FileHandle.standardError.write(Data(Self.describe(report).utf8))
        }
        let last = records.last
        let lastVal = try MetricsRecord.read(training.metricsURL).last(where: { $0.valLoss != nil })?.valLoss
        try JSONOutput.print(RunSummary(run: out, step: training.step, loss: last.map { Double($0.loss) }, valLoss: lastVal))
    }

    /// One line per kernel of a bf16 run or an fp32 run on oneDNN (the full report is RUN/kernels.json).
    static func describe(_ r: TrainingRun.KernelReport) -> String {
        var byKernel: [String: (count: Int, reason: String?)] = [:]
        for k in r.kernels { byKernel[k.kernel, default: (0, k.fallbackReason)].count += 1 }
        var text = r.precision == .bf16
            ? "bf16 products (linear layers on oneDNN \(r.onednnVersion), ISA \(r.onednnISA); the attention on river's kernels):\n"
            : "fp32 linear layers on oneDNN \(r.onednnVersion), ISA \(r.onednnISA):\n"
        for (kernel, v) in byKernel.sorted(by: { $0.key < $1.key }) {
            text += "  \(v.count) shape\(v.count == 1 ? "" : "s") on \(kernel)\(v.reason.map { " — \($0)" } ?? "")\n"
        }
        return text
    }
}
extension Precision: ExpressibleByArgument {}
extension Float32Matmul: ExpressibleByArgument {}
