import ArgumentParser
import RiverValley

/// A built-in landscape name (`LandscapeCatalog.names`).
struct LandscapeName: CatalogName {
    static var catalog: [String] { LandscapeCatalog.names }
    let rawValue: String
    init(unchecked rawValue: String) { self.rawValue = rawValue }
    static let straightValley = LandscapeName(unchecked: "straight-valley")
}

/// A river profile name (`LandscapeCatalog.profiles`).
struct RiverProfileName: CatalogName {
    static var catalog: [String] { LandscapeCatalog.profiles }
    let rawValue: String
    init(unchecked rawValue: String) { self.rawValue = rawValue }
    static let linear = RiverProfileName(unchecked: "linear")
}

/// The landscape flags shared by `river simulate` and `river spectrum`: which built-in landscape and its
/// parameters (`LandscapeParameters`; units: loss per unit of x for the slope, per unit² for curvatures).
struct LandscapeOptions: ParsableArguments {
    @Option(help: ArgumentHelp("A built-in landscape (simulate: default straight-valley).", valueName: "landscape"))
    var landscape: LandscapeName?

    @Option(help: ArgumentHelp("Dimension d (1 river coordinate + d−1 hill coordinates).", valueName: "n"))
    var dim: Int = 2

    @Option(name: .customLong("hill-curvature"), parsing: .unconditional,
            help: ArgumentHelp("Hill curvature λ: one value for every hill direction, or one per direction.",
                               valueName: "x,..."),
            transform: CommaList<Double>.parse)
    var hillCurvature: CommaList<Double> = [10]

    @Option(name: .customLong("river-profile"),
            help: ArgumentHelp("River profile: linear (ℓ = −s·x) or power (ℓ = A(1+x)^−α).", valueName: "profile"))
    var riverProfile: RiverProfileName = .linear

    @Option(name: .customLong("river-slope"), parsing: .unconditional,
            help: ArgumentHelp("Slope s of the linear river profile (≥ 0).", valueName: "x"))
    var riverSlope: Double = 1

    @Option(name: .customLong("power-amplitude"), parsing: .unconditional,
            help: ArgumentHelp("A of the power river profile A(1+x)^−α.", valueName: "x"))
    var powerAmplitude: Double = 1

    @Option(name: .customLong("power-exponent"), parsing: .unconditional,
            help: ArgumentHelp("α of the power river profile.", valueName: "x"))
    var powerExponent: Double = 0.5

    @Option(parsing: .unconditional,
            help: ArgumentHelp("Curved valley: amplitude a of the river h(x) = a·sin(kx).", valueName: "x"))
    var amplitude: Double = 1

    @Option(parsing: .unconditional, help: ArgumentHelp("Curved valley: wavenumber k of the river.", valueName: "x"))
    var wavenumber: Double = 0.5

    /// The parameters for `LandscapeCatalog.make`.
    var parameters: LandscapeParameters {
        LandscapeParameters(dimension: dim, hillCurvature: hillCurvature.elements, riverProfile: riverProfile.rawValue,
                            riverSlope: riverSlope, powerAmplitude: powerAmplitude, powerExponent: powerExponent,
                            amplitude: amplitude, wavenumber: wavenumber)
    }

    /// The landscape (`default` when --landscape is absent), validated by the catalog: a bad parameter is a
    /// `ValidationError` naming it.
    func make(default fallback: LandscapeName? = nil) throws -> any Landscape {
        guard let name = landscape ?? fallback else { throw ValidationError("--landscape is required") }
        do { return try LandscapeCatalog.make(name.rawValue, parameters) }
        catch let e as LandscapeError { throw ValidationError("--landscape \(name): \(e.description)") }
    }
}
