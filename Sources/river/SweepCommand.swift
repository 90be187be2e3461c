import ArgumentParser

// Placeholder until the owning work lands; replaced by the real command.
struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sweep", abstract: "(not built yet)")
    func run() throws { throw ValidationError("river sweep is not built yet") }
}
