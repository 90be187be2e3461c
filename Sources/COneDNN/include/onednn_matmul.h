/* A small C interface to oneDNN's matmul primitive for the trainer's bf16 path, plus the bf16
 * conversions the path needs. oneDNN is loaded with dlopen on first use, so `river` neither links
 * against it nor pays its start-up for commands that never train in bf16; where it is missing or has no
 * kernel for a shape on this CPU, the functions say why and the caller falls back. */
#ifndef RIVER_ONEDNN_MATMUL_H
#define RIVER_ONEDNN_MATMUL_H

#include <stddef.h>
#include <stdint.h>

typedef struct rv_onednn_matmul rv_onednn_matmul;

/* Loads libdnnl.so.2 and creates one CPU engine and stream (once per process). Returns 0 when oneDNN
 * is usable; otherwise non-zero, with the reason written to `why`. */
int rv_onednn_load(char *why, size_t why_len);

/* oneDNN's effective CPU ISA (e.g. "avx2", "avx512_core_amx"), or "unavailable". */
const char *rv_onednn_isa(void);

/* oneDNN's version as "major.minor.patch", or "unavailable". */
const char *rv_onednn_version(void);

/* A primitive computing, on row-major matrices with leading dimensions lda, ldb, ldc,
 *     C[m, n] = op(A)[m, k] · op(B)[k, n] + beta · C,   op(X) = X or Xᵀ,
 * with A and B in bf16 (`bf16` = 1; raw uint16 bfloat16 values) or f32 (`bf16` = 0, used by tests to
 * check the stride and post-op handling on CPUs without a bf16 kernel), C in f32, products accumulated in
 * f32. Returns NULL when oneDNN has no implementation (the reason in `why`). `impl` receives the
 * implementation's name (oneDNN's impl_info_str, e.g. "brg:avx512_core_amx"). */
rv_onednn_matmul *rv_onednn_matmul_create(int bf16, int trans_a, int trans_b, long m, long n, long k,
                                          long lda, long ldb, long ldc, float beta,
                                          char *impl, size_t impl_len, char *why, size_t why_len);

/* The number of threads the next matmuls run on, from the calling thread (OpenMP's per-thread setting;
 * a no-op when oneDNN does not run on OpenMP or is not loaded). The trainer passes OpenBLAS's thread count,
 * so a bf16 run uses as many cores as an fp32 run, not every core of the machine. */
void rv_onednn_set_threads(int n);

/* Runs the primitive on the given buffers (returns 0, or a oneDNN status). Waits for completion. */
int rv_onednn_matmul_run(rv_onednn_matmul *p, const void *a, const void *b, float *c);

void rv_onednn_matmul_destroy(rv_onednn_matmul *p);

/* bfloat16 conversions, round to nearest even; NaN stays NaN (quiet), ±inf stays ±inf, finite values
 * beyond the bf16 range round to ±inf as IEEE rounding does. */
void rv_f32_to_bf16(const float *src, uint16_t *dst, long n);
/* dst[i] = the f32 value of bf16(src[i]) (the low 16 bits cleared after rounding). src may equal dst. */
void rv_round_f32_to_bf16(const float *src, float *dst, long n);

#endif
