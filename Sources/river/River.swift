import ArgumentParser

struct River: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "river",
        abstract: "RiverValley: learning-rate schedules and river-valley loss landscapes (Wen et al., arXiv 2410.05192).",
        subcommands: [
            ScheduleCommand.self, BranchPlanCommand.self,
            SpectrumCommand.self, SimulateCommand.self,
            BigramCommand.self,
            TrainCommand.self, BranchCommand.self, SweepCommand.self, EvalCommand.self,
            AnalyzeCommand.self, ImportCommand.self, CurveCommand.self, ExperimentCommand.self,
            DebugGradCommand.self,
        ])
}
