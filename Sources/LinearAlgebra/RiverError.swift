/// A user-facing runtime failure of the toolkit: a missing, unreadable or corrupt file, a failed write, a
/// diverged run, an input outside what can be computed.
///
/// Every module's error types conform (declare `: RiverError`, or add the conformance in the module's
/// `RiverErrors.swift`). The `river` command catches any `RiverError` at its root and prints
/// `error: <description>` on standard error, without a usage line, and exits with status 1 (docs/cli.md,
/// "Errors and output"). So the `description` must stand alone: name the value, where it came from (flag,
/// file, key) and what is allowed. Argument-parsing mistakes are ArgumentParser's `ValidationError`
/// instead, which also prints the usage.
public protocol RiverError: Error, CustomStringConvertible {}

extension LinearAlgebraError: RiverError {}
extension SizeLimitError: RiverError {}
