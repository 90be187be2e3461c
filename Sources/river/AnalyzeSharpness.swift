import ArgumentParser
import Foundation
import RiverValley
import Trainer

/// `river analyze sharpness`: λ_max (raw and Adam-preconditioned) of every checkpoint of a run.
struct AnalyzeSharpness: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sharpness",
        abstract: "Hessian lambda_max (raw and Adam-preconditioned) of every checkpoint of a run (or of several runs: a main run and its decay branches); CSV step,lr,loss,lambda_max,lambda_max_preconditioned,threshold.",
        discussion: """
        For each checkpoint of --run (ascending step): the Float64 loss on --text, the largest Hessian
        eigenvalue by Lanczos (--iterations steps), the largest eigenvalue of P^(-1/2) H P^(-1/2) with
        P = diag(sqrt(v_hat) + eps) from the checkpoint's Adam state, and Adam's stability threshold
        (2 + 2 beta1)/((1 - beta1) lr) at the LR of the checkpoint's last update (nan without Adam state).
        --top K > 1 appends lambda_2..lambda_K (raw, then preconditioned).
        --runs A,B,... analyses every checkpoint of each run in turn (e.g. a WSD main run and its decay
        branches) and adds a first column `run` naming the run directory of each row.

        Example:
          river analyze sharpness --run runs/main --text data/shakespeare.txt --max-bytes 4096 --out sharpness.csv
          river analyze sharpness --runs runs/main,runs/main-b1000 --text data/shakespeare.txt --max-bytes 4096
        """)

    @Option(name: .customLong("run"), help: ArgumentHelp("Run directory (river train --out).", valueName: "run"))
    var runDirectory: String?

    @Option(name: .long, help: ArgumentHelp("Or several run directories (a main run and its branches); adds a `run` column.", valueName: "run,..."),
            transform: CommaList<String>.parse)
    var runs: CommaList<String>?

    @OptionGroup var text: TokenSourceOptions

    @Option(name: .long, help: ArgumentHelp("Eigenvalues per checkpoint (the largest first).", valueName: "n"))
    var top: Int = 1

    @Option(name: .long, help: ArgumentHelp("Lanczos steps per eigenproblem (≥ --top).", valueName: "n"))
    var iterations: Int = 20

    @Option(name: .long, help: ArgumentHelp("Sequences per forward pass.", valueName: "n"))
    var batchSize: Int = 4

    @Option(name: .long, help: ArgumentHelp("Seed of the Lanczos start vectors (integer ≥ 0).", valueName: "seed"))
    var seed: UInt64 = 0

    @Option(name: .long, help: ArgumentHelp("Write the CSV here instead of stdout.", valueName: "path"))
    var out: String?

    func validate() throws {
        if (runDirectory == nil) == (runs == nil) {
            throw ValidationError("give exactly one of --run RUN and --runs RUN1,RUN2,...")
        }
        if top < 1 { throw ValidationError("--top must be at least 1, got \(top)") }
        if iterations < top { throw ValidationError("--iterations (\(iterations)) must be at least --top (\(top))") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
    }

    func run() throws {
        let several = runs != nil
        let directories = runs?.elements ?? [runDirectory!]
        // Every run's checkpoint list first: a missing run fails before any analysis.
        let files = try directories.map { (run: $0, files: try Sharpness.checkpointFiles(run: $0)) }
        var table = CSVTable((several ? ["run"] : []) + Sharpness.csvHeader(top: top))
        var tokens: [Int32]? = nil
        var first: (checkpoint: Checkpoint, name: String)? = nil
        for (run, runFiles) in files {
            for f in runFiles {
                let ck = try AnalysisInput.checkpoint(f.path)
                if let first { try AnalysisInput.requireSameArchitecture([first.checkpoint, ck], names: [first.name, f.path]) }
                else { first = (ck, f.path) }
                if tokens == nil { tokens = try text.tokens(for: ck) }
                let cells = Sharpness.csvCells(try Sharpness.row(ck, tokens: tokens!, top: top, iterations: iterations,
                                                                 seed: seed, batchSize: batchSize))
                table.append((several ? [.t(run)] : []) + cells)
            }
        }
        if let out { try table.write(to: URL(fileURLWithPath: out)) }
        else { FileHandle.standardOutput.write(Data(table.text.utf8)) }
    }
}
