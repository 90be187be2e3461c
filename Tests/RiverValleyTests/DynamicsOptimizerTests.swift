import Foundation
import Testing
import RiverValley

/// Optimizer updates against hand-computed values (scalar recurrences written out in Double) and the
/// PyTorch formulas; 19 parameters so both the SIMD8 body and the scalar tail are exercised.
@Suite struct DynamicsOptimizerTests {
    static let n = 19
    static func params() -> [Double] { (0..<n).map { sin(Double($0) + 1) } }
    static func grads(_ t: Int) -> [Double] { (0..<n).map { cos(Double(3 * $0 + t)) + 0.1 * Double(t) } }

    /// Runs `steps` updates of the optimizer in type T and returns the final parameters as Double.
    static func run<T: BinaryFloatingPoint & SIMDScalar & Sendable>(_ h: OptimizerHyperparameters, steps: Int,
                                                                   lr: (Int) -> Double, as: T.Type) -> [Double] {
        var p = params().map { T($0) }
        var opt = Optimizer<T>(h, count: n)
        for t in 0..<steps {
            let g = grads(t).map { T($0) }
            p.withUnsafeMutableBufferPointer { pp in
                g.withUnsafeBufferPointer { gg in opt.update(pp, gradient: gg, lr: lr(t)) }
            }
        }
        return p.map { Double($0) }
    }

    /// The reference: the formulas of torch.optim, one scalar at a time in Double.
    static func reference(_ h: OptimizerHyperparameters, steps: Int, lr: (Int) -> Double) -> [Double] {
        var p = params()
        var b = [Double](repeating: 0, count: n), m = b, v = b
        for t in 0..<steps {
            let g = grads(t), eta = lr(t)
            for i in 0..<n {
                switch h.algorithm {
                case .sgd:
                    p[i] -= eta * (g[i] + h.weightDecay * p[i])
                case .momentum:
                    let d = g[i] + h.weightDecay * p[i]
                    b[i] = t == 0 ? d : h.momentum * b[i] + (1 - h.dampening) * d
                    p[i] -= eta * (h.nesterov ? d + h.momentum * b[i] : b[i])
                case .adam, .adamw:
                    if h.algorithm == .adamw { p[i] *= 1 - eta * h.weightDecay }
                    let d = g[i] + (h.algorithm == .adam ? h.weightDecay * p[i] : 0)
                    m[i] = h.beta1 * m[i] + (1 - h.beta1) * d
                    v[i] = h.beta2 * v[i] + (1 - h.beta2) * d * d
                    let mhat = m[i] / (1 - pow(h.beta1, Double(t + 1)))
                    let vhat = v[i] / (1 - pow(h.beta2, Double(t + 1)))
                    p[i] -= eta * mhat / (vhat.squareRoot() + h.epsilon)
                }
            }
        }
        return p
    }

    static let cases: [OptimizerHyperparameters] = [
        .init(algorithm: .sgd),
        .init(algorithm: .sgd, weightDecay: 0.1),
        .init(algorithm: .momentum, momentum: 0.9),
        .init(algorithm: .momentum, momentum: 0.8, dampening: 0.3, weightDecay: 0.05),
        .init(algorithm: .momentum, momentum: 0.9, nesterov: true, weightDecay: 0.01),
        .init(algorithm: .adam),
        .init(algorithm: .adam, weightDecay: 0.1, beta1: 0.8, beta2: 0.95, epsilon: 1e-6),
        .init(algorithm: .adamw, weightDecay: 0.1, beta1: 0.9, beta2: 0.95),
    ]

    /// Double: agreement to 1e-13 relative after 7 steps of a decaying LR (only rounding differs).
    @Test(arguments: cases) func doubleMatchesReference(_ h: OptimizerHyperparameters) {
        let lr: (Int) -> Double = { 0.05 / Double($0 + 1) }
        let got = Self.run(h, steps: 7, lr: lr, as: Double.self)
        let want = Self.reference(h, steps: 7, lr: lr)
        for i in 0..<Self.n { #expect(abs(got[i] - want[i]) <= 1e-13 * max(1, abs(want[i])), "\(h.algorithm) [\(i)]") }
    }

    /// Float: agreement to 2e-6 (a few Float ulps accumulated over 7 steps).
    @Test(arguments: cases) func floatMatchesReference(_ h: OptimizerHyperparameters) {
        let lr: (Int) -> Double = { 0.05 / Double($0 + 1) }
        let got = Self.run(h, steps: 7, lr: lr, as: Float.self)
        let want = Self.reference(h, steps: 7, lr: lr)
        for i in 0..<Self.n { #expect(abs(got[i] - want[i]) <= 2e-6 * max(1, abs(want[i])), "\(h.algorithm) [\(i)]") }
    }

    /// First Adam step, worked by hand: m̂ = g, v̂ = g², so p ← p − lr·g/(|g| + ε) = p − lr·sign(g) (ε→0).
    @Test func firstAdamStepIsSignDescent() {
        var p: [Double] = [1, -2, 3]
        let g: [Double] = [0.5, -4, 1e-3]
        var opt = Optimizer<Double>(.init(algorithm: .adam, epsilon: 0), count: 3)
        p.withUnsafeMutableBufferPointer { pp in g.withUnsafeBufferPointer { opt.update(pp, gradient: $0, lr: 0.1) } }
        #expect(abs(p[0] - 0.9) < 1e-15 && abs(p[1] - (-1.9)) < 1e-15 && abs(p[2] - 2.9) < 1e-15)
        #expect(opt.stepCount == 1)
    }

    /// AdamW with zero gradient, worked by hand: only the decoupled decay acts, p ← p·(1 − lr·wd).
    @Test func adamWDecayAloneWithZeroGradient() {
        var p: [Float] = [2, -4]
        let g: [Float] = [0, 0]
        var opt = Optimizer<Float>(.init(algorithm: .adamw, weightDecay: 0.5), count: 2)
        p.withUnsafeMutableBufferPointer { pp in g.withUnsafeBufferPointer { opt.update(pp, gradient: $0, lr: 0.1) } }
        #expect(p == [1.9, -3.8])
    }

    /// Groups: weight decay applies per group; parameters outside every group do not move.
    @Test func parameterGroups() {
        var p: [Double] = [1, 1, 1, 1]
        let g: [Double] = [0, 0, 0, 0]
        var opt = Optimizer<Double>(.init(algorithm: .sgd), count: 4)
        p.withUnsafeMutableBufferPointer { pp in
            g.withUnsafeBufferPointer {
                opt.update(pp, gradient: $0, lr: 0.1, groups: [ParameterGroup(range: 0..<2, weightDecay: 1),
                                                                ParameterGroup(range: 2..<3, weightDecay: 0)])
            }
        }
        #expect(p == [0.9, 0.9, 1, 1])
    }

    /// Checkpointing: copying the public state mid-run and resuming gives the same parameters bit for bit.
    @Test func stateRoundTripIsExact() {
        let h = OptimizerHyperparameters(algorithm: .adamw, weightDecay: 0.1)
        var p = Self.params()
        var a = Optimizer<Double>(h, count: Self.n)
        func step(_ o: inout Optimizer<Double>, _ p: inout [Double], _ t: Int) {
            let g = Self.grads(t)
            p.withUnsafeMutableBufferPointer { pp in g.withUnsafeBufferPointer { o.update(pp, gradient: $0, lr: 0.01) } }
        }
        for t in 0..<3 { step(&a, &p, t) }
        var b = Optimizer<Double>(h, count: Self.n)
        b.stepCount = a.stepCount; b.firstMoment = a.firstMoment; b.secondMoment = a.secondMoment
        var pa = p, pb = p
        for t in 3..<6 { step(&a, &pa, t); step(&b, &pb, t) }
        #expect(pa == pb)
    }

    @Test func validationNamesTheBadValue() {
        #expect(throws: OptimizerError.self) { try OptimizerHyperparameters(algorithm: .adam, beta2: 1).validate() }
        do {
            try OptimizerHyperparameters(algorithm: .sgd, weightDecay: -1).validate()
            Issue.record("negative weight decay accepted")
        } catch { #expect("\(error)".contains("-1.0") && "\(error)".contains(">= 0")) }
    }
}
