import Foundation

/// The Multi-Power Law of Luo et al. (arXiv 2503.12811, eq. (5); conventions of the authors' code
/// `src/models.py`, `src/evaluation.py` in thu-yao-01-luo/MultiPowerLaw):
///
///     L(t) = L0 + A·S1(t)^(−α) − B·LD(t)
///     LD(t) = Σ_{k=1}^{t} (η_{k−1} − η_k) · G(η_k^(−γ) · S_k(t)),   G(x) = 1 − (C·x + 1)^(−β)
///     S1(t) = Σ_{τ=0}^{t} η_τ  (the paper's S1 + S_W: the warmup is part of the prefix sum),
///     S_k(t) = Σ_{τ=k}^{t} η_τ = P_t − P_{k−1}.
///
/// Parameters [L0, A, α, B, C, β, γ], all positive. Only steps where the LR changes contribute to LD, so
/// one evaluation costs O(points × LR changes before each point) log/exp pairs.
public struct MultiPowerLaw: LossCurveLaw {
    public init() {}
    public var kind: CurveLawKind { .multiPower }
    public var parameterNames: [String] { ["L0", "A", "alpha", "B", "C", "beta", "gamma"] }
    public var domains: [ParameterDomain] { Array(repeating: .positive, count: 7) }

    public func evaluate(_ p: [Double], on run: CurveRun, at steps: [Int], gradient: Bool) -> (values: [Double], jacobian: [[Double]]) {
        if run.changes.logLR.contains(-.infinity) { return evaluateScalar(p, on: run, at: steps, gradient: gradient) }
        return evaluateVector(p, on: run, at: steps, gradient: gradient)
    }

    /// Four LR changes at a time with `VectorMath`'s exp/log.
    func evaluateVector(_ p: [Double], on run: CurveRun, at steps: [Int], gradient: Bool) -> (values: [Double], jacobian: [[Double]]) {
        typealias V = SIMD4<Double>
        let (L0, A, alpha, B, C, beta, gamma) = (p[0], p[1], p[2], p[3], p[4], p[5], p[6])
        let changes = run.changes
        let count = changes.k.count
        let padded = (count + 3) / 4 * 4
        func pad(_ a: [Double]) -> [Double] { a + [Double](repeating: 0, count: padded - count) }
        let sc = pad(changes.logLR.map { exp(-gamma * $0) }), dl = pad(changes.delta)
        let ll = pad(changes.logLR), pb = pad(changes.prefixBefore)
        var values = [Double](repeating: 0, count: steps.count)
        var jac = gradient ? [[Double]](repeating: [], count: steps.count) : []
        let lane = SIMD4<Int64>(0, 1, 2, 3)
        let zero = V(repeating: 0)
        sc.withUnsafeBufferPointer { scb in dl.withUnsafeBufferPointer { dlb in
        ll.withUnsafeBufferPointer { llb in pb.withUnsafeBufferPointer { pbb in
            let scp = UnsafeRawPointer(scb.baseAddress!), dlp = UnsafeRawPointer(dlb.baseAddress!)
            let llp = UnsafeRawPointer(llb.baseAddress!), pbp = UnsafeRawPointer(pbb.baseAddress!)
            let stride = MemoryLayout<Double>.stride
            var n = 0
            for (i, t) in steps.enumerated() {
                while n < count && changes.k[n] <= t { n += 1 }
                let pt = run.prefix[t]
                var ld = zero, dC = zero, dBeta = zero, dGamma = zero
                var base = 0
                while base < n {
                    let off = base * stride
                    var x = scp.loadUnaligned(fromByteOffset: off, as: V.self) * (pt - pbp.loadUnaligned(fromByteOffset: off, as: V.self))
                    if base + 4 > n {  // lanes past the last change before t: x = 0 contributes G(0) = 0
                        x = zero.replacing(with: x, where: (lane &+ Int64(base)) .< Int64(n))
                    }
                    let d = dlp.loadUnaligned(fromByteOffset: off, as: V.self)
                    let u = 1 + C * x
                    let lu = VectorMath.log(u)
                    let g = VectorMath.exp(-beta * lu)
                    ld += d * (1 - g)
                    if gradient {
                        let q = d * beta * g * x / u
                        dC += q
                        dGamma -= q * C * llp.loadUnaligned(fromByteOffset: off, as: V.self)
                        dBeta += d * g * lu
                    }
                    base += 4
                }
                let ldSum = ld.sum()
                let sPow = exp(-alpha * log(pt))
                values[i] = L0 + A * sPow - B * ldSum
                if gradient {
                    jac[i] = [1, sPow, -A * sPow * log(pt), -ldSum, -B * dC.sum(), -B * dBeta.sum(), -B * dGamma.sum()]
                }
            }
        }}}}
        return (values, jac)
    }

    /// The same sums one change at a time with Foundation's exp/log (the reference for the vector path,
    /// and the path for schedules that reach η = 0 after a change, where G = 1).
    func evaluateScalar(_ p: [Double], on run: CurveRun, at steps: [Int], gradient: Bool) -> (values: [Double], jacobian: [[Double]]) {
        let (L0, A, alpha, B, C, beta, gamma) = (p[0], p[1], p[2], p[3], p[4], p[5], p[6])
        let changes = run.changes
        // η_k^(−γ) for each LR change.
        let scale = changes.logLR.map { exp(-gamma * $0) }
        var values = [Double](repeating: 0, count: steps.count)
        var jac = gradient ? [[Double]](repeating: [Double](repeating: 0, count: 7), count: steps.count) : []
        let P = run.prefix
        changes.k.withUnsafeBufferPointer { ks in
        changes.delta.withUnsafeBufferPointer { dl in
        changes.logLR.withUnsafeBufferPointer { ll in
        changes.prefixBefore.withUnsafeBufferPointer { pb in
        scale.withUnsafeBufferPointer { sc in
            var n = 0  // changes with k ≤ t
            for (i, t) in steps.enumerated() {
                while n < ks.count && ks[n] <= t { n += 1 }
                let pt = P[t]
                var ld = 0.0, dC = 0.0, dBeta = 0.0, dGamma = 0.0
                if gradient {
                    for j in 0..<n {
                        let x = sc[j] * (pt - pb[j])
                        if !x.isFinite { ld += dl[j]; continue }  // η_k = 0: G = 1
                        let u = 1 + C * x
                        let lu = log(u)
                        let g = exp(-beta * lu)
                        ld += dl[j] * (1 - g)
                        let q = dl[j] * beta * g * x / u
                        dC += q
                        dGamma -= q * C * ll[j]
                        dBeta += dl[j] * g * lu
                    }
                } else {
                    for j in 0..<n {
                        let x = sc[j] * (pt - pb[j])
                        if !x.isFinite { ld += dl[j]; continue }
                        ld += dl[j] * (1 - exp(-beta * log(1 + C * x)))
                    }
                }
                let sPow = exp(-alpha * log(pt))
                values[i] = L0 + A * sPow - B * ld
                if gradient {
                    jac[i] = [1, sPow, -A * sPow * log(pt), -ld, -B * dC, -B * dBeta, -B * dGamma]
                }
            }
        }}}}}
        return (values, jac)
    }

    /// The authors' initialisation: the reduced law's (L0, A, α, B) with C = 1, β = 0.5, γ = 0.5
    /// (their `generate_init_params`), plus a faster and a slower relaxation.
    public func starts(from b: ReducedLaw.Parameters) -> [[Double]] {
        [[b.L0, b.A, b.alpha, b.B, 1.0, 0.5, 0.5],
         [b.L0, b.A, b.alpha, b.B, 3.0, 0.6, 0.6],
         [b.L0, b.A, b.alpha, b.B, 0.3, 0.4, 0.4]]
    }
}

/// The steps k ≥ 1 where the LR changes, with Δ_k = η_{k−1} − η_k, ln η_k and P_{k−1}.
public struct LRChanges: Sendable {
    public let k: [Int]
    public let delta: [Double]
    public let logLR: [Double]
    public let prefixBefore: [Double]

    init(lrs: [Double], prefix: [Double]) {
        var k: [Int] = [], d: [Double] = [], l: [Double] = [], pb: [Double] = []
        for t in lrs.indices.dropFirst() where lrs[t] != lrs[t - 1] {
            k.append(t); d.append(lrs[t - 1] - lrs[t]); l.append(log(lrs[t])); pb.append(prefix[t - 1])
        }
        self.k = k; delta = d; logLR = l; prefixBefore = pb
    }
}
