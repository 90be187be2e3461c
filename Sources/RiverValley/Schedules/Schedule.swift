import Foundation

/// One piece of a schedule, evaluated at k = step − start (k ∈ 0..<length).
struct Segment: Sendable, Equatable {
    enum Piece: Sendable, Equatable {
        /// Linear from `from` to `to` over `length` steps: from + (to − from)·k/length.
        case ramp(from: Double, to: Double)
        /// The constant value.
        case constant(Double)
        /// peak·g(k/length) with floor ratio r.
        case decay(DecayShape, peak: Double, r: Double)
        /// Levanter's `inv`: peak·max(min(1, 1/((1/r−1)·max(k,1)/D + 1)), r).
        case levanterInv(peak: Double, r: Double)
    }
    let start: Int
    let length: Int
    let piece: Piece

    func value(at k: Int) -> Double {
        let n = Double(length)
        let kk = Double(k)
        switch piece {
        case let .ramp(from, to):
            return from + (to - from) * min(kk, n) / n
        case let .constant(v):
            return v
        case let .decay(shape, peak, r):
            return peak * shape.factor(x: min(kk, n) / n, r: r)
        case let .levanterInv(peak, r):
            let f = min(1, 1 / ((1 / r - 1) * max(kk, 1) / n + 1))
            return max(peak * f, peak * r)
        }
    }

    /// The value the piece reaches at its end, k = length (the next rewarmup starts from it).
    var endValue: Double { value(at: length) }
}

extension DecayShape {
    /// g(x) for x ∈ [0, 1]: the fraction of the peak after a fraction x of the decay.
    public func factor(x: Double, r: Double) -> Double {
        switch self {
        case .linear: return r + (1 - r) * (1 - x)
        case .cosine: return r + (1 - r) * (1 + cos(Double.pi * x)) / 2
        case .oneSqrt: return r + (1 - r) * (1 - x.squareRoot())
        case .exp: return pow(r, x)
        case .inv: return 1 / (1 + (1 / r - 1) * x)
        }
    }
}

/// A learning-rate schedule: a pure function of the step, with no hidden state, so resuming and
/// branching are exact.
///
/// Internally a list of segments (ramp → constant → decay, per cycle), evaluated like optax's
/// `join_schedules`: the segment containing the step is evaluated at step − segment start.
public struct Schedule: Sendable {
    public let spec: ScheduleSpec
    let segments: [Segment]

    init(spec: ScheduleSpec, segments: [Segment]) {
        self.spec = spec
        self.segments = segments
    }

    /// Total steps T.
    public var steps: Int { spec.steps }

    /// η at `step`. Steps past the end keep the last segment's rule (clamped at its end value).
    public func lr(at step: Int) -> Double {
        precondition(step >= 0, "step must be non-negative, got \(step)")
        // Segments are few (≤ 3 per cycle): a linear scan from the end is fast and simple.
        var i = segments.count - 1
        while i > 0 && segments[i].start > step { i -= 1 }
        let s = segments[i]
        return s.value(at: step - s.start)
    }

    /// lr(0..<steps).
    public var values: [Double] { (0..<steps).map(lr(at:)) }

    /// Streams the CSV table `step,lr` (one row per step 0..<steps) to `handle` in chunks of 64k rows, so
    /// a long schedule never has to fit in memory as one string.
    public func writeCSV(to handle: FileHandle) throws {
        var out = "step,lr\n"
        let chunk = 65_536
        out.reserveCapacity(chunk * 28)
        for step in 0..<steps {
            out += "\(step),\(lr(at: step))\n"
            if (step + 1) % chunk == 0 {
                try handle.write(contentsOf: Data(out.utf8))
                out.removeAll(keepingCapacity: true)
            }
        }
        try handle.write(contentsOf: Data(out.utf8))
    }

    /// Σ_{s<step} lr(s): the "river time" τ reached after `step` updates.
    public func cumulativeLR(upTo step: Int) -> Double {
        var total = 0.0
        for s in 0..<max(step, 0) { total += lr(at: s) }
        return total
    }

    /// The decay windows [start, end) of this schedule, in step order.
    public var decayWindows: [Range<Int>] {
        segments.compactMap { seg in
            switch seg.piece {
            case .decay, .levanterInv: return seg.start..<(seg.start + seg.length)
            default: return nil
            }
        }
    }
}
