import Foundation
import Testing
import RiverValley

/// Schedules against published reference values: Levanter's pinned tests
/// (stanford-crfm/levanter tests/test_optimizer_config.py, paper-notes/paper.md §1.5) and the formulas of Hugging Face
/// `get_wsd_schedule` (transformers.optimization), lingua/OLMo-core `inv`.
@Suite struct LevanterPinnedTests {
    static let wsdsYAML = """
    optimizer:
      learning_rate: 1e-3
      warmup: 0.0
      decay: 0.1
      min_lr_ratio: 0.1
      lr_schedule: cosine
      cycles: [300, 700]
    """

    @Test func wsdsDecayWindowsFromLevanterConfig() throws {
        let s = try LevanterScheduleConfig(yaml: Self.wsdsYAML).build(steps: 1000)
        let peak = 1e-3
        #expect(s.decayWindows == [270..<300, 660..<700, 970..<1000])
        #expect(s.lr(at: 0) == peak && s.lr(at: 269) == peak && s.lr(at: 271) < peak)
        #expect(s.lr(at: 300) == peak && s.lr(at: 659) == peak && s.lr(at: 661) < peak)
        #expect(s.lr(at: 701) == peak && s.lr(at: 969) == peak && s.lr(at: 971) < peak)
    }

    @Test func nativeWSDSMatchesLevanterOnThePinnedCase() throws {
        let native = try ScheduleSpec(kind: .wsds, steps: 1000, peak: 1e-3, warmup: 0, decay: 0.1, shape: .cosine,
                                      minRatio: 0.1, cycles: [300, 700]).build()
        let lev = try LevanterScheduleConfig(yaml: Self.wsdsYAML).build(steps: 1000)
        #expect(native.decayWindows == [270..<300, 660..<700, 970..<1000])
        for t in 0..<1000 { #expect(abs(native.lr(at: t) - lev.lr(at: t)) <= 1e-18, "step \(t)") }
    }

    @Test func rewarmupPinnedValues() throws {
        let yaml = """
        learning_rate: 1e-2
        warmup: 0.2
        min_lr_ratio: 0.2
        lr_schedule: linear
        cycles: 2
        rewarmup: 0.05
        """
        let s = try LevanterScheduleConfig(yaml: yaml).build(steps: 1000)
        #expect(s.lr(at: 0) == 0)
        #expect(abs(s.lr(at: 100) - 1e-2) < 1e-15)
        #expect(abs(s.lr(at: 300) - 6e-3) < 1e-15)
        #expect(abs(s.lr(at: 500) - 2e-3) < 1e-15)
        #expect(abs(s.lr(at: 525) - 1e-2) < 1e-15)
        #expect(abs(s.lr(at: 999) - 2e-3) < 2e-5)   // one step short of the floor: 2e-3 + 8e-3/475
    }

    @Test func levanterInvUsesMaxKOne() throws {
        let yaml = "learning_rate: 1.0\nwarmup: 0\ndecay: 100\nmin_lr_ratio: 0.1\nlr_schedule: inv\n"
        let s = try LevanterScheduleConfig(yaml: yaml).build(steps: 1000)
        // Decay starts at 900; Levanter evaluates k = max(k, 1), so step 900 is already 1/(9/100+1).
        #expect(abs(s.lr(at: 900) - 1 / (9.0 / 100 + 1)) < 1e-15)
        #expect(abs(s.lr(at: 901) - 1 / (9.0 / 100 + 1)) < 1e-15)
        #expect(abs(s.lr(at: 950) - 1 / (9.0 * 50 / 100 + 1)) < 1e-15)
        // The native inv (lingua / OLMo-core) starts the decay exactly at the peak.
        let native = try ScheduleSpec(kind: .wsd, steps: 1000, peak: 1, decay: 100, shape: .inv).build()
        #expect(native.lr(at: 900) == 1)
        #expect(abs(native.lr(at: 950) - s.lr(at: 950)) < 1e-15)
    }

    @Test func cycleLengthKey() throws {
        let yaml = "learning_rate: 1.0\nwarmup: 0\ndecay: 0.1\ncycle_length: 250\nlr_schedule: linear\n"
        let s = try LevanterScheduleConfig(yaml: yaml).build(steps: 1000)
        #expect(s.decayWindows == [225..<250, 475..<500, 725..<750, 975..<1000])
    }

    @Test func badLevanterKeysAreRejected() {
        #expect(throws: ScheduleError.self) { try LevanterScheduleConfig(yaml: "learning_rat: 1\n") }
        #expect(throws: ScheduleError.self) { try LevanterScheduleConfig(yaml: "lr_schedule: power\n").build(steps: 10) }
        #expect(throws: ScheduleError.self) {
            try LevanterScheduleConfig(yaml: "cycles: 2\ncycle_length: 100\n").build(steps: 1000)
        }
    }
}

@Suite struct DecayShapeTests {
    /// T = 100, no warmup, D = 20, r = 0.1, peak 2: the decay phase of HF `get_wsd_schedule`,
    /// factor r + (1−r)·f(p) with p = k/D (values worked by hand from the published formulas).
    @Test func shapesMatchHuggingFaceFormulas() throws {
        func lr(_ shape: DecayShape, _ step: Int) throws -> Double {
            try ScheduleSpec(kind: .wsd, steps: 100, peak: 2, decay: 20, shape: shape, minRatio: 0.1).build().lr(at: step)
        }
        for shape in [DecayShape.linear, .cosine, .oneSqrt] {
            #expect(try lr(shape, 79) == 2)
            #expect(try lr(shape, 80) == 2)           // p = 0: still the peak
        }
        // p = 0.25
        #expect(abs(try lr(.linear, 85) - 2 * 0.775) < 1e-15)
        #expect(abs(try lr(.cosine, 85) - 2 * (0.1 + 0.9 * 0.8535533905932737)) < 1e-15)
        #expect(abs(try lr(.oneSqrt, 85) - 2 * 0.55) < 1e-15)
        // p = 0.95, the last step
        #expect(abs(try lr(.linear, 99) - 2 * (0.1 + 0.9 * 0.05)) < 1e-15)
        #expect(abs(try lr(.oneSqrt, 99) - 2 * (0.1 + 0.9 * (1 - 0.95.squareRoot()))) < 1e-15)
        // inv (lingua/OLMo-core) and geometric exp.
        #expect(abs(try lr(.inv, 85) - 2 / (1 + 9 * 0.25)) < 1e-15)
        #expect(abs(try lr(.exp, 85) - 2 * pow(0.1, 0.25)) < 1e-15)
    }

    /// Mean LR over the decay window as a fraction of the peak, r = 0.1 (paper-notes/paper.md §1.3, derivation):
    /// linear/cosine 0.55, 1-sqrt 0.40, geometric (1−r)/ln(1/r), inv ln(1/r)/(1/r−1). A left Riemann sum
    /// over D = 100000 steps is within 1e-4 of the integral.
    @Test func meanDecayLR() throws {
        let r = 0.1
        let expected: [DecayShape: Double] = [.linear: 0.55, .cosine: 0.55, .oneSqrt: 0.1 + 0.9 / 3,
                                              .exp: (1 - r) / log(1 / r), .inv: log(1 / r) / (1 / r - 1)]
        for (shape, mean) in expected {
            let d = 100_000
            let s = try ScheduleSpec(kind: .wsd, steps: d, peak: 1, decay: 1, shape: shape, minRatio: r).build()
            let avg = s.cumulativeLR(upTo: d) / Double(d)
            #expect(abs(avg - mean) < 1e-4, "\(shape): \(avg) vs \(mean)")
        }
    }
}

@Suite struct ScheduleKindTests {
    @Test func warmupIsLinearFromZero() throws {
        let s = try ScheduleSpec(kind: .constant, steps: 100, peak: 1, warmup: 10).build()
        #expect(s.lr(at: 0) == 0 && abs(s.lr(at: 5) - 0.5) < 1e-15 && s.lr(at: 10) == 1 && s.lr(at: 99) == 1)
    }

    @Test func cosineReachesTheFloorAtTheEnd() throws {
        let s = try ScheduleSpec(kind: .cosine, steps: 110, peak: 1, warmup: 10, minRatio: 0.1).build()
        #expect(s.lr(at: 10) == 1)
        #expect(abs(s.lr(at: 60) - 0.55) < 1e-15)           // halfway through the cosine
        #expect(abs(s.lr(at: 110) - 0.1) < 1e-15)           // the floor, one step past the run
    }

    @Test func cyclicCosineRestartsAtThePeak() throws {
        let s = try ScheduleSpec(kind: .cyclicCosine, steps: 300, peak: 1, minRatio: 0.1, cycles: [100, 200]).build()
        for c in [0, 100, 200] { #expect(s.lr(at: c) == 1) }
        #expect(abs(s.lr(at: 150) - 0.55) < 1e-15)
        #expect(s.lr(at: 199) < 0.101)
    }

    @Test func wsdsConventions() throws {
        let cum = try ScheduleSpec(kind: .wsds, steps: 4000, peak: 1, decay: 0.1, cycles: [1000, 2000],
                                   decayOf: .cumulative).build()
        #expect(cum.decayWindows == [900..<1000, 1800..<2000, 3600..<4000])
        let cyc = try ScheduleSpec(kind: .wsds, steps: 4000, peak: 1, decay: 0.1, cycles: [1000, 2000],
                                   decayOf: .cycle).build()
        #expect(cyc.decayWindows == [900..<1000, 1900..<2000, 3800..<4000])
        // Straight back to the peak after each decay.
        #expect(cum.lr(at: 1000) == 1 && cum.lr(at: 2000) == 1)
    }

    @Test func rewarmupRampsFromTheFloor() throws {
        let s = try ScheduleSpec(kind: .wsds, steps: 200, peak: 1, decay: 0.1, shape: .linear, minRatio: 0.2,
                                 cycles: [100], rewarmup: 10).build()
        #expect(abs(s.lr(at: 100) - 0.2) < 1e-15 && abs(s.lr(at: 105) - 0.6) < 1e-15 && s.lr(at: 110) == 1)
    }

    @Test func cycleCount() throws {
        let s = try ScheduleSpec(kind: .wsds, steps: 1000, peak: 1, decay: 0.1, cycleCount: 4).build()
        #expect(s.decayWindows == [225..<250, 475..<500, 725..<750, 975..<1000])
    }

    @Test func pureFunctionOfTheStep() throws {
        let spec = ScheduleSpec(kind: .wsds, steps: 500, peak: 3e-4, warmup: 20, decay: 0.2, cycles: [100, 250])
        let a = try spec.build(), b = try spec.build()
        let forward = a.values
        let backward = (0..<500).reversed().map { b.lr(at: $0) }.reversed()
        #expect(forward == Array(backward))
        #expect(abs(a.cumulativeLR(upTo: 500) - forward.reduce(0, +)) < 1e-12)
    }
}

@Suite struct ScheduleValidationTests {
    func message(_ spec: ScheduleSpec) -> String {
        do { _ = try spec.build(); return "" } catch { return "\(error)" }
    }

    @Test func badInputNamesTheValue() {
        #expect(message(ScheduleSpec(kind: .wsd, steps: 100, peak: -1)).contains("-1"))
        #expect(message(ScheduleSpec(kind: .wsd, steps: 100, peak: .nan)).contains("nan"))
        #expect(message(ScheduleSpec(kind: .wsd, steps: 100, peak: 1, decay: 1.5)).contains("1.5"))
        #expect(message(ScheduleSpec(kind: .wsds, steps: 100, peak: 1, cycles: [50, 40])).contains("40"))
        #expect(message(ScheduleSpec(kind: .wsds, steps: 100, peak: 1, cycles: [150])).contains("150"))
        #expect(message(ScheduleSpec(kind: .wsd, steps: 100, peak: 1, warmup: 60, decay: 50)).contains("exceed"))
        #expect(message(ScheduleSpec(kind: .wsd, steps: 0, peak: 1)).contains("steps = 0"))
        #expect(message(ScheduleSpec(kind: .wsd, steps: 10, peak: 1, minRatio: 1.5)).contains("1.5"))
        #expect(message(ScheduleSpec(kind: .wsd, steps: 10, peak: 1, minRatio: 0)).contains("inv"))
        #expect(message(ScheduleSpec(kind: .cosine, steps: 10, peak: 1, cycles: [5])).contains("cycles"))
    }
}

@Suite struct BranchPlanTests {
    /// Budgets 50/100/200 with 10% decays: WSD spends 200 + 15 (discarded branches), WSD-S exactly 200
    /// (paper-notes/paper.md §1.4, in units of B tokens).
    @Test func computeAccounting() throws {
        let plan = try BranchPlan(budgets: [50, 100, 200], decay: 0.1, convention: .cumulative)
        #expect(plan.wsdCompute == 215 && plan.wsdsCompute == 200)
        #expect(plan.wsdBranches.map(\.forkStep) == [45, 90, 180])
        #expect(plan.wsdsDecays.map(\.decaySteps) == [5, 10, 20])
        let perCycle = try BranchPlan(budgets: [50, 100, 200], decay: 0.1, convention: .cycle)
        #expect(perCycle.wsdsDecays.map(\.decaySteps) == [5, 5, 10])
        let spec = plan.wsdsSpec(peak: 1, decay: 0.1, convention: .cumulative)
        #expect(try spec.build().decayWindows == [45..<50, 90..<100, 180..<200])
    }

    @Test func badBudgets() {
        #expect(throws: ScheduleError.self) { try BranchPlan(budgets: [100, 50], decay: 0.1, convention: .cycle) }
        #expect(throws: ScheduleError.self) { try BranchPlan(budgets: [], decay: 0.1, convention: .cycle) }
    }
}
