import Foundation
import Testing
import RiverValley

/// The fork arithmetic of WSD decay branches (``DecayBranch``) against brute force and the built schedule,
/// and branch schedules that keep the parent's warmup in whole steps.
@Suite struct DecayBranchTests {
    static let fractions = [0.05, 0.1, 0.15, 0.2, 0.25, 1.0 / 3, 0.5, 0.9]

    /// D = ⌊f·B⌋ and F = B − D, checked against exact rational arithmetic (f = p/q, ⌊pB/q⌋ in integers)
    /// and against the decay window of the built WSD schedule (an independent route: the segments).
    @Test func forkStepMatchesIntegerArithmeticAndTheSchedule() throws {
        for (p, q) in [(1, 20), (1, 10), (1, 5), (1, 4), (1, 2), (9, 10)] {
            let f = Double(p) / Double(q)
            for b in [1, 2, 7, 19, 20, 99, 100, 101, 999, 1000, 4000, 12000] {
                let branch = try DecayBranch(budget: b, decay: f)
                #expect(branch.decaySteps == p * b / q, "f = \(p)/\(q), B = \(b)")
                #expect(branch.forkStep == b - p * b / q)
                let built = try ScheduleSpec(kind: .wsd, steps: b, peak: 1, decay: f).build()
                #expect(built.decayWindows.first?.lowerBound ?? b == branch.forkStep, "f = \(f), B = \(b)")
            }
        }
        let steps = try DecayBranch(budget: 1000, decay: 100)
        #expect(steps.decaySteps == 100 && steps.forkStep == 900)
    }

    /// forking(at:) returns the largest budget whose fork is F, found here by brute force over B.
    @Test func forkingIsTheLargestBudgetWithThatFork() throws {
        for f in Self.fractions where f < 1 {
            for fork in 1...400 {
                let branch = try? DecayBranch.forking(at: fork, decay: f)
                let candidates = (fork...(fork * 20 + 20)).filter { $0 - Int(f * Double($0)) == fork }
                let expected = candidates.last.flatMap { b in b - fork >= 1 ? b : nil }
                #expect(branch?.budget == expected, "f = \(f), fork = \(fork)")
                if let branch { #expect(branch.forkStep == fork && branch.decaySteps >= 1) }
            }
        }
        #expect(try DecayBranch.forking(at: 900, decay: 0.1).budget == 1000)
        #expect(try DecayBranch.forking(at: 900, decay: 100).budget == 1000)
        #expect(throws: ScheduleError.self) { try DecayBranch.forking(at: 900, decay: 1.0) }
        #expect(throws: ScheduleError.self) { try DecayBranch.forking(at: 0, decay: 0.1) }
        #expect(throws: ScheduleError.self) { try DecayBranch.forking(at: 10, decay: .nan) }
        #expect(throws: ScheduleError.self) { try DecayBranch(budget: 10, decay: 20) }
    }

    /// The `river branch` bug: a parent of 20 steps with warmup 0.05 warms up for ⌊0.05·20⌋ = 1 step; its
    /// branch must too (not read "1" as the fraction 1.0 of the branch) and equal the parent before the fork.
    @Test func branchKeepsAFractionalParentWarmupInSteps() throws {
        let parent = ScheduleSpec(kind: .constant, steps: 20, peak: 0.5, warmup: 0.05)
        #expect(try parent.warmupStepCount() == 1)
        let branch = try DecayBranch(budget: 20, decay: 2)
        let spec = try branch.schedule(continuing: parent, shape: .inv, minRatio: 0.1)
        #expect(spec.warmupSteps == 1 && spec.warmup == 0)
        let a = try parent.build(), b = try spec.build()
        for s in 0..<branch.forkStep { #expect(a.lr(at: s) == b.lr(at: s), "step \(s)") }
        #expect(b.lr(at: 0) == 0 && b.lr(at: 1) == 0.5)
        #expect(b.decayWindows == [18..<20])
        // A longer branch from a parent with a fractional warmup of a longer run: 0.1·300 = 30 steps.
        let long = ScheduleSpec(kind: .constant, steps: 300, peak: 1, warmup: 0.1)
        let s2 = try DecayBranch(budget: 1000, decay: 0.1).schedule(continuing: long, shape: .linear, minRatio: 0)
        #expect(s2.warmupSteps == 30)
        let b2 = try s2.build(), a2 = try long.build()
        for s in 0..<300 { #expect(a2.lr(at: s) == b2.lr(at: s)) }
    }

    @Test func warmupStepsIsExactAndExclusive() throws {
        let one = try ScheduleSpec(kind: .wsd, steps: 10, peak: 1, decay: 2, warmupSteps: 1).build()
        #expect(one.lr(at: 0) == 0 && one.lr(at: 1) == 1)
        #expect(throws: ScheduleError.self) { try ScheduleSpec(kind: .wsd, steps: 10, peak: 1, warmup: 0.5, warmupSteps: 1).build() }
        #expect(throws: ScheduleError.self) { try ScheduleSpec(kind: .wsd, steps: 10, peak: 1, warmupSteps: -1).build() }
        // Codable: absent in old files (nil), round-trips when set.
        let old = try JSONDecoder().decode(ScheduleSpec.self, from: Data(#"{"kind":"wsd","steps":10,"peak":1,"warmup":0,"shape":"inv","minRatio":0.1,"rewarmup":0,"decayOf":"cycle"}"#.utf8))
        #expect(old.warmupSteps == nil)
        let spec = ScheduleSpec(kind: .constant, steps: 10, peak: 1, warmupSteps: 1)
        #expect(try JSONDecoder().decode(ScheduleSpec.self, from: JSONEncoder().encode(spec)) == spec)
    }

    /// One budget is one cycle: the plan and its WSD-S schedule work (`river sweep --budgets 20`).
    @Test func singleBudgetPlan() throws {
        let plan = try BranchPlan(budgets: [20], decay: 0.1, convention: .cumulative)
        #expect(plan.wsdBranches.map(\.forkStep) == [18] && plan.wsdMainSteps == 18 && plan.wsdCompute == 20)
        let wsds = try plan.wsdsSpec(peak: 1, decay: 0.1, convention: .cumulative).build()
        #expect(wsds.decayWindows == [18..<20])
    }
}

/// The one CSV writer.
@Suite struct CSVTableTests {
    @Test func formatsQuotesAndComments() {
        var t = CSVTable(["name", "value"])
        t.append([.t("a,b"), .n(3)])
        t.append([.t("say \"hi\""), .n(0.25)])
        t.append([.t("x"), .n(.nan)])
        t.append([.t("y"), .n(nil)])
        t.comments = ["total 4"]
        #expect(t.text == "name,value\n\"a,b\",3\n\"say \"\"hi\"\"\",0.25\nx,nan\ny,\n# total 4\n")
        let cols = CSVTable(columns: [("step", [0, 1]), ("lr", [0.5, -Double.infinity])])
        #expect(cols.text == "step,lr\n0,0.5\n1,-inf\n")
    }

    /// A table large enough to be formatted on every core (3001 rows) is, byte for byte, the rows
    /// formatted one by one in order; rows appended afterwards and comments follow it.
    @Test func parallelFormattingKeepsRowOrder() throws {
        let n = 3001
        let a = (0..<n).map { Double($0) }, b = (0..<n).map { 1 / Double($0 + 3) }
        let c = (0..<n).map { $0 % 97 == 0 ? Double.nan : -Double($0) * 1e-7 }
        var t = CSVTable(columns: [("step", a), ("x", b), ("y", c)])
        t.append([.n(7), .n(0.5), .t("z")])
        t.comments = ["end"]
        var expected = "step,x,y\n"
        for r in 0..<n {
            expected += "\(CSVTable.format(a[r])),\(CSVTable.format(b[r])),\(CSVTable.format(c[r]))\n"
        }
        expected += "7,0.5,z\n# end\n"
        let same = t.text == expected
        #expect(same)
        // The file is written from the row blocks, not from `text`: the same bytes.
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("river-csv-\(getpid()).csv")
        defer { try? FileManager.default.removeItem(at: url) }
        try t.write(to: url)
        #expect(try Data(contentsOf: url) == Data(expected.utf8))
        var empty = CSVTable(["a", "b"])
        #expect(empty.text == "a,b\n")
        empty.comments = ["none"]
        try empty.write(to: url)
        #expect(try String(contentsOf: url, encoding: .utf8) == "a,b\n# none\n")
    }
}
