import ArgumentParser
import Foundation
import RiverValley
import Trainer

extension CurveLawKind: ExpressibleByArgument {}

/// Loads the runs `river curve` works on: a run file (CSV step,lr,loss), or a `river train` run
/// directory, optionally with exact LRs from a schedule file.
enum CurveInputs {
    /// A run from a path: a directory is a `river train` run (see `runDirectory`), anything else a run file.
    static func run(_ path: String, schedule: String?) throws -> CurveRun {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw CurveError("run \(path) does not exist (a run is a CSV step,lr,loss or a `river train` run directory)")
        }
        var run = isDir.boolValue ? try runDirectory(URL(fileURLWithPath: path))
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

    /// A `river train` run directory: the exact LRs of its config.json schedule, and its losses from
    /// metrics.jsonl. A record with step n was written after n updates; its `val_loss` (measured after
    /// update n−1, i.e. after η_0…η_{n−1}) is the curve's point at step n−1. Without any validation loss
    /// the training losses are used: the loss of record n was measured before update n−1, so it is the
    /// point at step n−2.
    static func runDirectory(_ dir: URL) throws -> CurveRun {
        let configURL = dir.appendingPathComponent("config.json")
        guard let data = try? Data(contentsOf: configURL) else {
            throw CurveError("\(dir.path) is a directory without config.json: not a `river train` run")
        }
        let config: RunConfig
        do { config = try JSONDecoder().decode(RunConfig.self, from: data) } catch {
            throw CurveError("\(configURL.path) is not a run config: \(error)")
        }
        let lrs = try config.schedule.build().values
        let records = try MetricsRecord.read(dir.appendingPathComponent("metrics.jsonl"))
        let validation = records.filter { $0.valLoss != nil }
        var steps: [Int] = [], losses: [Double?] = []
        if !validation.isEmpty {
            for r in validation where r.step >= 1 && r.step - 1 < lrs.count { steps.append(r.step - 1); losses.append(r.valLoss!) }
        } else {
            for r in records where r.step >= 2 && r.step - 2 < lrs.count { steps.append(r.step - 2); losses.append(r.loss) }
        }
        guard !steps.isEmpty else { throw CurveError("run \(dir.path) has no losses in metrics.jsonl yet") }
        return try CurveRun(name: dir.lastPathComponent, lrs: lrs, steps: steps, losses: losses)
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
