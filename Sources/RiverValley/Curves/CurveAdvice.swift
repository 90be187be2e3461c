import Foundation

/// Schedule advice from a fitted law: the WSD decay shape and length (and the plain cosine) that
/// minimise the law's predicted final loss L̂(N−1) for a budget of N steps.
public enum CurveAdvice {
    public struct Candidate: Codable, Sendable {
        public var kind: ScheduleKind
        /// The decay shape (nil for the cosine, whose shape is fixed).
        public var shape: DecayShape?
        /// Decay length and first decay step (the cosine decays over everything after the warmup).
        public var decaySteps: Int
        public var decayStart: Int
        public var predictedFinalLoss: Double

        enum CodingKeys: String, CodingKey {
            case kind, shape, decaySteps = "decay_steps", decayStart = "decay_start", predictedFinalLoss = "predicted_final_loss"
        }
    }

    /// Decay lengths tried, as fractions of the budget.
    public static let defaultFractions: [Double] = [0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0]

    /// Every candidate, best (lowest predicted final loss) first.
    public static func candidates(law: any LossCurveLaw, parameters p: [Double], steps: Int, peak: Double, warmup: Int,
                                  minRatio: Double, shapes: [DecayShape], fractions: [Double] = defaultFractions) throws -> [Candidate] {
        guard steps >= 2 else { throw CurveError("--steps \(steps): the budget must be at least 2 steps") }
        guard peak.isFinite, peak > 0 else { throw CurveError("--peak \(peak): the peak LR must be finite and > 0") }
        guard warmup >= 0, warmup < steps else { throw CurveError("warmup \(warmup) must be in 0..<\(steps) (the budget)") }
        func finalLoss(_ spec: ScheduleSpec) throws -> Double {
            let lrs = try spec.build().values
            let run = try CurveRun(name: "candidate", lrs: lrs, steps: [steps - 1], losses: [nil])
            return law.evaluate(p, on: run, at: [steps - 1], gradient: false).values[0]
        }
        var out: [Candidate] = []
        // A length of 1 would read as the fraction 1 (Levanter's rule): a 1-step warmup is dropped.
        let w = Double(warmup == 1 ? 0 : warmup)
        let cosine = ScheduleSpec(kind: .cosine, steps: steps, peak: peak, warmup: w, minRatio: minRatio)
        out.append(Candidate(kind: .cosine, shape: nil, decaySteps: steps - warmup, decayStart: warmup,
                             predictedFinalLoss: try finalLoss(cosine)))
        let lengths = Array(Set(fractions.map { min(max(Int($0 * Double(steps)), 1), steps - warmup) })).sorted()
        for shape in shapes {
            for d in lengths where d >= 2 {
                let spec = ScheduleSpec(kind: .wsd, steps: steps, peak: peak, warmup: w, decay: Double(d),
                                        shape: shape, minRatio: minRatio)
                out.append(Candidate(kind: .wsd, shape: shape, decaySteps: d, decayStart: steps - d,
                                     predictedFinalLoss: try finalLoss(spec)))
            }
        }
        return out.sorted { $0.predictedFinalLoss < $1.predictedFinalLoss }
    }
}
