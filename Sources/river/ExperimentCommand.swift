import ArgumentParser

// Placeholder until the owning work lands; replaced by the real command.
struct ExperimentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "experiment", abstract: "(not built yet)")
    func run() throws { throw ValidationError("river experiment is not built yet") }
}
