import Foundation

/// The optimizer family shared by the toy landscapes, the bigram model and the transformer trainer.
///
/// Every update is in place on a flat parameter buffer, allocation-free, generic over the element type
/// (`Float`, `Double`) and vectorised with `SIMD8`. Conventions follow PyTorch exactly:
///
/// - `sgd`      (torch.optim.SGD, momentum 0): d = g + wd·p;  p ← p − lr·d
/// - `momentum` (torch.optim.SGD): d = g + wd·p;  b ← d on the first step, else b ← μ·b + (1 − dampening)·d;
///               p ← p − lr·(nesterov ? d + μ·b : b)
/// - `adam`     (torch.optim.Adam, L2-coupled decay): d = g + wd·p;  m ← β₁m + (1−β₁)d;  v ← β₂v + (1−β₂)d²;
///               p ← p − (lr/(1−β₁ᵗ))·m / (√v/√(1−β₂ᵗ) + ε)
/// - `adamw`    (torch.optim.AdamW, decoupled decay): p ← p·(1 − lr·wd), then the Adam step with d = g.
///
/// The state (`stepCount`, `firstMoment`, `secondMoment`) is public for checkpointing: restoring it
/// continues the run bit for bit.
public enum OptimizerAlgorithm: String, CaseIterable, Codable, Sendable {
    case sgd, momentum, adam, adamw
}

/// Hyperparameters (the learning rate is passed per step: it comes from a `Schedule`).
public struct OptimizerHyperparameters: Codable, Sendable, Equatable {
    public var algorithm: OptimizerAlgorithm
    /// μ of SGD with momentum (PyTorch `momentum`).
    public var momentum: Double
    /// PyTorch `dampening` (momentum only).
    public var dampening: Double
    /// Nesterov momentum (PyTorch `nesterov`; needs dampening 0).
    public var nesterov: Bool
    /// L2 (sgd, momentum, adam) or decoupled (adamw) weight decay.
    public var weightDecay: Double
    public var beta1: Double
    public var beta2: Double
    public var epsilon: Double

    public init(algorithm: OptimizerAlgorithm, momentum: Double = 0.9, dampening: Double = 0,
                nesterov: Bool = false, weightDecay: Double = 0, beta1: Double = 0.9, beta2: Double = 0.999,
                epsilon: Double = 1e-8) {
        self.algorithm = algorithm
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
        self.weightDecay = weightDecay
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
    }

    /// Adam's bias corrections at update t (1-based): the step size lr/(1 − β₁ᵗ) and 1/√(1 − β₂ᵗ).
    @inlinable
    public func adamScales(step t: Int, lr: Double) -> (stepSize: Double, invBC2Sqrt: Double) {
        let bc1 = 1 - pow(beta1, Double(t)), bc2 = 1 - pow(beta2, Double(t))
        return (lr / bc1, 1 / bc2.squareRoot())
    }

    /// Throws an `OptimizerError` naming the first bad value and its allowed range.
    public func validate() throws {
        func check(_ ok: Bool, _ what: String, _ v: Double, _ allowed: String) throws {
            if !ok || !v.isFinite { throw OptimizerError("\(what) \(v) is not allowed; allowed: \(allowed)") }
        }
        try check(weightDecay >= 0, "weight decay", weightDecay, ">= 0")
        if algorithm == .momentum {
            try check(momentum >= 0 && momentum < 1, "momentum", momentum, "[0, 1)")
            try check(dampening >= 0 && dampening <= 1, "dampening", dampening, "[0, 1]")
            if nesterov && (momentum <= 0 || dampening != 0) {
                throw OptimizerError("nesterov momentum needs momentum > 0 and dampening 0 (got momentum \(momentum), dampening \(dampening))")
            }
        }
        if algorithm == .adam || algorithm == .adamw {
            try check(beta1 >= 0 && beta1 < 1, "beta1", beta1, "[0, 1)")
            try check(beta2 >= 0 && beta2 < 1, "beta2", beta2, "[0, 1)")
            try check(epsilon >= 0, "epsilon", epsilon, ">= 0")
        }
    }
}

public struct OptimizerError: Error, CustomStringConvertible, Equatable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A slice of the flat parameter buffer with its own weight decay (e.g. 0 for biases and norms).
public struct ParameterGroup: Sendable, Equatable {
    public var range: Range<Int>
    public var weightDecay: Double
    public init(range: Range<Int>, weightDecay: Double) {
        self.range = range
        self.weightDecay = weightDecay
    }
}

/// An optimizer over a flat buffer of `count` parameters of type T.
public struct Optimizer<T: BinaryFloatingPoint & SIMDScalar & Sendable>: Sendable {
    public var hyperparameters: OptimizerHyperparameters
    /// Number of parameters.
    public let count: Int
    /// Updates taken so far (Adam's t is stepCount after the increment of an update).
    public var stepCount: Int
    /// Momentum buffer b (momentum) or first moment m (adam, adamw); empty for sgd.
    public var firstMoment: [T]
    /// Second moment v (adam, adamw); empty otherwise.
    public var secondMoment: [T]

    public init(_ hyperparameters: OptimizerHyperparameters, count: Int) {
        self.hyperparameters = hyperparameters
        self.count = count
        stepCount = 0
        let a = hyperparameters.algorithm
        firstMoment = a == .sgd ? [] : [T](repeating: 0, count: count)
        secondMoment = (a == .adam || a == .adamw) ? [T](repeating: 0, count: count) : []
    }

    /// Clears the state (step count and moments) as for a fresh optimizer.
    public mutating func reset() {
        stepCount = 0
        for i in firstMoment.indices { firstMoment[i] = 0 }
        for i in secondMoment.indices { secondMoment[i] = 0 }
    }

    /// One update of the whole buffer with learning rate `lr` and the hyperparameters' weight decay.
    @inlinable
    public mutating func update(_ params: UnsafeMutableBufferPointer<T>, gradient: UnsafeBufferPointer<T>, lr: Double) {
        update(params, gradient: gradient, lr: lr,
               groups: CollectionOfOne(ParameterGroup(range: 0..<count, weightDecay: hyperparameters.weightDecay)))
    }

    /// One update with per-group weight decay; parameters outside every group are left alone (and keep
    /// their state). The step count advances once per call.
    @inlinable
    public mutating func update<G: Collection>(_ params: UnsafeMutableBufferPointer<T>, gradient: UnsafeBufferPointer<T>,
                                               lr: Double, groups: G) where G.Element == ParameterGroup {
        precondition(params.count == count && gradient.count == count,
                     "optimizer built for \(count) parameters got \(params.count) parameters and \(gradient.count) gradients")
        stepCount += 1
        let h = hyperparameters
        let p = params.baseAddress!, g = gradient.baseAddress!
        switch h.algorithm {
        case .sgd:
            for group in groups {
                let r = group.range
                OptimizerKernels.sgd(p + r.lowerBound, g + r.lowerBound, r.count, lr: T(lr), wd: T(group.weightDecay))
            }
        case .momentum:
            let first = stepCount == 1
            firstMoment.withUnsafeMutableBufferPointer { b in
                for group in groups {
                    let r = group.range
                    OptimizerKernels.momentum(p + r.lowerBound, g + r.lowerBound, b.baseAddress! + r.lowerBound, r.count,
                                              lr: T(lr), wd: T(group.weightDecay), mu: T(h.momentum),
                                              dampening: T(h.dampening), nesterov: h.nesterov, first: first)
                }
            }
        case .adam, .adamw:
            let (stepSize, invBC2Sqrt) = h.adamScales(step: stepCount, lr: lr)
            let decoupled = h.algorithm == .adamw
            firstMoment.withUnsafeMutableBufferPointer { m in
                secondMoment.withUnsafeMutableBufferPointer { v in
                    for group in groups {
                        let r = group.range
                        OptimizerKernels.adam(p + r.lowerBound, g + r.lowerBound, m.baseAddress! + r.lowerBound,
                                              v.baseAddress! + r.lowerBound, r.count,
                                              beta1: T(h.beta1), beta2: T(h.beta2), epsilon: T(h.epsilon),
                                              stepSize: T(stepSize), invBC2Sqrt: T(invBC2Sqrt),
                                              l2: decoupled ? 0 : T(group.weightDecay),
                                              decoupledScale: decoupled ? T(1 - lr * group.weightDecay) : 1)
                }
                }
            }
        }
    }
}

/// What an optimizer step computes on: eight values at once (`SIMD8` of `Float` or `Double`), with scalar
/// coefficients. The step formulas (`OptimizerKernels.sgdStep`, `momentumStep`, `adamStep`) are written
/// once over it and used by the buffer kernels (eight parameters per step, the tail padded) and by the
/// simulator's seed lanes (`SimulationLanes`, eight seeds per step), so both perform the same operations
/// in the same order on every element and agree bit for bit.
public protocol OptimizerLane {
    associatedtype Coefficient: BinaryFloatingPoint
    static func + (lhs: Self, rhs: Self) -> Self
    static func - (lhs: Self, rhs: Self) -> Self
    static func * (lhs: Self, rhs: Self) -> Self
    static func / (lhs: Self, rhs: Self) -> Self
    static func * (lhs: Coefficient, rhs: Self) -> Self
    static func * (lhs: Self, rhs: Coefficient) -> Self
    static func + (lhs: Self, rhs: Coefficient) -> Self
    func squareRoot() -> Self
}

extension SIMD8: OptimizerLane where Scalar: BinaryFloatingPoint { public typealias Coefficient = Scalar }

/// The element-wise update kernels: eight parameters at a time through the one step formula of each
/// algorithm, the last n mod 8 in a zero-padded vector (each lane's arithmetic is independent, so a padded
/// lane changes nothing). Public so callers with their own state layout can reuse them; `Optimizer` is the usual
/// entry point.
public enum OptimizerKernels {
    /// SGD: p − lr·(g + wd·p).
    @inlinable @inline(__always)
    public static func sgdStep<V: OptimizerLane>(_ p: V, _ g: V, lr: V.Coefficient, wd: V.Coefficient) -> V {
        p - lr * (g + wd * p)
    }

    /// SGD with momentum: d = g + wd·p; b ← d on the first step, else μ·b + keep·d;
    /// p ← p − lr·(nesterov ? d + μ·b : b). Returns (p, b).
    @inlinable @inline(__always)
    public static func momentumStep<V: OptimizerLane>(_ p: V, _ g: V, _ b: V, lr: V.Coefficient, wd: V.Coefficient,
                                                       mu: V.Coefficient, keep: V.Coefficient, nesterov: Bool,
                                                       first: Bool) -> (p: V, b: V) {
        let d = g + wd * p
        let bv = first ? d : mu * b + keep * d
        return (p - lr * (nesterov ? d + mu * bv : bv), bv)
    }

    /// Adam / AdamW: p ← p·decoupledScale; d = g + l2·p; m ← β₁m + (1−β₁)d; v ← β₂v + (1−β₂)d²;
    /// p ← p − stepSize·m/(√v·invBC2Sqrt + ε). Returns (p, m, v).
    @inlinable @inline(__always)
    public static func adamStep<V: OptimizerLane>(_ p: V, _ g: V, _ m: V, _ v: V, beta1: V.Coefficient,
                                                   beta2: V.Coefficient, epsilon: V.Coefficient,
                                                   stepSize: V.Coefficient, invBC2Sqrt: V.Coefficient,
                                                   l2: V.Coefficient, decoupledScale: V.Coefficient) -> (p: V, m: V, v: V) {
        let pv = p * decoupledScale
        let d = g + l2 * pv
        let mv = beta1 * m + (1 - beta1) * d
        let vv = beta2 * v + (1 - beta2) * (d * d)
        return (pv - stepSize * (mv / (vv.squareRoot() * invBC2Sqrt + epsilon)), mv, vv)
    }

    @inlinable @inline(__always)
    static func load<T: SIMDScalar>(_ p: UnsafePointer<T>, _ i: Int) -> SIMD8<T> {
        UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<T>.self)
    }

    @inlinable @inline(__always)
    static func store<T: SIMDScalar>(_ x: SIMD8<T>, _ p: UnsafeMutablePointer<T>, _ i: Int) {
        UnsafeMutableRawPointer(p + i).storeBytes(of: x, as: SIMD8<T>.self)
    }

    /// p[i ..< i + k] (k < 8) in the first k lanes, zeros after.
    @inlinable @inline(__always)
    static func load<T: SIMDScalar>(_ p: UnsafePointer<T>, _ i: Int, count k: Int) -> SIMD8<T> {
        var x = SIMD8<T>()
        for j in 0..<k { x[j] = p[i + j] }
        return x
    }

    @inlinable @inline(__always)
    static func store<T: SIMDScalar>(_ x: SIMD8<T>, _ p: UnsafeMutablePointer<T>, _ i: Int, count k: Int) {
        for j in 0..<k { p[i + j] = x[j] }
    }

    /// p ← p − lr·(g + wd·p).
    @inlinable
    public static func sgd<T: BinaryFloatingPoint & SIMDScalar>(_ p: UnsafeMutablePointer<T>, _ g: UnsafePointer<T>,
                                                               _ n: Int, lr: T, wd: T) {
        var i = 0
        while i + 8 <= n {
            store(sgdStep(load(UnsafePointer(p), i), load(g, i), lr: lr, wd: wd), p, i)
            i += 8
        }
        if i < n {
            let k = n - i
            store(sgdStep(load(UnsafePointer(p), i, count: k), load(g, i, count: k), lr: lr, wd: wd), p, i, count: k)
        }
    }

    /// PyTorch SGD with momentum (see `Optimizer`).
    @inlinable
    public static func momentum<T: BinaryFloatingPoint & SIMDScalar>(
        _ p: UnsafeMutablePointer<T>, _ g: UnsafePointer<T>, _ b: UnsafeMutablePointer<T>, _ n: Int,
        lr: T, wd: T, mu: T, dampening: T, nesterov: Bool, first: Bool
    ) {
        let keep = 1 - dampening
        var i = 0
        while i + 8 <= n {
            let r = momentumStep(load(UnsafePointer(p), i), load(g, i), load(UnsafePointer(b), i), lr: lr, wd: wd,
                                 mu: mu, keep: keep, nesterov: nesterov, first: first)
            store(r.b, b, i)
            store(r.p, p, i)
            i += 8
        }
        if i < n {
            let k = n - i
            let r = momentumStep(load(UnsafePointer(p), i, count: k), load(g, i, count: k), load(UnsafePointer(b), i, count: k),
                                 lr: lr, wd: wd, mu: mu, keep: keep, nesterov: nesterov, first: first)
            store(r.b, b, i, count: k)
            store(r.p, p, i, count: k)
        }
    }

    /// Adam / AdamW: p ← p·decoupledScale; d = g + l2·p; m, v moments; p ← p − stepSize·m/(√v·invBC2Sqrt + ε).
    @inlinable
    public static func adam<T: BinaryFloatingPoint & SIMDScalar>(
        _ p: UnsafeMutablePointer<T>, _ g: UnsafePointer<T>, _ m: UnsafeMutablePointer<T>,
        _ v: UnsafeMutablePointer<T>, _ n: Int,
        beta1: T, beta2: T, epsilon: T, stepSize: T, invBC2Sqrt: T, l2: T, decoupledScale: T
    ) {
        var i = 0
        while i + 8 <= n {
            let r = adamStep(load(UnsafePointer(p), i), load(g, i), load(UnsafePointer(m), i), load(UnsafePointer(v), i),
                             beta1: beta1, beta2: beta2, epsilon: epsilon, stepSize: stepSize, invBC2Sqrt: invBC2Sqrt,
                             l2: l2, decoupledScale: decoupledScale)
            store(r.m, m, i)
            store(r.v, v, i)
            store(r.p, p, i)
            i += 8
        }
        if i < n {
            let k = n - i
            let r = adamStep(load(UnsafePointer(p), i, count: k), load(g, i, count: k), load(UnsafePointer(m), i, count: k),
                             load(UnsafePointer(v), i, count: k), beta1: beta1, beta2: beta2, epsilon: epsilon,
                             stepSize: stepSize, invBC2Sqrt: invBC2Sqrt, l2: l2, decoupledScale: decoupledScale)
            store(r.m, m, i, count: k)
            store(r.v, v, i, count: k)
            store(r.p, p, i, count: k)
        }
    }
}
