import Foundation
import Testing

/// The release build's target CPU (Package.swift picks it on the build machine) and the start-up check
/// that a binary runs only on a CPU with its target's instructions.
@Suite("release build target")
struct BuildTargetTests {
    /// What Package.swift should have picked on this machine, read from /proc/cpuinfo independently.
    static var expectedTarget: String {
        #if DEBUG
        return "unknown"   // debug builds name no target CPU
        #else
        if let forced = ProcessInfo.processInfo.environment["RIVER_TARGET_CPU"], !forced.isEmpty { return forced }
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let flags = Set(info.split(separator: "\n").first { $0.hasPrefix("flags") }?.split(separator: " ").map(String.init) ?? [])
        let avx512 = ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains)
        return avx512 ? "skylake-avx512" : "haswell"
        #endif
    }

    @Test("the binary names its target CPU — skylake-avx512 where /proc/cpuinfo lists AVX-512 F/CD/BW/DQ/VL, else haswell, unless RIVER_TARGET_CPU says — and starts on the CPU it was built on")
    func targetCPU() throws {
        let r = try RiverCLI.run(["debug-model", "bench", "--preset", "small086M", "--batch-size", "1", "--steps", "1",
                                  "--untimed-steps", "0"])
        #expect(r.status == 0, "\(r.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        #expect(json?["target_cpu"] as? String == Self.expectedTarget, "\(r.stdout)")
    }

    @Test("a CPU without the build's instructions is refused at start with a message naming them and the way out, exit status 2 (simulated with RIVER_TEST_CPU_LACKS)")
    func refusesForeignCPU() throws {
        #if !DEBUG
        let r = try RiverCLI.run(["simulate", "--help"], environment: ["RIVER_TEST_CPU_LACKS": "avx2 fma"])
        #expect(r.status == 2 && r.stdout.isEmpty, "\(r.status) \(r.stdout)")
        #expect(r.stderr.contains("built for target CPU '\(Self.expectedTarget)'") && r.stderr.contains("lacks avx2 fma")
                && r.stderr.contains("RIVER_TARGET_CPU=haswell"), "\(r.stderr)")
        // A name that is only part of a needed one does not count.
        let partial = try RiverCLI.run(["simulate", "--help"], environment: ["RIVER_TEST_CPU_LACKS": "avx fm"])
        #expect(partial.status == 0, "\(partial.stderr)")
        #endif
    }
}
