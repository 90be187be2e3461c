import Foundation

/// L(x, y) = ℓ(x) + ½ Σᵢ λᵢ (yᵢ − hᵢ(x))², hᵢ(x) = aᵢ·sin(kᵢ x): a winding river.
///
/// `analyticRiverPoint` is the valley floor y = h(x) (the minimiser over the hill coordinates). The
/// river of the definition (∇L along the flattest Hessian eigenvector) sits off the floor by
/// δᵢ ≈ ℓ′(x)·hᵢ′(x) / (λᵢ (1 + |h′|²)) — zero where ℓ′ = 0 or h′ = 0 and small when the hills are
/// steep; `RiverTracer` finds the exact one.
public struct CurvedValley: Landscape {
    public let profile: RiverProfile
    public let hillCurvatures: [Double]
    public let amplitudes: [Double]
    public let wavenumbers: [Double]

    public init(profile: RiverProfile, hillCurvatures: [Double], amplitudes: [Double], wavenumbers: [Double]) {
        precondition(!hillCurvatures.isEmpty && amplitudes.count == hillCurvatures.count
                     && wavenumbers.count == hillCurvatures.count,
                     "curvatures, amplitudes and wavenumbers need one entry per hill coordinate")
        self.profile = profile
        self.hillCurvatures = hillCurvatures
        self.amplitudes = amplitudes
        self.wavenumbers = wavenumbers
    }

    public var dimension: Int { hillCurvatures.count + 1 }

    /// hᵢ(x), hᵢ′(x), hᵢ″(x).
    @inline(__always) func floor(_ i: Int, _ x: Double) -> (h: Double, dh: Double, d2h: Double) {
        let a = amplitudes[i], k = wavenumbers[i]
        let s = sin(k * x), c = cos(k * x)
        return (a * s, a * k * c, -a * k * k * s)
    }

    public func value(at w: [Double]) -> Double {
        let x = w[0]
        var hill = 0.0
        for i in hillCurvatures.indices {
            let r = w[i + 1] - floor(i, x).h
            hill += hillCurvatures[i] * r * r
        }
        return profile.value(x) + 0.5 * hill
    }

    public func gradient(at w: [Double], into g: inout [Double]) {
        let x = w[0]
        var gx = profile.derivative(x)
        for i in hillCurvatures.indices {
            let f = floor(i, x)
            let lr = hillCurvatures[i] * (w[i + 1] - f.h)
            g[i + 1] = lr
            gx -= lr * f.dh
        }
        g[0] = gx
    }

    public func hessian(at w: [Double]) -> Matrix {
        let d = dimension, x = w[0]
        var m = Matrix(rows: d, cols: d)
        var hxx = profile.secondDerivative(x)
        for i in hillCurvatures.indices {
            let f = floor(i, x), lam = hillCurvatures[i]
            hxx += lam * (f.dh * f.dh - (w[i + 1] - f.h) * f.d2h)
            m[0, i + 1] = -lam * f.dh
            m[i + 1, 0] = -lam * f.dh
            m[i + 1, i + 1] = lam
        }
        m[0, 0] = hxx
        return m
    }

    public func hessianVectorProduct(at w: [Double], _ v: [Double]) -> [Double] {
        let x = w[0]
        var out = [Double](repeating: 0, count: dimension)
        var hx = profile.secondDerivative(x) * v[0]
        for i in hillCurvatures.indices {
            let f = floor(i, x), lam = hillCurvatures[i]
            hx += lam * (f.dh * f.dh - (w[i + 1] - f.h) * f.d2h) * v[0] - lam * f.dh * v[i + 1]
            out[i + 1] = -lam * f.dh * v[0] + lam * v[i + 1]
        }
        out[0] = hx
        return out
    }

    /// The valley floor (x, h(x)).
    public func analyticRiverPoint(x: Double) -> [Double]? {
        [x] + hillCurvatures.indices.map { floor($0, x).h }
    }

    /// Squared distance from w to the floor point at x, and its first two derivatives in x.
    private func distance2(_ w: [Double], _ x: Double) -> (f: Double, df: Double, d2f: Double) {
        let dx = x - w[0]
        var f = dx * dx, df = 2 * dx, d2f = 2.0
        for i in hillCurvatures.indices {
            let h = floor(i, x)
            let r = h.h - w[i + 1]
            f += r * r
            df += 2 * r * h.dh
            d2f += 2 * (h.dh * h.dh + r * h.d2h)
        }
        return (f, df, d2f)
    }

    /// The nearest floor point: a scan of [x − R, x + R] (R = distance to the floor point at the same
    /// x, so the nearest point lies inside), then safeguarded Newton on d/dx |w − c(x)|² = 0.
    public func nearestRiverCoordinate(to w: [Double]) -> Double {
        let x0 = w[0]
        let r = distance2(w, x0).f.squareRoot()
        if r == 0 { return x0 }
        var best = x0, bestF = distance2(w, x0).f
        let n = 32
        for j in 0...n {
            let x = x0 - r + 2 * r * Double(j) / Double(n)
            let f = distance2(w, x).f
            if f < bestF { bestF = f; best = x }
        }
        let lo = max(x0 - r, best - 2 * r / Double(n)), hi = min(x0 + r, best + 2 * r / Double(n))
        var x = best
        for _ in 0..<50 {
            let e = distance2(w, x)
            guard e.d2f > 0 else { break }
            var next = x - e.df / e.d2f
            next = Swift.min(Swift.max(next, lo), hi)
            if abs(next - x) <= 1e-15 * (1 + abs(x)) { x = next; break }
            x = next
        }
        return distance2(w, x).f <= bestF ? x : best
    }

    /// Projection onto the floor by nearest point; river loss ℓ(x_p), hill loss L(w) − ℓ(x_p).
    public func analyticSplit(at w: [Double]) -> RiverSplit? {
        let xp = nearestRiverCoordinate(to: w)
        let riverLoss = profile.value(xp)
        return RiverSplit(riverLoss: riverLoss, hillLoss: value(at: w) - riverLoss,
                          distance: distance2(w, xp).f.squareRoot(), riverCoordinate: xp)
    }
}
