import Foundation
import RiverValley

/// Settings every experiment receives.
public struct ExperimentSettings: Sendable {
    /// Where the experiment writes its data tables (CSV/JSON). Created if missing.
    public var outputDirectory: URL
    /// Quick (minutes on 2 cores, the default of the main command) or full (paper-scale for this toolkit):
    /// the layout of the data — its budgets, run names, labels.
    public var quick: Bool
    /// Smoke scale: the same layout (files, columns, budgets, labels) as `quick` says, at a tiny cost
    /// (fewer seeds, smaller models, fewer samples), so the figure contract can be tested in seconds.
    /// Its numbers mean nothing.
    public var smoke: Bool
    /// Base seed; experiments derive per-run seeds from it.
    public var seed: UInt64

    public init(outputDirectory: URL, quick: Bool = true, smoke: Bool = false, seed: UInt64 = 0) {
        self.outputDirectory = outputDirectory
        self.quick = quick
        self.smoke = smoke
        self.seed = seed
    }

    /// The layout's name: "quick" or "full", with "-smoke" at smoke scale.
    public var mode: String { (quick ? "quick" : "full") + (smoke ? "-smoke" : "") }

    /// `outputDirectory/name`, with the directory created.
    public func file(_ name: String) throws -> URL {
        try FileManager.default.createDirectory(at: outputDirectory, withIntermediateDirectories: true)
        return outputDirectory.appendingPathComponent(name)
    }

    /// Writes `table` as `outputDirectory/name` (atomically).
    public func write(_ table: CSVTable, to name: String) throws {
        try table.write(to: try file(name))
    }
}

/// One file an experiment writes: its name, its columns in order, and for the columns that hold names
/// (a schedule, a run, a configuration) the values they may take — the figure contract the renderers in
/// python/figs/ rely on (`river experiment --contract` prints it; python/tests/test_figures.py and
/// Tests/ExperimentsTests check it).
public struct ExperimentOutput: Codable, Sendable, Equatable {
    public var file: String
    public var columns: [String]
    /// Allowed values of text columns (kebab-case, the CLI's raw values); a column not listed is free.
    public var values: [String: [String]]

    public init(_ file: String, columns: [String], values: [String: [String]] = [:]) {
        self.file = file
        self.columns = columns
        self.values = values
    }
}

/// One paper figure (or table): computes its data and writes it under `settings.outputDirectory`.
/// Python renders the figure from those files (python/figures.py); nothing here plots.
public protocol Experiment {
    /// Short name used on the command line and as the data-file prefix, e.g. "schedule-zoo".
    static var name: String { get }
    /// One line: which paper claim or figure this reproduces.
    static var summary: String { get }
    /// The files (and their columns) `run` writes, in every mode: exactly these, nothing else.
    static var outputs: [ExperimentOutput] { get }
    /// Computes and writes the data. Must be resumable or cheap to rerun; writes files atomically.
    static func run(_ settings: ExperimentSettings) throws
}

/// The figure contract of every experiment, as `river experiment --contract` prints it.
public struct ExperimentContract: Codable, Sendable, Equatable {
    public var name: String
    public var summary: String
    public var outputs: [ExperimentOutput]

    public init(_ e: any Experiment.Type) {
        name = e.name; summary = e.summary; outputs = e.outputs
    }

    public static var all: [ExperimentContract] { allExperiments.map(ExperimentContract.init) }

    /// A checksum of the declared outputs: a finished experiment's `.done` stamp records it, so data written
    /// under another contract (older files or columns) is recomputed instead of handed to the renderers.
    public var checksum: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return CRC32.hex(CRC32.checksum((try? encoder.encode(outputs)) ?? Data()))
    }
}

/// Every experiment the `river experiment` command knows, in the order the main job runs them.
/// Add one line per new experiment type.
public let allExperiments: [any Experiment.Type] = [
    ScheduleZooExperiment.self,
    BigramWSDCurveExperiment.self,
    BigramClassLossExperiment.self,
    BigramEtaScalingExperiment.self,
    BigramSpectrumExperiment.self,
    BigramCurvatureExperiment.self,
    ValleyPathsExperiment.self,
    LossSplitExperiment.self,
    HillLossVsLRExperiment.self,
    RiverProgressExperiment.self,
    TrainerWSDBranchesExperiment.self,
    TrainerSchedulesExperiment.self,
    TrainerBudgetTableExperiment.self,
    TrainerRiverTimeExperiment.self,
    TrainerDecayAblationExperiment.self,
    LMInterpolationExperiment.self,
    LMSharpnessExperiment.self,
    LMTokenBucketsExperiment.self,
    LMDecayPredictionExperiment.self,
    LMSpectrumExperiment.self,
    TrainerCurveLawsExperiment.self,
]
