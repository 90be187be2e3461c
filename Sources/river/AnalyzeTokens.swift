import ArgumentParser
import Foundation
import RiverValley
import Trainer

extension UncertaintySource: ExpressibleByArgument {}

/// `river analyze tokens`: per-bucket loss of checkpoints, tokens bucketed by uncertainty.
struct AnalyzeTokens: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens",
        abstract: "Loss per token-uncertainty bucket for several checkpoints; CSV checkpoint,step,bucket,uncertainty_lo,uncertainty_hi,tokens,mean_loss.",
        discussion: """
        Every predicted token of --text is bucketed by the uncertainty (entropy, nats) of its next-token
        distribution: `ngram` = a smoothed order-k n-gram (Lidstone, delta 1/2) estimated on the training
        split of the first checkpoint's corpus; `model:CK` = the predictive entropy of checkpoint CK.
        Buckets hold equal numbers of tokens (by rank of uncertainty). mean_loss is river eval's per-token
        loss averaged over the bucket. The paper (section 4) predicts deterministic (low-uncertainty) tokens
        improve during the stable phase and uncertain ones during the decay.

        Example:
          river analyze tokens --checkpoints runs/main/checkpoints/step-000200.safetensors,runs/main-b300/checkpoints/step-000300.safetensors \\
            --text data/shakespeare.txt --max-bytes 50000 --uncertainty ngram --order 2 --buckets 5
        """)

    @Option(name: .long, help: ArgumentHelp("Checkpoints, comma-separated (same architecture and tokenizer).", valueName: "file,..."),
            transform: CommaList<String>.parse)
    var checkpoints: CommaList<String>

    @OptionGroup var text: TokenSourceOptions

    @Option(name: .long, help: ArgumentHelp("Uncertainty source: ngram or model:CK.", valueName: "source"))
    var uncertainty: UncertaintySource = .ngram

    @Option(name: .long, help: ArgumentHelp("n-gram order k (previous tokens of context), 0...4.", valueName: "n"))
    var order: Int = 2

    @Option(name: .long, help: ArgumentHelp("Number of equal-count buckets.", valueName: "n"))
    var buckets: Int = 5

    @Option(name: .long, help: ArgumentHelp("Sequences per forward pass.", valueName: "n"))
    var batchSize: Int = 8

    @Option(name: .long, help: ArgumentHelp("Write the CSV here instead of stdout.", valueName: "path"))
    var out: String?

    func validate() throws {
        if !(0...4).contains(order) { throw ValidationError("--order must be in 0...4, got \(order)") }
        if buckets < 1 { throw ValidationError("--buckets must be at least 1, got \(buckets)") }
        if batchSize < 1 { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
    }

    var checkpointList: [String] { checkpoints.elements }

    func run() throws {
        let names = checkpointList
        let cks = try names.map(AnalysisInput.checkpoint)
        try AnalysisInput.requireSameArchitecture(cks, names: names)
        let tokens = try text.tokens(for: cks[0])
        let values: [Double]
        switch uncertainty {
        case .ngram:
            values = try TokenBuckets.uncertainty(.ngram, tokens: tokens, reference: cks[0],
                                                  trainingTokens: try TokenBuckets.trainingTokens(of: cks[0]), order: order)
        case .model(let path):
            let ref = try AnalysisInput.checkpoint(path)
            try AnalysisInput.requireSameArchitecture([cks[0], ref], names: [names[0], path])
            values = try TokenBuckets.uncertainty(uncertainty, tokens: tokens, reference: ref, trainingTokens: nil,
                                                  order: order, batch: batchSize)
        }
        let rows = try TokenBuckets.rows(checkpoints: Array(zip(names, cks)).map { (name: $0.0, checkpoint: $0.1) },
                                         tokens: tokens, uncertainty: values, buckets: buckets, batch: batchSize)
        var table = CSVTable(["checkpoint", "step", "bucket", "uncertainty_lo", "uncertainty_hi", "tokens", "mean_loss"])
        for r in rows {
            table.append([.t(r.checkpoint), .i(r.step), .i(r.bucket), .n(r.uncertaintyLow), .n(r.uncertaintyHigh),
                          .i(r.tokens), .n(r.meanLoss)])
        }
        if let out { try table.write(to: URL(fileURLWithPath: out)) }
        else { FileHandle.standardOutput.write(Data(table.text.utf8)) }
    }
}
