import LinearAlgebra

// The module's user-facing errors are `RiverError`s (LinearAlgebra/RiverError.swift).
extension BigramError: RiverError {}
