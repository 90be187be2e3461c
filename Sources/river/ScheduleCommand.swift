import ArgumentParser
import Foundation
import RiverValley

struct ScheduleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schedule",
        abstract: "Print a learning-rate schedule as CSV (step,lr), one row per step 0..<N.",
        discussion: """
        Examples:
          river schedule --kind wsd --steps 1000 --peak 1e-3 --warmup 0.01 --decay 0.1 --shape inv
          river schedule --kind wsds --steps 1000 --peak 1e-3 --cycles 300,700 --decay 0.1 --shape cosine --decay-of cycle
          river schedule --kind wsds --steps 4000 --peak 1e-3 --cycles 1000,2000 --decay-of cumulative
          river schedule --levanter levanter.yaml --steps 1000
        """)

    @OptionGroup var schedule: ScheduleOptions

    func run() throws {
        let s = try schedule.schedule()
        try s.writeCSV(to: FileHandle.standardOutput)
    }
}
