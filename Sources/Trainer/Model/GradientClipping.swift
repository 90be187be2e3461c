/// Gradient-norm clipping on a flat gradient buffer, as `torch.nn.utils.clip_grad_norm_`.
public enum GradientClipping {
    /// The Euclidean norm of `g`, accumulated in Double.
    public static func norm(_ g: UnsafeBufferPointer<Float>) -> Double {
        var acc = SIMD16<Double>()
        var i = 0
        let n = g.count
        let p = g.baseAddress!
        while i + 16 <= n {
            let v = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD16<Float>.self)
            let d = SIMD16<Double>(v)
            acc += d * d
            i += 16
        }
        var s = acc.sum()
        while i < n { s += Double(p[i]) * Double(p[i]); i += 1 }
        return s.squareRoot()
    }

    /// Scales `g` by maxNorm / (‖g‖ + 1e-6) when that factor is below 1 (PyTorch's rule) and
    /// returns the norm before clipping. `maxNorm` ≤ 0 or infinite only measures.
    @discardableResult
    public static func clip(_ g: UnsafeMutableBufferPointer<Float>, maxNorm: Double) -> Double {
        let total = norm(UnsafeBufferPointer(g))
        guard maxNorm > 0, maxNorm.isFinite else { return total }
        let coef = maxNorm / (total + 1e-6)
        if coef < 1 {
            let f = Float(coef)
            for i in g.indices { g[i] *= f }
        }
        return total
    }
}
