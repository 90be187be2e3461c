import LinearAlgebra

/// A runtime failure found by the `river` command itself (an unreadable input file, an output that cannot
/// be written, a missing checkpoint): printed as `error: <description>` without a usage line, exit 1.
/// Argument mistakes are `ValidationError`s instead (docs/cli.md, "Errors and output").
struct CLIError: RiverError {
    var description: String
    init(_ description: String) { self.description = description }
}
