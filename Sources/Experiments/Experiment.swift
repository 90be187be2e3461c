import Foundation
import RiverValley

/// Settings every experiment receives.
public struct ExperimentSettings: Sendable {
    /// Where the experiment writes its data tables (CSV/JSON). Created if missing.
    public var outputDirectory: URL
    /// Quick (minutes on 2 cores, the default of the main command) or full (paper-scale for this toolkit).
    public var quick: Bool
    /// Base seed; experiments derive per-run seeds from it.
    public var seed: UInt64

    public init(outputDirectory: URL, quick: Bool = true, seed: UInt64 = 0) {
        self.outputDirectory = outputDirectory
        self.quick = quick
        self.seed = seed
    }

    /// `outputDirectory/name`, with the directory created.
    public func file(_ name: String) throws -> URL {
        try FileManager.default.createDirectory(at: outputDirectory, withIntermediateDirectories: true)
        return outputDirectory.appendingPathComponent(name)
    }
}

/// One paper figure (or table): computes its data and writes it under `settings.outputDirectory`.
/// Python renders the figure from those files (python/figures.py); nothing here plots.
public protocol Experiment {
    /// Short name used on the command line and as the data-file prefix, e.g. "schedule-zoo".
    static var name: String { get }
    /// One line: which paper claim or figure this reproduces.
    static var summary: String { get }
    /// Computes and writes the data. Must be resumable or cheap to rerun; writes files atomically.
    static func run(_ settings: ExperimentSettings) throws
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
]
