import Foundation

/// The schedule families the paper compares at several budgets (paper §5; `paper-notes/paper.md`): how a
/// checkpoint at every budget B₁ < B₂ < … is produced. The raw values are the CLI's
/// (`river sweep --schedules`) and the values of every table's `schedule` column.
public enum ScheduleFamily: String, Codable, CaseIterable, Sendable {
    /// WSD: a constant main branch and a decay branch per budget (``DecayBranch``).
    case wsd
    /// WSD-S: one run, a decay at the end of every budget's cycle.
    case wsds
    /// One run, a cosine per cycle [Bᵢ₋₁, Bᵢ].
    case cyclicCosine = "cyclic-cosine"
    /// A separate cosine run per budget.
    case cosine
}

/// The schedule one run follows within its family, as tables label it: the WSD main branch (`wsd-main`,
/// constant LR, serving no budget by itself) or the family's own name.
public enum RunSchedule: String, Codable, CaseIterable, Sendable {
    case wsdMain = "wsd-main"
    case wsd, wsds
    case cyclicCosine = "cyclic-cosine"
    case cosine

    public init(_ family: ScheduleFamily) { self = RunSchedule(rawValue: family.rawValue)! }
    /// The family the run belongs to (the main branch belongs to WSD).
    public var family: ScheduleFamily { self == .wsdMain ? .wsd : ScheduleFamily(rawValue: rawValue)! }
}
