import ArgumentParser

// Placeholder until the owning work lands; replaced by the real command.
struct ScheduleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "schedule", abstract: "(not built yet)")
    func run() throws { throw ValidationError("river schedule is not built yet") }
}
