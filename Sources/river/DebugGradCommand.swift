import ArgumentParser
import CHostCPU
import Foundation
import LinearAlgebra
import RiverValley
import Trainer

/// `river debug-model`: hidden developer tools for the transformer — dump loss, logits and gradients
/// for the PyTorch golden test (`grad`), and time training steps for the benchmark (`bench`).
struct DebugGradCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "debug-model",
        abstract: "Developer tools for the transformer: gradient dumps and step timing.",
        shouldDisplay: false,
        subcommands: [DebugModelGrad.self, DebugModelBench.self])
}

/// Model shape options shared by the debug subcommands.
struct ModelShapeOptions: ParsableArguments {
    @Option(name: .customLong("model-config"),
            help: ArgumentHelp("TransformerConfig JSON (keys: vocabSize, contextLength, width, layers, heads, mlpHidden, tiedEmbeddings, ropeTheta, normEpsilon).",
                               valueName: "file"))
    var modelConfig: String?

    @Option(help: ArgumentHelp("Preset model instead of --model-config.", valueName: "preset"))
    var preset: ModelPresetName = .tiny

    func load() throws -> TransformerConfig {
        let c: TransformerConfig
        if let modelConfig {
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: modelConfig)) }
            catch { throw CLIError("cannot read --model-config '\(modelConfig)'") }
            do { c = try JSONDecoder().decode(TransformerConfig.self, from: data) }
            catch { throw CLIError("\(modelConfig): not a TransformerConfig JSON (\(error))") }
        } else {
            c = preset.config
        }
        try c.validate()
        return c
    }
}

/// Runs K training steps on one fixed batch and writes everything the golden test compares.
struct DebugModelGrad: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grad",
        abstract: "Loss, logits, per-token losses and gradients on a fixed batch, then K AdamW steps.",
        discussion: """
        The batch file (--batch-file) is JSON {"tokens": [[...]], "targets": [[...]]}, both [B][T] token ids.
        The output holds `logits` [B,T,V], `losses` [B,T], `loss` [K], `grad_norm` [K] (before clipping),
        `grad.<tensor>` (gradients of the first step), `final.<tensor>` (parameters after K steps).
        --save-parameters writes the starting parameters under the model's own tensor names.
        AdamW: torch.optim.AdamW conventions; weight decay on matrices only (Transformer.parameterGroups).

        Example:
          river debug-model grad --model-config tiny.json --batch-file batch.json --out grad.safetensors --steps 2
        """)

    @OptionGroup var shape: ModelShapeOptions
    @Option(help: ArgumentHelp("Initialisation seed.", valueName: "seed")) var seed: UInt64 = 0
    @Option(help: ArgumentHelp("Start from these parameters (safetensors; tensor names as the model's table) instead of the seed.",
                               valueName: "file"))
    var parameters: String?
    @Option(name: .customLong("batch-file"), help: ArgumentHelp("Batch file (JSON with `tokens`, `targets`, each [B][T]).", valueName: "file"))
    var batchFile: String
    @Option(help: ArgumentHelp("Output safetensors file.", valueName: "path")) var out: String
    @Option(help: ArgumentHelp("Also write the starting parameters here.", valueName: "path")) var saveParameters: String?
    @Option(help: ArgumentHelp("AdamW steps on the same batch.", valueName: "n")) var steps: Int = 1
    @Option(parsing: .unconditional, help: ArgumentHelp("Constant learning rate of the AdamW steps.", valueName: "lr")) var lr: Double = 1e-3
    @Option(parsing: .unconditional, help: ArgumentHelp("AdamW β₁.", valueName: "x")) var beta1: Double = 0.9
    @Option(parsing: .unconditional, help: ArgumentHelp("AdamW β₂.", valueName: "x")) var beta2: Double = 0.95
    @Option(parsing: .unconditional, help: ArgumentHelp("AdamW ε.", valueName: "x")) var epsilon: Double = 1e-8
    @Option(parsing: .unconditional, help: ArgumentHelp("Decoupled weight decay on matrices.", valueName: "x")) var weightDecay: Double = 0.1
    @Option(parsing: .unconditional, help: ArgumentHelp("Clip the gradient norm to this (0: no clipping).", valueName: "x")) var clip: Double = 0

    func run() throws {
        guard steps >= 1, steps <= 1_000_000 else { throw ValidationError("--steps must be in 1...1000000, got \(steps)") }
        let config = try shape.load()
        struct BatchFile: Decodable { var tokens: [[Int32]]; var targets: [[Int32]] }
        let file: BatchFile
        guard let bytes = FileManager.default.contents(atPath: batchFile) else {
            throw CLIError("cannot read --batch-file '\(batchFile)'")
        }
        do { file = try JSONDecoder().decode(BatchFile.self, from: bytes) }
        catch { throw CLIError("\(batchFile): expected JSON {\"tokens\": [[...]], \"targets\": [[...]]}: \(error)") }
        guard let first = file.tokens.first, !first.isEmpty,
              file.tokens.allSatisfy({ $0.count == first.count }),
              file.targets.count == file.tokens.count, file.targets.allSatisfy({ $0.count == first.count }) else {
            throw CLIError("\(batchFile): tokens and targets must be non-empty [B][T] lists of equal shape")
        }
        let tshape = [file.tokens.count, first.count]
        let tokens = file.tokens.flatMap { $0 }, targets = file.targets.flatMap { $0 }
        let B = tshape[0], T = tshape[1]
        guard T <= config.contextLength else {
            throw CLIError("\(batchFile): sequence length \(T) exceeds contextLength \(config.contextLength)")
        }
        for v in tokens + targets where v < 0 || Int(v) >= config.vocabSize {
            throw CLIError("\(batchFile): token id \(v) outside 0..<\(config.vocabSize)")
        }

        let hp = OptimizerHyperparameters(algorithm: .adamw, weightDecay: weightDecay, beta1: beta1, beta2: beta2,
                                          epsilon: epsilon)
        try hp.validate()
        try config.checkMemory(batchSize: B)
        let model = Transformer(config: config, batchSize: B, seed: seed)
        if let parameters {
            let file = try SafeTensors.read(from: URL(fileURLWithPath: parameters))
            for t in model.tensors {
                let s = try file.tensor(t.name, path: parameters)
                guard s.shape == t.shape else {
                    throw CLIError("\(parameters): \(t.name) has shape \(s.shape), the model needs \(t.shape)")
                }
                try s.copyFloats(into: model.view(t, in: model.parameters))
            }
        }
        var outTensors: [String: SafeTensor] = [:]
        var outputs = OutputSet()   // both files or neither
        if let saveParameters {
            var p: [String: SafeTensor] = [:]
            for t in model.tensors { p[t.name] = SafeTensor(UnsafeBufferPointer(model.view(t, in: model.parameters)), shape: t.shape) }
            let json = String(decoding: try JSONEncoder().encode(config), as: UTF8.self)
            outputs.add(SafeTensors(tensors: p, metadata: ["config": json]).serialized(), toPath: saveParameters)
        }
        var optimizer = Optimizer<Float>(hp, count: model.parameterCount)
        let groups = model.parameterGroups(weightDecay: weightDecay)
        var losses: [Float] = [], norms: [Double] = []
        for step in 0..<steps {
            let loss = model.forward(tokens: tokens, targets: targets, batch: B)
            model.backward()
            if step == 0 {
                outTensors["logits"] = SafeTensor(Array(model.lastLogits), shape: [B, T, config.vocabSize])
                outTensors["losses"] = SafeTensor(Array(model.lastLosses), shape: [B, T])
                for t in model.tensors {
                    outTensors["grad." + t.name] = SafeTensor(UnsafeBufferPointer(model.view(t, in: model.gradients)), shape: t.shape)
                }
            }
            losses.append(loss)
            norms.append(GradientClipping.clip(model.gradients, maxNorm: clip))
            optimizer.update(model.parameters, gradient: UnsafeBufferPointer(model.gradients), lr: lr, groups: groups)
        }
        outTensors["loss"] = SafeTensor(losses, shape: [steps])
        outTensors["grad_norm"] = SafeTensor(norms, shape: [steps])
        for t in model.tensors {
            outTensors["final." + t.name] = SafeTensor(UnsafeBufferPointer(model.view(t, in: model.parameters)), shape: t.shape)
        }
        outputs.add(SafeTensors(tensors: outTensors).serialized(), toPath: out)
        try outputs.commit()
    }
}

/// Times forward + backward + AdamW steps on seeded random tokens and prints JSON.
struct DebugModelBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Training-step throughput (tokens/s) and model FLOP utilisation against measured sgemm peak.",
        discussion: """
        Prints JSON (tokens_per_s, step_s_median, …, and with --sgemm-peak the sgemm_peak_gflops and mfu).

        Example:
          river debug-model bench --preset small3M --batch-size 16 --steps 10 --untimed-steps 2 --sgemm-peak
          river debug-model bench --preset small3M --precision bf16
          river debug-model bench --preset small086M --batch-size 32 --fp32-matmul onednn --profile
        """)

    @OptionGroup var shape: ModelShapeOptions
    @Option(name: .customLong("batch-size"), help: ArgumentHelp("Sequences per step.", valueName: "n")) var batchSize: Int = 16
    @Option(help: ArgumentHelp("Timed steps.", valueName: "n")) var steps: Int = 10
    @Option(name: .customLong("untimed-steps"), help: ArgumentHelp("Untimed steps before the timed ones (page faults, thread start-up).", valueName: "n"))
    var untimedSteps: Int = 2
    @Option(help: ArgumentHelp("OpenBLAS threads (the kernels use all cores).", valueName: "n")) var threads: Int = 2
    @Option(help: ArgumentHelp("Seed for parameters and tokens.", valueName: "seed")) var seed: UInt64 = 0
    @Flag(name: .customLong("sgemm-peak"), help: "Also measure the sgemm peak (n = 2048) and report MFU.") var sgemmPeakFlag = false
    @Flag(help: "Report seconds per step spent in each kind of kernel.") var profile = false
    @Flag(help: "Print GFLOP/s of each GEMM shape of a training step instead.") var gemms = false
    @Option(help: ArgumentHelp("Arithmetic of the matrix products, linear layers and attention: fp32, or bf16 inputs with fp32 accumulation.", valueName: "precision"))
    var precision: Precision = .fp32
    @Option(name: .customLong("fp32-matmul"), help: ArgumentHelp("Library of the fp32 linear layers' GEMMs: openblas (the reference bits) or onednn.", valueName: "library"))
    var fp32Matmul: Float32Matmul = .openblas

    func run() throws {
        let config = try shape.load()
        guard batchSize >= 1, (1...1_000_000).contains(steps), (0...1_000_000).contains(untimedSteps),
              (1...1024).contains(threads) else {
            throw ValidationError("--batch-size must be ≥ 1, --steps in 1...1000000, --untimed-steps in 0...1000000, --threads in 1...1024")
        }
        if gemms && fp32Matmul == .onednn {
            throw ValidationError("--gemms times OpenBLAS's sgemm shape by shape; with --fp32-matmul onednn compare whole steps instead (drop --gemms and add --profile)")
        }
        if precision == .bf16 && fp32Matmul == .onednn {
            throw ValidationError("--fp32-matmul onednn applies to fp32 only; bf16's GEMMs always take oneDNN (drop --fp32-matmul or use --precision fp32)")
        }
        try config.checkMemory(batchSize: batchSize)
        let batch = batchSize, warmup = untimedSteps
        BLAS.setThreads(threads)
        let T = config.contextLength
        if gemms { return gemmShapes(config, N: batch * T) }
        let model = Transformer(config: config, batchSize: batch, seed: seed, precision: precision, fp32Matmul: fp32Matmul)
        let rng = RandomSource(seed: seed &+ 1)
        let pool = (0..<(batch * T * 8 + 1)).map { _ in Int32(rng.int(below: config.vocabSize)) }
        var optimizer = Optimizer<Float>(OptimizerHyperparameters(algorithm: .adamw, weightDecay: 0.1), count: model.parameterCount)
        let groups = model.parameterGroups(weightDecay: 0.1)
        var times: [Double] = []
        var lastLoss: Float = 0
        var phase = [Double](repeating: 0, count: 3)
        model.profiling = profile
        for step in 0..<(warmup + steps) {
            let start = (step % 8) * batch * T
            let t0 = DispatchTime.now().uptimeNanoseconds
            lastLoss = pool.withUnsafeBufferPointer { p in
                model.forward(tokens: UnsafeBufferPointer(rebasing: p[start..<(start + batch * T)]),
                              targets: UnsafeBufferPointer(rebasing: p[(start + 1)..<(start + 1 + batch * T)]), batch: batch)
            }
            let t1 = DispatchTime.now().uptimeNanoseconds
            model.backward()
            let t2 = DispatchTime.now().uptimeNanoseconds
            GradientClipping.clip(model.gradients, maxNorm: 1)
            optimizer.update(model.parameters, gradient: UnsafeBufferPointer(model.gradients), lr: 1e-3, groups: groups)
            let t3 = DispatchTime.now().uptimeNanoseconds
            if step + 1 == warmup { model.resetProfile() }
            if step >= warmup {
                times.append(Double(t3 - t0) / 1e9)
                phase[0] += Double(t1 - t0) / 1e9; phase[1] += Double(t2 - t1) / 1e9; phase[2] += Double(t3 - t2) / 1e9
            }
        }
        let sorted = times.sorted()
        let median = sorted[sorted.count / 2]
        let total = times.reduce(0, +)
        let tokensPerSecond = Double(batch * T * steps) / total
        let flops = Transformer.flopsPerToken(config)
        var result = BenchReport(
            parameters: model.parameterCount, batch: batch, context: T, steps: steps, threads: threads, core: BLAS.coreName,
            tokensPerS: tokensPerSecond, stepSMedian: median, stepSMean: total / Double(steps),
            forwardS: phase[0] / Double(steps), backwardS: phase[1] / Double(steps), optimizerS: phase[2] / Double(steps),
            flopsPerToken: flops, gflops: tokensPerSecond * flops / 1e9, finalLoss: Double(lastLoss),
            precision: precision.rawValue, fp32Matmul: precision == .fp32 ? fp32Matmul.rawValue : nil)
        if model.usesOneDNN {
            result.onednn = "\(Transformer.onednn.version) (ISA \(Transformer.onednn.isa))"
            result.kernels = model.matmulKernels
        }
        if precision == .bf16 {
            let check = BF16AttentionCheck.run(config: config)
            result.attentionCheck = .init(kernel: check.kernel, relativeDifferenceFromPortable: check.relativeDifference)
        }
        if profile {
            result.phaseS = Dictionary(uniqueKeysWithValues: Transformer.Phase.allCases.map {
                ("\($0)", model.phaseSeconds[$0.rawValue] / Double(steps))
            })
            if let a = model.attentionCPUSeconds {
                result.attentionCpuS = ["pack": a.pack / Double(steps), "products": a.products / Double(steps),
                                        "softmax": a.softmax / Double(steps)]
            }
        }
        if sgemmPeakFlag {
            let g = sgemmPeak(n: 2048, threads: threads)
            result.sgemmPeakGflops = g
            result.mfu = tokensPerSecond * flops / 1e9 / g
        }
        try JSONOutput.print(result)
    }

    /// The printed JSON (snake_case keys; `phase_s` holds seconds per step by kernel kind with --profile).
    struct BenchReport: Encodable {
        var parameters: Int, batch: Int, context: Int, steps: Int, threads: Int, core: String
        /// The -target-cpu of this build (Package.swift picks it on the build machine).
        var targetCPU = String(cString: rv_build_target_cpu())
        var tokensPerS: Double, stepSMedian: Double, stepSMean: Double
        var forwardS: Double, backwardS: Double, optimizerS: Double
        var flopsPerToken: Double, gflops: Double, finalLoss: Double
        var precision: String
        /// fp32: the library of the linear layers' GEMMs.
        var fp32Matmul: String?
        /// bf16, or fp32 on oneDNN: oneDNN's version and ISA, and which kernel ran each GEMM shape.
        var onednn: String? = nil
        var kernels: [MatmulKernelReport]? = nil
        /// bf16: the attention kernel against the portable strips on one sequence (``BF16AttentionCheck``).
        var attentionCheck: AttentionCheck? = nil
        var phaseS: [String: Double]? = nil
        /// bf16 with --profile: the attention's CPU seconds per step (summed over the cores) by part.
        var attentionCpuS: [String: Double]? = nil
        var sgemmPeakGflops: Double? = nil
        var mfu: Double? = nil
    }

    struct AttentionCheck: Encodable { var kernel: String, relativeDifferenceFromPortable: Double }

    /// GFLOP/s (best of 5) of the linear layers' GEMMs: forward x·Wᵀ, backward dW += dyᵀ·x and dx = dy·W.
    func gemmShapes(_ c: TransformerConfig, N: Int) {
        let C = c.width, F = c.mlpHidden
        let shapes: [(String, Int, Int)] = [("qkv", C, 3 * C), ("wo", C, C), ("w13", C, 2 * F), ("w2", F, C),
                                            ("output", C, c.vocabSize)]
        for (name, IC, OC) in shapes {
            let x = [Float](repeating: 0.01, count: N * IC), w = [Float](repeating: 0.02, count: OC * IC)
            var y = [Float](repeating: 0, count: N * OC), dw = w, dx = x
            func best(_ body: () -> Void) -> Double {
                var b = Double.infinity
                for _ in 0..<5 {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    body()
                    b = min(b, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
                }
                return 2 * Double(N * IC * OC) / b / 1e9
            }
            let f = best { BLAS.sgemm(transA: false, transB: true, m: N, n: OC, k: IC, alpha: 1, a: x, lda: IC, b: w, ldb: IC, beta: 0, c: &y, ldc: OC) }
            let gw = best { BLAS.sgemm(transA: true, transB: false, m: OC, n: IC, k: N, alpha: 1, a: y, lda: OC, b: x, ldb: IC, beta: 1, c: &dw, ldc: IC) }
            let gx = best { BLAS.sgemm(transA: false, transB: false, m: N, n: IC, k: OC, alpha: 1, a: y, lda: OC, b: w, ldb: IC, beta: 0, c: &dx, ldc: IC) }
            print("\(name) [\(N)x\(IC)]·[\(OC)x\(IC)]ᵀ: forward \(Int(f)), dW \(Int(gw)), dx \(Int(gx)) GFLOP/s")
        }
        print("peak n=2048: \(Int(sgemmPeak(n: 2048, threads: threads))) GFLOP/s")
    }

    /// Best of 5 n×n×n sgemm timings, in GFLOP/s.
    func sgemmPeak(n: Int, threads: Int) -> Double {
        BLAS.setThreads(threads)
        let a = [Float](repeating: 0.5, count: n * n), b = [Float](repeating: 0.25, count: n * n)
        var c = [Float](repeating: 0, count: n * n)
        var best = 0.0
        for _ in 0..<5 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            c.withUnsafeMutableBufferPointer { cp in
                BLAS.sgemm(transA: false, transB: false, m: n, n: n, k: n, alpha: 1, a: a, lda: n, b: b, ldb: n,
                           beta: 0, c: cp.baseAddress!, ldc: n)
            }
            let s = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            best = max(best, 2 * pow(Double(n), 3) / s / 1e9)
        }
        return best
    }
}
