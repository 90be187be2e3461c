import Foundation
import Testing
import RiverValley

/// Theory overlays: the Lyapunov solvers against each other and against the per-direction closed form.
@Suite struct DynamicsTheoryTests {
    static func spd(_ d: Int, seed: UInt64, shift: Double) -> Matrix {
        let rng = RandomSource(seed: seed)
        var a = Matrix(rows: d, cols: d)
        for i in 0..<d { for j in 0..<d { a[i, j] = rng.gaussian() } }
        var m = BLAS.matmul(a, a, transposeB: true)
        for i in 0..<d { m[i, i] += shift }
        return m
    }

    /// Kronecker (dgesv on d² unknowns) vs diagonalisation (dsyevd) on a random 6×6 H and Σ: agree to
    /// 1e-10 relative, and the solution satisfies C = (I−ηH)C(I−ηH) + η²Σ to 1e-12.
    @Test func lyapunovSolversAgree() throws {
        let d = 6
        let h = Self.spd(d, seed: 1, shift: 0.5), sigma = Self.spd(d, seed: 2, shift: 0.1)
        let top = try symmetricEigen(h, vectors: false).values.last!
        let eta = 1.5 / top
        let ck = try HillTheory.stationaryCovarianceKronecker(hessian: h, noise: sigma, lr: eta)
        let cd = try HillTheory.stationaryCovarianceDiagonalised(hessian: h, noise: sigma, lr: eta)
        let scale = cd.data.map(abs).max()!
        for i in 0..<(d * d) { #expect(abs(ck.data[i] - cd.data[i]) <= 1e-10 * scale) }
        var a = Matrix.identity(d)
        for i in 0..<d { for j in 0..<d { a[i, j] -= eta * h[i, j] } }
        let rhs = BLAS.matmul(BLAS.matmul(a, cd), a)
        for i in 0..<(d * d) { #expect(abs(rhs.data[i] + eta * eta * sigma.data[i] - cd.data[i]) <= 1e-12 * scale) }
    }

    /// Diagonal H, Σ = diag(σᵢ²): ½Tr(HC) equals Σ ησᵢ²/(2(2−ηλᵢ)) (1e-13), and ≈ ηTrΣ/4 for small η.
    @Test func diagonalCaseMatchesPerDirectionFormula() throws {
        let lam: [Double] = [0.5, 2, 7], s2: [Double] = [1, 0.25, 4]
        for eta in [0.01, 0.1, 0.25] {
            let c = try HillTheory.stationaryCovarianceKronecker(hessian: .diagonal(lam), noise: .diagonal(s2), lr: eta)
            let excess = HillTheory.excessLoss(hessian: .diagonal(lam), covariance: c)
            let formula = try HillTheory.stationaryHillLoss(lr: eta, curvatures: lam, noiseVariances: s2)
            #expect(abs(excess - formula) <= 1e-13 * formula)
        }
        let small = try HillTheory.stationaryHillLoss(lr: 1e-4, curvatures: lam, noiseVariances: s2)
        #expect(abs(small / HillTheory.approximateHillLoss(lr: 1e-4, noiseTrace: 5.25) - 1) < 1e-3)
        #expect(throws: HillTheory.Unstable.self) { try HillTheory.stationaryHillLoss(lr: 0.3, curvatures: lam, noiseVariances: s2) }
    }
}

/// Simulations against closed forms.
@Suite struct DynamicsSimulationTests {
    static func valley(_ lam: [Double], slope: Double = 0.5) -> any Landscape {
        try! LandscapeCatalog.make("straight-valley",
                                   LandscapeParameters(dimension: lam.count + 1, hillCurvature: lam, riverSlope: slope))
    }

    /// SGD's stationary hill loss vs the exact Lyapunov value. Hills λ = 1, 2, 4, 8, σ = 1, η = 0.1:
    /// 400 seeds × 60 records 50 steps apart after a 500-step burn-in (records decorrelate: the slowest
    /// direction's autocorrelation at lag 50 is 0.9¹⁰⁰ ≈ 3e-5), so the standard error of the grand mean
    /// is sqrt(mean std² / (seeds·records)). The simulated mean must be within 4 standard errors.
    @Test func stationaryHillLossMatchesLyapunov() throws {
        let lam: [Double] = [1, 2, 4, 8]
        let eta = 0.1, steps = 3500
        let schedule = try ScheduleSpec(kind: .constant, steps: steps, peak: eta).build()
        let config = SimulationConfig(landscape: Self.valley(lam), optimizer: .sgd, noise: [1], schedule: schedule,
                                      seeds: 400, seed: 11, recordEvery: 50)
        let r = try Simulation.run(config)
        #expect(r.divergence == nil)
        let window = r.steps.indices.filter { r.steps[$0] >= 500 && r.steps[$0] < steps - 1 }
        let means = window.map { r.mean[.hillLoss]![$0] }, stds = window.map { r.std[.hillLoss]![$0] }
        let grand = means.reduce(0, +) / Double(means.count)
        let se = (stds.map { $0 * $0 }.reduce(0, +) / Double(stds.count) / Double(400 * window.count)).squareRoot()
        let c = try HillTheory.stationaryCovarianceKronecker(hessian: .diagonal(lam), noise: .diagonal([1, 1, 1, 1]), lr: eta)
        let exact = HillTheory.excessLoss(hessian: .diagonal(lam), covariance: c)
        #expect(abs(grand - exact) <= 4 * se, "simulated \(grand) ± \(se), exact \(exact)")
        #expect(se < 0.01 * exact)  // the test has power: a 4% error would be caught
        // ηTrΣ/4 = 0.1 underestimates here (ηλ up to 0.8): exact / approx = 1.27.
        #expect(exact > 1.2 * HillTheory.approximateHillLoss(lr: eta, noiseTrace: 4))
    }

    /// Per-direction noise σ = (0.3, 1.5, 0.5) on λ = (2, 5), η = 0.1: the stationary hill loss is
    /// Σ ησᵢ²/(2(2 − ηλᵢ)) = 0.0625 + 0.00833 (hand value; the river's σ does not enter). 300 seeds ×
    /// 40 records 50 steps apart (autocorrelation 0.8¹⁰⁰ ≈ 2e-10): within 4 standard errors.
    @Test func perDirectionNoiseStationaryHillLoss() throws {
        let schedule = try ScheduleSpec(kind: .constant, steps: 2201, peak: 0.1).build()
        let config = SimulationConfig(landscape: Self.valley([2, 5]), optimizer: .sgd, noise: [0.3, 1.5, 0.5],
                                      schedule: schedule, seeds: 300, seed: 5, recordEvery: 50)
        let r = try Simulation.run(config)
        let window = r.steps.indices.filter { r.steps[$0] >= 200 && r.steps[$0] < 2200 }
        let grand = window.map { r.mean[.hillLoss]![$0] }.reduce(0, +) / Double(window.count)
        let se = (window.map { pow(r.std[.hillLoss]![$0], 2) }.reduce(0, +) / Double(window.count)
                  / Double(300 * window.count)).squareRoot()
        let exact = 0.1 * 2.25 / (2 * 1.8) + 0.1 * 0.25 / (2 * 1.5)
        #expect(abs(grand - exact) <= 4 * se, "simulated \(grand) ± \(se), exact \(exact)")
        let theory = SimulationTable.theoryColumns(config, r)
        let stationary = try #require(theory.first { $0.name == "theory_hill_loss_stationary" })
        #expect(abs(stationary.values[0] - exact) < 1e-15)
    }

    /// GD on a linear river: x_t = x₀ + s·Σ_{s≤t} η_s exactly, and each hill coordinate contracts as
    /// y_t = Π(1 − η_s λ) y₀ — the closed forms to 1e-12 under a WSD schedule.
    @Test func gdRiverProgressIsSlopeTimesCumulativeLR() throws {
        let schedule = try ScheduleSpec(kind: .wsd, steps: 400, peak: 0.15, warmup: 20, decay: 0.2, shape: .inv).build()
        let lam: [Double] = [3, 6]
        let start: [Double] = [0.25, 0.4, -0.2]
        let config = SimulationConfig(landscape: Self.valley(lam, slope: 0.7), optimizer: .gd, noise: [5],
                                      schedule: schedule, seeds: 2, start: start, keepPaths: 1)
        let r = try Simulation.run(config)
        var prod = [1.0, 1.0]
        for (k, t) in r.steps.enumerated() {
            let eta = schedule.lr(at: t)
            for i in 0..<2 { prod[i] *= 1 - eta * lam[i] }
            let x = r.mean[.riverCoordinate]![k]
            #expect(abs(x - (0.25 + 0.7 * r.cumulativeLR[k])) <= 1e-12 * max(1, abs(x)))
            let y = r.paths[0][k]
            #expect(abs(y[1] - 0.4 * prod[0]) <= 1e-12 && abs(y[2] + 0.2 * prod[1]) <= 1e-12)
            #expect(r.std[.loss]![k] == 0)  // gd ignores the noise: every seed is identical
        }
        let theory = SimulationTable.theoryColumns(config, r)
        let col = try #require(theory.first { $0.name == "theory_river_coord" })
        for k in r.steps.indices { #expect(abs(col.values[k] - r.mean[.riverCoordinate]![k]) <= 1e-10) }
    }

    /// Divergence (ηλ = 3 > 2) is reported with the step and the stability limit; the table stops
    /// before it and holds only finite numbers.
    @Test func divergenceIsDetectedNotNaN() throws {
        let schedule = try ScheduleSpec(kind: .constant, steps: 500, peak: 0.3).build()
        let config = SimulationConfig(landscape: Self.valley([10]), optimizer: .sgd, noise: [0.1], schedule: schedule, seeds: 4)
        let r = try Simulation.run(config)
        let div = try #require(r.divergence)
        #expect(div.step < 100 && div.stabilityLimit == 2)
        #expect(div.description.contains("3.0") && div.description.contains("stability limit 2.0"))
        #expect(r.steps.allSatisfy { $0 < div.step })
        for m in r.mean.values { #expect(m.allSatisfy { $0.isFinite }) }
        for m in r.std.values { #expect(m.allSatisfy { $0.isFinite }) }
    }

    /// Reproducibility: seed i's stream depends only on (seed, i): the same paths for 3 or 20 seeds,
    /// and the same table twice.
    @Test func reproducibleFromTheSeed() throws {
        let schedule = try ScheduleSpec(kind: .cosine, steps: 200, peak: 0.05).build()
        func run(_ seeds: Int) throws -> SimulationResult {
            try Simulation.run(SimulationConfig(landscape: Self.valley([2, 5]), optimizer: .momentum, noise: [0.3],
                                                schedule: schedule, seeds: seeds, seed: 99, keepPaths: 3))
        }
        let a = try run(3), b = try run(20), c = try run(20)
        #expect(a.paths == b.paths)
        #expect(b.mean[.loss]! == c.mean[.loss]! && b.std[.hillLoss]! == c.std[.hillLoss]!)
    }

    /// Seed s's gradient noise is the Philox stream (seed, s): σᵢ·z_{t·d+i} at step t, coordinate i.
    /// Replaying SGD by hand from `PhiloxGaussian` (1500 steps: across a noise-block boundary at d = 3)
    /// gives the kept paths of seeds 0, 1 and 2 to 1e-13 relative.
    @Test func noiseIsThePhiloxStreamOfEachSeed() throws {
        let lam: [Double] = [2, 5], sigma: [Double] = [0.3, 1.5, 0.5], slope = 0.5
        let schedule = try ScheduleSpec(kind: .wsd, steps: 1500, peak: 0.1, decay: 0.2).build()
        let r = try Simulation.run(SimulationConfig(landscape: Self.valley(lam, slope: slope), optimizer: .sgd, noise: sigma,
                                                    schedule: schedule, seeds: 5, seed: 77, keepPaths: 3))
        for s in 0..<3 {
            var normals = PhiloxGaussian(seed: 77, stream: UInt64(s))
            var w = [0.0, 0, 0], z = [0.0, 0, 0]
            for t in 0..<1500 {
                normals.fill(&z)
                let g = [-slope + sigma[0] * z[0], lam[0] * w[1] + sigma[1] * z[1], lam[1] * w[2] + sigma[2] * z[2]]
                for i in 0..<3 { w[i] -= schedule.lr(at: t) * g[i] }
                for i in 0..<3 { #expect(abs(r.paths[s][t][i] - w[i]) <= 1e-13 * max(1, abs(w[i])), "seed \(s) step \(t)") }
            }
        }
    }

    /// Adam and momentum on the curved valley (split by the analytic nearest floor point) and the
    /// generic tracer path on a non-diagonal quadratic: finite tables, loss = river + hill.
    @Test func otherOptimizersAndLandscapes() throws {
        let schedule = try ScheduleSpec(kind: .wsd, steps: 300, peak: 0.02, decay: 0.3).build()
        let curved = try LandscapeCatalog.make("curved-valley", LandscapeParameters(dimension: 3, hillCurvature: [10]))
        for opt in [SimulationOptimizer.momentum, .adam] {
            let r = try Simulation.run(SimulationConfig(landscape: curved, optimizer: opt, noise: [0.5], schedule: schedule,
                                                        seeds: 4, recordEvery: 10, topEigenvalue: true))
            #expect(r.divergence == nil)
            for k in r.steps.indices {
                #expect(abs(r.mean[.loss]![k] - r.mean[.riverLoss]![k] - r.mean[.hillLoss]![k]) < 1e-9)
            }
            #expect(r.mean[.riverCoordinate]!.last! > 0.1)
        }
        let q = QuadraticLandscape(hessian: Matrix(rows: 2, cols: 2, data: [5, 1, 1, 2]))
        let qs = try ScheduleSpec(kind: .constant, steps: 40, peak: 0.05).build()
        let r = try Simulation.run(SimulationConfig(landscape: q, optimizer: .sgd, noise: [0.2], schedule: qs, seeds: 2,
                                                    start: [1, 1], recordEvery: 10))
        for k in r.steps.indices { #expect(r.mean[.hillLoss]![k].isFinite && r.mean[.distanceToRiver]![k] >= 0) }
    }
}
