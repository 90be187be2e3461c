import Foundation
import RiverValley

/// A fork that does not fit the decay arithmetic (``DecayBranch``): the branch of that budget and decay
/// would fork at another step, or the decay leaves no step. The CLI reports it as a usage error.
public struct BranchForkError: Error, CustomStringConvertible, LocalizedError {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
    public var errorDescription: String? { message }
}

/// A WSD decay branch of a run: the one set-up behind `river branch`, `river analyze decay-probe` and the
/// experiments that fork decays (paper-notes/paper.md §1.2).
///
/// The branch is a new run directory whose schedule is WSD over the budget B (``DecayBranch``, the one
/// fork formula F = B − D): it equals the parent's LR before the fork (checked when the run is created),
/// then decays over D steps with `shape` to `minRatio`·peak. It starts from the parent's checkpoint at F
/// (parameters and optimizer state) and sees the batches the parent would have seen.
public struct BranchRequest: Sendable, Equatable {
    /// The parent run directory (a constant-LR main run).
    public var parent: URL
    /// The fork step F: the parent's checkpoint the branch starts from.
    public var step: Int
    /// The branch's budget B; nil: the largest budget whose fork is F (``DecayBranch/forking(at:decay:)``).
    public var budget: Int?
    /// Decay length: a fraction (≤ 1) of the budget or whole steps (> 1).
    public var decay: Double
    public var shape: DecayShape
    public var minRatio: Double

    public init(parent: URL, step: Int, budget: Int? = nil, decay: Double = ScheduleSpec.defaultDecayFraction,
                shape: DecayShape = .inv, minRatio: Double = 0.1) {
        self.parent = parent; self.step = step; self.budget = budget
        self.decay = decay; self.shape = shape; self.minRatio = minRatio
    }

    /// The fork arithmetic; a ``BranchForkError`` unless the branch forks exactly at ``step``.
    public func decayBranch() throws -> DecayBranch {
        let branch: DecayBranch
        do { branch = try budget.map { try DecayBranch(budget: $0, decay: decay) } ?? DecayBranch.forking(at: step, decay: decay) }
        catch { throw BranchForkError("--step \(step), --budget \(budget.map(String.init) ?? "default"), --decay \(decay): \(error)") }
        guard branch.forkStep == step else {
            throw BranchForkError("a WSD branch of budget \(branch.budget) with decay \(decay) (\(branch.decaySteps) steps) forks at step \(branch.forkStep), not \(step); pass --budget or --decay so that budget - decay steps = \(step)")
        }
        return branch
    }

    /// The parent's checkpoint file at the fork step (a ``RunError`` naming the steps it has if missing).
    public func parentCheckpoint() throws -> URL {
        let checkpoints = parent.appendingPathComponent("checkpoints")
        let url = checkpoints.appendingPathComponent(Checkpoint.fileName(step: step))
        guard FileManager.default.fileExists(atPath: url.path) else {
            let have = ((try? FileManager.default.contentsOfDirectory(atPath: checkpoints.path)) ?? [])
                .compactMap(Checkpoint.step(fromFileName:)).sorted().map(String.init).joined(separator: ", ")
            throw RunError("parent run \(parent.path) has no checkpoint at step \(step) (it has: \(have.isEmpty ? "none" : have))")
        }
        return url
    }

    /// The branch's run config: the parent's config with the branch schedule, the parent reference,
    /// validation at the budget and a checkpoint at the end. `checkpointEvery` nil keeps the parent's
    /// rolling checkpoints (`river branch`); a value k keeps a checkpoint every k steps of the branch, all
    /// of them (for analyses along the decay).
    public func config(checkpointEvery: Int? = nil) throws -> RunConfig {
        let parentConfig = try RunConfig.load(parent.appendingPathComponent("config.json"))
        _ = try parentCheckpoint()
        let branch = try decayBranch()
        var cfg = parentConfig
        // The branch schedule (with the parent's warmup in whole steps) comes from DecayBranch, the one
        // source of truth for WSD branches.
        cfg.schedule = try branch.schedule(continuing: parentConfig.schedule, shape: shape, minRatio: minRatio)
        cfg.parent = ParentRef(run: parent.path, step: step)
        cfg.evalAt = [branch.budget]
        cfg.checkpointAt = []
        if let k = checkpointEvery {
            guard k >= 1 else { throw RunError("checkpointEvery must be at least 1, got \(k)") }
            cfg.checkpointEvery = k
            cfg.keepLast = branch.budget / k + 1
        }
        return cfg
    }

    /// Creates the branch run at `directory` (which must not hold a run) — what `river branch` does.
    public func create(at directory: URL, checkpointEvery: Int? = nil) throws -> TrainingRun {
        try TrainingRun.create(at: directory, config: try config(checkpointEvery: checkpointEvery))
    }

    /// Trains the branch at `directory` to its budget: creates it if the directory holds no run, resumes
    /// it if it holds this very branch unfinished, leaves it as it is if finished, and throws — with
    /// nothing touched — if it holds another run. Rerunning a probe or an experiment therefore never
    /// loses a branch. Returns the branch's config.
    @discardableResult
    public func train(at directory: URL, checkpointEvery: Int? = nil, progress: TrainingProgress? = nil) throws -> RunConfig {
        let cfg = try config(checkpointEvery: checkpointEvery)
        let training: TrainingRun
        if try existingBranch(at: directory, config: cfg) {
            let last = directory.appendingPathComponent("checkpoints").appendingPathComponent(Checkpoint.fileName(step: cfg.steps))
            if FileManager.default.fileExists(atPath: last.path) { return cfg }
            training = try TrainingRun.open(at: directory)
        } else {
            training = try TrainingRun.create(at: directory, config: cfg)
        }
        try training.train(progress: progress)
        return cfg
    }

    /// Checks, without writing anything, that ``train(at:checkpointEvery:progress:)`` can start: the fork,
    /// the parent checkpoint, and no other run at `directory`.
    public func checkTarget(_ directory: URL, checkpointEvery: Int? = nil) throws {
        _ = try existingBranch(at: directory, config: try config(checkpointEvery: checkpointEvery))
    }

    /// Whether `directory` holds this branch already (false: no run there); another run is an error.
    private func existingBranch(at directory: URL, config cfg: RunConfig) throws -> Bool {
        let url = directory.appendingPathComponent("config.json")
        guard FileManager.default.fileExists(atPath: url.path) else { return false }
        let existing = try RunConfig.load(url)
        guard existing == cfg else {
            throw RunError("\(directory.path) already holds a different run (its config.json is not this branch's: parent \(existing.parent.map { "\($0.run) at step \($0.step)" } ?? "none"), \(existing.steps) steps); choose another --out or remove it")
        }
        return true
    }
}
