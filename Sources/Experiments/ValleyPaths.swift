import Foundation
import RiverValley

/// Figure (ii): a 2-D curved valley L = −s·x + ½λ(y − a·sin kx)² with contours and SGD paths under a
/// constant LR vs WSD: both bounce across the valley while moving downstream; the WSD decay collapses
/// the iterate onto the river (paper-notes/paper.md §2.1).
public enum ValleyPathsExperiment: Experiment {
    public static let name = "valley-paths"
    public static let summary = "2-D curved valley: contours, the traced river, SGD paths under constant LR vs WSD (paper Fig. 3 idea)"

    public static let outputs = [
        ExperimentOutput("valley_paths.csv", columns: ["schedule", "seed", "step", "lr", "x", "y", "loss", "distance_to_river"],
                         values: ["schedule": ["constant", RunSchedule.wsd.rawValue]]),
        ExperimentOutput("valley_paths_contours.csv", columns: ["x", "y", "loss"]),
        ExperimentOutput("valley_paths_river.csv", columns: ["x", "y_traced", "y_floor"]),
    ]

    public static let params = LandscapeParameters(dimension: 2, hillCurvature: [10], riverSlope: 1, amplitude: 1, wavenumber: 0.5)

    public static func run(_ settings: ExperimentSettings) throws {
        let landscape = try LandscapeCatalog.make("curved-valley", params)
        let steps = 300, peak = 0.05, noise = 3.0
        let pathSeeds = settings.quick ? 3 : 5
        let schedules: [(String, Schedule)] = [
            ("constant", try ScheduleSpec(kind: .constant, steps: steps, peak: peak).build()),
            ("wsd", try ScheduleSpec(kind: .wsd, steps: steps, peak: peak, decay: 0.3, shape: .inv, minRatio: 0.01).build()),
        ]

        // Paths: row step 0 is the start (the river point at x = 0); row t + 1 follows the update with lr(t).
        var paths = CSVTable(outputs[0].columns)
        var xmax = 0.0
        for (name, schedule) in schedules {
            let config = SimulationConfig(landscape: landscape, optimizer: .sgd, noise: [noise], schedule: schedule,
                                          seeds: pathSeeds, seed: settings.seed, keepPaths: pathSeeds)
            let r = try Simulation.run(config)
            if let d = r.divergence { throw SimulationError.diverged(d) }
            for (s, path) in r.paths.enumerated() {
                let start = config.startPoint
                paths.append([.t(name), .i(s), 0, .n(schedule.lr(at: 0)), .n(start[0]), .n(start[1]),
                              .n(landscape.value(at: start)), 0])
                for (k, w) in path.enumerated() {
                    let split = landscape.analyticSplit(at: w)!
                    paths.append([.t(name), .i(s), .i(r.steps[k] + 1), .n(r.lr[k]), .n(w[0]), .n(w[1]),
                                  .n(landscape.value(at: w)), .n(split.distance)])
                    xmax = max(xmax, w[0])
                }
            }
        }
        try settings.write(paths, to: outputs[0].file)

        // Contour grid of L over the region the paths cover.
        let x0 = -1.0, x1 = (xmax + 1).rounded(.up), y0 = -2.5, y1 = 2.5
        let nx = settings.smoke ? 41 : settings.quick ? 161 : 321, ny = settings.smoke ? 21 : settings.quick ? 81 : 161
        var grid = CSVTable(outputs[1].columns)
        for i in 0..<nx {
            let x = x0 + (x1 - x0) * Double(i) / Double(nx - 1)
            for j in 0..<ny {
                let y = y0 + (y1 - y0) * Double(j) / Double(ny - 1)
                grid.append([.n(x), .n(y), .n(landscape.value(at: [x, y]))])
            }
        }
        try settings.write(grid, to: outputs[1].file)

        // The river: the valley floor a·sin(kx) and the river of the definition (numerical tracer).
        let tracer = RiverTracer(landscape)
        let traced = try tracer.trace(from: [x0, 0], arcLength: 1.6 * (x1 - x0), spacing: 0.1)
        var river = CSVTable(outputs[2].columns)
        for p in traced where p[0] <= x1 {
            river.append([.n(p[0]), .n(p[1]), .n(landscape.analyticRiverPoint(x: p[0])![1])])
        }
        try settings.write(river, to: outputs[2].file)
    }
}
