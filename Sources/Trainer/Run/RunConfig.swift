import Foundation
import RiverValley

/// Where the tokens come from and how they are split (see ``TokenDataset``).
public struct DataConfig: Codable, Sendable, Equatable {
    /// "shakespeare" or "kjv" (fetched by scripts/fetch_corpora.sh into `$RIVER_DATA` or ./data), or a
    /// path to a UTF-8 file or a folder of .txt files.
    public var corpus: String = "shakespeare"
    /// "byte" (vocabulary 256) or "bpe" (trained on the training split, saved as tokenizer.json).
    public var tokenizer: String = "byte"
    /// BPE vocabulary size (≥ 256); the model's vocabSize must equal it.
    public var bpeVocabSize: Int = 512
    /// Every validationEvery-th block of splitBlock tokens is validation data.
    public var validationEvery: Int = 10
    public var splitBlock: Int = 4096

    public init(corpus: String = "shakespeare", tokenizer: String = "byte", bpeVocabSize: Int = 512) {
        self.corpus = corpus; self.tokenizer = tokenizer; self.bpeVocabSize = bpeVocabSize
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case corpus, tokenizer, bpeVocabSize, validationEvery, splitBlock
    }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(allowed: CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        corpus = try c.decodeIfPresent(String.self, forKey: .corpus) ?? corpus
        tokenizer = try c.decodeIfPresent(String.self, forKey: .tokenizer) ?? tokenizer
        bpeVocabSize = try c.decodeIfPresent(Int.self, forKey: .bpeVocabSize) ?? bpeVocabSize
        validationEvery = try c.decodeIfPresent(Int.self, forKey: .validationEvery) ?? validationEvery
        splitBlock = try c.decodeIfPresent(Int.self, forKey: .splitBlock) ?? splitBlock
    }
}

/// The run this run branches from: its directory and the checkpoint step it starts at.
public struct ParentRef: Codable, Sendable, Equatable {
    public var run: String
    public var step: Int
    public init(run: String, step: Int) { self.run = run; self.step = step }

    enum CodingKeys: String, CodingKey, CaseIterable { case run, step }

    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(allowed: CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        run = try c.decode(String.self, forKey: .run)
        step = try c.decode(Int.self, forKey: .step)
    }
}

/// Everything that defines a training run (saved as `config.json` in the run directory).
///
/// Steps are counted as completed updates: "step" s in metrics and checkpoints means s optimizer updates
/// are done; the next update uses lr(s) of the schedule. Every field has a default, so a config file may
/// give only what it changes; `model` may also be a preset name ("tiny", "default", …).
public struct RunConfig: Codable, Sendable, Equatable {
    public var model: TransformerConfig = .default
    public var data: DataConfig = DataConfig()
    public var optimizer: OptimizerHyperparameters =
        OptimizerHyperparameters(algorithm: .adamw, weightDecay: 0.1, beta1: 0.9, beta2: 0.95, epsilon: 1e-8)
    /// Clip the gradient to this Euclidean norm (PyTorch `clip_grad_norm_`); 0 disables clipping.
    public var gradClip: Double = 1.0
    /// The learning-rate schedule; its `steps` is the run's length.
    public var schedule: ScheduleSpec = ScheduleSpec(kind: .cosine, steps: 2000, peak: 1e-3, warmup: 0.05)
    /// Sequences per step (each `model.contextLength` tokens).
    public var batchSize: Int = 16
    /// Seed of the parameter initialisation.
    public var seed: UInt64 = 0
    /// Seed of the batches (batch of step s is a pure function of (dataSeed, s)).
    public var dataSeed: UInt64 = 0
    /// Validation loss every evalEvery steps (0: only at evalAt and the end) over evalWindows windows.
    public var evalEvery: Int = 200
    public var evalWindows: Int = 64
    public var evalAt: [Int] = []
    /// Rolling checkpoints every checkpointEvery steps (the newest keepLast are kept), plus permanent
    /// ones at checkpointAt and at the end.
    public var checkpointEvery: Int = 500
    public var keepLast: Int = 2
    public var checkpointAt: [Int] = []
    /// Set for a decay branch: start from this run's checkpoint.
    public var parent: ParentRef? = nil
    /// Steps s at which the optimizer state is reset (moments zeroed, bias correction restarted) before
    /// the update that starts at s: a WSD-S variant that restarts Adam at every cycle. Empty by default.
    public var resetOptimizerAt: [Int] = []
    /// Arithmetic of the matrix products (linear layers and attention): `fp32` (default) or `bf16` (bf16 inputs, Float32
    /// accumulation, Float32 master weights and optimizer; see ``Precision``).
    public var precision: Precision = .fp32
    /// The library of an fp32 run's linear-layer GEMMs: `openblas` (default; the reference bits) or `onednn`
    /// (faster on AVX-512 CPUs, equal to ≈ 1e-6 relative; see ``Float32Matmul``). bf16 runs always take oneDNN,
    /// so `onednn` with `precision: bf16` is rejected as a contradiction rather than ignored.
    public var fp32Matmul: Float32Matmul = .openblas

    public init() {}

    public var steps: Int { schedule.steps }
    public var tokensPerStep: Int { batchSize * model.contextLength }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case model, data, optimizer, gradClip, schedule, batchSize, seed, dataSeed, evalEvery, evalWindows, evalAt
        case checkpointEvery, keepLast, checkpointAt, parent, resetOptimizerAt, precision, fp32Matmul
    }

    /// Keys of the nested objects (the `model`, `optimizer` and `schedule` objects are decoded by hand).
    /// The keys are the stored properties' names (the JSON keys of their synthesized `Codable`), read by
    /// reflection so a property added to ``ScheduleSpec`` or ``OptimizerHyperparameters`` is allowed at once.
    static let modelKeys = ["preset"] + Mirror(reflecting: TransformerConfig.tiny).children.compactMap(\.label)
    static let optimizerKeys = Mirror(reflecting: RunConfig().optimizer).children.compactMap(\.label)
    static let scheduleKeys = Mirror(reflecting: RunConfig().schedule).children.compactMap(\.label)

    /// Every key at every level must be known: an unknown one is an `UnknownKeyError` naming its path
    /// (`schedule.warmpu`) and the nearest allowed key, because a misspelt key silently ignored would
    /// change the experiment.
    public init(from decoder: Decoder) throws {
        try decoder.rejectUnknownKeys(allowed: CodingKeys.allCases.map(\.rawValue))
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = RunConfig()
        if let name = try? c.decode(String.self, forKey: .model) {
            guard let preset = TransformerConfig.presets[name] else {
                throw RunError.config("unknown model preset '\(name)' (allowed: \(TransformerConfig.presets.keys.sorted().joined(separator: ", ")))")
            }
            model = preset
        } else if c.contains(.model) {
            model = try Self.decodeModel(c.superDecoder(forKey: .model))
        }
        data = try c.decodeIfPresent(DataConfig.self, forKey: .data) ?? d.data
        if c.contains(.optimizer) { optimizer = try Self.decodeOptimizer(c.superDecoder(forKey: .optimizer), d.optimizer) }
        gradClip = try c.decodeIfPresent(Double.self, forKey: .gradClip) ?? d.gradClip
        if c.contains(.schedule) { schedule = try Self.decodeSchedule(c.superDecoder(forKey: .schedule), d.schedule) }
        batchSize = try c.decodeIfPresent(Int.self, forKey: .batchSize) ?? d.batchSize
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? d.seed
        dataSeed = try c.decodeIfPresent(UInt64.self, forKey: .dataSeed) ?? d.dataSeed
        evalEvery = try c.decodeIfPresent(Int.self, forKey: .evalEvery) ?? d.evalEvery
        evalWindows = try c.decodeIfPresent(Int.self, forKey: .evalWindows) ?? d.evalWindows
        evalAt = try c.decodeIfPresent([Int].self, forKey: .evalAt) ?? d.evalAt
        checkpointEvery = try c.decodeIfPresent(Int.self, forKey: .checkpointEvery) ?? d.checkpointEvery
        keepLast = try c.decodeIfPresent(Int.self, forKey: .keepLast) ?? d.keepLast
        checkpointAt = try c.decodeIfPresent([Int].self, forKey: .checkpointAt) ?? d.checkpointAt
        parent = try c.decodeIfPresent(ParentRef.self, forKey: .parent)
        resetOptimizerAt = try c.decodeIfPresent([Int].self, forKey: .resetOptimizerAt) ?? d.resetOptimizerAt
        if let p = try c.decodeIfPresent(String.self, forKey: .precision) {
            guard let v = Precision(rawValue: p) else {
                throw RunError.config("unknown precision '\(p)' (allowed: \(Precision.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            precision = v
        }
        if let m = try c.decodeIfPresent(String.self, forKey: .fp32Matmul) {
            guard let v = Float32Matmul(rawValue: m) else {
                throw RunError.config("unknown fp32Matmul '\(m)' (allowed: \(Float32Matmul.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            fp32Matmul = v
        }
    }

    /// Writes `resetOptimizerAt`, `precision` and `fp32Matmul` only when they differ from the default, so configs written
    /// before they existed compare and hash the same.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(model, forKey: .model); try c.encode(data, forKey: .data); try c.encode(optimizer, forKey: .optimizer)
        try c.encode(gradClip, forKey: .gradClip); try c.encode(schedule, forKey: .schedule)
        try c.encode(batchSize, forKey: .batchSize); try c.encode(seed, forKey: .seed); try c.encode(dataSeed, forKey: .dataSeed)
        try c.encode(evalEvery, forKey: .evalEvery); try c.encode(evalWindows, forKey: .evalWindows); try c.encode(evalAt, forKey: .evalAt)
        try c.encode(checkpointEvery, forKey: .checkpointEvery); try c.encode(keepLast, forKey: .keepLast)
        try c.encode(checkpointAt, forKey: .checkpointAt); try c.encodeIfPresent(parent, forKey: .parent)
        if !resetOptimizerAt.isEmpty { try c.encode(resetOptimizerAt, forKey: .resetOptimizerAt) }
        if precision != .fp32 { try c.encode(precision, forKey: .precision) }
        if fp32Matmul != .openblas { try c.encode(fp32Matmul, forKey: .fp32Matmul) }
    }

    private struct AnyKey: CodingKey {
        var stringValue: String; var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { return nil }
    }

    /// A partial model object: missing keys default to the `default` preset (or the preset named by
    /// "preset"); mlpHidden defaults to LLaMA's 8/3·width when width changes.
    static func decodeModel(_ decoder: Decoder) throws -> TransformerConfig {
        let c = try decoder.container(keyedBy: AnyKey.self)
        var m = TransformerConfig.default
        if let p = try c.decodeIfPresent(String.self, forKey: AnyKey("preset")) {
            guard let preset = TransformerConfig.presets[p] else { throw RunError.config("unknown model preset '\(p)'") }
            m = preset
        }
        try decoder.rejectUnknownKeys(allowed: modelKeys)
        func int(_ k: String) throws -> Int? { try c.decodeIfPresent(Int.self, forKey: AnyKey(k)) }
        if let v = try int("vocabSize") { m.vocabSize = v }
        if let v = try int("contextLength") { m.contextLength = v }
        if let v = try int("width") { m.width = v; m.mlpHidden = TransformerConfig.llamaHidden(width: v) }
        if let v = try int("layers") { m.layers = v }
        if let v = try int("heads") { m.heads = v }
        if let v = try int("mlpHidden") { m.mlpHidden = v }
        if let v = try c.decodeIfPresent(Bool.self, forKey: AnyKey("tiedEmbeddings")) { m.tiedEmbeddings = v }
        if let v = try c.decodeIfPresent(Double.self, forKey: AnyKey("ropeTheta")) { m.ropeTheta = v }
        if let v = try c.decodeIfPresent(Double.self, forKey: AnyKey("normEpsilon")) { m.normEpsilon = v }
        return m
    }

    static func decodeOptimizer(_ decoder: Decoder, _ d: OptimizerHyperparameters) throws -> OptimizerHyperparameters {
        try decoder.rejectUnknownKeys(allowed: optimizerKeys)
        let c = try decoder.container(keyedBy: AnyKey.self)
        var o = d
        if let a = try c.decodeIfPresent(String.self, forKey: AnyKey("algorithm")) {
            guard let alg = OptimizerAlgorithm(rawValue: a) else {
                throw RunError.config("unknown optimizer '\(a)' (allowed: \(OptimizerAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            o.algorithm = alg
        }
        func dbl(_ k: String) throws -> Double? { try c.decodeIfPresent(Double.self, forKey: AnyKey(k)) }
        if let v = try dbl("momentum") { o.momentum = v }
        if let v = try dbl("dampening") { o.dampening = v }
        if let v = try c.decodeIfPresent(Bool.self, forKey: AnyKey("nesterov")) { o.nesterov = v }
        if let v = try dbl("weightDecay") { o.weightDecay = v }
        if let v = try dbl("beta1") { o.beta1 = v }
        if let v = try dbl("beta2") { o.beta2 = v }
        if let v = try dbl("epsilon") { o.epsilon = v }
        return o
    }

    static func decodeSchedule(_ decoder: Decoder, _ d: ScheduleSpec) throws -> ScheduleSpec {
        try decoder.rejectUnknownKeys(allowed: scheduleKeys)
        let c = try decoder.container(keyedBy: AnyKey.self)
        var s = d
        if let k = try c.decodeIfPresent(String.self, forKey: AnyKey("kind")) {
            guard let kind = ScheduleKind(rawValue: k) else {
                throw RunError.config("unknown schedule kind '\(k)' (allowed: \(ScheduleKind.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            s.kind = kind
        }
        func dbl(_ k: String) throws -> Double? { try c.decodeIfPresent(Double.self, forKey: AnyKey(k)) }
        if let v = try c.decodeIfPresent(Int.self, forKey: AnyKey("steps")) { s.steps = v }
        if let v = try dbl("peak") { s.peak = v }
        if let v = try dbl("warmup") { s.warmup = v }
        if c.contains(AnyKey("warmupSteps")) {
            // Exact steps replace the default fractional warmup unless the file gives both (an error in build()).
            s.warmupSteps = try c.decodeIfPresent(Int.self, forKey: AnyKey("warmupSteps"))
            if !c.contains(AnyKey("warmup")) { s.warmup = 0 }
        }
        if c.contains(AnyKey("decay")) { s.decay = try dbl("decay") }
        if let v = try c.decodeIfPresent(String.self, forKey: AnyKey("shape")) {
            guard let sh = DecayShape(rawValue: v) else {
                throw RunError.config("unknown decay shape '\(v)' (allowed: \(DecayShape.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            s.shape = sh
        }
        if let v = try dbl("minRatio") { s.minRatio = v }
        if c.contains(AnyKey("cycles")) { s.cycles = try c.decodeIfPresent([Int].self, forKey: AnyKey("cycles")) }
        if c.contains(AnyKey("cycleCount")) { s.cycleCount = try c.decodeIfPresent(Int.self, forKey: AnyKey("cycleCount")) }
        if let v = try dbl("rewarmup") { s.rewarmup = v }
        if let v = try c.decodeIfPresent(String.self, forKey: AnyKey("decayOf")) {
            guard let dc = DecayConvention(rawValue: v) else {
                throw RunError.config("unknown decayOf '\(v)' (allowed: cycle, cumulative)")
            }
            s.decayOf = dc
        }
        return s
    }

    /// Reads a config file (partial configs allowed), with errors naming the file.
    public static func load(_ url: URL) throws -> RunConfig {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw RunError.config("cannot read config \(url.path): \(error.localizedDescription)")
        }
        do { return try JSONDecoder().decode(RunConfig.self, from: data) }
        catch let e as RunError { throw RunError.config("\(url.path): \(e.message)") }
        catch let e as UnknownKeyError { throw RunError.config("\(url.path): \(e.description)") }
        catch { throw RunError.config("\(url.path) is not a valid run config: \(error)") }
    }

    /// Pretty, key-sorted JSON.
    public func json() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try e.encode(self)
    }

    /// Checks everything that does not need the data (which ``TrainingRun`` checks when it loads it).
    public func validate() throws {
        do { try model.validate() } catch { throw RunError.config("\(error)") }
        do { try optimizer.validate() } catch { throw RunError.config("optimizer: \(error)") }
        do { _ = try schedule.build() } catch { throw RunError.config("schedule: \(error)") }
        guard schedule.steps >= 1 else { throw RunError.config("schedule.steps must be at least 1, got \(schedule.steps)") }
        guard batchSize >= 1 else { throw RunError.config("batchSize must be at least 1, got \(batchSize)") }
        do { try model.checkMemory(batchSize: batchSize) } catch { throw RunError.config("batchSize \(batchSize): \(error)") }
        guard evalWindows <= 1_000_000 else { throw RunError.config("evalWindows must be at most 1000000, got \(evalWindows)") }
        guard gradClip >= 0, gradClip.isFinite else { throw RunError.config("gradClip must be finite and >= 0, got \(gradClip)") }
        guard evalEvery >= 0 else { throw RunError.config("evalEvery must be >= 0, got \(evalEvery)") }
        guard evalWindows >= 1 else { throw RunError.config("evalWindows must be at least 1, got \(evalWindows)") }
        guard checkpointEvery >= 0 else { throw RunError.config("checkpointEvery must be >= 0, got \(checkpointEvery)") }
        guard keepLast >= 1 else { throw RunError.config("keepLast must be at least 1, got \(keepLast)") }
        guard ["byte", "bpe"].contains(data.tokenizer) else {
            throw RunError.config("data.tokenizer '\(data.tokenizer)' is not allowed (allowed: byte, bpe)")
        }
        let vocab = data.tokenizer == "byte" ? 256 : data.bpeVocabSize
        guard model.vocabSize == vocab else {
            throw RunError.config("model.vocabSize \(model.vocabSize) does not match the \(data.tokenizer) tokenizer's vocabulary of \(vocab)")
        }
        if let bad = resetOptimizerAt.first(where: { $0 < 1 || $0 >= steps }) {
            throw RunError.config("resetOptimizerAt step \(bad) must be in 1..<\(steps) (a reset at 0 is the fresh start)")
        }
        if precision == .bf16 && fp32Matmul == .onednn {
            throw RunError.config("fp32Matmul 'onednn' applies to fp32 runs only; a bf16 run's GEMMs always take oneDNN (remove fp32Matmul, or set precision to fp32)")
        }
        if let p = parent, p.step < 0 || p.step >= steps {
            throw RunError.config("parent.step \(p.step) must be in 0..<\(steps) (the branch's schedule length)")
        }
    }
}

/// A training-run error; the message says what went wrong and what to do.
public struct RunError: Error, CustomStringConvertible, LocalizedError {
    public let message: String
    /// Set when training stopped because the loss or gradient became non-finite (the run diverged).
    public var divergence = false
    public init(_ message: String) { self.message = message }
    public static func config(_ m: String) -> RunError { RunError(m) }
    public var description: String { message }
    public var errorDescription: String? { message }
}
