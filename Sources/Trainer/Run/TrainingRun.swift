import Foundation
import RiverValley

/// One metrics.jsonl line. `valLoss` only on evaluation steps.
public struct MetricsRecord: Codable, Sendable, Equatable {
    public var step: Int
    public var lr: Double
    public var loss: Double
    public var gradNorm: Double
    public var tokens: Int
    public var valLoss: Double?
    public var wall: Double

    enum CodingKeys: String, CodingKey {
        case step, lr, loss, gradNorm = "grad_norm", tokens, valLoss = "val_loss", wall
    }

    /// Everything except the wall time (which differs between an interrupted and an unbroken run).
    public func sameTraining(as o: MetricsRecord) -> Bool {
        step == o.step && lr == o.lr && loss == o.loss && gradNorm == o.gradNorm && tokens == o.tokens
            && valLoss == o.valLoss
    }

    /// One JSON line; Doubles are written with Swift's shortest round-trip representation.
    public var jsonLine: String {
        var s = "{\"step\":\(step),\"lr\":\(lr),\"loss\":\(loss),\"grad_norm\":\(gradNorm),\"tokens\":\(tokens)"
        if let v = valLoss { s += ",\"val_loss\":\(v)" }
        s += ",\"wall\":\(wall)}"
        return s
    }

    /// Reads metrics.jsonl, skipping an incomplete last line (a write cut by a kill).
    public static func read(_ url: URL) throws -> [MetricsRecord] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        let dec = JSONDecoder()
        return text.split(separator: "\n").compactMap { try? dec.decode(MetricsRecord.self, from: Data($0.utf8)) }
    }
}

/// Progress callbacks (the CLI draws a bar on stderr).
public protocol TrainingProgress: AnyObject {
    func started(at step: Int, of total: Int, tokensPerStep: Int)
    func stepped(_ record: MetricsRecord)
    func finished()
    /// A line for the user that is not progress (e.g. ``TrainingRun/arithmeticNote`` on a resume).
    func note(_ message: String)
}

extension TrainingProgress {
    public func note(_ message: String) {}
}

/// A training run in a directory:
///
///     RUN/config.json            the RunConfig (docs/trainer-format.md)
///     RUN/tokenizer.json         the tokenizer
///     RUN/metrics.jsonl          one line per step: step, lr, loss, grad_norm, tokens, val_loss?, wall
///     RUN/checkpoints/step-NNNNNN.safetensors
///
/// Start a run with ``create(at:config:)`` then ``train(progress:stopAfter:)``; reopen it with
/// ``open(at:)`` and call ``train`` again to resume: training continues from the newest checkpoint and
/// reproduces the uninterrupted run bit for bit (batches and the schedule are pure functions of the step).
public final class TrainingRun {
    public let directory: URL
    public let config: RunConfig
    public let tokenizer: any Tokenizer
    public let dataset: TokenDataset
    public let schedule: Schedule
    public let model: Transformer
    public private(set) var optimizer: Optimizer<Float>
    /// Completed updates.
    public private(set) var step = 0
    private var wallOffset = 0.0
    private let groups: [ParameterGroup]
    private let tokenBuffer: UnsafeMutableBufferPointer<Int32>
    private let targetBuffer: UnsafeMutableBufferPointer<Int32>

    public var checkpointsDirectory: URL { directory.appendingPathComponent("checkpoints") }
    public var metricsURL: URL { directory.appendingPathComponent("metrics.jsonl") }
    /// bf16 runs and fp32 runs with `fp32Matmul: onednn`: which kernel ran each GEMM shape (``MatmulKernelReport``),
    /// with oneDNN's version and ISA.
    public var kernelsURL: URL { directory.appendingPathComponent("kernels.json") }

    /// The kernels of a run's oneDNN-path GEMMs, as written to `kernels.json`.
    public struct KernelReport: Codable, Sendable {
        public var precision: Precision
        /// fp32 runs: `onednn` (an fp32 run with `openblas` writes no report); nil for bf16.
        public var fp32Matmul: Float32Matmul?
        public var onednnVersion: String
        public var onednnISA: String
        public var kernels: [MatmulKernelReport]
    }

    /// The report of the kernels the model used so far (nil for fp32 runs on OpenBLAS).
    public var kernelReport: KernelReport? {
        guard model.usesOneDNN else { return nil }
        let o = Transformer.onednn
        return KernelReport(precision: config.precision, fp32Matmul: config.precision == .fp32 ? config.fp32Matmul : nil,
                            onednnVersion: o.version, onednnISA: o.isa, kernels: model.matmulKernels)
    }

    private func writeKernelReport() throws {
        guard let r = kernelReport else { return }
        let e = JSONEncoder(); e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try AtomicFile.write(String(decoding: try e.encode(r), as: UTF8.self) + "\n", to: kernelsURL)
    }

    deinit {
        tokenBuffer.deallocate()
        targetBuffer.deallocate()
    }

    // MARK: set-up

    /// Creates the run directory (which must not already hold a run), validates the config against the
    /// data, and writes config.json and tokenizer.json.
    public static func create(at directory: URL, config: RunConfig) throws -> TrainingRun {
        let fm = FileManager.default
        if fm.fileExists(atPath: directory.appendingPathComponent("config.json").path) {
            throw RunError("\(directory.path) already holds a run (config.json exists): resume it with --resume or choose another --out")
        }
        try config.validate()
        var tokenizerJSON: Data? = nil
        if let p = config.parent {
            // A branch uses its parent's tokenizer.
            tokenizerJSON = try Data(contentsOf: URL(fileURLWithPath: p.run).appendingPathComponent("tokenizer.json"))
        }
        let (tokenizer, dataset) = try loadData(config, tokenizerJSON: tokenizerJSON)
        if let p = config.parent {
            // Refuse an incompatible branch before anything is written (its parent checkpoint holds the
            // parent's true config; the run folder's config.json may have been edited since).
            let url = URL(fileURLWithPath: p.run).appendingPathComponent("checkpoints")
                .appendingPathComponent(Checkpoint.fileName(step: p.step))
            if fm.fileExists(atPath: url.path) {
                try checkBranchCompatible(parent: try Checkpoint.read(from: url).config, branch: config, at: p.step)
            }
        }
        try fm.createDirectory(at: directory.appendingPathComponent("checkpoints"), withIntermediateDirectories: true)
        try AtomicFile.write(try tokenizer.json(), to: directory.appendingPathComponent("tokenizer.json"))
        try AtomicFile.write(try config.json(), to: directory.appendingPathComponent("config.json"))
        return try TrainingRun(directory: directory, config: config, tokenizer: tokenizer, dataset: dataset)
    }

    /// Reopens an existing run directory (to resume it or evaluate it).
    public static func open(at directory: URL) throws -> TrainingRun {
        let configURL = directory.appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: configURL.path) else {
            throw RunError("\(directory.path) holds no run (config.json missing): start one with `river train --out \(directory.path)`")
        }
        let config = try RunConfig.load(configURL)
        try config.validate()
        let tj = try? Data(contentsOf: directory.appendingPathComponent("tokenizer.json"))
        let (tokenizer, dataset) = try loadData(config, tokenizerJSON: tj)
        return try TrainingRun(directory: directory, config: config, tokenizer: tokenizer, dataset: dataset)
    }

    /// Loads the corpus, builds (or reads) the tokenizer and the split, and checks the context fits.
    static func loadData(_ config: RunConfig, tokenizerJSON: Data?) throws -> (any Tokenizer, TokenDataset) {
        let bytes = try Corpus.load(config.data.corpus)
        let tokenizer: any Tokenizer
        if let tokenizerJSON {
            tokenizer = try loadTokenizer(json: tokenizerJSON)
        } else if config.data.tokenizer == "bpe" {
            // Train on the bytes of the training split only (same block rule as the token split).
            let byteSplit = try TokenDataset(tokens: bytes.map { Int32($0) }, vocabSize: 256,
                                             validationEvery: config.data.validationEvery,
                                             splitBlock: config.data.splitBlock)
            tokenizer = try BPETokenizer.train(on: byteSplit.train.map { UInt8($0) }, vocabSize: config.data.bpeVocabSize)
        } else {
            tokenizer = ByteTokenizer()
        }
        guard tokenizer.vocabSize == config.model.vocabSize else {
            throw RunError.config("the tokenizer has \(tokenizer.vocabSize) tokens but model.vocabSize is \(config.model.vocabSize)")
        }
        let dataset = try TokenDataset(tokens: tokenizer.encode(bytes), vocabSize: tokenizer.vocabSize,
                                       validationEvery: config.data.validationEvery, splitBlock: config.data.splitBlock,
                                       byteLength: tokenizer.byteLength(of:))
        let T = config.model.contextLength
        guard dataset.train.count > T + 1 else {
            throw RunError.config("contextLength \(T) is longer than the training split of corpus '\(config.data.corpus)' (\(dataset.train.count) tokens): use a shorter context or a bigger corpus")
        }
        guard dataset.validation.count > T + 1 else {
            throw RunError.config("contextLength \(T) is longer than the validation split of corpus '\(config.data.corpus)' (\(dataset.validation.count) tokens): use a shorter context, a bigger corpus or a smaller data.validationEvery")
        }
        return (tokenizer, dataset)
    }

    init(directory: URL, config: RunConfig, tokenizer: any Tokenizer, dataset: TokenDataset) throws {
        self.directory = directory
        self.config = config
        self.tokenizer = tokenizer
        self.dataset = dataset
        schedule = try config.schedule.build()
        model = Transformer(config: config.model, batchSize: config.batchSize, seed: config.seed, precision: config.precision,
                            fp32Matmul: config.fp32Matmul)
        optimizer = Optimizer<Float>(config.optimizer, count: model.parameterCount)
        // Decoupled weight decay on matrices only; RMSNorm gains are not decayed (nanoGPT, LLaMA).
        groups = model.tensors.map {
            ParameterGroup(range: $0.offset..<($0.offset + $0.count),
                           weightDecay: $0.shape.count >= 2 ? config.optimizer.weightDecay : 0)
        }
        let n = config.batchSize * config.model.contextLength
        tokenBuffer = .allocate(capacity: n)
        targetBuffer = .allocate(capacity: n)
        tokenBuffer.initialize(repeating: 0)
        targetBuffer.initialize(repeating: 0)
    }

    // MARK: checkpoints

    /// Steps of the checkpoints present (file names only; not validated), ascending.
    public func checkpointSteps() -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: checkpointsDirectory.path)) ?? []
        return names.compactMap(Checkpoint.step(fromFileName:)).sorted()
    }

    public func checkpointURL(step: Int) -> URL {
        checkpointsDirectory.appendingPathComponent(Checkpoint.fileName(step: step))
    }

    func saveCheckpoint() throws {
        let ck = Checkpoint(step: step, optimizerSteps: optimizer.stepCount, tokens: step * config.tokensPerStep,
                            dataSeed: config.dataSeed, wallSeconds: wallOffset, config: config,
                            tokenizerJSON: try tokenizer.json(), parameters: Array(model.parameters),
                            firstMoment: optimizer.firstMoment, secondMoment: optimizer.secondMoment,
                            arithmetic: model.arithmetic)
        try ck.write(to: checkpointURL(step: step), tensors: model.tensors)
        // Drop rolling checkpoints beyond the newest keepLast (permanent ones stay).
        let permanent = Set(config.checkpointAt + [config.steps] + (config.parent.map { [$0.step] } ?? []))
        let rolling = checkpointSteps().filter { !permanent.contains($0) }
        for s in rolling.dropLast(config.keepLast) { try? FileManager.default.removeItem(at: checkpointURL(step: s)) }
    }

    /// Loads a checkpoint's state into the model and optimizer.
    func load(_ ck: Checkpoint, source: String) throws {
        guard ck.config.model == config.model else {
            throw RunError("\(source): its model (\(ck.config.model)) differs from this run's (\(config.model))")
        }
        guard ck.config.optimizer.algorithm == config.optimizer.algorithm else {
            throw RunError("\(source): optimizer \(ck.config.optimizer.algorithm) differs from this run's \(config.optimizer.algorithm)")
        }
        ck.parameters.withUnsafeBufferPointer { model.parameters.baseAddress!.update(from: $0.baseAddress!, count: $0.count) }
        optimizer.stepCount = ck.optimizerSteps
        if !optimizer.firstMoment.isEmpty { optimizer.firstMoment = ck.firstMoment }
        if !optimizer.secondMoment.isEmpty { optimizer.secondMoment = ck.secondMoment }
        step = ck.step
        wallOffset = ck.wallSeconds
        arithmeticNote = nil
        let now = model.arithmetic
        if let was = ck.arithmetic, was != now {
            arithmeticNote = "\(source) was written by a process computing with \(was); this one computes with "
                + "\(now). The run continues correctly, but its bits will differ from an unbroken run's "
                + "(the GEMMs' last bits depend on the kernel family, and on some kernels on the thread count; "
                + "the norms' gradient sums depend on the thread count)."
        }
    }

    /// Set by a resume (or a branch's start) from a checkpoint that another arithmetic wrote
    /// (``Checkpoint/arithmetic`` differs from ``Transformer/arithmetic``): what differs, for the user. Nil otherwise.
    public private(set) var arithmeticNote: String?

    /// Restores the newest checkpoint of this run (or the parent's fork checkpoint for a fresh branch,
    /// or nothing for a fresh run). A corrupt newest checkpoint is an error naming the intact earlier ones.
    public func restore() throws {
        let steps = checkpointSteps()
        if let last = steps.last {
            let url = checkpointURL(step: last)
            let ck: Checkpoint
            do { ck = try Checkpoint.read(from: url) } catch {
                let earlier = steps.dropLast().map(String.init).joined(separator: ", ")
                throw RunError("cannot resume: checkpoint \(url.path) is damaged: \(error)\n"
                    + (earlier.isEmpty ? "No earlier checkpoint exists; delete the run directory to start over."
                       : "Earlier checkpoints are intact (steps \(earlier)); delete the damaged file to resume from step \(steps.dropLast().last!)."))
            }
            try load(ck, source: url.path)
        } else if let p = config.parent {
            let parentRun = URL(fileURLWithPath: p.run)
            let url = parentRun.appendingPathComponent("checkpoints").appendingPathComponent(Checkpoint.fileName(step: p.step))
            guard FileManager.default.fileExists(atPath: url.path) else {
                let have = ((try? FileManager.default.contentsOfDirectory(atPath: parentRun.appendingPathComponent("checkpoints").path)) ?? [])
                    .compactMap(Checkpoint.step(fromFileName:)).sorted().map(String.init).joined(separator: ", ")
                throw RunError("parent run \(p.run) has no checkpoint at step \(p.step) (it has: \(have.isEmpty ? "none" : have))")
            }
            let ck = try Checkpoint.read(from: url)
            try checkBranchCompatible(parent: ck.config, at: p.step)
            try load(ck, source: url.path)
            wallOffset = 0
        } else {
            step = 0
            wallOffset = 0
        }
    }

    /// A branch must share the parent's model, data, optimizer, batch and data seed, and its schedule
    /// must equal the parent's on every step before the fork.
    func checkBranchCompatible(parent: RunConfig, at fork: Int) throws {
        try Self.checkBranchCompatible(parent: parent, branch: config, at: fork)
    }

    static func checkBranchCompatible(parent: RunConfig, branch config: RunConfig, at fork: Int) throws {
        var a = parent, b = config
        a.schedule = b.schedule; a.parent = b.parent; a.evalAt = b.evalAt; a.checkpointAt = b.checkpointAt
        a.evalEvery = b.evalEvery; a.checkpointEvery = b.checkpointEvery; a.keepLast = b.keepLast
        a.evalWindows = b.evalWindows
        // Optimizer resets must agree before the fork (they shape the state the branch inherits).
        guard parent.resetOptimizerAt.filter({ $0 < fork }) == config.resetOptimizerAt.filter({ $0 < fork }) else {
            throw RunError("the branch's resetOptimizerAt before the fork (\(config.resetOptimizerAt.filter { $0 < fork })) differs from the parent's (\(parent.resetOptimizerAt.filter { $0 < fork }))")
        }
        a.resetOptimizerAt = b.resetOptimizerAt
        guard a == b else {
            throw RunError("branch config differs from its parent's in more than the schedule and bookkeeping (model, data, optimizer, batch, seeds must match)")
        }
        let ps = try parent.schedule.build(), schedule = try config.schedule.build()
        for s in 0..<fork where ps.lr(at: s) != schedule.lr(at: s) {
            throw RunError("the branch schedule differs from the parent's before the fork: lr(\(s)) is \(schedule.lr(at: s)) in the branch, \(ps.lr(at: s)) in the parent (a branch must continue the parent's schedule until step \(fork))")
        }
    }

    // MARK: evaluation

    /// Mean validation loss (nats/token) over the first `evalWindows` non-overlapping windows.
    public func validationLoss() -> Double {
        let T = config.model.contextLength, B = config.batchSize
        let windows = dataset.validationWindows(sequenceLength: T, maxWindows: config.evalWindows)
        var total = 0.0
        var done = 0
        dataset.validation.withUnsafeBufferPointer { v in
            while done < windows {
                let nb = min(B, windows - done)
                for b in 0..<nb {
                    let o = (done + b) * T
                    for t in 0..<T { tokenBuffer[b * T + t] = v[o + t]; targetBuffer[b * T + t] = v[o + t + 1] }
                }
                let loss = model.forward(tokens: UnsafeBufferPointer(rebasing: tokenBuffer[0..<(nb * T)]),
                                         targets: UnsafeBufferPointer(rebasing: targetBuffer[0..<(nb * T)]), batch: nb)
                total += Double(loss) * Double(nb * T)
                done += nb
            }
        }
        return total / Double(windows * T)
    }

    // MARK: training

    /// Trains from the restored state to `config.steps` (or until `stopAfter` more steps). Appends to
    /// metrics.jsonl and writes checkpoints. A non-finite loss or gradient stops with an error naming the
    /// last good checkpoint.
    @discardableResult
    public func train(progress: TrainingProgress? = nil, stopAfter: Int? = nil) throws -> [MetricsRecord] {
        try restore()
        if let arithmeticNote { progress?.note(arithmeticNote) }
        // Drop metrics lines past the restored step (written after the last checkpoint before a kill).
        let kept = try MetricsRecord.read(metricsURL).filter { $0.step <= step }
        try AtomicFile.write(kept.map { $0.jsonLine + "\n" }.joined(), to: metricsURL)
        let log = try LineAppender(url: metricsURL)
        let total = config.steps
        let end = min(total, stopAfter.map { step + $0 } ?? total)
        let T = config.model.contextLength, B = config.batchSize
        let evalSteps = Set(config.evalAt + [total])
        let checkpointSteps = Set(config.checkpointAt + [total])
        let resetSteps = Set(config.resetOptimizerAt)
        let startTime = Date()
        let wallAtStart = wallOffset
        progress?.started(at: step, of: total, tokensPerStep: config.tokensPerStep)
        var records: [MetricsRecord] = []
        while step < end {
            let s = step
            let lr = schedule.lr(at: s)
            dataset.trainBatch(step: s, seed: config.dataSeed, batch: B, sequenceLength: T,
                               into: tokenBuffer, targets: targetBuffer)
            let loss = model.forward(tokens: UnsafeBufferPointer(tokenBuffer), targets: UnsafeBufferPointer(targetBuffer), batch: B)
            guard loss.isFinite else { throw nonFinite("loss", Double(loss), step: s, lr: lr) }
            model.backward()
            let gnorm = GradientClipping.clip(model.gradients, maxNorm: config.gradClip)
            guard gnorm.isFinite else { throw nonFinite("gradient norm", gnorm, step: s, lr: lr) }
            if resetSteps.contains(s) { optimizer.reset() }
            optimizer.update(model.parameters, gradient: UnsafeBufferPointer(model.gradients), lr: lr, groups: groups)
            step = s + 1
            var val: Double? = nil
            if (config.evalEvery > 0 && step % config.evalEvery == 0) || evalSteps.contains(step) {
                let v = validationLoss()
                guard v.isFinite else { throw nonFinite("validation loss", v, step: s, lr: lr) }
                val = v
            }
            wallOffset = wallAtStart + Date().timeIntervalSince(startTime)
            let rec = MetricsRecord(step: step, lr: lr, loss: Double(loss), gradNorm: gnorm,
                                    tokens: step * config.tokensPerStep, valLoss: val, wall: wallOffset)
            try log.append(rec.jsonLine)
            records.append(rec)
            progress?.stepped(rec)
            if (config.checkpointEvery > 0 && step % config.checkpointEvery == 0) || checkpointSteps.contains(step) {
                try log.sync()
                try saveCheckpoint()
                try writeKernelReport()
            }
        }
        try log.sync()
        try writeKernelReport()
        progress?.finished()
        return records
    }

    private func nonFinite(_ what: String, _ value: Double, step s: Int, lr: Double) -> RunError {
        let last = checkpointSteps().last
        let keep = last.map { "The last good checkpoint is \(checkpointURL(step: $0).path) (step \($0)); it is intact." }
            ?? "No checkpoint was written yet."
        var e = RunError("training stopped: the \(what) became \(value) at step \(s + 1) (lr \(lr)); nothing after step \(step) was saved. \(keep) Lower the peak learning rate (schedule.peak = \(config.schedule.peak)) or enable gradClip.")
        e.divergence = true
        return e
    }
}
