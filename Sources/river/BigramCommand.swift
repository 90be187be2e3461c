import ArgumentParser

// Placeholder until the owning work lands; replaced by the real command.
struct BigramCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bigram", abstract: "(not built yet)")
    func run() throws { throw ValidationError("river bigram is not built yet") }
}
