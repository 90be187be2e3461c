import Bigram
import Foundation
import RiverValley

/// Paper §4 spectrum: the Hessian of the factorised bigram model at the end of the stable phase and
/// after the decay; for each eigenvector, the share of its mass on parameters of uncertain contexts,
/// deterministic contexts and shared parameters (U, b). Sharp directions should sit on uncertain tokens.
public enum BigramSpectrumExperiment: Experiment {
    public static let name = "bigram-spectrum"
    public static let summary = "Bigram §4: full Hessian spectrum (LAPACK) of the factorised model with eigenvector mass on uncertain/deterministic/shared parameters"

    static let phases = ["stable", "decayed"]
    public static let outputs = [
        ExperimentOutput("bigram_spectrum.csv",
                         columns: ["phase", "seed", "index", "eigenvalue", "mass_uncertain", "mass_deterministic", "mass_shared"],
                         values: ["phase": phases]),
        ExperimentOutput("bigram_spectrum_summary.csv", columns: ["phase", "quantity", "mean", "sd", "se"],
                         values: ["phase": phases, "quantity": ["baseline_mass_uncertain", "loss", "top10_mass_deterministic",
                                                                "top10_mass_uncertain", "top50_mass_deterministic",
                                                                "top50_mass_uncertain", "top_eigenvalue"]]),
    ]

    public static func run(_ settings: ExperimentSettings) throws {
        let data = try BigramSetup.language(settings)
        let steps = BigramSetup.analysisSteps(settings)
        let seeds = Array(BigramSetup.seeds(settings).prefix(settings.quick ? 3 : 5))
        let width = 8  // 2·64·8 + 64 = 1088 parameters: dense dsyevd in well under a second
        let model = try FactorizedBigram(vocabularySize: data.vocabularySize, width: width)
        let obj = try BigramObjective(model: model, data: data)
        let c = BigramSetup.configs[3]
        let phases: [(String, ScheduleSpec)] = [
            (Self.phases[0], ScheduleSpec(kind: .constant, steps: steps, peak: c.peak)),
            (Self.phases[1], ScheduleSpec(kind: .wsd, steps: steps, peak: c.peak, decay: BigramSetup.decayFraction, shape: .inv)),
        ]
        let jobs = phases.flatMap { p in seeds.map { (p, $0) } }
        let results = try Parallel.map(jobs) { job in
            try Training(objective: obj, theta: model.randomParameters(seed: job.1))
                .trainAndAnalyze(hyper: OptimizerHyperparameters(algorithm: c.optimizer), schedule: job.0.1.build(), seed: job.1)
        }
        var csv = CSVTable(outputs[0].columns)
        var summary = CSVTable(outputs[1].columns)
        for (pi, phase) in phases.enumerated() {
            var q: [String: [Double]] = [:]
            for (si, seed) in seeds.enumerated() {
                let a = results[pi * seeds.count + si]
                for k in a.eigenvalues.indices {
                    csv.append([.t(phase.0), .t(String(seed)), .i(k), .n(a.eigenvalues[k]), .n(a.massUncertain[k]),
                                .n(a.massDeterministic[k]), .n(a.massShared[k])])
                }
                // Mass of the top-k eigenvectors on uncertain-token parameters vs deterministic ones.
                for k in [10, 50] {
                    q["top\(k)_mass_uncertain", default: []].append(a.topMassUncertain(k))
                    q["top\(k)_mass_deterministic", default: []].append(a.massDeterministic.prefix(k).reduce(0, +) / Double(k))
                }
                q["top_eigenvalue", default: []].append(a.eigenvalues[0])
                q["loss", default: []].append(a.loss)
                // Share of the uncertain-owned E parameters in the whole E block: the mass of a random vector.
                q["baseline_mass_uncertain", default: []].append(Double(data.classes.filter { $0 == .uncertain }.count * width) / Double(obj.dimension))
            }
            for (k, v) in q.sorted(by: { $0.key < $1.key }) { summary.append([.t(phase.0), .t(k)] + BigramSetup.statCells(v)) }
        }
        try settings.write(csv, to: outputs[0].file)
        try settings.write(summary, to: outputs[1].file)
    }
}
