import Foundation

/// The instant-relaxation limit shared by the laws, used to initialise them (as the Multi-Power Law
/// authors' `initialize_params` does with L0 + A·S1^(−α) − B·(η_peak − η_t)):
///
///     L(t) = L0 + A·S1(t)^(−α) + B·η_t
///
/// (the hill loss follows the LR at once). Parameters [L0, A, α, B], all positive.
public struct ReducedLaw: LossCurveLaw {
    public struct Parameters: Sendable {
        public var L0, A, alpha, B: Double
        /// The largest LR of the runs (sets the scale of the relaxation rates).
        public var peak: Double
    }

    /// Log-log regressions of L − L0 on S1 for a few floors L0 (as the authors' `linregress`).
    let guesses: [[Double]]

    public init(guesses: [[Double]] = []) { self.guesses = guesses }
    public var kind: CurveLawKind { .multiPower }  // not a user-facing law; never serialised
    public var parameterNames: [String] { ["L0", "A", "alpha", "B"] }
    public var domains: [ParameterDomain] { Array(repeating: .positive, count: 4) }

    public func evaluate(_ p: [Double], on run: CurveRun, at steps: [Int], gradient: Bool) -> (values: [Double], jacobian: [[Double]]) {
        var values = [Double](repeating: 0, count: steps.count)
        var jac = gradient ? [[Double]](repeating: [], count: steps.count) : []
        for (i, t) in steps.enumerated() {
            let pt = run.prefix[t]
            let sPow = exp(-p[2] * log(pt))
            values[i] = p[0] + p[1] * sPow + p[3] * run.lrs[t]
            if gradient { jac[i] = [1, sPow, -p[1] * sPow * log(pt), run.lrs[t]] }
        }
        return (values, jac)
    }

    public func starts(from base: Parameters) -> [[Double]] { guesses }

    /// Starting points from the runs' observed losses: for floors L0 below the smallest loss, the
    /// least-squares line of log(L − L0) against log S1 gives A and α; B starts at 3% of the loss per
    /// unit of peak LR.
    public static func guesses(for runs: [CurveRun]) -> [[Double]] {
        var xs: [Double] = [], ys: [Double] = []
        var minLoss = Double.infinity, peak = 0.0
        for run in runs {
            peak = max(peak, run.peak)
            for (i, l) in run.observed {
                xs.append(log(run.prefix[run.steps[i]])); ys.append(l)
                minLoss = min(minLoss, l)
            }
        }
        var out: [[Double]] = []
        for f in [0.6, 0.8, 0.9, 0.97] {
            let floor = f * minLoss
            let n = Double(xs.count)
            let ly = ys.map { log($0 - floor) }
            let mx = xs.reduce(0, +) / n, my = ly.reduce(0, +) / n
            var sxy = 0.0, sxx = 0.0
            for i in xs.indices { sxy += (xs[i] - mx) * (ly[i] - my); sxx += (xs[i] - mx) * (xs[i] - mx) }
            let slope = sxx > 0 ? sxy / sxx : -0.5
            let alpha = min(max(-slope, 0.05), 3)
            let A = exp(my + alpha * mx)
            out.append([floor, A, alpha, 0.03 * minLoss / max(peak, 1e-300)])
        }
        return out
    }
}
