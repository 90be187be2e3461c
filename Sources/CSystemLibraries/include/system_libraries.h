/* RiverValley's C system libraries (OpenBLAS, LAPACKE, GSL), opened with dlopen on first use.
 *
 * The Swift code calls cblas_*, LAPACKE_* and gsl_* as declared in the CLapacke, COpenBLAS and CGSL
 * headers; none of those libraries is linked. This target defines each function the package calls as a
 * trampoline with the header's own prototype (the compiler checks the two agree): the first call opens the
 * library and looks the symbol up, later calls jump through the cached pointer. A process that never calls
 * them never loads them: `river simulate`, `river schedule` and the CLI's errors start ≈ 3 ms sooner on the
 * 2-core Zen 4 host (docs/machine-facts.md, "river's start-up").
 *
 * Before OpenBLAS loads, the loader puts into the environment what OpenBLAS's constructor reads, when the
 * user has not set it: OPENBLAS_CORETYPE (SkylakeX on a CPU with AVX-512F, Haswell with AVX2: Debian's
 * OpenBLAS 0.3.21 does not know recent CPUs and would run its SSE3 Prescott kernels) and
 * OPENBLAS_THREAD_TIMEOUT=4 (idle workers sleep at once instead of spinning ≈ 0.1 s). These are the rules
 * scripts/env.sh applies, so a `river` started from any shell runs the same kernels as the scripts'.
 *
 * LAPACKE and GSL are opened after OpenBLAS, globally, so that their own BLAS calls bind to OpenBLAS as
 * they did when the three were linked (GSL's reference CBLAS would otherwise take them).
 * A library that cannot be opened, or lacks a symbol, ends the process with status 1 and a message
 * naming the library, the symbol and the Debian package that provides it. */
#ifndef RIVER_SYSTEM_LIBRARIES_H
#define RIVER_SYSTEM_LIBRARIES_H

/* The OPENBLAS_CORETYPE the loader sets when the user has not: "SkylakeX" with AVX-512F, "Haswell" with
 * AVX2, NULL otherwise (OpenBLAS then chooses). */
const char *rv_openblas_recommended_core(void);

/* The OPENBLAS_THREAD_TIMEOUT the loader sets when the user has not ("4": 2^4 cycles). */
const char *rv_openblas_thread_timeout(void);

/* Whether OpenBLAS (0), LAPACKE (1) or GSL (2) has been opened by this process (1) or not yet (0). */
int rv_system_library_loaded(int library);

/* Opens OpenBLAS (0), LAPACKE (1) or GSL (2) now, and OpenBLAS before either of the others, if not yet
 * open (for a command that times its work: the clock should not include loading a library). */
void rv_system_library_open(int library);

#endif
