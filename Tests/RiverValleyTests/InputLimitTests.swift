import Foundation
import Testing
import RiverValley

/// Inputs that used to crash the CLI (Double→Int traps, overflowing shape products, failed allocations)
/// are typed errors naming the value and the limit; unknown config keys are named with a suggestion; a
/// set of outputs is written all or nothing.
@Suite struct InputLimitTests {
    func message(_ body: () throws -> Void) -> String? {
        do { try body(); return nil } catch { return "\(error)" }
    }

    // MARK: schedules

    @Test func hugeScheduleLengthsAreScheduleErrorsNamingTheValue() throws {
        for (spec, value) in [
            (ScheduleSpec(kind: .wsd, steps: 10, peak: 0.1, decay: 1e308), "1e+308"),
            (ScheduleSpec(kind: .wsd, steps: 10, peak: 0.1, warmup: 1e300), "1e+300"),
            (ScheduleSpec(kind: .wsds, steps: 10, peak: 0.1, cycles: [5], rewarmup: 1e19), "1e+19"),
        ] {
            #expect(throws: ScheduleError.self) { try spec.build() }
            let m = try #require(message { _ = try spec.build() })
            #expect(m.contains(value) && m.contains("at most"), "\(m)")
        }
    }

    @Test func stepCountsAboveTheLimitAreRejected() {
        for steps in [ScheduleSpec.maxSteps + 1, 100_000_000_000, Int.max] {
            let m = message { _ = try ScheduleSpec(kind: .constant, steps: steps, peak: 1).build() }
            #expect(m?.contains("\(steps)") == true && m?.contains("\(ScheduleSpec.maxSteps)") == true)
        }
        // The limit itself is a valid schedule (built lazily: no per-step allocation).
        #expect(throws: Never.self) { _ = try ScheduleSpec(kind: .constant, steps: ScheduleSpec.maxSteps, peak: 1).build() }
        #expect(message { _ = try ScheduleSpec(kind: .wsds, steps: 1_000_000, peak: 1, cycleCount: 500_000).build() }?
            .contains("500000") == true)
    }

    @Test func branchPlanBudgetsAreBounded() {
        let m = message { _ = try BranchPlan(budgets: [10, Int.max], decay: 0.1, convention: .cycle) }
        #expect(m?.contains("\(Int.max)") == true)
        #expect(message { _ = try BranchPlan(budgets: [10, 20], decay: 1e300, convention: .cycle) } != nil)
    }

    @Test func levanterYAMLOverflowsAreErrors() {
        for yaml in ["cycle_length: [1e20]\nnum_train_steps: 100\n", "num_train_steps: .inf\n",
                     "cycles: 1e300\nnum_train_steps: 100\n", "cycle_length: [-5, 10]\nnum_train_steps: 100\n",
                     "cycle_length: 1e20\nnum_train_steps: 100\n", "trainer:\n  num_train_steps: 9223372036854775807\n",
                     "min_lr_ratio: .nan\nnum_train_steps: 100\n"] {
            let m = message { _ = try LevanterScheduleConfig(yaml: yaml).build() }
            #expect(m != nil, "\(yaml) was accepted")
        }
        let m = message { _ = try LevanterScheduleConfig(yaml: "cycle_length: [1e20]\nnum_train_steps: 100\n").build() }
        #expect(m?.contains("cycle_length") == true && m?.contains("1e+20") == true)
    }

    @Test func levanterUnknownKeyNamesPathAndNearestKey() throws {
        let m = try #require(message { _ = try LevanterScheduleConfig(yaml: "optimizer:\n  warmpu: 0.1\n") })
        #expect(m.contains("'optimizer.warmpu'") && m.contains("did you mean 'warmup'"), "\(m)")
        // Levanter's other sections are allowed next to top-level schedule keys.
        #expect(throws: Never.self) {
            _ = try LevanterScheduleConfig(yaml: "warmup: 0.1\ntrainer:\n  num_train_steps: 50\n").build()
        }
    }

    // MARK: unknown keys

    @Test func editDistanceAndNearestKey() {
        #expect(ConfigKeys.editDistance("warmpu", "warmup") == 1)      // a transposition is one edit
        #expect(ConfigKeys.editDistance("batchsize", "batchSize") == 1)
        #expect(ConfigKeys.editDistance("", "abc") == 3 && ConfigKeys.editDistance("kitten", "sitting") == 3)
        #expect(ConfigKeys.nearest(to: "batchsize", in: ["model", "batchSize", "seed"]) == "batchSize")
        #expect(ConfigKeys.nearest(to: "zzzzzz", in: ["model", "batchSize", "seed"]) == nil)
    }

    @Test func unknownKeyErrorNamesThePath() {
        #expect(throws: UnknownKeyError(key: "warmpu", path: "schedule.warmpu", suggestion: "warmup",
                                        allowed: ["warmup", "decay"])) {
            try ConfigKeys.check(["decay", "warmpu"], allowed: ["warmup", "decay"], at: "schedule")
        }
        #expect(throws: Never.self) { try ConfigKeys.check(["decay"], allowed: ["warmup", "decay"], at: "") }
    }

    // MARK: safetensors

    func file(header: String, data: Int) -> Data {
        var h = Array(header.utf8)
        while h.count % 8 != 0 { h.append(0x20) }
        var n = UInt64(h.count).littleEndian
        var d = Data(bytes: &n, count: 8)
        d.append(contentsOf: h)
        d.append(Data(count: data))
        return d
    }

    @Test func overflowingShapeProductIsACorruptHeaderNotATrap() throws {
        // 2³¹ · 2³¹ · 8 bytes = 2⁶⁵ overflows Int; dimensions ≥ 9e15 are not exact JSON integers and are
        // refused as such.
        for (shape, says) in [("[2147483648, 2147483648]", "overflows"), ("[1073741824, 1073741824, 1073741824]", "overflows"),
                              ("[4611686018427387904, 4]", "non-negative integers")] {
            let data = file(header: #"{"W":{"dtype":"F64","shape":\#(shape),"data_offsets":[0,8]}}"#, data: 8)
            #expect(throws: SafeTensorsError.self) { _ = try SafeTensors.parse(data) }
            do { _ = try SafeTensors.parse(data) } catch let e as SafeTensorsError {
                #expect(e.kind == .corruptHeader && e.message.contains(says), "\(e)")
            }
        }
        #expect(SafeTensors.byteCount(shape: [2147483648, 2147483648], dtype: .f64) == nil)
        #expect(SafeTensors.byteCount(shape: [2147483648, 2147483648, 0], dtype: .f64) == 0)
        #expect(SafeTensors.byteCount(shape: [3, 5], dtype: .f32) == 60)
    }

    // MARK: memory budget

    @Test func memoryBudgetRejectsOverflowAndOversizeWithTheLimit() throws {
        #expect(MemoryBudget.product([Int.max, 2]) == nil && MemoryBudget.product([3, 4, 5]) == 60)
        let m = try #require(message { _ = try RandomMatrices.goe(size: Int.max, seed: 0) })
        #expect(m.contains("\(Int.max)") && m.contains("half of physical memory"), "\(m)")
        let n = MemoryBudget.largestSquareMatrix()
        #expect(throws: SizeLimitError.self) { try MemoryBudget.check("x", elements: [n + 1, n + 1], bytesPerElement: 8) }
        #expect(throws: Never.self) { try MemoryBudget.check("x", elements: [n, n], bytesPerElement: 8) }
        #expect(throws: SizeLimitError.self) { try MemoryBudget.check("x", elements: [-1], bytesPerElement: 8) }
    }

    @Test func hugeLandscapeHessianIsRefusedBeforeAllocating() throws {
        let l = try LandscapeCatalog.make("straight-valley", LandscapeParameters(dimension: 100_000))
        let m = message { _ = try l.denseHessian(at: [Double](repeating: 0, count: 100_000)) }
        // 100000² doubles × 4 = 320 GB: more than half of any machine this runs on.
        if Double(MemoryBudget.limitBytes) < 3.2e11 { #expect(m?.contains("100000") == true) }
    }

    // MARK: all-or-nothing outputs

    @Test func outputSetWritesNoneWhenOneDestinationIsMissing() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("outputset-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var outputs = OutputSet()
        outputs.add("a,b\n", to: dir.appendingPathComponent("train.csv"))
        outputs.add("x", to: dir.appendingPathComponent("missing-dir/p.safetensors"))
        #expect(throws: OutputSet.Unwritable.self) { try outputs.commit() }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)

        var same = OutputSet()
        same.add("1", to: dir.appendingPathComponent("a.csv"))
        same.add("2", to: dir.appendingPathComponent("./a.csv"))
        #expect(throws: OutputSet.Unwritable.self) { try same.commit() }

        var ok = OutputSet()
        ok.add("1\n", to: dir.appendingPathComponent("sub/one.csv"))
        ok.add("2\n", to: dir.appendingPathComponent("two.csv"))
        try ok.commit(createDirectories: [dir.appendingPathComponent("sub").path])
        #expect(try String(contentsOf: dir.appendingPathComponent("sub/one.csv"), encoding: .utf8) == "1\n")
        #expect(try String(contentsOf: dir.appendingPathComponent("two.csv"), encoding: .utf8) == "2\n")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["sub", "two.csv"])
    }
}
