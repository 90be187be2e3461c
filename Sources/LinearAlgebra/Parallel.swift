import Dispatch
import Foundation

/// The one parallel-loop helper: `map` for independent jobs (experiments' seeds and configurations),
/// `chunks` for the kernels' contiguous slices. Both run on every core with `DispatchQueue.concurrentPerform`.
public enum Parallel {
    /// The number of cores the loops use: `RIVER_THREADS` when set (a sweep worker process runs with 1),
    /// else every active core.
    public static let workers: Int = {
        if let v = ProcessInfo.processInfo.environment["RIVER_THREADS"], let n = Int(v), n >= 1 { return min(n, 1024) }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }()

    /// `f` over `items` on every core, results in the order of `items`; the first error (in item order)
    /// is rethrown after all jobs finished. OpenBLAS runs single-threaded meanwhile
    /// (``BLAS/withSingleThread(_:)``), so jobs that call BLAS do not oversubscribe the cores.
    public static func map<X: Sendable, T: Sendable>(_ items: [X], _ f: @Sendable (X) throws -> T) throws -> [T] {
        let box = ResultBox<T>(count: items.count)
        BLAS.withSingleThread {
            DispatchQueue.concurrentPerform(iterations: items.count) { i in
                box.set(i, Result { try f(items[i]) })
            }
        }
        return try box.values()
    }

    /// Runs `body(worker, range)` on contiguous chunks of `0..<count`, one chunk per core;
    /// `minPerWorker`: below this many items per worker the loop runs on the calling thread.
    @inlinable @inline(__always)
    public static func chunks(_ count: Int, minPerWorker: Int = 1, _ body: (Int, Range<Int>) -> Void) {
        let w = min(workers, max(1, count / max(1, minPerWorker)))
        if w <= 1 {
            body(0, 0..<count)
            return
        }
        // The kernels hand raw pointers to disjoint slices; Swift cannot see that, hence the box.
        withoutActuallyEscaping(body) { escapable in
            let box = UncheckedSendable(escapable)
            DispatchQueue.concurrentPerform(iterations: w) { i in
                let lo = count * i / w, hi = count * (i + 1) / w
                box.value(i, lo..<hi)
            }
        }
    }
}

/// Carries a value the caller knows is safe to share across the parallel loop's threads.
@usableFromInline
struct UncheckedSendable<T>: @unchecked Sendable {
    @usableFromInline let value: T
    @usableFromInline init(_ value: T) { self.value = value }
}

/// One slot per job, filled from the worker threads under a lock.
private final class ResultBox<T: Sendable>: @unchecked Sendable {
    private var results: [Result<T, Error>?]
    private let lock = NSLock()
    init(count: Int) { results = Array(repeating: nil, count: count) }
    func set(_ i: Int, _ r: Result<T, Error>) { lock.lock(); results[i] = r; lock.unlock() }
    func values() throws -> [T] { try results.map { try $0!.get() } }
}
