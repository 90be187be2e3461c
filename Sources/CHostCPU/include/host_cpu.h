/* The CPU features a release build of RiverValley was compiled for, checked against the CPU it runs on.
 * Package.swift picks the target CPU on the build machine (AVX-512 where it has it, else AVX2 + FMA); a
 * binary carried to a CPU without those instructions would die with SIGILL somewhere in a kernel. This
 * file is compiled for baseline x86-64, so the check itself runs anywhere. */
#ifndef RIVER_HOST_CPU_H
#define RIVER_HOST_CPU_H
#include <stddef.h>

/* The -target-cpu this build was compiled with ("haswell", "skylake-avx512", ...; "unknown" when the
 * build did not say). */
const char *rv_build_target_cpu(void);

/* 1 when this CPU has every instruction-set extension the build target needs; otherwise 0, with the
 * missing extensions written (space-separated, NUL-terminated) into `missing`. */
int rv_host_supports_build_target(char *missing, size_t capacity);

/* Exits with status 2 and a message on stderr when the CPU lacks what the build needs; returns otherwise. */
void rv_require_build_target(void);
#endif
