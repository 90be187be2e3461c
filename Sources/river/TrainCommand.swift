import ArgumentParser

// Placeholder until the owning work lands; replaced by the real command.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "train", abstract: "(not built yet)")
    func run() throws { throw ValidationError("river train is not built yet") }
}
