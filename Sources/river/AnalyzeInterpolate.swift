import ArgumentParser
import Foundation
import RiverValley
import Trainer

/// `river analyze interpolate`: the loss along the segment between two checkpoints.
struct AnalyzeInterpolate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "interpolate",
        abstract: "Loss along w(alpha) = (1 - alpha) w_A + alpha w_B between two checkpoints; CSV alpha,loss.",
        discussion: """
        alpha runs over --points values i/(points - 1) on [0, 1], continued with the same spacing down to
        -extend and up to 1 + extend. The loss is exactly `river eval`'s (Float32 model, same windows,
        --batch-size sequences per pass, default as river eval's): alpha = 0 and alpha = 1 reproduce
        `river eval` of A and B. Between two constant-LR checkpoints the paper predicts a convex valley
        cross-section; from a pre-decay to a post-decay checkpoint, a monotone descent.

        Example:
          river analyze interpolate \\
            --checkpoints runs/main/checkpoints/step-000200.safetensors,runs/main/checkpoints/step-000300.safetensors --text data/shakespeare.txt --max-bytes 20000 --out interp.csv
        """)

    @Option(name: .long, help: ArgumentHelp("The two end points A,B: checkpoint A (alpha = 0) and checkpoint B (alpha = 1), same architecture and tokenizer.", valueName: "file,..."),
            transform: CommaList<String>.parse)
    var checkpoints: CommaList<String>

    var from: String { checkpoints[0] }
    var to: String { checkpoints[1] }

    @OptionGroup var text: TokenSourceOptions

    @Option(name: .long, help: ArgumentHelp("Points on [0, 1] (≥ 2).", valueName: "n"))
    var points: Int = 21

    @Option(name: .long, help: ArgumentHelp("Continue the grid to -extend and 1 + extend (≥ 0).", valueName: "x"))
    var extend: Double = 0.25

    @Option(name: .long, help: ArgumentHelp("Sequences per forward pass (as river eval's --batch-size).", valueName: "n"))
    var batchSize: Int = 8

    @Option(name: .long, help: ArgumentHelp("Write the CSV here instead of stdout.", valueName: "path"))
    var out: String?

    func validate() throws {
        if checkpoints.count != 2 {
            throw ValidationError("--checkpoints takes exactly two checkpoints A,B (alpha = 0 and alpha = 1), got \(checkpoints.count)")
        }
        if points < 2 { throw ValidationError("--points must be at least 2 (alpha = 0 and alpha = 1), got \(points)") }
        if !(extend.isFinite && extend >= 0) { throw ValidationError("--extend must be finite and ≥ 0, got \(extend)") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
    }

    func run() throws {
        let a = try AnalysisInput.checkpoint(from), b = try AnalysisInput.checkpoint(to)
        try AnalysisInput.requireSameArchitecture([a, b], names: [from, to])
        let tokens = try text.tokens(for: a)
        let rows = try Interpolation.run(from: a, to: b, tokens: tokens,
                                         alphas: try Interpolation.alphas(points: points, extend: extend), batch: batchSize)
        var table = CSVTable(["alpha", "loss"])
        for r in rows { table.append([.n(r.alpha), .n(r.loss)]) }
        if let out { try table.write(to: URL(fileURLWithPath: out)) }
        else { FileHandle.standardOutput.write(Data(table.text.utf8)) }
    }
}
