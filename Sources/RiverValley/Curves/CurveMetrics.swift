import Foundation

/// How well a predicted curve matches observed losses, as the Multi-Power Law paper evaluates
/// (Luo et al. arXiv 2503.12811 §4; the authors' `src/evaluation.py`): with e_i = L_i − L̂_i,
/// R² = 1 − Σe²/Σ(L − mean L)², MAE = mean |e|, RMSE = √(mean e²), PredE = mean |e|/L,
/// WorstE = max |e|/L. Non-finite values encode as null.
public struct CurveMetrics: Codable, Sendable, Equatable {
    public var r2: Double
    public var mae: Double
    public var rmse: Double
    public var predE: Double
    public var worstE: Double
    public var points: Int

    enum CodingKeys: String, CodingKey {
        case r2, mae, rmse, predE = "pred_e", worstE = "worst_e", points
    }

    public init(r2: Double, mae: Double, rmse: Double, predE: Double, worstE: Double, points: Int) {
        self.r2 = r2; self.mae = mae; self.rmse = rmse; self.predE = predE; self.worstE = worstE; self.points = points
    }

    /// Metrics of `predicted` against `observed` (equal lengths, at least one point).
    public init(observed: [Double], predicted: [Double]) {
        precondition(observed.count == predicted.count && !observed.isEmpty)
        let n = Double(observed.count)
        let mean = observed.reduce(0, +) / n
        var ssRes = 0.0, ssTot = 0.0, abs = 0.0, rel = 0.0, worst = 0.0
        for (y, p) in zip(observed, predicted) {
            let e = y - p
            ssRes += e * e
            ssTot += (y - mean) * (y - mean)
            abs += Swift.abs(e)
            rel += Swift.abs(e) / y
            worst = Swift.max(worst, Swift.abs(e) / y)
            if !e.isFinite { worst = .nan }
        }
        r2 = ssTot > 0 ? 1 - ssRes / ssTot : .nan
        mae = abs / n
        rmse = (ssRes / n).squareRoot()
        predE = rel / n
        worstE = worst
        points = observed.count
    }

    /// The mean of each metric over several runs (the paper's averages over held-out curves).
    public static func average(_ ms: [CurveMetrics]) -> CurveMetrics {
        let n = Double(ms.count)
        func avg(_ f: (CurveMetrics) -> Double) -> Double { ms.map(f).reduce(0, +) / n }
        return CurveMetrics(r2: avg(\.r2), mae: avg(\.mae), rmse: avg(\.rmse), predE: avg(\.predE),
                            worstE: avg(\.worstE), points: ms.map(\.points).reduce(0, +))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        func put(_ v: Double, _ k: CodingKeys) throws { if v.isFinite { try c.encode(v, forKey: k) } else { try c.encodeNil(forKey: k) } }
        try put(r2, .r2); try put(mae, .mae); try put(rmse, .rmse); try put(predE, .predE); try put(worstE, .worstE)
        try c.encode(points, forKey: .points)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func get(_ k: CodingKeys) throws -> Double { try c.decodeIfPresent(Double.self, forKey: k) ?? .nan }
        r2 = try get(.r2); mae = try get(.mae); rmse = try get(.rmse); predE = try get(.predE); worstE = try get(.worstE)
        points = try c.decode(Int.self, forKey: .points)
    }
}
