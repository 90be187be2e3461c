/// L(x, y) = ℓ(x) + ½ Σᵢ λᵢ yᵢ²: a straight river along coordinate 0 with quadratic hills.
///
/// The river is exactly y = 0: there ∇L = (ℓ′(x), 0) is the eigenvector e₀ of the diagonal Hessian
/// diag(ℓ″(x), λ₁, …), the flattest one while |ℓ″| < min λᵢ.
public struct StraightValley: Landscape {
    public let profile: RiverProfile
    /// λᵢ for the d − 1 hill coordinates.
    public let hillCurvatures: [Double]

    public init(profile: RiverProfile, hillCurvatures: [Double]) {
        precondition(!hillCurvatures.isEmpty, "a valley needs at least one hill direction")
        self.profile = profile
        self.hillCurvatures = hillCurvatures
    }

    public var dimension: Int { hillCurvatures.count + 1 }

    public func value(at w: [Double]) -> Double {
        var hill = 0.0
        for i in hillCurvatures.indices { hill += hillCurvatures[i] * w[i + 1] * w[i + 1] }
        return profile.value(w[0]) + 0.5 * hill
    }

    public func gradient(at w: [Double], into g: inout [Double]) {
        g[0] = profile.derivative(w[0])
        for i in hillCurvatures.indices { g[i + 1] = hillCurvatures[i] * w[i + 1] }
    }

    public func hessian(at w: [Double]) -> Matrix {
        Matrix.diagonal([profile.secondDerivative(w[0])] + hillCurvatures)
    }

    public func hessianVectorProduct(at w: [Double], _ v: [Double]) -> [Double] {
        var out = [Double](repeating: 0, count: dimension)
        out[0] = profile.secondDerivative(w[0]) * v[0]
        for i in hillCurvatures.indices { out[i + 1] = hillCurvatures[i] * v[i + 1] }
        return out
    }

    public func analyticRiverPoint(x: Double) -> [Double]? {
        var p = [Double](repeating: 0, count: dimension)
        p[0] = x
        return p
    }

    /// Projection (x, 0): river loss ℓ(x), hill loss ½ Σ λᵢ yᵢ², distance |y|.
    public func analyticSplit(at w: [Double]) -> RiverSplit? {
        var hill = 0.0, d2 = 0.0
        for i in hillCurvatures.indices {
            let y = w[i + 1]
            hill += hillCurvatures[i] * y * y
            d2 += y * y
        }
        return RiverSplit(riverLoss: profile.value(w[0]), hillLoss: 0.5 * hill, distance: d2.squareRoot(),
                          riverCoordinate: w[0])
    }
}
