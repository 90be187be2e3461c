import ArgumentParser
import Bigram
import Foundation
import RiverValley

/// `river bigram`: the bigram language model of the paper's §4 (token uncertainty shapes the valley).
struct BigramCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bigram",
        abstract: "Bigram language models: deterministic tokens make rivers, uncertain tokens make hills (paper §4).",
        subcommands: [BigramGenerate.self, BigramTrain.self, BigramAnalyze.self, BigramEvaluate.self])
}

/// Where the language comes from: CSV statistics, a text corpus, or the synthetic generator.
struct BigramDataOptions: ParsableArguments {
    @Option(help: ArgumentHelp("V×V row-stochastic CSV (row = context token, no header).", valueName: "file"))
    var transitions: String?

    @Option(help: ArgumentHelp("The V context frequencies (CSV; normalised; uniform if absent). Only with --transitions.", valueName: "file"))
    var frequencies: String?

    @Option(help: ArgumentHelp("A text file (any UTF-8 or bytes): use its byte-bigram statistics.", valueName: "file"))
    var corpus: String?

    @Option(help: ArgumentHelp("Synthetic: vocabulary size V (≥ 2).", valueName: "n"))
    var vocab: Int = 64

    @Option(help: ArgumentHelp("Synthetic: class mix, KIND[:SHARE],… with KIND deterministic, uniform-K, dirichlet-H (H in nats).", valueName: "mix"))
    var mix: String = "deterministic:0.5,uniform-4:0.25,dirichlet-2:0.25"

    @Option(name: .customLong("frequency-law"), help: ArgumentHelp("Synthetic: context frequencies, uniform or zipf-A.", valueName: "law"))
    var frequencyLaw: String = "uniform"

    @Option(name: .customLong("data-seed"), help: ArgumentHelp("Synthetic: generator seed.", valueName: "seed"))
    var dataSeed: UInt64 = 0

    func load() throws -> BigramDistribution {
        try require([transitions != nil, corpus != nil].filter { $0 }.count <= 1,
                    "give at most one of --transitions and --corpus")
        try require(frequencies == nil || transitions != nil, "--frequencies needs --transitions")
        if let transitions {
            return try BigramDistribution.load(transitions: URL(fileURLWithPath: transitions),
                                               frequencies: frequencies.map { URL(fileURLWithPath: $0) })
        }
        if let corpus { return try BigramDistribution.byteBigrams(ofFile: URL(fileURLWithPath: corpus)) }
        return try SyntheticBigramSpec(vocabularySize: vocab, mix: SyntheticBigramSpec.parseMix(mix),
                                       frequencies: FrequencyLaw(parsing: frequencyLaw), seed: dataSeed).generate()
    }
}

/// An argument check: a `ValidationError` (message and usage) unless `ok`.
func require(_ ok: Bool, _ message: @autoclosure () -> String) throws {
    if !ok { throw ValidationError(message()) }
}

/// The bigram model: a V×V logit table, or the factorised E·U (+ b) of width d.
enum BigramModelKind: String, CaseIterable { case table, factorized }

struct BigramGenerate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write a bigram language (synthetic or a corpus's byte bigrams) as transitions.csv, frequencies.csv and tokens.csv.",
        discussion: """
        Prints {"deterministic": …, "entropy_floor": …, "vocabulary": …} as JSON.

        Example:
          river bigram generate --vocab 64 --mix deterministic:0.5,uniform-4:0.5 --data-seed 1 --out lang
        """)

    @OptionGroup var data: BigramDataOptions

    @Option(help: ArgumentHelp("Output directory (created).", valueName: "path"))
    var out: String

    struct Summary: Encodable { let vocabulary: Int, entropyFloor: Double, deterministic: Int }

    func run() throws {
        let d = try data.load()
        let dir = URL(fileURLWithPath: out)
        var outputs = OutputSet()   // the three files (and the folder) or nothing
        outputs.add(d.transitionsCSV, to: dir.appendingPathComponent("transitions.csv"))
        outputs.add(d.frequenciesCSV, to: dir.appendingPathComponent("frequencies.csv"))
        var tokens = "token,name,label,class,entropy,frequency\n"
        for i in 0..<d.vocabularySize {
            let name = d.tokenNames?[i] ?? "\(i)"
            tokens += "\(i),\(name.replacingOccurrences(of: ",", with: "0x2C")),\(d.labels?[i] ?? ""),\(d.tokenClass(ofRow: i).rawValue),\(d.entropy(ofRow: i)),\(d.frequencies[i])\n"
        }
        outputs.add(tokens, to: dir.appendingPathComponent("tokens.csv"))
        try outputs.commit(createDirectories: [dir.path])
        try JSONOutput.print(Summary(vocabulary: d.vocabularySize, entropyFloor: d.entropyFloor,
                                     deterministic: d.classes.filter { $0 == .deterministic }.count))
    }
}

struct BigramTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Minibatch training of a bigram model; writes per-step exact metrics (per class, river/hill, top eigenvalue) as CSV.",
        discussion: """
        Example:
          river bigram train --vocab 32 --model table --optimizer sgd --batch-size 64 --kind wsd --steps 500 \\
                             --peak 0.5 --out train.csv --save-parameters theta.safetensors
        """)

    @OptionGroup var data: BigramDataOptions
    @OptionGroup var schedule: ScheduleOptions

    @Option(help: ArgumentHelp("Model.", valueName: "model")) var model: BigramModelKind = .table
    @Option(help: ArgumentHelp("Factorised model width d (≥ 1).", valueName: "n")) var width: Int = 16
    @Flag(name: .customLong("no-bias"), help: "Factorised model without the bias b.") var noBias = false
    @Option(help: ArgumentHelp("Optimizer.", valueName: "optimizer")) var optimizer: OptimizerAlgorithm = .sgd
    @Option(name: .customLong("batch-size"), help: ArgumentHelp("Minibatch size B (≥ 1).", valueName: "n")) var batchSize: Int = 32
    /// Deprecated spelling of --batch-size.
    @Option(name: .customLong("batch"), help: .hidden) var deprecatedBatch: Int?
    @Option(help: ArgumentHelp("Sampling and initialisation seed.", valueName: "seed")) var seed: UInt64 = 0
    @Option(name: .customLong("log-every"), help: ArgumentHelp("Log every k steps.", valueName: "n")) var logEvery: Int = 10
    @Option(name: .customLong("eigen-every"), help: ArgumentHelp("Top Hessian eigenvalue every k steps (0 = never).", valueName: "n")) var eigenEvery: Int = 0
    @Option(help: ArgumentHelp("Output CSV.", valueName: "path")) var out: String
    @Option(name: .customLong("save-parameters"), help: ArgumentHelp("Write the final parameters (safetensors, F64).", valueName: "path"))
    var saveParameters: String?
    /// Deprecated spelling of --save-parameters.
    @Option(name: .customLong("params-out"), help: .hidden) var deprecatedParamsOut: String?

    mutating func validate() throws {
        Deprecated.merge(old: "--batch", oldValue: deprecatedBatch, new: "--batch-size", into: &batchSize)
        deprecatedBatch = nil
        saveParameters = try Deprecated.merge(old: "--params-out", oldValue: deprecatedParamsOut, new: "--save-parameters",
                                              newValue: saveParameters)
        deprecatedParamsOut = nil
        try require(logEvery >= 1, "--log-every \(logEvery) is not allowed; need ≥ 1")
        try require(eigenEvery >= 0, "--eigen-every \(eigenEvery) is not allowed; need ≥ 0")
    }

    func run() throws {
        // Both outputs must be writable before any is written (no partial output).
        try OutputPaths.checkWritable([("--out", out)] + (saveParameters.map { [("--save-parameters", $0)] } ?? []))
        let d = try data.load()
        let sched = try schedule.schedule()
        let hyper = OptimizerHyperparameters(algorithm: optimizer)
        switch model {
        case .table:
            let m = try TableBigram(vocabularySize: d.vocabularySize)
            try train(BigramObjective(model: m, data: d), m.zeros(), sched, hyper)
        case .factorized:
            let m = try FactorizedBigram(vocabularySize: d.vocabularySize, width: width, bias: !noBias)
            try train(BigramObjective(model: m, data: d), m.randomParameters(seed: seed), sched, hyper)
        }
    }

    func train<M: BigramModel>(_ obj: BigramObjective<M>, _ theta: [Double], _ sched: Schedule,
                               _ hyper: OptimizerHyperparameters) throws {
        let trainer = try BigramTrainer(objective: obj, initial: theta, optimizer: hyper, batchSize: batchSize, seed: seed)
        var csv = "step,lr,river_time,\(BigramMetrics.csvHeader),top_eigenvalue\n"
        try trainer.run(schedule: sched, until: sched.steps, logEvery: logEvery, eigenEvery: eigenEvery) { r in
            csv += ([Double(r.step), r.lr, r.riverTime] + r.metrics.csvFields + [r.topEigenvalue])
                .enumerated().map { $0.offset == 0 ? "\(r.step)" : "\($0.element)" }.joined(separator: ",") + "\n"
        }
        var outputs = OutputSet()   // both files or neither
        outputs.add(csv, toPath: out)
        if let saveParameters { outputs.add(BigramParameters.file(obj.model, trainer.theta).serialized(), toPath: saveParameters) }
        try outputs.commit()
    }
}

/// Loads --parameters for the chosen model.
func loadModel(_ kind: BigramModelKind, parameters: String, vocabularySize v: Int) throws -> (any BigramModel, [Double]) {
    let file = try SafeTensors.read(from: URL(fileURLWithPath: parameters))
    switch kind {
    case .table: return try BigramParameters.table(from: file, vocabularySize: v, path: parameters)
    case .factorized: return try BigramParameters.factorized(from: file, vocabularySize: v, path: parameters)
    }
}

/// `--parameters FILE` (with the deprecated, hidden `--params`), for the bigram commands that read a model.
struct BigramParametersOption: ParsableArguments {
    @Option(help: ArgumentHelp("Model parameters (safetensors, F64).", valueName: "file")) var parameters: String?
    /// Deprecated spelling of --parameters.
    @Option(name: .customLong("params"), help: .hidden) var deprecatedParams: String?

    mutating func validate() throws {
        parameters = try Deprecated.merge(old: "--params", oldValue: deprecatedParams, new: "--parameters", newValue: parameters)
        deprecatedParams = nil
        try require(parameters != nil, "--parameters is required (a safetensors file of the model's parameters)")
    }

    var path: String { parameters! }
}

struct BigramEvaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Exact population loss, entropy floor, gradient norm, top-5 Hessian eigenvalues and Hessian trace of given parameters, as JSON.",
        discussion: """
        T.csv: V×V row-stochastic matrix (row = context token, no header). F.csv: V context frequencies
        (normalised; uniform if absent). P.safetensors: Float64 tensors W [V,V] (table) or E [V,d], U [d,V]
        and optional b [V] (factorized; logits of context i = E[i]·U + b).
        Output: {"entropy_floor", "gradient_norm", "hessian_top", "hessian_trace", "loss"}; a non-finite value is null.

        Example:
          river bigram evaluate --transitions T.csv --frequencies F.csv --model table --parameters P.safetensors
        """)

    @Option(help: ArgumentHelp("V×V row-stochastic CSV.", valueName: "file")) var transitions: String
    @Option(help: ArgumentHelp("V context frequencies CSV (uniform if absent).", valueName: "file")) var frequencies: String?
    @Option(help: ArgumentHelp("Model.", valueName: "model")) var model: BigramModelKind
    @OptionGroup var parameters: BigramParametersOption

    struct Report: Encodable {
        let loss: Double, entropyFloor: Double, gradientNorm: Double, hessianTop: [Double], hessianTrace: Double
    }

    func run() throws {
        let d = try BigramDistribution.load(transitions: URL(fileURLWithPath: transitions),
                                            frequencies: frequencies.map { URL(fileURLWithPath: $0) })
        let (m, theta) = try loadModel(model, parameters: parameters.path, vocabularySize: d.vocabularySize)
        func report<M: BigramModel>(_ m: M) throws -> Report {
            let obj = try BigramObjective(model: m, data: d)
            let e = obj.evaluate(theta)
            let g = m.pullback(theta, e.logitGradient)
            return Report(loss: e.loss, entropyFloor: d.entropyFloor, gradientNorm: BLAS.norm(g),
                          hessianTop: try obj.hessianTop(e, at: theta, count: 5),
                          hessianTrace: obj.hessianTrace(e, at: theta))
        }
        try JSONOutput.print(try report(m))
    }
}

struct BigramAnalyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Hessian spectrum with eigenvector mass on uncertain/deterministic/shared parameters, and per-token curvature vs uncertainty (Spearman).",
        discussion: """
        Prints {"entropy_floor", "hessian_top", "loss", "spearman_curvature_entropy", "top10_mass_uncertain"} as
        JSON; a non-finite value (e.g. a correlation over fewer than two contexts) is null.

        Example:
          river bigram analyze --vocab 32 --model table --parameters theta.safetensors --spectrum-out spectrum.csv
        """)

    @OptionGroup var data: BigramDataOptions
    @Option(help: ArgumentHelp("Model.", valueName: "model")) var model: BigramModelKind
    @OptionGroup var parameters: BigramParametersOption
    @Option(name: .customLong("spectrum-out"),
            help: ArgumentHelp("CSV: index,eigenvalue,mass_uncertain,mass_deterministic,mass_shared (factorized: dense, ≤ 4000 parameters; table: block spectra).",
                               valueName: "path"))
    var spectrumOut: String?
    @Option(name: .customLong("tokens-out"), help: ArgumentHelp("CSV: token,class,entropy,frequency,curvature,excess.", valueName: "path"))
    var tokensOut: String?

    struct Summary: Encodable {
        let loss: Double, entropyFloor: Double, hessianTop: [Double], top10MassUncertain: Double
        let spearmanCurvatureEntropy: Double
    }

    func run() throws {
        try OutputPaths.checkWritable([("--spectrum-out", spectrumOut), ("--tokens-out", tokensOut)].compactMap { f, p in p.map { (f, $0) } })
        let d = try data.load()
        let (m, theta) = try loadModel(model, parameters: parameters.path, vocabularySize: d.vocabularySize)
        func go<M: BigramModel>(_ m: M) throws -> Summary {
            let obj = try BigramObjective(model: m, data: d)
            let e = obj.evaluate(theta)
            let r = try BigramAnalysis.analyze(obj, at: theta, evaluation: e)
            var outputs = OutputSet()   // both files or neither
            if let spectrumOut { outputs.add(r.spectrumCSV, toPath: spectrumOut) }
            if let tokensOut { outputs.add(r.tokensCSV, toPath: tokensOut) }
            try outputs.commit()
            return Summary(loss: r.loss, entropyFloor: r.entropyFloor, hessianTop: Array(r.eigenvalues.prefix(5)),
                           top10MassUncertain: r.topMassUncertain(10), spearmanCurvatureEntropy: r.spearman)
        }
        try JSONOutput.print(try go(m))
    }
}

extension BigramModelKind: ExpressibleByArgument {}
