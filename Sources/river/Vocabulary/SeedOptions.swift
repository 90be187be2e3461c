import ArgumentParser

/// `--seed S --seed-count K`: K runs seeded S, S+1, …, S+K−1, computed together (`river simulate`). A command
/// that takes an explicit list of seeds uses `--seeds` (a `CommaList<UInt64>`, value name `seed,...`)
/// instead; `--seeds` is never a count (docs/cli.md).
struct SeedCountOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Base random seed.", valueName: ValueName.seed))
    var seed: UInt64 = 0

    @Option(name: .customLong("seed-count"),
            help: ArgumentHelp("Number of seeds run together, from --seed on (means and stds over them).", valueName: ValueName.count))
    var seedCount: Int = 1

    func validate() throws {
        if seedCount < 1 { throw ValidationError("--seed-count \(seedCount) is not allowed: need at least 1 seed") }
    }
}

/// The value names `--help` shows (docs/cli.md, "Value types"); `VocabularyTests` requires one value name
/// per flag, so a new option takes its value name from here.
enum ValueName {
    /// A count or a step number.
    static let count = "n"
    static let seed = "seed"
    static let learningRate = "lr"
    /// A schedule length: a fraction (≤ 1) or whole steps (> 1).
    static let length = "length"
    static let ratio = "ratio"
    /// A real number.
    static let real = "x"
    /// An input file.
    static let file = "file"
    /// An input directory.
    static let directory = "dir"
    /// An output file or directory.
    static let output = "path"
    /// Lists (`CommaList`).
    static let counts = "n,..."
    static let seeds = "seed,..."
    static let reals = "x,..."
}
