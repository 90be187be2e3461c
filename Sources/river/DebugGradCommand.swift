import ArgumentParser
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
    @Option(help: "Model config JSON (TransformerConfig keys: vocabSize, contextLength, width, layers, heads, mlpHidden, tiedEmbeddings, ropeTheta, normEpsilon).")
    var config: String?

    @Option(help: "Preset model instead of --config: \(TransformerConfig.presets.keys.sorted().joined(separator: ", ")).")
    var preset: String = "tiny"

    func load() throws -> TransformerConfig {
        let c: TransformerConfig
        if let config {
            let data = try Data(contentsOf: URL(fileURLWithPath: config))
            c = try JSONDecoder().decode(TransformerConfig.self, from: data)
        } else {
            guard let p = TransformerConfig.presets[preset] else {
                throw ValidationError("unknown preset '\(preset)'; allowed: \(TransformerConfig.presets.keys.sorted().joined(separator: ", "))")
            }
            c = p
        }
        do { try c.validate() } catch { throw ValidationError("\(error)") }
        return c
    }
}

/// Runs K training steps on one fixed batch and writes everything the golden test compares.
struct DebugModelGrad: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "grad",
        abstract: "Loss, logits, per-token losses and gradients on a fixed batch, then K AdamW steps.",
        discussion: """
        The batch file is JSON {"tokens": [[...]], "targets": [[...]]}, both [B][T] token ids.
        The output holds `logits` [B,T,V], `losses` [B,T], `loss` [K], `grad_norm` [K] (before clipping),
        `grad.<tensor>` (gradients of the first step), `final.<tensor>` (parameters after K steps).
        --save-parameters writes the starting parameters under the model's own tensor names.
        AdamW: torch.optim.AdamW conventions; weight decay on matrices only (Transformer.parameterGroups).
        """)

    @OptionGroup var shape: ModelShapeOptions
    @Option(help: "Initialisation seed.") var seed: UInt64 = 0
    @Option(help: "Start from these parameters (safetensors; tensor names as the model's table) instead of the seed.")
    var parameters: String?
    @Option(help: "Batch file (JSON with `tokens`, `targets`, each [B][T]).") var batch: String
    @Option(help: "Output safetensors file.") var out: String
    @Option(help: "Also write the starting parameters here.") var saveParameters: String?
    @Option(help: "AdamW steps on the same batch.") var steps: Int = 1
    @Option(help: "Learning rate.") var lr: Double = 1e-3
    @Option(help: "AdamW beta1.") var beta1: Double = 0.9
    @Option(help: "AdamW beta2.") var beta2: Double = 0.95
    @Option(help: "AdamW epsilon.") var eps: Double = 1e-8
    @Option(help: "Decoupled weight decay on matrices.") var weightDecay: Double = 0.1
    @Option(help: "Clip the gradient norm to this (0: no clipping).") var clip: Double = 0

    func run() throws {
        guard steps >= 1, steps <= 1_000_000 else { throw ValidationError("--steps must be in 1...1000000, got \(steps)") }
        let config = try shape.load()
        struct BatchFile: Decodable { var tokens: [[Int32]]; var targets: [[Int32]] }
        let file: BatchFile
        do {
            file = try JSONDecoder().decode(BatchFile.self, from: Data(contentsOf: URL(fileURLWithPath: batch)))
        } catch { throw ValidationError("\(batch): expected JSON {\"tokens\": [[...]], \"targets\": [[...]]}: \(error)") }
        guard let first = file.tokens.first, !first.isEmpty,
              file.tokens.allSatisfy({ $0.count == first.count }),
              file.targets.count == file.tokens.count, file.targets.allSatisfy({ $0.count == first.count }) else {
            throw ValidationError("\(batch): tokens and targets must be non-empty [B][T] lists of equal shape")
        }
        let tshape = [file.tokens.count, first.count]
        let tokens = file.tokens.flatMap { $0 }, targets = file.targets.flatMap { $0 }
        let B = tshape[0], T = tshape[1]
        guard T <= config.contextLength else {
            throw ValidationError("sequence length \(T) exceeds contextLength \(config.contextLength)")
        }
        for v in tokens + targets where v < 0 || Int(v) >= config.vocabSize {
            throw ValidationError("token id \(v) outside 0..<\(config.vocabSize)")
        }

        let hp = OptimizerHyperparameters(algorithm: .adamw, weightDecay: weightDecay, beta1: beta1, beta2: beta2,
                                          epsilon: eps)
        try hp.validate()
        try config.checkMemory(batchSize: B)
        let model = Transformer(config: config, batchSize: B, seed: seed)
        if let parameters {
            let file = try SafeTensors.read(from: URL(fileURLWithPath: parameters))
            for t in model.tensors {
                let s = try file.tensor(t.name, path: parameters)
                guard s.shape == t.shape else {
                    throw ValidationError("\(parameters): \(t.name) has shape \(s.shape), the model needs \(t.shape)")
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
        abstract: "Training-step throughput (tokens/s) and model FLOP utilisation against measured sgemm peak.")

    @OptionGroup var shape: ModelShapeOptions
    @Option(help: "Sequences per step.") var batch: Int = 16
    @Option(help: "Timed steps.") var steps: Int = 10
    @Option(help: "Untimed warm-up steps.") var warmup: Int = 2
    @Option(help: "OpenBLAS threads (the kernels use all cores).") var threads: Int = 2
    @Option(help: "Seed for parameters and tokens.") var seed: UInt64 = 0
    @Flag(help: "Also measure the sgemm peak (n = 2048) and report MFU.") var peak = false
    @Flag(help: "Report seconds per step spent in each kind of kernel.") var profile = false
    @Flag(help: "Print GFLOP/s of each GEMM shape of a training step instead.") var gemms = false

    func run() throws {
        let config = try shape.load()
        guard batch >= 1, steps >= 1, warmup >= 0 else { throw ValidationError("--batch and --steps must be ≥ 1, --warmup ≥ 0") }
        BLAS.setThreads(threads)
        let T = config.contextLength
        if gemms { return gemmShapes(config, N: batch * T) }
        let model = Transformer(config: config, batchSize: batch, seed: seed)
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
        var result: [String: Any] = [
            "parameters": model.parameterCount, "batch": batch, "context": T, "steps": steps,
            "threads": threads, "core": BLAS.coreName,
            "tokens_per_s": tokensPerSecond, "step_s_median": median, "step_s_mean": total / Double(steps),
            "forward_s": phase[0] / Double(steps), "backward_s": phase[1] / Double(steps),
            "optimizer_s": phase[2] / Double(steps),
            "flops_per_token": flops, "gflops": tokensPerSecond * flops / 1e9, "final_loss": Double(lastLoss),
        ]
        if profile {
            for p in Transformer.Phase.allCases { result["phase_\(p)_s"] = model.phaseSeconds[p.rawValue] / Double(steps) }
        }
        if peak {
            let g = sgemmPeak(n: 2048, threads: threads)
            result["sgemm_peak_gflops"] = g
            result["mfu"] = tokensPerSecond * flops / 1e9 / g
        }
        let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

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
