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
    @Option(help: "V×V row-stochastic CSV (row = context token, no header).")
    var transitions: String?

    @Option(help: "The V context frequencies (CSV; normalised; uniform if absent). Only with --transitions.")
    var frequencies: String?

    @Option(help: "A text file (any UTF-8 or bytes): use its byte-bigram statistics.")
    var corpus: String?

    @Option(help: "Synthetic: vocabulary size V (≥ 2).")
    var vocab: Int = 64

    @Option(help: "Synthetic: class mix, KIND[:SHARE],… with KIND deterministic, uniform-K, dirichlet-H (H in nats).")
    var mix: String = "deterministic:0.5,uniform-4:0.25,dirichlet-2:0.25"

    @Option(name: .customLong("frequency-law"), help: "Synthetic: context frequencies, uniform or zipf-A.")
    var frequencyLaw: String = "uniform"

    @Option(name: .customLong("data-seed"), help: "Synthetic: generator seed.")
    var dataSeed: UInt64 = 0

    func load() throws -> BigramDistribution {
        try require([transitions != nil, corpus != nil].filter { $0 }.count <= 1,
                    "give at most one of --transitions and --corpus")
        if frequencies != nil && transitions == nil {
            throw BigramError.invalid("--frequencies needs --transitions")
        }
        if let transitions {
            return try BigramDistribution.load(transitions: URL(fileURLWithPath: transitions),
                                               frequencies: frequencies.map { URL(fileURLWithPath: $0) })
        }
        if let corpus { return try BigramDistribution.byteBigrams(ofFile: URL(fileURLWithPath: corpus)) }
        return try SyntheticBigramSpec(vocabularySize: vocab, mix: SyntheticBigramSpec.parseMix(mix),
                                       frequencies: FrequencyLaw(parsing: frequencyLaw), seed: dataSeed).generate()
    }
}

func require(_ ok: Bool, _ message: String) throws { if !ok { throw BigramError.invalid(message) } }

/// Runs a body, turning toolkit errors into clean CLI errors (message on stderr, exit ≠ 0).
func cleanErrors<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as BigramError { throw ValidationError(e.description) }
    catch let e as SafeTensorsError { throw ValidationError(e.description) }
    catch let e as ScheduleError { throw ValidationError(e.description) }
    catch let e as LinearAlgebraError { throw ValidationError(e.description) }
    catch let e as AtomicFile.WriteError { throw ValidationError(e.description) }
    catch let e as OutputSet.Unwritable { throw ValidationError(e.description) }
}

enum BigramModelKind: String, ExpressibleByArgument, CaseIterable { case table, factorized }

struct BigramGenerate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Write a bigram language (synthetic or a corpus's byte bigrams) as transitions.csv, frequencies.csv and tokens.csv.")

    @OptionGroup var data: BigramDataOptions

    @Option(help: "Output directory (created).")
    var out: String

    func run() throws {
        try cleanErrors {
            let d = try data.load()
            let dir = URL(fileURLWithPath: out)
            var outputs = OutputSet()
            outputs.add(d.transitionsCSV, to: dir.appendingPathComponent("transitions.csv"))
            outputs.add(d.frequenciesCSV, to: dir.appendingPathComponent("frequencies.csv"))
            var tokens = "token,name,label,class,entropy,frequency\n"
            for i in 0..<d.vocabularySize {
                let name = d.tokenNames?[i] ?? "\(i)"
                tokens += "\(i),\(name.replacingOccurrences(of: ",", with: "0x2C")),\(d.labels?[i] ?? ""),\(d.tokenClass(ofRow: i).rawValue),\(d.entropy(ofRow: i)),\(d.frequencies[i])\n"
            }
            outputs.add(tokens, to: dir.appendingPathComponent("tokens.csv"))
            try outputs.commit(createDirectories: [dir.path])
            print("{\"vocabulary\": \(d.vocabularySize), \"entropy_floor\": \(d.entropyFloor), \"deterministic\": \(d.classes.filter { $0 == .deterministic }.count)}")
        }
    }
}

struct BigramTrain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Minibatch training of a bigram model; writes per-step exact metrics (per class, river/hill, top eigenvalue) as CSV.")

    @OptionGroup var data: BigramDataOptions
    @OptionGroup var schedule: ScheduleOptions

    @Option(help: "Model: table or factorized.") var model: BigramModelKind = .table
    @Option(help: "Factorised model width d (≥ 1).") var width: Int = 16
    @Flag(name: .customLong("no-bias"), help: "Factorised model without the bias b.") var noBias = false
    @Option(help: "Optimizer: sgd, momentum, adam, adamw.") var optimizer: String = "sgd"
    @Option(help: "Minibatch size B (≥ 1).") var batch: Int = 32
    @Option(help: "Sampling and initialisation seed.") var seed: UInt64 = 0
    @Option(name: .customLong("log-every"), help: "Log every k steps.") var logEvery: Int = 10
    @Option(name: .customLong("eigen-every"), help: "Top Hessian eigenvalue every k steps (0 = never).") var eigenEvery: Int = 0
    @Option(help: "Output CSV.") var out: String
    @Option(name: .customLong("params-out"), help: "Write the final parameters (safetensors, F64).") var paramsOut: String?

    func run() throws {
        try cleanErrors {
            guard let algorithm = OptimizerAlgorithm(rawValue: optimizer) else {
                throw BigramError.invalid("--optimizer '\(optimizer)' is not allowed; allowed: \(OptimizerAlgorithm.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            try require(logEvery >= 1, "--log-every \(logEvery) is not allowed; need ≥ 1")
            try require(eigenEvery >= 0, "--eigen-every \(eigenEvery) is not allowed; need ≥ 0")
            var destinations = OutputSet()   // fail before training if an output cannot be written
            destinations.add("", toPath: out)
            if let paramsOut { destinations.add("", toPath: paramsOut) }
            try destinations.check()
            let d = try data.load()
            let sched = try schedule.schedule()
            let hyper = OptimizerHyperparameters(algorithm: algorithm)
            switch model {
            case .table:
                let m = try TableBigram(vocabularySize: d.vocabularySize)
                try train(BigramObjective(model: m, data: d), m.zeros(), sched, hyper)
            case .factorized:
                let m = try FactorizedBigram(vocabularySize: d.vocabularySize, width: width, bias: !noBias)
                try train(BigramObjective(model: m, data: d), m.randomParameters(seed: seed), sched, hyper)
            }
        }
    }

    func train<M: BigramModel>(_ obj: BigramObjective<M>, _ theta: [Double], _ sched: Schedule,
                               _ hyper: OptimizerHyperparameters) throws {
        let trainer = try BigramTrainer(objective: obj, initial: theta, optimizer: hyper, batchSize: batch, seed: seed)
        var csv = "step,lr,river_time,\(BigramMetrics.csvHeader),top_eigenvalue\n"
        try trainer.run(schedule: sched, until: sched.steps, logEvery: logEvery, eigenEvery: eigenEvery) { r in
            csv += ([Double(r.step), r.lr, r.riverTime] + r.metrics.csvFields + [r.topEigenvalue])
                .enumerated().map { $0.offset == 0 ? "\(r.step)" : "\($0.element)" }.joined(separator: ",") + "\n"
        }
        var outputs = OutputSet()
        outputs.add(csv, toPath: out)
        if let paramsOut { outputs.add(BigramParameters.file(obj.model, trainer.theta).serialized(), toPath: paramsOut) }
        try outputs.commit()
    }
}

/// Loads --params for the chosen model.
func loadModel(_ kind: BigramModelKind, params: String, vocabularySize v: Int) throws -> (any BigramModel, [Double]) {
    let file = try SafeTensors.read(from: URL(fileURLWithPath: params))
    switch kind {
    case .table: return try BigramParameters.table(from: file, vocabularySize: v, path: params)
    case .factorized: return try BigramParameters.factorized(from: file, vocabularySize: v, path: params)
    }
}

struct BigramEvaluate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "evaluate",
        abstract: "Exact population loss, entropy floor, gradient norm, top-5 Hessian eigenvalues and Hessian trace of given parameters, as JSON.",
        discussion: """
        T.csv: V×V row-stochastic matrix (row = context token, no header). F.csv: V context frequencies
        (normalised; uniform if absent). P.safetensors: Float64 tensors W [V,V] (table) or E [V,d], U [d,V]
        and optional b [V] (factorized; logits of context i = E[i]·U + b).
        """)

    @Option(help: "V×V row-stochastic CSV.") var transitions: String
    @Option(help: "V context frequencies CSV (uniform if absent).") var frequencies: String?
    @Option(help: "table or factorized.") var model: BigramModelKind
    @Option(help: "Parameters (safetensors, F64).") var params: String

    func run() throws {
        try cleanErrors {
            let d = try BigramDistribution.load(transitions: URL(fileURLWithPath: transitions),
                                                frequencies: frequencies.map { URL(fileURLWithPath: $0) })
            let (m, theta) = try loadModel(model, params: params, vocabularySize: d.vocabularySize)
            func report<M: BigramModel>(_ m: M) throws -> String {
                let obj = try BigramObjective(model: m, data: d)
                let e = obj.evaluate(theta)
                let g = m.pullback(theta, e.logitGradient)
                let top = try obj.hessianTop(e, at: theta, count: 5)
                return "{\"loss\": \(e.loss), \"entropy_floor\": \(d.entropyFloor), \"gradient_norm\": \(BLAS.norm(g)), "
                    + "\"hessian_top\": [\(top.map { "\($0)" }.joined(separator: ", "))], "
                    + "\"hessian_trace\": \(obj.hessianTrace(e, at: theta))}"
            }
            print(try report(m))
        }
    }
}

struct BigramAnalyze: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analyze",
        abstract: "Hessian spectrum with eigenvector mass on uncertain/deterministic/shared parameters, and per-token curvature vs uncertainty (Spearman).")

    @OptionGroup var data: BigramDataOptions
    @Option(help: "table or factorized.") var model: BigramModelKind
    @Option(help: "Parameters (safetensors, F64).") var params: String
    @Option(name: .customLong("spectrum-out"), help: "CSV: index,eigenvalue,mass_uncertain,mass_deterministic,mass_shared (factorized: dense, ≤ 4000 parameters; table: block spectra).")
    var spectrumOut: String?
    @Option(name: .customLong("tokens-out"), help: "CSV: token,class,entropy,frequency,curvature,excess.")
    var tokensOut: String?

    func run() throws {
        try cleanErrors {
            let d = try data.load()
            let (m, theta) = try loadModel(model, params: params, vocabularySize: d.vocabularySize)
            func go<M: BigramModel>(_ m: M) throws -> String {
                let obj = try BigramObjective(model: m, data: d)
                let e = obj.evaluate(theta)
                let result = try BigramAnalysis.analyze(obj, at: theta, evaluation: e)
                var outputs = OutputSet()
                if let spectrumOut { outputs.add(result.spectrumCSV, toPath: spectrumOut) }
                if let tokensOut { outputs.add(result.tokensCSV, toPath: tokensOut) }
                try outputs.commit()
                return result.summaryJSON
            }
            print(try go(m))
        }
    }
}
