import LinearAlgebra

// The module's user-facing errors are `RiverError`s (LinearAlgebra/RiverError.swift).
extension RunError: RiverError {}
extension DataError: RiverError {}
extension TransformerConfigError: RiverError {}
extension ImportError: RiverError {}
extension AnalysisError: RiverError {}
extension BranchForkError: RiverError {}
