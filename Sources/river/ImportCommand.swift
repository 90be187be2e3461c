import ArgumentParser
import Foundation
import RiverValley
import Trainer

/// Checkpoint formats `river import` reads.
enum ImportFormat: String, ExpressibleByArgument, CaseIterable {
    case hfLlama = "hf-llama"
}

struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Convert another framework's checkpoint into a river checkpoint (for eval and analysis).",
        discussion: """
        hf-llama: a Hugging Face LLaMA folder (config.json + model.safetensors, or shards listed in
        model.safetensors.index.json; F32, F16 or BF16). RoPE pairing, names and layout are converted
        (docs/trainer-format.md, "Importing"). The checkpoint is step 0 with no optimizer state; its
        tokenizer is external, so evaluate it on token ids made with the original tokenizer (--tokens).
        Prints JSON: {"out", "from", "source", "model", "parameters", "dtypes", "expanded_key_value_heads"}.

        Examples:
          river import --from hf-llama ./TinyStories-LLaMA --out tiny.safetensors
          river eval --checkpoint tiny.safetensors --tokens ids.npy
        """)

    @Option(name: .long, help: ArgumentHelp("Checkpoint format.", valueName: "format"))
    var from: ImportFormat

    @Argument(help: ArgumentHelp("The folder holding the checkpoint.", valueName: "dir"))
    var directory: String

    @Option(name: .long, help: ArgumentHelp("River checkpoint file to write (.safetensors).", valueName: "path"))
    var out: String

    @Option(name: .long, help: ArgumentHelp("Context length T of the river model (default and maximum: max_position_embeddings).", valueName: "n"))
    var contextLength: Int?

    @Flag(name: .long, help: "Accept grouped-query attention by repeating each key/value head for its query heads.")
    var expandGqa = false

    @Option(name: .long, help: ArgumentHelp("An unknown config.json key that does not change the forward pass (repeatable).", valueName: "key"))
    var ignoreConfigKey: [String] = []

    func validate() throws {
        if let contextLength, contextLength < 1 {
            throw ValidationError("--context-length must be at least 1, got \(contextLength)")
        }
    }

    func run() throws {
        // Before a possibly long conversion: the output folder must exist.
        let folder = URL(fileURLWithPath: out).deletingLastPathComponent().path
        guard FileManager.default.isWritableFile(atPath: folder) else {
            throw ImportError("cannot write '\(out)': folder '\(folder)' does not exist or is not writable")
        }
        let options = HFLlama.Options(contextLength: contextLength, expandGroupedQueryAttention: expandGqa,
                                      ignoredConfigKeys: Set(ignoreConfigKey))
        let summary = try HFLlama.importCheckpoint(directory: URL(fileURLWithPath: directory),
                                                   to: URL(fileURLWithPath: out), options: options)
        try JSONOutput.print(summary)
    }
}
