import Foundation

/// A loss-curve input error (a bad run file, schedule, fit file or request); the message names the
/// value and what is allowed.
public struct CurveError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// One training run as the loss-curve laws see it: the learning rate η_t of every step t = 0..<T and the
/// observed losses at some steps.
///
/// Conventions (those of the Multi-Power Law authors' code, `thu-yao-01-luo/MultiPowerLaw`): η_t is
/// the LR of step t, and the loss logged at step t is predicted from η_0…η_t — the LR area
/// S1(t) = Σ_{τ=0}^{t} η_τ includes the warmup (so the paper's S1 + S_W is one prefix sum here).
public struct CurveRun: Sendable {
    /// A label (the file name without extension, or the run directory's name).
    public var name: String
    /// η_t for t = 0..<lrs.count.
    public let lrs: [Double]
    /// Steps of the points, strictly increasing, each < lrs.count.
    public let steps: [Int]
    /// The observed loss at each point, nil where the run only gives the LR.
    public let losses: [Double?]
    /// P_t = Σ_{τ=0}^{t} η_τ (prefix sums, so S_k(t) = P_t − P_{k−1}).
    public let prefix: [Double]
    /// The steps where the LR changes (the only ones the Multi-Power Law's loss-drop term sums over).
    public let changes: LRChanges

    public init(name: String, lrs: [Double], steps: [Int], losses: [Double?]) throws {
        guard !lrs.isEmpty else { throw CurveError("run \(name): the schedule has no steps") }
        guard steps.count == losses.count else {
            throw CurveError("run \(name): \(steps.count) steps but \(losses.count) losses")
        }
        for (t, lr) in lrs.enumerated() where !(lr.isFinite && lr >= 0) {
            throw CurveError("run \(name): the learning rate at step \(t) is \(lr); it must be finite and ≥ 0")
        }
        for i in steps.indices {
            guard steps[i] >= 0, steps[i] < lrs.count else {
                throw CurveError("run \(name): a loss at step \(steps[i]) lies outside the schedule's steps 0..<\(lrs.count)")
            }
            if i > 0, steps[i] <= steps[i - 1] {
                throw CurveError("run \(name): steps must increase, but step \(steps[i]) follows \(steps[i - 1])")
            }
            if let l = losses[i], !(l.isFinite && l > 0) {
                throw CurveError("run \(name): the loss at step \(steps[i]) is \(l); a loss must be finite and > 0")
            }
        }
        self.name = name
        self.lrs = lrs
        self.steps = steps
        self.losses = losses
        var p = [Double](repeating: 0, count: lrs.count)
        var s = 0.0
        for t in lrs.indices { s += lrs[t]; p[t] = s }
        prefix = p
        changes = LRChanges(lrs: lrs, prefix: p)
    }

    /// The same run with its learning rates replaced by `lrs` (e.g. exact ones from a schedule).
    public func with(lrs newLRs: [Double]) throws -> CurveRun {
        if let last = steps.last, last >= newLRs.count {
            throw CurveError("run \(name): the schedule covers steps 0..<\(newLRs.count) but the run has a loss at step \(last)")
        }
        return try CurveRun(name: name, lrs: newLRs, steps: steps, losses: losses)
    }

    /// The same run keeping every `stride`-th point (and the last).
    public func thinned(_ stride: Int) -> CurveRun {
        guard stride > 1 else { return self }
        var keep = Array(Swift.stride(from: 0, to: steps.count, by: stride))
        if let last = steps.indices.last, keep.last != last { keep.append(last) }
        return try! CurveRun(name: name, lrs: lrs, steps: keep.map { steps[$0] }, losses: keep.map { losses[$0] })
    }

    /// The points that have a loss: (index into steps, loss).
    public var observed: [(index: Int, loss: Double)] {
        losses.enumerated().compactMap { i, l in l.map { (i, $0) } }
    }

    /// The LR area S1(t) = P_t at every point.
    public var area: [Double] { steps.map { prefix[$0] } }

    /// The largest LR of the schedule (the peak).
    public var peak: Double { lrs.max() ?? 0 }
}

/// Run files: CSV `step,lr,loss` with a header (extra columns ignored; `loss` may be empty on rows that
/// only give the LR, and may be missing altogether in a pure schedule file).
///
/// The per-step LR is linearly interpolated between rows; before the first row it rises linearly from 0
/// at step 0 (a warmup that was not logged). The schedule ends at the last row's step.
public enum CurveRunFile {
    /// Parses run-file text. `name` labels errors.
    public static func parse(_ text: String, name: String) throws -> CurveRun {
        let rows = try parseRows(text, name: name)
        let lrs = interpolate(steps: rows.steps, lrs: rows.lrs)
        // Only rows with a loss are points; LR-only rows just shape the schedule.
        let keep = rows.losses.indices.filter { rows.losses[$0] != nil }
        return try CurveRun(name: name, lrs: lrs, steps: keep.map { rows.steps[$0] }, losses: keep.map { rows.losses[$0] })
    }

    /// The validated rows of run-file text.
    static func parseRows(_ text: String, name: String) throws -> (steps: [Int], lrs: [Double], losses: [Double?]) {
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .map { String($0).trimmingCharacters(in: CharacterSet(charactersIn: "\r")) }
        while let last = lines.last, last.trimmingCharacters(in: .whitespaces).isEmpty { lines.removeLast() }
        guard let headerLine = lines.first else { throw CurveError("\(name): empty file; a run file is CSV with a header step,lr,loss") }
        let header = headerLine.split(separator: ",", omittingEmptySubsequences: false)
            .map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        guard let iStep = header.firstIndex(of: "step"), let iLR = header.firstIndex(of: "lr") else {
            throw CurveError("\(name): the header '\(headerLine)' needs columns step and lr (and loss for observed losses)")
        }
        let iLoss = header.firstIndex(of: "loss")
        var steps: [Int] = [], lrsAt: [Double] = [], losses: [Double?] = []
        for (n, line) in lines.enumerated().dropFirst() {
            let lineNo = n + 1
            let cells = line.split(separator: ",", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count == header.count else {
                throw CurveError("\(name) line \(lineNo): \(cells.count) cells but the header has \(header.count) columns")
            }
            guard let step = Int(cells[iStep]) ?? Double(cells[iStep]).flatMap({ $0 == $0.rounded() && abs($0) < 1e15 ? Int($0) : nil }),
                  step >= 0 else {
                throw CurveError("\(name) line \(lineNo): step '\(cells[iStep])' is not a whole number ≥ 0")
            }
            guard let lr = Double(cells[iLR]), lr.isFinite, lr >= 0 else {
                throw CurveError("\(name) line \(lineNo): lr '\(cells[iLR])' is not a finite number ≥ 0")
            }
            if let last = steps.last, step <= last {
                throw CurveError("\(name) line \(lineNo): steps must increase, but step \(step) follows \(last)")
            }
            var loss: Double? = nil
            if let iLoss, !cells[iLoss].isEmpty {
                guard let l = Double(cells[iLoss]), l.isFinite, l > 0 else {
                    throw CurveError("\(name) line \(lineNo): loss '\(cells[iLoss])' is not a finite number > 0 (leave it empty on rows that only give the LR)")
                }
                loss = l
            }
            steps.append(step); lrsAt.append(lr); losses.append(loss)
        }
        guard !steps.isEmpty else { throw CurveError("\(name): no rows after the header") }
        return (steps, lrsAt, losses)
    }

    /// Reads a run file.
    public static func read(_ url: URL) throws -> CurveRun {
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw CurveError("cannot read run file \(url.path): \(error.localizedDescription)")
        }
        return try parse(text, name: url.deletingPathExtension().lastPathComponent)
    }

    /// η_t for t = 0...steps.last: linear between the rows, linear from (0, 0) to the first row.
    public static func interpolate(steps: [Int], lrs: [Double]) -> [Double] {
        let total = steps.last! + 1
        var out = [Double](repeating: 0, count: total)
        var prevStep = 0, prevLR = 0.0
        if steps[0] == 0 { prevLR = lrs[0] }
        for (s, lr) in zip(steps, lrs) {
            if s == prevStep { out[s] = lr; prevLR = lr; continue }
            let span = Double(s - prevStep)
            for t in prevStep...s { out[t] = prevLR + (lr - prevLR) * Double(t - prevStep) / span }
            prevStep = s; prevLR = lr
        }
        return out
    }

    /// Per-step LRs from a schedule file: a ScheduleSpec JSON (`.json`, exact `Schedule.values`) or a
    /// run file whose rows give the LR (interpolated as above).
    public static func scheduleLRs(_ url: URL) throws -> [Double] {
        if url.pathExtension.lowercased() == "json" {
            let data: Data
            do { data = try Data(contentsOf: url) } catch {
                throw CurveError("cannot read schedule \(url.path): \(error.localizedDescription)")
            }
            let spec: ScheduleSpec
            do { spec = try JSONDecoder().decode(ScheduleSpec.self, from: data) } catch {
                throw CurveError("\(url.path) is not a ScheduleSpec JSON (as in a run's config.json \"schedule\"): \(error)")
            }
            do { return try spec.build().values } catch { throw CurveError("schedule \(url.path): \(error)") }
        }
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw CurveError("cannot read schedule \(url.path): \(error.localizedDescription)")
        }
        let rows = try parseRows(text, name: url.lastPathComponent)
        return interpolate(steps: rows.steps, lrs: rows.lrs)
    }
}
