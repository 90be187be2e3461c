import ArgumentParser
import Foundation
import RiverValley
import Trainer

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Loss (nats/token) and bits per byte of a checkpoint on a text file or token ids; prints JSON.",
        discussion: """
        The checkpoint carries its config and tokenizer, so no run directory is needed.
        Output: {"loss": nats per predicted token, "bits_per_byte": …, "tokens": …, "bytes": …, "step": …}.
        --per-token FILE.csv writes position,token,loss for every predicted token (for later analysis);
        --logits FILE.npy their logits (float32, [tokens, vocab]).
        --tokens FILE evaluates token ids instead of a text (.npy int32/int64, 1-D or 2-D read row by row,
        or raw little-endian int32): the way to evaluate an imported checkpoint (river import), whose
        tokenizer river does not have; "bits_per_byte" and "bytes" are then null (the bytes are unknown).

        Example:
          river eval --checkpoint runs/shakespeare/checkpoints/step-002000.safetensors --text data/kjv.txt
          river eval --checkpoint imported.safetensors --tokens ids.npy
        """)

    @Option(name: .long, help: ArgumentHelp("Checkpoint file (RUN/checkpoints/step-NNNNNN.safetensors).", valueName: "file"))
    var checkpoint: String

    /// --text FILE [--max-bytes N] or --tokens FILE.
    @OptionGroup var data: TokenSourceOptions

    @Option(name: .long, help: ArgumentHelp("Write the logits of every predicted token to this .npy (float32, [tokens, vocab]).", valueName: "path"))
    var logits: String?

    @Option(name: .long, help: ArgumentHelp("Write per-token losses to this CSV (position,token,loss).", valueName: "path"))
    var perToken: String?

    @Option(name: .customLong("batch-size"), help: ArgumentHelp("Sequences per forward pass.", valueName: "n"))
    var batchSize: Int = 8

    /// Deprecated spelling of --batch-size.
    @Option(name: .customLong("batch"), help: .hidden)
    var deprecatedBatch: Int?

    mutating func validate() throws {
        Deprecated.merge(old: "--batch", oldValue: deprecatedBatch, new: "--batch-size", into: &batchSize)
        deprecatedBatch = nil
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
    }

    /// The printed JSON; a non-finite loss is null.
    /// bits_per_byte and bytes are null for token files (their bytes are unknown).
    struct Report: Encodable {
        let loss: Double, bitsPerByte: Double?, tokens: Int, bytes: Int?, step: Int
        enum CodingKeys: String, CodingKey { case loss, bitsPerByte, tokens, bytes, step }
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(loss, forKey: .loss)
            try c.encode(bitsPerByte, forKey: .bitsPerByte)  // nil → null (not omitted)
            try c.encode(tokens, forKey: .tokens)
            try c.encode(bytes, forKey: .bytes)
            try c.encode(step, forKey: .step)
        }
    }

    func run() throws {
        guard FileManager.default.fileExists(atPath: checkpoint) else {
            throw CLIError("checkpoint '\(checkpoint)' does not exist (--checkpoint)")
        }
        try OutputPaths.checkWritable([("--per-token", perToken), ("--logits", logits)]
            .compactMap { flag, path -> (flag: String, path: String)? in path.map { (flag: flag, path: $0) } })
        let e = try Evaluation.run(checkpoint: URL(fileURLWithPath: checkpoint), source: try data.source(), batch: batchSize,
                                   keepPerToken: perToken != nil, keepLogits: logits != nil)
        if let logits, let values = e.logits {
            let file = NPY.float32File(values, shape: [e.tokens, values.count / max(e.tokens, 1)])
            try AtomicFile.write(file, to: URL(fileURLWithPath: logits))
        }
        if let perToken, let losses = e.perToken, let targets = e.targets {
            var csv = "position,token,loss\n"
            csv.reserveCapacity(losses.count * 20)
            for i in losses.indices { csv += "\(i + 1),\(targets[i]),\(losses[i])\n" }
            try AtomicFile.write(csv, to: URL(fileURLWithPath: perToken))
        }
        try JSONOutput.print(Report(loss: e.loss, bitsPerByte: e.bitsPerByte, tokens: e.tokens, bytes: e.bytes, step: e.step))
    }
}
