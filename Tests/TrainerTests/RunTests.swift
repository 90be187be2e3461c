import Foundation
import Testing
import RiverValley
import LinearAlgebra
@testable import Trainer

@Suite("Training runs")
struct RunTests {
    @Test("stopping and resuming reproduces the unbroken run bit for bit (metrics and parameters)")
    func resumeIsExact() throws {
        let dir = try RunFixtures.temporaryDirectory()
        let cfg = RunFixtures.config(corpus: try RunFixtures.corpus(in: dir))
        let a = try TrainingRun.create(at: dir.appendingPathComponent("a"), config: cfg)
        let full = try a.train()
        #expect(full.count == 30)
        let b = try TrainingRun.create(at: dir.appendingPathComponent("b"), config: cfg)
        try b.train(stopAfter: 17)              // checkpoints at 10; steps 11…17 are lost
        let b2 = try TrainingRun.open(at: dir.appendingPathComponent("b"))
        try b2.train(stopAfter: 3)              // 11…13 again, no checkpoint
        let b3 = try TrainingRun.open(at: dir.appendingPathComponent("b"))
        try b3.train()
        let ma = try MetricsRecord.read(a.metricsURL), mb = try MetricsRecord.read(b3.metricsURL)
        #expect(ma.count == 30 && mb.count == 30)
        #expect(zip(ma, mb).allSatisfy { $0.sameTraining(as: $1) })
        #expect(Array(a.model.parameters) == Array(b3.model.parameters))
        #expect(a.optimizer.secondMoment == b3.optimizer.secondMoment)
        // Training did something: validation loss fell from ln 256 ≈ 5.55 nats.
        #expect(ma.last!.valLoss! < 4.0)
    }

    @Test("checkpoints record the arithmetic (precision, GEMM library and kernels, threads); a resume from one written under another says so and still continues; the same arithmetic, or an older checkpoint without the record, says nothing")
    func arithmeticRecord() throws {
        let dir = try RunFixtures.temporaryDirectory()
        let cfg = RunFixtures.config(corpus: try RunFixtures.corpus(in: dir))
        let runDir = dir.appendingPathComponent("r")
        let run = try TrainingRun.create(at: runDir, config: cfg)
        try run.train(stopAfter: 12)            // checkpoint at 10
        let here = run.model.arithmetic
        #expect(here.hasPrefix("fp32, GEMMs on OpenBLAS (\(BLAS.coreName) kernels), \(Parallel.workers) thread"), "\(here)")
        let url = run.checkpointURL(step: 10)
        var ck = try Checkpoint.read(from: url)
        #expect(ck.arithmetic == here)

        final class Notes: TrainingProgress {
            var notes: [String] = []
            func started(at step: Int, of total: Int, tokensPerStep: Int) {}
            func stepped(_ record: MetricsRecord) {}
            func finished() {}
            func note(_ message: String) { notes.append(message) }
        }
        // Same arithmetic: no note.
        let same = Notes()
        let r1 = try TrainingRun.open(at: runDir)
        try r1.train(progress: same, stopAfter: 1)
        #expect(r1.arithmeticNote == nil && same.notes.isEmpty)

        // Written under other kernels and thread count: the note names both, and training goes on.
        let other = "fp32, GEMMs on OpenBLAS (Elsewhere kernels), 7 threads"
        ck.arithmetic = other
        try ck.write(to: url, tensors: run.model.tensors)
        let notes = Notes()
        let r2 = try TrainingRun.open(at: runDir)
        let records = try r2.train(progress: notes, stopAfter: 2)
        #expect(records.map(\.step) == [11, 12])
        #expect(notes.notes.count == 1)
        let note = try #require(notes.notes.first)
        #expect(note.contains("step-000010.safetensors") && note.contains(other) && note.contains(here), "\(note)")
        #expect(note.contains("bits will differ from an unbroken run"), "\(note)")
        #expect(r2.arithmeticNote == note)

        // A checkpoint from before the record (no "arithmetic" metadata) resumes silently.
        ck.arithmetic = nil
        try ck.write(to: url, tensors: run.model.tensors)
        #expect(try Checkpoint.read(from: url).arithmetic == nil)
        let quiet = Notes()
        let r3 = try TrainingRun.open(at: runDir)
        try r3.train(progress: quiet, stopAfter: 1)
        #expect(r3.arithmeticNote == nil && quiet.notes.isEmpty)
    }

    @Test("resetOptimizerAt: Adam restarts at the step (moments zeroed), the run resumes bit-exact across the reset, and before it equals the run without")
    func optimizerResetResumes() throws {
        let dir = try RunFixtures.temporaryDirectory()
        var cfg = RunFixtures.config(corpus: try RunFixtures.corpus(in: dir), kind: .constant)
        let plain = try TrainingRun.create(at: dir.appendingPathComponent("plain"), config: cfg)
        let mp = try plain.train()
        cfg.resetOptimizerAt = [15]
        let a = try TrainingRun.create(at: dir.appendingPathComponent("a"), config: cfg)
        let ma = try a.train()
        // Identical through step 15 (the update that starts at 15 is the first after the reset), different after.
        #expect(zip(mp.prefix(15), ma.prefix(15)).allSatisfy { $0.sameTraining(as: $1) })
        #expect(mp[15].loss == ma[15].loss && Array(plain.model.parameters) != Array(a.model.parameters))
        // Interrupted before the reset (checkpoint at 10) and after it (checkpoint at 20): same bits.
        let b = try TrainingRun.create(at: dir.appendingPathComponent("b"), config: cfg)
        try b.train(stopAfter: 14)
        try TrainingRun.open(at: dir.appendingPathComponent("b")).train(stopAfter: 8)
        let b3 = try TrainingRun.open(at: dir.appendingPathComponent("b"))
        try b3.train()
        #expect(zip(ma, try MetricsRecord.read(b3.metricsURL)).allSatisfy { $0.sameTraining(as: $1) })
        #expect(Array(a.model.parameters) == Array(b3.model.parameters))
        // The reset is part of the config; a step outside 1..<steps is refused.
        cfg.resetOptimizerAt = [0]
        #expect(throws: RunError.self) { try cfg.validate() }
        cfg.resetOptimizerAt = [30]
        #expect(throws: RunError.self) { try cfg.validate() }
        // A config without resets is written without the key (older run folders compare equal).
        #expect(!String(decoding: try RunConfig().json(), as: UTF8.self).contains("resetOptimizerAt"))
    }

    @Test("a damaged newest checkpoint stops resume with a clear error; earlier checkpoints stay loadable")
    func damagedCheckpoint() throws {
        let dir = try RunFixtures.temporaryDirectory()
        let cfg = RunFixtures.config(corpus: try RunFixtures.corpus(in: dir))
        let run = try TrainingRun.create(at: dir.appendingPathComponent("r"), config: cfg)
        try run.train()
        #expect(run.checkpointSteps() == [10, 20, 30])
        let last = run.checkpointURL(step: 30)
        let original = try Data(contentsOf: last)
        for damage in ["truncate", "flip"] {
            var bad = original
            if damage == "truncate" { bad = bad.prefix(bad.count - 100) } else { bad[bad.count - 50] ^= 0x01 }
            try bad.write(to: last)
            do {
                try TrainingRun.open(at: dir.appendingPathComponent("r")).restore()
                Issue.record("\(damage): resume accepted a damaged checkpoint")
            } catch let e as RunError {
                #expect(e.message.contains("step-000030.safetensors is damaged"), "\(e)")
                #expect(e.message.contains(damage == "truncate" ? "truncated" : "checksum mismatch"), "\(e)")
                #expect(e.message.contains("Earlier checkpoints are intact (steps 10, 20)"), "\(e)")
            }
            for s in [10, 20] { #expect(try Checkpoint.read(from: run.checkpointURL(step: s)).step == s) }
        }
        // Deleting the damaged file resumes from step 20 and reproduces the same final metrics.
        let before = try MetricsRecord.read(run.metricsURL)
        try FileManager.default.removeItem(at: last)
        let again = try TrainingRun.open(at: dir.appendingPathComponent("r"))
        try again.train()
        let after = try MetricsRecord.read(run.metricsURL)
        #expect(zip(before, after).allSatisfy { $0.sameTraining(as: $1) } && after.count == 30)
    }

    @Test("a NaN/inf loss stops the run with a clear message and keeps the last good checkpoint")
    func nonFiniteStops() throws {
        let dir = try RunFixtures.temporaryDirectory()
        var cfg = RunFixtures.config(corpus: try RunFixtures.corpus(in: dir), steps: 50, kind: .constant, peak: 1e30)
        cfg.schedule.warmup = 0
        cfg.checkpointEvery = 1
        cfg.gradClip = 0
        let run = try TrainingRun.create(at: dir.appendingPathComponent("r"), config: cfg)
        do {
            try run.train()
            Issue.record("training with lr 1e30 finished without a non-finite loss")
        } catch let e as RunError {
            #expect(e.message.contains("training stopped"), "\(e)")
            #expect(e.message.contains("The last good checkpoint is"), "\(e)")
            let steps = run.checkpointSteps()
            #expect(!steps.isEmpty)
            let ck = try Checkpoint.read(from: run.checkpointURL(step: steps.last!))
            let finite = ck.parameters.allSatisfy { $0.isFinite }
            #expect(finite)
            let m = try MetricsRecord.read(run.metricsURL)
            #expect(m.allSatisfy { $0.loss.isFinite } && m.last!.step == steps.last!)
        }
    }

    @Test("bad configs fail up front naming the value: heads, context vs data, missing corpus, vocab, schedule")
    func badConfigs() throws {
        let dir = try RunFixtures.temporaryDirectory()
        let corpus = try RunFixtures.corpus(in: dir)
        func expectFailure(_ cfg: RunConfig, _ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
            let out = dir.appendingPathComponent(UUID().uuidString)
            do {
                _ = try TrainingRun.create(at: out, config: cfg)
                Issue.record("config accepted; expected an error mentioning \(text)", sourceLocation: sourceLocation)
            } catch {
                #expect("\(error)".contains(text), "\(error)", sourceLocation: sourceLocation)
            }
            #expect(!FileManager.default.fileExists(atPath: out.path), "a failed create left a directory", sourceLocation: sourceLocation)
        }
        var c = RunFixtures.config(corpus: corpus); c.model.heads = 3
        expectFailure(c, "heads (3) must divide width (32)")
        let small = dir.appendingPathComponent("small.txt")
        try String(repeating: "abc ", count: 100).write(to: small, atomically: true, encoding: .utf8)
        c = RunFixtures.config(corpus: small.path)
        expectFailure(c, "contextLength 32 is longer than the validation split")
        c = RunFixtures.config(corpus: dir.appendingPathComponent("nope.txt").path)
        expectFailure(c, "not found")
        c = RunFixtures.config(corpus: "kjv")
        let saved = ProcessInfo.processInfo.environment["RIVER_DATA"]
        setenv("RIVER_DATA", dir.appendingPathComponent("no-data").path, 1)
        expectFailure(c, "run scripts/fetch_corpora.sh")
        if let saved { setenv("RIVER_DATA", saved, 1) } else { unsetenv("RIVER_DATA") }
        c = RunFixtures.config(corpus: corpus); c.model.vocabSize = 300
        expectFailure(c, "vocabSize 300 does not match")
        c = RunFixtures.config(corpus: corpus); c.schedule.peak = -1
        expectFailure(c, "schedule")
        c = RunFixtures.config(corpus: corpus); c.batchSize = 0
        expectFailure(c, "batchSize must be at least 1")
        // An existing run is not overwritten.
        let out = dir.appendingPathComponent("exists")
        _ = try TrainingRun.create(at: out, config: RunFixtures.config(corpus: corpus))
        #expect(throws: RunError.self) { try TrainingRun.create(at: out, config: RunFixtures.config(corpus: corpus)) }
        // Partial JSON configs: missing keys take defaults, unknown names are rejected.
        let partial = try JSONDecoder().decode(RunConfig.self, from: Data(#"{"model":"tiny","schedule":{"kind":"wsd","steps":7}}"#.utf8))
        #expect(partial.model == .tiny && partial.schedule.kind == .wsd && partial.schedule.steps == 7 && partial.batchSize == 16)
        #expect(throws: (any Error).self) { try JSONDecoder().decode(RunConfig.self, from: Data(#"{"model":{"widht":3}}"#.utf8)) }
        let roundTrip = try JSONDecoder().decode(RunConfig.self, from: try partial.json())
        #expect(roundTrip == partial)
    }

    @Test("constant main run + WSD decay branch equals one uninterrupted WSD run bit for bit")
    func branchEqualsWSD() throws {
        let dir = try RunFixtures.temporaryDirectory()
        let corpus = try RunFixtures.corpus(in: dir)
        var main = RunFixtures.config(corpus: corpus, steps: 20, kind: .constant)
        main.checkpointAt = [16]
        let mainRun = try TrainingRun.create(at: dir.appendingPathComponent("main"), config: main)
        try mainRun.train()
        var wsd = RunFixtures.config(corpus: corpus, steps: 24, kind: .wsd)
        wsd.schedule.decay = 8
        let direct = try TrainingRun.create(at: dir.appendingPathComponent("wsd"), config: wsd)
        try direct.train()
        var br = wsd
        br.parent = ParentRef(run: dir.appendingPathComponent("main").path, step: 16)
        let branch = try TrainingRun.create(at: dir.appendingPathComponent("branch"), config: br)
        try branch.train()
        let md = try MetricsRecord.read(direct.metricsURL), mb = try MetricsRecord.read(branch.metricsURL)
        #expect(mb.map(\.step) == Array(17...24))
        #expect(zip(md.suffix(8), mb).allSatisfy { $0.sameTraining(as: $1) })
        #expect(Array(direct.model.parameters) == Array(branch.model.parameters))
        #expect(mb.first!.lr == main.schedule.peak && mb.last!.lr < 0.2 * main.schedule.peak)   // decay starts at the fork
        // A branch whose schedule disagrees with the parent's before the fork is refused before anything
        // is written.
        var bad = br
        bad.schedule.peak *= 2
        #expect(throws: RunError.self) { try TrainingRun.create(at: dir.appendingPathComponent("bad"), config: bad) }
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("bad").path))
    }

    @Test("sweep: every schedule runs, results per budget, compute = formulas, rerun is a no-op")
    func sweep() throws {
        let dir = try RunFixtures.temporaryDirectory()
        var base = RunFixtures.config(corpus: try RunFixtures.corpus(in: dir))
        base.evalEvery = 0
        let spec = SweepSpec(base: base, budgets: [20, 40], seeds: [0, 1], decay: 0.2, convention: .cumulative,
                             peak: 3e-3, warmupSteps: 4)
        let sweep = Sweep(directory: dir.appendingPathComponent("sweep"), spec: spec)
        try sweep.run()
        let results = try sweep.results()
        for s in ScheduleFamily.allCases { for b in [20, 40] {
            #expect(results.filter { $0.schedule == s && $0.budget == b }.count == 2, "\(s) \(b)")
        } }
        // WSD: main to 32, branches 16→20 and 32→40: 32 + 4 + 8 = 44 steps. Cosine: 20 + 40.
        let c = try spec.computeSteps()
        #expect(c == [.wsd: 44, .wsds: 40, .cyclicCosine: 40, .cosine: 60])
        let summary = try String(contentsOf: sweep.directory.appendingPathComponent("summary.csv"), encoding: .utf8)
        #expect(summary.split(separator: "\n").count == 1 + 8)
        // WSD-S at its first budget equals the WSD branch at that budget up to the decay: both are
        // WSD with the same decay (cumulative rule), so the losses are identical.
        for seed in [UInt64(0), 1] {
            let a = results.first { $0.schedule == .wsd && $0.budget == 20 && $0.seed == seed }!.valLoss
            let b = results.first { $0.schedule == .wsds && $0.budget == 20 && $0.seed == seed }!.valLoss
            #expect(a == b)
        }
        let before = try Data(contentsOf: sweep.directory.appendingPathComponent("results.csv"))
        try sweep.run()
        #expect(try Data(contentsOf: sweep.directory.appendingPathComponent("results.csv")) == before)
    }

    @Test("sweep with one budget: every family is one run of one cycle (river sweep --budgets 20)")
    func singleBudgetSweep() throws {
        let dir = try RunFixtures.temporaryDirectory()
        var base = RunFixtures.config(corpus: try RunFixtures.corpus(in: dir))
        base.evalEvery = 0
        let spec = SweepSpec(base: base, budgets: [20], seeds: [0], decay: 0.1, convention: .cumulative, peak: 3e-3)
        let runs = try spec.plannedRuns(directory: dir)
        #expect(runs.map(\.schedule) == [.wsdMain, .wsd, .wsds, .cyclicCosine, .cosine])
        for r in runs { try r.config.validate() }
        let sweep = Sweep(directory: dir.appendingPathComponent("sweep"), spec: spec)
        try sweep.run()
        let results = try sweep.results()
        #expect(Set(results.map(\.schedule)) == Set(ScheduleFamily.allCases) && results.allSatisfy { $0.budget == 20 })
        // WSD (main to 18, branch 18→20) and WSD-S with one cycle are the same schedule: identical losses.
        #expect(results.first { $0.schedule == .wsd }!.valLoss == results.first { $0.schedule == .wsds }!.valLoss)
    }

    @Test("a run config's schedule may give warmupSteps (exact steps, as branches write it)")
    func warmupStepsDecodes() throws {
        let cfg = try JSONDecoder().decode(RunConfig.self, from: Data(#"{"schedule": {"kind": "wsd", "steps": 20, "warmupSteps": 1, "decay": 2}}"#.utf8))
        #expect(cfg.schedule.warmupSteps == 1)
        #expect(try cfg.schedule.build().lr(at: 1) == cfg.schedule.peak)
    }
}
