import ArgumentParser

// Placeholder until the owning work lands; replaced by the real command.
struct BranchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "branch", abstract: "(not built yet)")
    func run() throws { throw ValidationError("river branch is not built yet") }
}
