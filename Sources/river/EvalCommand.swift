import ArgumentParser

// Placeholder until the owning work lands; replaced by the real command.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "eval", abstract: "(not built yet)")
    func run() throws { throw ValidationError("river eval is not built yet") }
}
