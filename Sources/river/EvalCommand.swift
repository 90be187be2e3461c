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

    @Option(name: .long, help: "Checkpoint file (RUN/checkpoints/step-NNNNNN.safetensors).")
    var checkpoint: String

    @Option(name: .long, help: "UTF-8 text file to evaluate on (or --tokens).")
    var text: String?

    @Option(name: .long, help: "Token ids to evaluate on instead of --text (.npy int32/int64, or raw little-endian int32).")
    var tokens: String?

    @Option(name: .long, help: "Write the logits of every predicted token to this .npy (float32, [tokens, vocab]).")
    var logits: String?

    @Option(name: .long, help: "Write per-token losses to this CSV (position,token,loss).")
    var perToken: String?

    @Option(name: .long, help: "Sequences per forward pass.")
    var batch: Int = 8

    @Option(name: .long, help: "Evaluate only the first N bytes of the text.")
    var maxBytes: Int?

    func validate() throws {
        if batch < 1 { throw ValidationError("--batch must be at least 1, got \(batch)") }
        do { _ = try source() } catch let e as DataError { throw ValidationError(e.message) }
    }

    func source() throws -> TokenSource { try TokenSource(text: text, tokens: tokens, maxBytes: maxBytes) }

    func run() throws {
        guard FileManager.default.fileExists(atPath: checkpoint) else {
            throw ValidationError("checkpoint '\(checkpoint)' does not exist")
        }
        for path in [perToken, logits].compactMap({ $0 }) {  // all outputs or none
            let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
            guard FileManager.default.isWritableFile(atPath: dir) else {
                throw RunError("cannot write '\(path)': folder '\(dir)' does not exist or is not writable")
            }
        }
        let e = try Evaluation.run(checkpoint: URL(fileURLWithPath: checkpoint), source: try source(), batch: batch,
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
        let bpb = e.bitsPerByte.map { "\($0)" } ?? "null", bytes = e.bytes.map { "\($0)" } ?? "null"
        let json = "{\"loss\":\(e.loss),\"bits_per_byte\":\(bpb),\"tokens\":\(e.tokens),\"bytes\":\(bytes),\"step\":\(e.step)}\n"
        FileHandle.standardOutput.write(Data(json.utf8))
    }
}
