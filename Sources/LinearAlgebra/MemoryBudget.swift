import Foundation

/// A size that cannot be computed or allocated: the message names the value and the limit.
public struct SizeLimitError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// What one computation may allocate, and overflow-checked size arithmetic.
///
/// Sizes read from flags, JSON, YAML, CSV or file headers are checked here *before* anything is
/// allocated, so a huge value is an error naming it instead of an integer-overflow trap or a failed
/// allocation. The limit is a fixed fraction of physical memory: the arrays a computation holds at
/// once (say a dense n×n Float64 matrix and LAPACK's workspace) must fit in half of RAM.
public enum MemoryBudget {
    /// The fraction of physical memory one computation's arrays may take together.
    public static let fraction = 0.5

    /// Physical memory in bytes (`ProcessInfo.physicalMemory`).
    public static var physicalBytes: Int { Int(clamping: ProcessInfo.processInfo.physicalMemory) }

    /// The allocation limit in bytes: `fraction` × physical memory.
    public static var limitBytes: Int { Int(Double(physicalBytes) * fraction) }

    /// The limit in words, for messages: "half of physical memory (11.7 GiB)".
    public static var limitDescription: String {
        String(format: "half of physical memory (%.1f GiB)", Double(limitBytes) / 1_073_741_824)
    }

    /// The product of `factors`, or nil if it overflows `Int` (or a factor is negative).
    public static func product(_ factors: [Int]) -> Int? {
        var p = 1
        for f in factors {
            guard f >= 0 else { return nil }
            let (q, overflow) = p.multipliedReportingOverflow(by: f)
            if overflow { return nil }
            p = q
        }
        return p
    }

    /// Checks that `copies` arrays of `elements` (the product of the factors) elements of `bytesPerElement`
    /// bytes fit the budget; returns the element count.
    ///
    /// - Parameter what: names the object and its sizes, e.g. "a dense 50000×50000 Float64 matrix (N = 50000)".
    @discardableResult
    public static func check(_ what: String, elements factors: [Int], bytesPerElement: Int, copies: Int = 1) throws -> Int {
        if let bad = factors.first(where: { $0 < 0 }) {
            throw SizeLimitError("\(what): size \(bad) is negative")
        }
        let limit = limitBytes
        guard let n = product(factors), let bytes = product([n, bytesPerElement, copies]), bytes <= limit else {
            let approx = factors.reduce(Double(bytesPerElement * copies)) { $0 * Double($1) }
            throw SizeLimitError("\(what) needs \(formatBytes(approx)); the limit is \(limitDescription)")
        }
        return n
    }

    /// "1.5e+20 bytes" / "3.2 GiB".
    public static func formatBytes(_ b: Double) -> String {
        b < 1024 * 1_073_741_824 ? String(format: "%.1f GiB", b / 1_073_741_824) : String(format: "%.3g bytes", b)
    }

    /// The largest n for which `copies` dense n×n Float64 matrices fit the budget (⌊√(limit / (8·copies))⌋).
    public static func largestSquareMatrix(copies: Int = 1) -> Int {
        Int((Double(limitBytes) / Double(8 * copies)).squareRoot())
    }
}

extension Matrix {
    /// A zero matrix after checking that `copies` matrices of this shape fit the memory budget.
    public static func checkedZeros(rows: Int, cols: Int, what: String, copies: Int = 1) throws -> Matrix {
        try MemoryBudget.check("\(what): a dense \(rows)×\(cols) Float64 matrix\(copies > 1 ? " (×\(copies) with workspace)" : "")",
                               elements: [rows, cols], bytesPerElement: 8, copies: copies)
        return Matrix(rows: rows, cols: cols)
    }
}
