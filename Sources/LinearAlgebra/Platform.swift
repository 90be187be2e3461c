import COpenBLAS
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Makes sure OpenBLAS runs its fast kernels on this CPU.
///
/// Debian's OpenBLAS 0.3.21 does not recognise recent Xeons and falls back to the `Prescott` (SSE3)
/// kernels (sgemm ~5x slower). OpenBLAS reads `OPENBLAS_CORETYPE` in a library constructor, before
/// `main`, so the only fix from inside the process is to set it and re-exec once.
public enum OpenBLASCore {
    /// The core type this CPU supports best, or nil if it has neither AVX-512 nor AVX2.
    public static func recommendedCoreType() -> String? {
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
        let flags = info.split(separator: "\n").first { $0.hasPrefix("flags") }.map { Set($0.split(separator: " ")) } ?? []
        if flags.contains("avx512f") { return "SkylakeX" }
        if flags.contains("avx2") { return "Haswell" }
        return nil
    }

    /// If OpenBLAS chose the slow Prescott kernels and the CPU can do better, sets `OPENBLAS_CORETYPE`
    /// and re-executes this program once with the same arguments. Does nothing otherwise.
    public static func reexecIfSlowKernels() {
        guard BLAS.coreName.lowercased() == "prescott",
              getenv("RIVER_NO_REEXEC") == nil,
              let core = recommendedCoreType() else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        setenv("RIVER_NO_REEXEC", "1", 1)
        let args = CommandLine.arguments
        var cargs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
        cargs.append(nil)
        execv("/proc/self/exe", &cargs)
        // execv returns only on failure: carry on with the slow kernels.
    }
}
