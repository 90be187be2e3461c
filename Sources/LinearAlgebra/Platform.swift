import CSystemLibraries

/// How OpenBLAS is set up in a RiverValley process.
///
/// Debian's OpenBLAS 0.3.21 does not recognise recent Xeons or Zen 4 and falls back to its `Prescott`
/// (SSE3) kernels, sgemm ≈ 5× slower; and by default its idle workers spin ≈ 0.1 s after every call,
/// taking the core the trainer's own kernels want next. OpenBLAS reads `OPENBLAS_CORETYPE` and
/// `OPENBLAS_THREAD_TIMEOUT` in its library constructor, when it loads. It loads on the first BLAS or
/// LAPACK call (Sources/CSystemLibraries), and just before that the loader sets both when the user has
/// not: the same rules as `scripts/env.sh`, so a `river` started from any shell runs the scripts' kernels.
public enum OpenBLASCore {
    /// The core type the loader sets when `OPENBLAS_CORETYPE` is unset: "SkylakeX" on a CPU with
    /// AVX-512F, "Haswell" with AVX2, nil otherwise (OpenBLAS then chooses).
    public static func recommendedCoreType() -> String? {
        rv_openblas_recommended_core().map { String(cString: $0) }
    }

    /// How long (log₂ of CPU cycles) an idle OpenBLAS worker spins before it sleeps, set when the user has
    /// not set `OPENBLAS_THREAD_TIMEOUT`. OpenBLAS's default, 28 (≈ 0.1 s), keeps its second thread spinning
    /// after every GEMM while the trainer's own kernels (attention, norms, SwiGLU on the other core) want
    /// that core: measured on the 0.86M trainer shape, 2 threads, 16 % of a step (attention 107 → 68 ms,
    /// SwiGLU 30 → 21 ms); LAPACK's dense eigensolver is unaffected (docs/machine-facts.md).
    public static var threadTimeout: String { String(cString: rv_openblas_thread_timeout()) }

    /// The C libraries a process opens on first use.
    public enum Library: Int32, CaseIterable, Sendable {
        case openBLAS = 0, lapacke = 1, gsl = 2
    }

    /// Whether this process has opened `library` yet (nothing is opened before its first call).
    public static func isLoaded(_ library: Library) -> Bool { rv_system_library_loaded(library.rawValue) != 0 }

    /// Opens `library` (and OpenBLAS before it) now if it is not open yet: for a command that times its
    /// work, so the first timed run does not include loading the library.
    public static func open(_ library: Library) { rv_system_library_open(library.rawValue) }
}
