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

    @Option(name: .long, help: "Checkpoint file (RUN/checkpoints/step-NNNNNN.safetensors).")
    var checkpoint: String

    @Option(name: .long, help: "UTF-8 text file to evaluate on.")
    var text: String

    @Option(name: .long, help: "Write per-token losses to this CSV (position,token,loss).")
    var perToken: String?

    @Option(name: .long, help: "Sequences per forward pass.")
    var batch: Int = 8

    @Option(name: .long, help: "Evaluate only the first N bytes of the text.")
    var maxBytes: Int?

    func validate() throws {
        if batch < 1 { throw ValidationError("--batch must be at least 1, got \(batch)") }
        if let maxBytes, maxBytes < 2 { throw ValidationError("--max-bytes must be at least 2, got \(maxBytes)") }
    }

    func run() throws {
        guard FileManager.default.fileExists(atPath: checkpoint) else {
            throw ValidationError("checkpoint '\(checkpoint)' does not exist")
        }
        guard let data = FileManager.default.contents(atPath: text) else {
            throw ValidationError("text file '\(text)' cannot be read")
        }
        var bytes = [UInt8](data)
        if let maxBytes { bytes = Array(bytes.prefix(maxBytes)) }
        let e = try Evaluation.run(checkpoint: URL(fileURLWithPath: checkpoint), text: bytes, batch: batch,
                                   keepPerToken: perToken != nil)
        if let perToken, let losses = e.perToken, let targets = e.targets {
            var csv = "position,token,loss\n"
            csv.reserveCapacity(losses.count * 20)
            for i in losses.indices { csv += "\(i + 1),\(targets[i]),\(losses[i])\n" }
            try AtomicFile.write(csv, to: URL(fileURLWithPath: perToken))
        }
        let json = "{\"loss\":\(e.loss),\"bits_per_byte\":\(e.bitsPerByte),\"tokens\":\(e.tokens),\"bytes\":\(e.bytes),\"step\":\(e.step)}\n"
        FileHandle.standardOutput.write(Data(json.utf8))
    }
}
