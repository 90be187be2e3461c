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

    /// How long (log₂ of CPU cycles) an idle OpenBLAS worker spins before it sleeps, when the user has not
    /// set `OPENBLAS_THREAD_TIMEOUT`. OpenBLAS's default, 28 (≈ 0.1 s), keeps its second thread spinning
    /// after every GEMM while the trainer's own kernels (attention, norms, SwiGLU on the other core) want
    /// that core: measured on the 0.86M trainer shape, 2 threads, 16 % of a step (attention 107 → 68 ms,
    /// SwiGLU 30 → 21 ms); LAPACK's dense eigensolver is unaffected (docs/machine-facts.md).
    public static let threadTimeout = "4"

    /// Reads like OpenBLAS's constructor does: both settings must be in the environment before the
    /// library loads, so the only fix from inside the process is to set them and re-execute once.
    /// Sets `OPENBLAS_CORETYPE` if OpenBLAS chose the slow Prescott kernels and the CPU can do better,
    /// and `OPENBLAS_THREAD_TIMEOUT` (``threadTimeout``) if unset; re-executes this program once with
    /// the same arguments when either changed. `RIVER_NO_REEXEC` turns this off. `scripts/env.sh` sets
    /// both, so a normal run does not re-execute.
    public static func reexecIfSlowKernels() {
        guard getenv("RIVER_NO_REEXEC") == nil else { return }
        var changed = false
        if BLAS.coreName.lowercased() == "prescott", let core = recommendedCoreType() {
            setenv("OPENBLAS_CORETYPE", core, 1)
            changed = true
        }
        if getenv("OPENBLAS_THREAD_TIMEOUT") == nil {
            setenv("OPENBLAS_THREAD_TIMEOUT", threadTimeout, 1)
            changed = true
        }
        guard changed else { return }
        setenv("RIVER_NO_REEXEC", "1", 1)
        let args = CommandLine.arguments
        var cargs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
        cargs.append(nil)
        execv("/proc/self/exe", &cargs)
        // execv returns only on failure: carry on with the settings OpenBLAS started with.
    }
}
