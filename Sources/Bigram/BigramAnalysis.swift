import Foundation
import LinearAlgebra
import RiverValley

/// The spectrum and curvature-vs-uncertainty analysis of a bigram model at one θ.
public struct BigramAnalysis: Sendable {
    /// Eigenvalues descending with the squared mass of each eigenvector on parameters of uncertain
    /// contexts, deterministic contexts and shared parameters.
    public var eigenvalues: [Double]
    public var massUncertain: [Double]
    public var massDeterministic: [Double]
    public var massShared: [Double]
    /// Per context: entropy H(Pᵢ), frequency, curvature (see `tokenCurvature`), excess ℓᵢ − Hᵢ.
    public var entropy: [Double]
    public var frequency: [Double]
    public var curvature: [Double]
    public var excess: [Double]
    public var classes: [TokenClass]
    /// Spearman correlation of curvature with entropy over contexts with πᵢ > 0.
    public var spearman: Double
    public var loss: Double
    public var entropyFloor: Double

    /// Mean uncertain-context mass of the top `k` eigenvectors.
    public func topMassUncertain(_ k: Int) -> Double {
        let n = min(k, massUncertain.count)
        return n == 0 ? .nan : massUncertain.prefix(n).reduce(0, +) / Double(n)
    }

    /// Full spectrum: table → the V block spectra (each eigenvector lives on one context's row);
    /// otherwise dense `dsyevd` of the analytic Hessian (up to `denseLimit` parameters).
    public static func analyze<M: BigramModel>(_ obj: BigramObjective<M>, at theta: [Double], evaluation e: BigramEvaluation,
                                               denseLimit: Int = 4000, spectrum: Bool = true) throws -> BigramAnalysis {
        let data = obj.data
        let classes = data.classes
        var pairs: [(Double, Double, Double, Double)] = []
        if !spectrum {
        } else if obj.model is TableBigram {
            for (i, block) in try obj.tableBlockSpectra(e).enumerated() {
                let unc = classes[i] == .uncertain ? 1.0 : 0.0
                for lam in block.values { pairs.append((lam, unc, 1 - unc, 0)) }
            }
        } else {
            try require(obj.dimension <= denseLimit,
                        "the dense spectrum needs ≤ \(denseLimit) parameters, the model has \(obj.dimension); use a smaller V or d")
            let eig = try symmetricEigen(obj.hessian(e, at: theta), vectors: true)
            for k in 0..<eig.values.count {
                let m = obj.eigenvectorMass(eig.vector(k))
                pairs.append((eig.values[k], m.uncertain, m.deterministic, m.shared))
            }
        }
        pairs.sort { $0.0 > $1.0 }
        let entropy = data.rowEntropies
        let curvature = obj.tokenCurvature(e, at: theta)
        let live = (0..<data.vocabularySize).filter { data.frequencies[$0] > 0 }
        let rho = live.count > 1 ? Statistics.spearman(live.map { curvature[$0] }, live.map { entropy[$0] }) : .nan
        return BigramAnalysis(
            eigenvalues: pairs.map(\.0), massUncertain: pairs.map(\.1), massDeterministic: pairs.map(\.2),
            massShared: pairs.map(\.3), entropy: entropy, frequency: data.frequencies, curvature: curvature,
            excess: (0..<data.vocabularySize).map { e.rowLoss[$0] - entropy[$0] }, classes: classes,
            spearman: rho, loss: e.loss, entropyFloor: data.entropyFloor)
    }

    public var spectrumCSV: String {
        var s = "index,eigenvalue,mass_uncertain,mass_deterministic,mass_shared\n"
        for k in eigenvalues.indices {
            s += "\(k),\(eigenvalues[k]),\(massUncertain[k]),\(massDeterministic[k]),\(massShared[k])\n"
        }
        return s
    }

    public var tokensCSV: String {
        var s = "token,class,entropy,frequency,curvature,excess\n"
        for i in entropy.indices {
            s += "\(i),\(classes[i].rawValue),\(entropy[i]),\(frequency[i]),\(curvature[i]),\(excess[i])\n"
        }
        return s
    }
}
