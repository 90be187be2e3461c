import ArgumentParser
import Foundation
import RiverValley
import Trainer

extension CurveLawKind: ExpressibleByArgument {}
extension CurveOptimizer: ExpressibleByArgument {}

/// Loads the runs `river curve` works on: a run file (CSV step,lr,loss), or a `river train` run
/// directory, optionally with exact LRs from a schedule file.
enum CurveInputs {
    /// A run from a path: a directory is a `river train` run (see `CurveRun(trainRun:)`), anything else a run file.
    static func run(_ path: String, schedule: String?) throws -> CurveRun {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw CurveError("run \(path) does not exist (a run is a CSV step,lr,loss or a `river train` run directory)")
        }
        var run = isDir.boolValue ? try CurveRun(trainRun: URL(fileURLWithPath: path))
                                  : try CurveRunFile.read(URL(fileURLWithPath: path))
        if let schedule {
            run = try run.with(lrs: CurveRunFile.scheduleLRs(URL(fileURLWithPath: schedule)))
        }
        return run
    }

    /// Runs from `--runs` with the matching `--schedule-files` (one per run, in order) if given.
    static func runs(_ list: [String], schedules: [String]?) throws -> [CurveRun] {
        if let schedules, schedules.count != list.count {
            throw ValidationError("--schedule-files has \(schedules.count) files but --runs has \(list.count) runs; give one schedule per run, in the same order")
        }
        return try list.enumerated().map { i, p in try run(p, schedule: schedules?[i]) }
    }

    /// Reads a FIT.json written by `river curve fit`.
    static func fit(_ path: String) throws -> (CurveFitResult, [Double]) {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CurveError("cannot read fit file \(path)")
        }
        let fit: CurveFitResult
        do { fit = try JSONDecoder().decode(CurveFitResult.self, from: data) } catch {
            throw CurveError("\(path) is not a `river curve fit` result (law one of \(CurveLawKind.allCases.map(\.rawValue).joined(separator: ", "))): \(error)")
        }
        return (fit, try fit.vector())
    }

    /// Writes `text` atomically (nothing is left half-written).
    static func write(_ text: String, to path: String) throws {
        do { try AtomicFile.write(text, to: URL(fileURLWithPath: path)) } catch {
            throw CurveError("cannot write \(path): \(error.localizedDescription)")
        }
    }

    static func json<T: Encodable>(_ value: T, pretty: Bool = false) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        // Non-finite numbers as null, as every river JSON (docs/cli.md); keys stay the law's own names.
        let marker = JSONOutput.nonFiniteMarker
        e.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: marker, negativeInfinity: marker, nan: marker)
        return String(decoding: try e.encode(value), as: UTF8.self).replacingOccurrences(of: "\"\(marker)\"", with: "null")
    }
}
