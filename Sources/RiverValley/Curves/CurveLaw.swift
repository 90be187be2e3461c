import Foundation

/// The loss-curve laws `river curve` fits.
public enum CurveLawKind: String, Codable, CaseIterable, Sendable {
    /// Luo et al., "A Multi-Power Law for Loss Curve Prediction Across Learning Rate Schedules",
    /// arXiv 2503.12811 (7 parameters).
    case multiPower = "multi-power"
    /// Tissue et al., "Scaling Law with Learning Rate Annealing", arXiv 2408.11029 (5 parameters).
    case momentum
    /// Ours: river term in the LR area plus hill terms relaxing toward the current LR in river time,
    /// one per curvature scale (paper-notes/curves.md; 7 parameters).
    case riverValley = "river-valley"

    /// The law's implementation.
    public var law: any LossCurveLaw {
        switch self {
        case .multiPower: return MultiPowerLaw()
        case .momentum: return MomentumLaw()
        case .riverValley: return RiverValleyLaw()
        }
    }
}

/// Where a parameter lives; the fit optimises an unconstrained θ with p = e^θ (positive) or
/// p = 1/(1 + e^{−θ}) (unit interval).
public enum ParameterDomain: String, Codable, Sendable {
    case positive, unit

    /// p(θ), kept strictly inside the domain where the map rounds onto its boundary (e^θ underflowing to 0
    /// or the logistic to 1 when a fit drives θ far out, i.e. a term the data do not support): the nearest
    /// representable interior value, which predicts the same curve.
    public func value(_ theta: Double) -> Double {
        switch self {
        case .positive: return max(exp(theta), .leastNormalMagnitude)
        case .unit: return min(max(1 / (1 + exp(-theta)), .leastNormalMagnitude), 1 - .ulpOfOne / 2)
        }
    }

    public func theta(_ value: Double) -> Double {
        switch self {
        case .positive: return log(value)
        case .unit: return log(value / (1 - value))
        }
    }

    /// dp/dθ at p.
    public func derivative(_ value: Double) -> Double {
        switch self {
        case .positive: return value
        case .unit: return value * (1 - value)
        }
    }

    public func contains(_ value: Double) -> Bool {
        switch self {
        case .positive: return value.isFinite && value > 0
        case .unit: return value > 0 && value < 1
        }
    }
}

/// A law L̂(t; p) of the loss at step t of a run, given the run's whole LR schedule.
public protocol LossCurveLaw: Sendable {
    var kind: CurveLawKind { get }
    /// Names of p, in order.
    var parameterNames: [String] { get }
    var domains: [ParameterDomain] { get }
    /// L̂ at `steps` (increasing, each < run.lrs.count). With `gradient`, also the Jacobian:
    /// jacobian[i][j] = ∂L̂(steps[i])/∂p_j.
    func evaluate(_ p: [Double], on run: CurveRun, at steps: [Int], gradient: Bool) -> (values: [Double], jacobian: [[Double]])
    /// Starting points for the fit, from the reduced law's fit `base` (see `ReducedLaw`).
    func starts(from base: ReducedLaw.Parameters) -> [[Double]]
}

extension LossCurveLaw {
    public var parameterCount: Int { parameterNames.count }

    /// L̂ at the run's own points.
    public func predict(_ p: [Double], on run: CurveRun) -> [Double] {
        evaluate(p, on: run, at: run.steps, gradient: false).values
    }

    /// L̂ at every step 0..<run.lrs.count.
    public func curve(_ p: [Double], on run: CurveRun) -> [Double] {
        evaluate(p, on: run, at: Array(0..<run.lrs.count), gradient: false).values
    }
}
