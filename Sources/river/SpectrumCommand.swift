import ArgumentParser

// Placeholder until the owning work lands; replaced by the real command.
struct SpectrumCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "spectrum", abstract: "(not built yet)")
    func run() throws { throw ValidationError("river spectrum is not built yet") }
}
