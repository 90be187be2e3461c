/// A bad landscape parameter: names the value and what is allowed.
public struct LandscapeError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Parameters of the built-in landscapes (units: loss per unit of x for the slope, loss per unit² for
/// curvatures). Fields a landscape does not use are ignored.
public struct LandscapeParameters: Codable, Sendable, Equatable {
    /// d, the number of coordinates (river coordinate + hill coordinates).
    public var dimension: Int
    /// Hill curvature λ: one value for every hill direction, or one per direction (d − 1 values for the
    /// valleys, d for `quadratic`).
    public var hillCurvature: [Double]
    /// River profile ℓ: "linear" (ℓ = −s·x) or "power" (ℓ = A·(1+x)^(−α)).
    public var riverProfile: String
    /// s of the linear profile.
    public var riverSlope: Double
    /// A of the power profile.
    public var powerAmplitude: Double
    /// α of the power profile.
    public var powerExponent: Double
    /// a of the curved valley's river h(x) = a·sin(kx).
    public var amplitude: Double
    /// k of the curved valley's river.
    public var wavenumber: Double

    public init(dimension: Int = 2, hillCurvature: [Double] = [10], riverProfile: String = "linear",
                riverSlope: Double = 1, powerAmplitude: Double = 1, powerExponent: Double = 0.5,
                amplitude: Double = 1, wavenumber: Double = 0.5) {
        self.dimension = dimension
        self.hillCurvature = hillCurvature
        self.riverProfile = riverProfile
        self.riverSlope = riverSlope
        self.powerAmplitude = powerAmplitude
        self.powerExponent = powerExponent
        self.amplitude = amplitude
        self.wavenumber = wavenumber
    }
}

/// The built-in landscapes by name, with validated parameters.
///
///     let valley = try LandscapeCatalog.make("straight-valley",
///                                            LandscapeParameters(dimension: 10, hillCurvature: [5], riverSlope: 0.1))
public enum LandscapeCatalog {
    /// The names `make` accepts.
    public static let names = ["straight-valley", "curved-valley", "quadratic"]
    /// The river profiles.
    public static let profiles = ["linear", "power"]

    /// Builds a landscape, or throws a `LandscapeError` naming the bad value and the allowed set.
    public static func make(_ name: String, _ p: LandscapeParameters = LandscapeParameters()) throws -> any Landscape {
        guard names.contains(name) else {
            throw LandscapeError("unknown landscape '\(name)'; allowed: \(names.joined(separator: ", "))")
        }
        let minDim = name == "quadratic" ? 1 : 2
        guard p.dimension >= minDim, p.dimension <= 100_000 else {
            throw LandscapeError("dimension \(p.dimension) is out of range for \(name); allowed: \(minDim)...100000")
        }
        let hills = name == "quadratic" ? p.dimension : p.dimension - 1
        guard p.hillCurvature.count == 1 || p.hillCurvature.count == hills else {
            throw LandscapeError("hill curvature has \(p.hillCurvature.count) values; \(name) with dimension "
                                 + "\(p.dimension) takes 1 value or \(hills) (one per \(name == "quadratic" ? "coordinate" : "hill direction"))")
        }
        for c in p.hillCurvature where !(c.isFinite && c > 0) {
            throw LandscapeError("hill curvature \(c) is not allowed; curvatures must be finite and > 0")
        }
        let curvatures = p.hillCurvature.count == 1 ? Array(repeating: p.hillCurvature[0], count: hills) : p.hillCurvature
        if name == "quadratic" {
            // QuadraticLandscape stores H as a dense d×d matrix.
            try MemoryBudget.check("the quadratic landscape of dimension \(p.dimension) (a dense d×d Hessian)",
                                   elements: [p.dimension, p.dimension], bytesPerElement: 8)
            return QuadraticLandscape(curvatures: curvatures)
        }

        let profile: RiverProfile
        switch p.riverProfile {
        case "linear":
            guard p.riverSlope.isFinite, p.riverSlope >= 0 else {
                throw LandscapeError("river slope \(p.riverSlope) is not allowed; the slope must be finite and >= 0")
            }
            profile = .linear(slope: p.riverSlope)
        case "power":
            guard p.powerAmplitude.isFinite, p.powerAmplitude > 0 else {
                throw LandscapeError("power amplitude \(p.powerAmplitude) is not allowed; it must be finite and > 0")
            }
            guard p.powerExponent.isFinite, p.powerExponent > 0 else {
                throw LandscapeError("power exponent \(p.powerExponent) is not allowed; it must be finite and > 0")
            }
            profile = .power(amplitude: p.powerAmplitude, exponent: p.powerExponent)
        default:
            throw LandscapeError("unknown river profile '\(p.riverProfile)'; allowed: \(profiles.joined(separator: ", "))")
        }
        if name == "straight-valley" { return StraightValley(profile: profile, hillCurvatures: curvatures) }

        guard p.amplitude.isFinite else { throw LandscapeError("amplitude \(p.amplitude) must be finite") }
        guard p.wavenumber.isFinite, p.wavenumber >= 0 else {
            throw LandscapeError("wavenumber \(p.wavenumber) is not allowed; it must be finite and >= 0")
        }
        return CurvedValley(profile: profile, hillCurvatures: curvatures,
                            amplitudes: Array(repeating: p.amplitude, count: hills),
                            wavenumbers: Array(repeating: p.wavenumber, count: hills))
    }

    /// The river point with river coordinate x of a built-in landscape, where it is known in closed form.
    public static func analyticRiverPoint(_ name: String, _ p: LandscapeParameters = LandscapeParameters(),
                                          x: Double) throws -> [Double]? {
        try make(name, p).analyticRiverPoint(x: x)
    }
}
