import ArgumentParser
import Foundation
import RiverValley
import Trainer

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Loss (nats/token) and bits per byte of a checkpoint on a text file; prints JSON.",
        discussion: """
        The checkpoint carries its config and tokenizer, so no run directory is needed.
        Output: {"loss": nats per predicted token, "bits_per_byte": …, "tokens": …, "bytes": …, "step": …}.
        --per-token FILE.csv writes position,token,loss for every predicted token (for later analysis).

        Example:
          river eval --checkpoint runs/shakespeare/checkpoints/step-002000.safetensors --text data/kjv.txt
        """)

    @Option(name: .long, help: ArgumentHelp("Checkpoint file (RUN/checkpoints/step-NNNNNN.safetensors).", valueName: "file"))
    var checkpoint: String

    @Option(name: .long, help: ArgumentHelp("UTF-8 text file to evaluate on.", valueName: "file"))
    var text: String

    @Option(name: .long, help: ArgumentHelp("Write per-token losses to this CSV (position,token,loss).", valueName: "path"))
    var perToken: String?

    @Option(name: .customLong("batch-size"), help: ArgumentHelp("Sequences per forward pass.", valueName: "n"))
    var batchSize: Int = 8

    /// Deprecated spelling of --batch-size.
    @Option(name: .customLong("batch"), help: .hidden)
    var deprecatedBatch: Int?

    @Option(name: .long, help: ArgumentHelp("Evaluate only the first N bytes of the text.", valueName: "n"))
    var maxBytes: Int?

    mutating func validate() throws {
        Deprecated.merge(old: "--batch", oldValue: deprecatedBatch, new: "--batch-size", into: &batchSize)
        deprecatedBatch = nil
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
        if let maxBytes, maxBytes < 2 { throw ValidationError("--max-bytes must be at least 2, got \(maxBytes)") }
    }

    /// The printed JSON; a non-finite loss is null.
    struct Report: Encodable { let loss: Double, bitsPerByte: Double, tokens: Int, bytes: Int, step: Int }

    func run() throws {
        guard FileManager.default.fileExists(atPath: checkpoint) else {
            throw CLIError("checkpoint '\(checkpoint)' does not exist (--checkpoint)")
        }
        guard let data = FileManager.default.contents(atPath: text) else {
            throw CLIError("text file '\(text)' cannot be read (--text)")
        }
        var bytes = [UInt8](data)
        if let maxBytes { bytes = Array(bytes.prefix(maxBytes)) }
        let e = try Evaluation.run(checkpoint: URL(fileURLWithPath: checkpoint), text: bytes, batch: batchSize,
                                   keepPerToken: perToken != nil)
        if let perToken, let losses = e.perToken, let targets = e.targets {
            var csv = "position,token,loss\n"
            csv.reserveCapacity(losses.count * 20)
            for i in losses.indices { csv += "\(i + 1),\(targets[i]),\(losses[i])\n" }
            try AtomicFile.write(csv, to: URL(fileURLWithPath: perToken))
        }
        try JSONOutput.print(Report(loss: e.loss, bitsPerByte: e.bitsPerByte, tokens: e.tokens, bytes: e.bytes, step: e.step))
    }
}
