import ArgumentParser

// Placeholder until the owning work lands; replaced by the real command.
struct BranchPlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "branch-plan", abstract: "(not built yet)")
    func run() throws { throw ValidationError("river branch-plan is not built yet") }
}
