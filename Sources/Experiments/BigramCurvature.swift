import Bigram
import Foundation
import RiverValley

/// Claim (4) of paper §4: per-token curvature tracks per-token uncertainty (Spearman), on the synthetic
/// language (table and factorised, after WSD) and on the byte bigrams of a real text (the Shakespeare
/// corpus in data/, if fetched; else the KJV; else skipped and noted).
public enum BigramCurvatureExperiment: Experiment {
    public static let name = "bigram-curvature"
    public static let summary = "Bigram §4: per-token curvature vs entropy with Spearman correlation (synthetic and byte bigrams of Shakespeare)"

    static let configs = [BigramSetup.configs[1], BigramSetup.configs[3]]  // table-Adam, factorised-Adam
    static let sources = ["synthetic", "shakespeare", "kjv", "corpus"]
    public static let outputs = [
        ExperimentOutput("bigram_curvature.csv",
                         columns: ["source", "config", "seed", "token", "class", "entropy", "frequency", "curvature", "excess"],
                         values: ["source": sources, "config": configs.map(\.label),
                                  "class": TokenClass.allCases.map(\.rawValue)]),
        // Spearman ρ per (source, config); "corpus, none, skipped_no_corpus_in_data" when no corpus is in data/.
        ExperimentOutput("bigram_curvature_summary.csv", columns: ["source", "config", "quantity", "mean", "sd", "se"],
                         values: ["source": sources, "config": configs.map(\.label) + ["none"],
                                  "quantity": ["spearman_curvature_entropy", "spearman_within_uncertain", "skipped_no_corpus_in_data"]]),
    ]

    static func corpus() -> (String, URL)? {
        let env = ProcessInfo.processInfo.environment["RIVER_DATA"] ?? "data"
        for name in ["shakespeare", "kjv"] {
            let url = URL(fileURLWithPath: env).appendingPathComponent("\(name).txt")
            if FileManager.default.fileExists(atPath: url.path) { return (name, url) }
        }
        return nil
    }

    public static func run(_ settings: ExperimentSettings) throws {
        let synthetic = try BigramSetup.language(settings)
        var sources: [(String, BigramDistribution)] = [("synthetic", synthetic)]
        if let (name, url) = corpus() {
            // Quick mode: the first 1 MB of the corpus (bigram statistics converge fast at V ≈ 100).
            var bytes = [UInt8](try Data(contentsOf: url))
            if settings.quick || settings.smoke { bytes = Array(bytes.prefix(settings.smoke ? 100_000 : 1_000_000)) }
            sources.append((name, try BigramDistribution.byteBigrams(of: bytes)))
        }
        let steps = BigramSetup.analysisSteps(settings)
        let seeds = Array(BigramSetup.seeds(settings).prefix(settings.quick ? 3 : 5))
        let jobs = sources.flatMap { s in configs.flatMap { c in seeds.map { (s.0, s.1, c, $0) } } }
        let results = try Parallel.map(jobs) { job in
            let (_, data, c, seed) = job
            let schedule = try ScheduleSpec(kind: .wsd, steps: steps, peak: c.peak, decay: BigramSetup.decayFraction, shape: .inv).build()
            if c.model == "table" {
                let m = try TableBigram(vocabularySize: data.vocabularySize)
                return try Training(objective: BigramObjective(model: m, data: data), theta: m.zeros())
                    .trainAndAnalyzeTokens(hyper: OptimizerHyperparameters(algorithm: c.optimizer), schedule: schedule, seed: seed)
            }
            let m = try FactorizedBigram(vocabularySize: data.vocabularySize, width: BigramSetup.width)
            return try Training(objective: BigramObjective(model: m, data: data), theta: m.randomParameters(seed: seed))
                .trainAndAnalyzeTokens(hyper: OptimizerHyperparameters(algorithm: c.optimizer), schedule: schedule, seed: seed)
        }
        var tokens = CSVTable(outputs[0].columns)
        var summary = CSVTable(outputs[1].columns)
        var k = 0
        for s in sources { for c in configs {
            var rho: [Double] = [], rhoUnc: [Double] = []
            for seed in seeds {
                let a = results[k]; k += 1
                for i in a.entropy.indices {
                    tokens.append([.t(s.0), .t(c.label), .t(String(seed)), .i(i), .t(a.classes[i].rawValue), .n(a.entropy[i]),
                                   .n(a.frequency[i]), .n(a.curvature[i]), .n(a.excess[i])])
                }
                rho.append(a.spearman)
                // Within the uncertain tokens only (is it more than "deterministic vs not"?).
                let u = a.entropy.indices.filter { a.classes[$0] == .uncertain && a.frequency[$0] > 0 }
                if u.count > 2 { rhoUnc.append(Statistics.spearman(u.map { a.curvature[$0] }, u.map { a.entropy[$0] })) }
            }
            summary.append([.t(s.0), .t(c.label), .t("spearman_curvature_entropy")] + BigramSetup.statCells(rho))
            if !rhoUnc.isEmpty { summary.append([.t(s.0), .t(c.label), .t("spearman_within_uncertain")] + BigramSetup.statCells(rhoUnc)) }
        } }
        if sources.count == 1 { summary.append([.t("corpus"), .t("none"), .t("skipped_no_corpus_in_data"), .n(.nan), .n(.nan), .n(.nan)]) }
        try settings.write(tokens, to: outputs[0].file)
        try settings.write(summary, to: outputs[1].file)
    }
}

extension Training {
    /// Like `trainAndAnalyze` but without the spectrum (only per-token curvature and Spearman).
    func trainAndAnalyzeTokens(hyper: OptimizerHyperparameters, schedule: Schedule, seed: UInt64) throws -> BigramAnalysis {
        let t = try BigramTrainer(objective: objective, initial: theta, optimizer: hyper, batchSize: BigramSetup.batch, seed: seed)
        try t.run(schedule: schedule, until: schedule.steps, logEvery: 0)
        return try BigramAnalysis.analyze(objective, at: t.theta, evaluation: objective.evaluate(t.theta), spectrum: false)
    }
}
