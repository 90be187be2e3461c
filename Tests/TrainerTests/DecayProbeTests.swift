import Foundation
import LinearAlgebra
import RiverValley
import Testing
@testable import Trainer

/// The decay probe's prediction (paper-notes/analysis.md): a preconditioned SGD step w ← w − η P⁻¹ m on a
/// quadratic ½ wᵀHw with minibatch noise of covariance Σ (m = the gradient, or its EMA with β₁ as Adam's
/// first moment) has the stationary excess loss η·Tr(P^(−1/2) Σ P^(−1/2))/4 to first order in η, so a
/// decay from η_b to η_a lowers the loss by (η_b − η_a)·Tr(P^(−1/2) Σ P^(−1/2))/4. Checked by simulating
/// the iteration in the original coordinates (a non-diagonal H, so H and P do not commute).
@Suite("Decay probe prediction")
struct DecayProbeTests {
    /// Mean loss of the stationary iteration and its standard error (batch means of 100 blocks).
    static func stationaryLoss(eta: Double, beta1: Double, steps: Int, seed: UInt64) -> (mean: Double, stderr: Double) {
        let H = [[2.0, 0.5, 0.0], [0.5, 1.0, 0.3], [0.0, 0.3, 0.5]]
        let p = [4.0, 1.0, 0.25], sigma = [1.0, 2.0.squareRoot(), 0.5.squareRoot()]
        let rng = RandomSource(seed: seed)
        var w = [0.0, 0.0, 0.0], m = [0.0, 0.0, 0.0]
        let burnIn = steps / 5
        var blocks: [Double] = [], acc = 0.0, count = 0
        let blockSize = (steps - burnIn) / 100
        for t in 0..<steps {
            for i in 0..<3 {
                let g = H[i][0] * w[0] + H[i][1] * w[1] + H[i][2] * w[2] + sigma[i] * rng.gaussian()
                m[i] = beta1 * m[i] + (1 - beta1) * g
            }
            for i in 0..<3 { w[i] -= eta * m[i] / p[i] }
            guard t >= burnIn else { continue }
            var loss = 0.0
            for i in 0..<3 { for j in 0..<3 { loss += 0.5 * w[i] * H[i][j] * w[j] } }
            acc += loss; count += 1
            if count == blockSize { blocks.append(acc / Double(count)); acc = 0; count = 0 }
        }
        return (Statistics.mean(blocks), Statistics.standardDeviation(blocks) / Double(blocks.count).squareRoot())
    }

    @Test("stationary loss of preconditioned SGD (with and without EMA momentum) is eta Tr(P^-1/2 Sigma P^-1/2)/4 to first order; the drop follows")
    func hillTermOfPreconditionedSGD() {
        // Tr(P^(−1/2) Σ P^(−1/2)) = Σᵢ Σᵢᵢ / pᵢ = 1/4 + 2/1 + 0.5/0.25 = 4.25.
        let trace = 0.25 + 2.0 + 2.0
        // The largest eigenvalue of P^(−1/2) H P^(−1/2) is ≈ 2.2; η_b·λ ≈ 0.02 keeps the first-order error ≈ 1%.
        let etaB = 0.01, etaA = 0.002
        for beta1 in [0.0, 0.9] {
            let b = Self.stationaryLoss(eta: etaB, beta1: beta1, steps: 2_000_000, seed: 3)
            let a = Self.stationaryLoss(eta: etaA, beta1: beta1, steps: 4_000_000, seed: 4)
            for (eta, sim) in [(etaB, b), (etaA, a)] {
                let predicted = eta * trace / 4
                #expect(abs(sim.mean - predicted) <= 4 * sim.stderr + 0.015 * predicted,
                        "beta1 \(beta1), eta \(eta): \(sim.mean) ± \(sim.stderr) vs \(predicted)")
            }
            let drop = b.mean - a.mean, predicted = (etaB - etaA) * trace / 4
            let se = (b.stderr * b.stderr + a.stderr * a.stderr).squareRoot()
            #expect(abs(drop - predicted) <= 4 * se + 0.015 * predicted, "beta1 \(beta1): drop \(drop) ± \(se) vs \(predicted)")
        }
    }

    @Test("prediction factor: (lr_before - lr_after)/4, times (1 - dampening)/(1 - momentum) for heavy-ball momentum")
    func predictionFactor() {
        var o = OptimizerHyperparameters(algorithm: .adamw, weightDecay: 0.1, beta1: 0.9, beta2: 0.95, epsilon: 1e-8)
        #expect(DecayProbe.predictionFactor(o, lrBefore: 4e-3, lrAfter: 4e-4).0 == (4e-3 - 4e-4) / 4)
        o.algorithm = .sgd
        #expect(DecayProbe.predictionFactor(o, lrBefore: 0.1, lrAfter: 0.01).0 == (0.1 - 0.01) / 4)
        o.algorithm = .momentum; o.momentum = 0.9; o.dampening = 0.5
        #expect(abs(DecayProbe.predictionFactor(o, lrBefore: 0.1, lrAfter: 0.01).0 - 0.09 / 4 * 5) < 1e-15)
    }
}
