import Foundation

/// A named column of a simulation table.
public struct SimulationColumn: Sendable {
    public var name: String
    public var values: [Double]
    public init(_ name: String, _ values: [Double]) {
        self.name = name
        self.values = values
    }
}

extension SimulationResult {
    /// The columns `river simulate` writes: step, lr, cumulative_lr, the metric means, their `_std`
    /// over seeds, then `extra` (theory overlays).
    public func columns(extra: [SimulationColumn] = []) -> [SimulationColumn] {
        var cols = [SimulationColumn("step", steps.map(Double.init)), SimulationColumn("lr", lr),
                    SimulationColumn("cumulative_lr", cumulativeLR)]
        let metrics = SimulationMetric.allCases.filter { mean[$0] != nil }
        for m in metrics { cols.append(SimulationColumn(m.rawValue, mean[m]!)) }
        for m in metrics { cols.append(SimulationColumn(m.rawValue + "_std", std[m]!)) }
        return cols + extra
    }

    /// The table `river simulate` writes (``CSVTable``: integers print without a decimal point; `.text`
    /// for the CSV as a String).
    public func table(extra: [SimulationColumn] = []) -> CSVTable {
        CSVTable(columns: columns(extra: extra).map { ($0.name, $0.values) })
    }
}

public enum SimulationTable {
    /// Theory overlays for gd/sgd (no weight decay) on a straight valley or a diagonal quadratic, whose
    /// hill coordinates 1..<d are independent quadratics:
    /// - `theory_hill_loss`: exact expected hill loss under the schedule (per-direction recursion);
    /// - `theory_hill_loss_stationary`: Σᵢ ησᵢ²/(2(2 − ηλᵢ)) at the current lr;
    /// - `theory_hill_loss_approx`: η·TrΣ_hill/4;
    /// - `theory_river_coord`: x₀ + s·Σ η (linear river only).
    /// Empty when none applies.
    public static func theoryColumns(_ config: SimulationConfig, _ result: SimulationResult) -> [SimulationColumn] {
        guard config.optimizer == .gd || config.optimizer == .sgd, config.hyperparameters.weightDecay == 0 else { return [] }
        let curvatures: [Double]
        var slope: Double? = nil
        if let v = config.landscape as? StraightValley {
            curvatures = v.hillCurvatures
            if case let .linear(s) = v.profile { slope = s }
        } else if let q = config.landscape as? QuadraticLandscape, let c = q.diagonal, c.count > 1,
                  config.landscape.analyticSplit(at: config.startPoint) != nil {
            curvatures = Array(c[1...])
        } else {
            return []
        }
        let start = config.startPoint
        let variances = config.noiseStd.dropFirst().map { $0 * $0 }
        let lrs = config.schedule.values
        let exact = HillTheory.expectedHillLoss(lrs: lrs, curvatures: curvatures, noiseVariances: variances,
                                                initialSquares: start.dropFirst().map { $0 * $0 })
        var cols = [SimulationColumn("theory_hill_loss", result.steps.map { exact[$0] })]
        let stable = result.lr.allSatisfy { eta in curvatures.allSatisfy { eta * $0 < 2 } }
        if stable {
            cols.append(SimulationColumn("theory_hill_loss_stationary", result.lr.map { eta in
                zip(curvatures, variances).reduce(0) { $0 + eta * $1.1 / (2 * (2 - eta * $1.0)) }
            }))
        }
        let trace = variances.reduce(0, +)
        cols.append(SimulationColumn("theory_hill_loss_approx", result.lr.map { HillTheory.approximateHillLoss(lr: $0, noiseTrace: trace) }))
        if let slope {
            cols.append(SimulationColumn("theory_river_coord", result.cumulativeLR.map { start[0] + slope * $0 }))
        }
        return cols
    }
}
