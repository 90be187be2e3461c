import Foundation

/// Numerically stable softmax and log-sum-exp on one row of logits.
///
/// Both subtract the row maximum first, so logits of any finite size (±1e300) give finite results:
/// softmax(z)ⱼ = exp(zⱼ − m) / Σₖ exp(zₖ − m), lse(z) = m + log Σₖ exp(zₖ − m), m = maxₖ zₖ.
public enum Softmax {
    /// Writes softmax(z) into `q` and returns log-sum-exp(z).
    @inlinable
    @discardableResult
    public static func apply(_ z: UnsafeBufferPointer<Double>, into q: UnsafeMutableBufferPointer<Double>) -> Double {
        precondition(z.count == q.count && !z.isEmpty)
        var m = -Double.infinity
        for v in z where v > m { m = v }
        var s = 0.0
        for j in 0..<z.count {
            let e = exp(z[j] - m)
            q[j] = e
            s += e
        }
        let inv = 1 / s
        for j in 0..<z.count { q[j] *= inv }
        return m + log(s)
    }

    /// softmax(z) of an array.
    public static func probabilities(_ z: [Double]) -> [Double] {
        var q = [Double](repeating: 0, count: z.count)
        z.withUnsafeBufferPointer { zp in q.withUnsafeMutableBufferPointer { _ = apply(zp, into: $0) } }
        return q
    }

    /// log Σ exp(zⱼ), stable.
    public static func logSumExp(_ z: [Double]) -> Double {
        var q = [Double](repeating: 0, count: z.count)
        return z.withUnsafeBufferPointer { zp in q.withUnsafeMutableBufferPointer { apply(zp, into: $0) } }
    }
}
