import ArgumentParser

// Placeholder until the owning work lands; replaced by the real command.
struct SimulateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "simulate", abstract: "(not built yet)")
    func run() throws { throw ValidationError("river simulate is not built yet") }
}
