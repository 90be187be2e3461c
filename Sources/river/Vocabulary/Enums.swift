import ArgumentParser
import RiverValley
import Trainer

// The library's enums are the CLI's typed values: `--help` lists their raw values, and a bad value is an
// error listing them (docs/cli.md, "Value types"). Schedule enums: ScheduleOptions.swift.
extension SimulationOptimizer: ExpressibleByArgument {}
extension OptimizerAlgorithm: ExpressibleByArgument {}

/// A transformer preset (`TransformerConfig.presets`).
struct ModelPresetName: CatalogName {
    static var catalog: [String] { TransformerConfig.presets.keys.sorted() }
    let rawValue: String
    init(unchecked rawValue: String) { self.rawValue = rawValue }
    static let tiny = ModelPresetName(unchecked: "tiny")

    var config: TransformerConfig { TransformerConfig.presets[rawValue]! }
}
