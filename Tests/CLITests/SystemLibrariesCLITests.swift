import Foundation
import Testing

/// `river` opens OpenBLAS, LAPACKE and GSL on first use (Sources/CSystemLibraries): a command that needs
/// none of them does not load them, and one that does gets OpenBLAS's fast kernels from any shell.
@Suite struct SystemLibrariesCLITests {
    /// The shared objects the dynamic loader opened for a run (glibc's LD_DEBUG=files trace on stderr).
    static func loadedLibraries(_ r: RiverCLI.Result) -> Set<String> {
        Set(r.stderr.split(separator: "\n").compactMap { line -> String? in
            guard let f = line.range(of: "file="), line.contains("generating link map") else { return nil }
            let name = line[f.upperBound...].prefix { !" \t[".contains($0) }
            return String(name.split(separator: "/").last ?? "")
        })
    }

    static let systemLibraries = ["libopenblas", "liblapacke", "liblapack.", "libgsl", "libgfortran"]

    /// `river simulate` on a straight valley (its top curvature comes from the diagonal Hessian without
    /// LAPACK) and `river schedule` load none of the C libraries; the table is still written.
    @Test func commandsWithoutLinearAlgebraLoadNone() throws {
        let dir = try RiverCLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("sim.csv")
        let sim = try RiverCLI.run(["simulate", "--landscape", "straight-valley", "--dim", "4", "--steps", "50", "--peak", "0.1",
                                    "--seed-count", "3", "--out", out.path], environment: ["LD_DEBUG": "files"])
        #expect(sim.status == 0, "\(sim.stderr.suffix(2000))")
        #expect(FileManager.default.fileExists(atPath: out.path))
        let loaded = Self.loadedLibraries(sim)
        #expect(loaded.contains { $0.hasPrefix("libc.so") }, "the LD_DEBUG trace was not read: \(loaded)")
        for lib in Self.systemLibraries { #expect(!loaded.contains { $0.hasPrefix(lib) }, "simulate loaded \(lib): \(loaded)") }
        let help = try RiverCLI.run(["schedule", "--help"], environment: ["LD_DEBUG": "files"])
        for lib in Self.systemLibraries { #expect(!Self.loadedLibraries(help).contains { $0.hasPrefix(lib) }) }
    }

    /// With OPENBLAS_CORETYPE and OPENBLAS_THREAD_TIMEOUT unset, `river spectrum` loads OpenBLAS and
    /// LAPACKE and runs the core type scripts/env.sh would have set (SkylakeX with AVX-512F, Haswell with
    /// AVX2), not the SSE3 Prescott kernels Debian's OpenBLAS falls back to on recent CPUs; the eigenvalues
    /// are those of a run with the variables set.
    @Test func spectrumGetsFastKernelsFromAnyShell() throws {
        let args = ["spectrum", "--random-symmetric", "40", "--seed", "5", "--json"]
        let bare = try RiverCLI.run(args, environment: ["LD_DEBUG": "files"],
                                    unsetting: ["OPENBLAS_CORETYPE", "OPENBLAS_THREAD_TIMEOUT"])
        #expect(bare.status == 0, "\(bare.stderr.suffix(2000))")
        let loaded = Self.loadedLibraries(bare)
        #expect(loaded.contains { $0.hasPrefix("libopenblas") } && loaded.contains { $0.hasPrefix("liblapacke") }, "\(loaded)")
        let info = try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        let flags = Set(info.split(separator: "\n").first { $0.hasPrefix("flags") }.map { $0.split(separator: " ").map(String.init) } ?? [])
        let core = try #require(bare.stdout.range(of: "\"openblas_core\":\"")).upperBound
        let name = bare.stdout[core...].prefix { $0 != "\"" }.lowercased()
        if flags.contains("avx512f") { #expect(name == "skylakex") } else if flags.contains("avx2") { #expect(name == "haswell") }
        let set = try RiverCLI.run(args, environment: ["OPENBLAS_CORETYPE": name == "skylakex" ? "SkylakeX" : name == "haswell" ? "Haswell" : name])
        func values(_ text: String) -> Substring { text[text.range(of: "\"eigenvalues\":")!.upperBound...].prefix { $0 != "]" } }
        #expect(values(bare.stdout) == values(set.stdout))
    }

    /// A corrupt OpenBLAS (files of garbage under both names the loader tries, found first through
    /// LD_LIBRARY_PATH) stops a command that needs it with status 1 and a message naming the library and the
    /// package, and prints no result; a command that does not need it still runs.
    @Test func corruptOpenBLASIsAClearError() throws {
        let dir = try RiverCLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["libopenblas.so.0", "libopenblas.so"] {
            try Data("not a shared object\n".utf8).write(to: dir.appendingPathComponent(name))
        }
        let env = ["LD_LIBRARY_PATH": dir.path]
        let r = try RiverCLI.run(["spectrum", "--random-symmetric", "20", "--json"], environment: env)
        #expect(r.status == 1)
        #expect(r.stderr.contains("error: cannot load libopenblas.so.0") && r.stderr.contains("install libopenblas-dev"),
                "\(r.stderr)")
        #expect(r.stdout.isEmpty)
        let sim = try RiverCLI.run(["simulate", "--landscape", "straight-valley", "--dim", "3", "--steps", "20",
                                    "--peak", "0.1", "--seed-count", "2", "--out", dir.appendingPathComponent("s.csv").path],
                                   environment: env)
        #expect(sim.status == 0, "\(sim.stderr)")
    }
}
