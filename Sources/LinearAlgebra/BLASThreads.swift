import Foundation

extension BLAS {
    /// Runs `body` with OpenBLAS on one thread — for callers that parallelise over many small GEMMs
    /// themselves — then restores the thread count.
    ///
    /// The OpenBLAS thread count is process-global, so the state is reference-counted under a lock: the
    /// first caller to enter saves the count and sets 1, the last one to leave restores it. Two models
    /// running attention at the same time therefore never see a multithreaded OpenBLAS called from
    /// inside their own worker threads, and the saved count is never lost.
    public static func withSingleThread<R>(_ body: () throws -> R) rethrows -> R {
        SingleThreadScope.shared.enter()
        defer { SingleThreadScope.shared.leave() }
        return try body()
    }
}

private final class SingleThreadScope: @unchecked Sendable {
    static let shared = SingleThreadScope()
    private let lock = NSLock()
    private var depth = 0
    private var saved = 1

    func enter() {
        lock.lock(); defer { lock.unlock() }
        if depth == 0 {
            saved = BLAS.threads
            if saved > 1 { BLAS.setThreads(1) }
        }
        depth += 1
    }

    func leave() {
        lock.lock(); defer { lock.unlock() }
        depth -= 1
        if depth == 0, saved > 1 { BLAS.setThreads(saved) }
    }
}
