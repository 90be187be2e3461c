import Foundation
import RiverValley

extension CurveRun {
    /// A `river train` run directory: the exact LRs of its config.json schedule, and its losses from
    /// metrics.jsonl. A record with step n was written after n updates; its `val_loss` (measured after
    /// update n−1, i.e. after η_0…η_{n−1}) is the curve's point at step n−1. Without any validation loss
    /// the training losses are used: the loss of record n was measured before update n−1, so it is the
    /// point at step n−2.
    public init(trainRun dir: URL) throws {
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
        try self.init(name: dir.lastPathComponent, lrs: lrs, steps: steps, losses: losses)
    }
}
