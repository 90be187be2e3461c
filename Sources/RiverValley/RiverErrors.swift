import LinearAlgebra

// The module's user-facing errors are `RiverError`s: the `river` command prints their description as
// `error: …` and exits 1 (LinearAlgebra/RiverError.swift). A new error type of this module is added here
// (or declares `: RiverError` itself).
extension ScheduleError: RiverError {}
extension SafeTensorsError: RiverError {}
extension AtomicFile.WriteError: RiverError {}
extension RiverTracer.TracerError: RiverError {}
extension LandscapeError: RiverError {}
extension OptimizerError: RiverError {}
extension SimulationError: RiverError {}
extension HillTheory.Unstable: RiverError {}
extension UnknownKeyError: RiverError {}
extension OutputSet.Unwritable: RiverError {}
extension CurveError: RiverError {}
