import Foundation
import Testing
@testable import RiverValley

/// The lane path of `Simulation.run` (eight seeds per SIMD lane) against the scalar path (one seed at a
/// time, `config.lanes = false`): every table, kept path and divergence identical, bit for bit, over the
/// landscapes, profiles and optimizers the lane path takes, seed counts that are not multiples of 8, kept
/// paths, per-coordinate noise, record intervals and divergence.
@Suite struct SimulationLanesTests {
    static func valley(_ lam: [Double], profile: String = "linear") -> any Landscape {
        try! LandscapeCatalog.make("straight-valley", LandscapeParameters(
            dimension: lam.count + 1, hillCurvature: lam, riverProfile: profile, riverSlope: 0.3,
            powerAmplitude: 2, powerExponent: 0.7))
    }

    static func expectSamePaths(_ config: SimulationConfig) throws {
        var scalar = config
        scalar.lanes = false
        let a = try Simulation.run(config), b = try Simulation.run(scalar)
        #expect(a.steps == b.steps)
        #expect(a.divergence == b.divergence)
        #expect(a.paths == b.paths)
        #expect(Set(a.mean.keys) == Set(b.mean.keys))
        for (metric, values) in b.mean {
            // Bit patterns, so that NaN-free tables compare exactly and a −0 / +0 difference would show.
            let same = a.mean[metric]!.map(\.bitPattern) == values.map(\.bitPattern)
                && a.std[metric]!.map(\.bitPattern) == b.std[metric]!.map(\.bitPattern)
            #expect(same, "\(metric.rawValue): lanes and scalar differ")
        }
    }

    @Test func sgdOnStraightValleyAsTheBenchmarkRunsIt() throws {
        let schedule = try ScheduleSpec(kind: .wsd, steps: 700, peak: 0.1, decay: 0.2).build()
        try Self.expectSamePaths(SimulationConfig(landscape: Self.valley(Array(repeating: 4, count: 9)), optimizer: .sgd,
                                                  noise: [1], schedule: schedule, seeds: 37, seed: 3))
    }

    @Test func momentumOnPowerRiverWithKeptPathsAndPerCoordinateNoise() throws {
        let schedule = try ScheduleSpec(kind: .cosine, steps: 500, peak: 0.05).build()
        let h = SimulationOptimizer.momentum.hyperparameters(momentum: 0.8, nesterov: true, weightDecay: 0.01)
        try Self.expectSamePaths(SimulationConfig(landscape: Self.valley([3, 9], profile: "power"), optimizer: .momentum,
                                                  hyperparameters: h, noise: [0.2, 0.5, 1.5], schedule: schedule,
                                                  seeds: 21, seed: 9, recordEvery: 7, keepPaths: 5))
    }

    @Test func adamOnDiagonalQuadraticOddDimensionLongRun() throws {
        // d = 7: noise blocks of 288 steps, so 2000 steps cross several refills.
        let schedule = try ScheduleSpec(kind: .constant, steps: 2000, peak: 0.01).build()
        try Self.expectSamePaths(SimulationConfig(landscape: QuadraticLandscape(curvatures: [0.5, 1, 2, 3, 5, 8, 13]),
                                                  optimizer: .adam, noise: [0.7], schedule: schedule, seeds: 19, seed: 4,
                                                  start: [1, -1, 0.5, 0, 2, 0.1, -0.3], recordEvery: 3))
    }

    @Test func gdWithoutNoise() throws {
        let schedule = try ScheduleSpec(kind: .constant, steps: 300, peak: 0.2).build()
        try Self.expectSamePaths(SimulationConfig(landscape: Self.valley([2]), optimizer: .gd, noise: [0],
                                                  schedule: schedule, seeds: 9, seed: 0, start: [0.5, 1]))
    }

    @Test func divergenceInSomeLanesOnly() throws {
        // η·λ = 0.9 × 2.1 = 1.89 < 2: stable on average, but large noise on a power river pushes some seeds
        // to x ≤ −1 (a non-finite river loss) at different steps; the others go on.
        let schedule = try ScheduleSpec(kind: .constant, steps: 400, peak: 0.9).build()
        let config = SimulationConfig(landscape: Self.valley([2.1], profile: "power"), optimizer: .sgd, noise: [0.9],
                                      schedule: schedule, seeds: 30, seed: 2, start: [0.5, 0])
        var scalar = config
        scalar.lanes = false
        #expect(try Simulation.run(scalar).divergence != nil)
        try Self.expectSamePaths(config)
    }
}
