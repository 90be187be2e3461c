import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A progress bar on stderr: step, loss, lr, tokens/s and ETA. Redrawn in place (at most 5 times a
/// second) on a terminal; otherwise one line per ~10% of the run.
public final class ProgressBar: TrainingProgress {
    private let label: String
    private let isTTY = isatty(2) != 0
    private var start = Date()
    private var lastDraw = Date.distantPast
    private var firstStep = 0
    private var total = 1
    private var tokensPerStep = 0
    private var lastDecile = -1
    private var lastVal: Double?

    public init(label: String = "train") { self.label = label }

    public func started(at step: Int, of total: Int, tokensPerStep: Int) {
        start = Date(); firstStep = step; self.total = max(total, 1); self.tokensPerStep = tokensPerStep
        lastDecile = step * 10 / self.total
    }

    public func stepped(_ r: MetricsRecord) {
        if let v = r.valLoss { lastVal = v }
        let now = Date()
        let decile = r.step * 10 / total
        let done = r.step == total
        if isTTY ? (now.timeIntervalSince(lastDraw) < 0.2 && !done) : (decile == lastDecile && !done) { return }
        lastDraw = now; lastDecile = decile
        let elapsed = now.timeIntervalSince(start)
        let stepsDone = r.step - firstStep
        let rate = elapsed > 0 ? Double(stepsDone * tokensPerStep) / elapsed : 0
        let eta = stepsDone > 0 ? elapsed / Double(stepsDone) * Double(total - r.step) : 0
        let width = 24
        let filled = min(width, r.step * width / total)
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        var line = "\(label) [\(bar)] \(r.step)/\(total) loss \(fmt(r.loss, 4))"
        if let v = lastVal { line += " val \(fmt(v, 4))" }
        line += " lr \(String(format: "%.2e", r.lr)) \(Int(rate)) tok/s ETA \(Self.duration(eta))"
        FileHandle.standardError.write(Data(((isTTY ? "\r\u{1B}[K" : "") + line + (isTTY ? "" : "\n")).utf8))
    }

    public func note(_ message: String) {
        FileHandle.standardError.write(Data("note: \(message)\n".utf8))
    }

    public func finished() {
        if isTTY { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    private func fmt(_ x: Double, _ d: Int) -> String { String(format: "%.\(d)f", x) }

    static func duration(_ s: Double) -> String {
        guard s.isFinite else { return "?" }
        let t = Int(s.rounded())
        if t >= 3600 { return "\(t / 3600)h\(String(format: "%02d", t % 3600 / 60))m" }
        if t >= 60 { return "\(t / 60)m\(String(format: "%02d", t % 60))s" }
        return "\(t)s"
    }
}
