/* See include/bf16_attention.h. */
#include "bf16_attention.h"
#include "bf16_round.h"

#include <string.h>
#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#endif

int rv_bf16_dot_available(void) {
#if defined(__x86_64__)
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return 0; /* OSXSAVE */
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 0xE6u) != 0xE6u) return 0; /* the OS saves SSE, AVX and all three AVX-512 states */
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    if (!(b & (1u << 16)) || !(b & (1u << 30)) || !(b & (1u << 31))) return 0; /* AVX512 F, BW, VL */
    if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return 0;
    return (a & (1u << 5)) != 0; /* AVX512_BF16 */
#else
    return 0;
#endif
}

static inline float lo_bf16(uint32_t pair) {
    uint32_t u = pair << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline float hi_bf16(uint32_t pair) {
    uint32_t u = pair & 0xFFFF0000u;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Writes a strip's row of 16 sums (scaled) to its `width` ≤ 16 outputs. */
static inline void store_row(const float *sums, long width, float *c, long c_col, float alpha) {
    if (c_col == 1) {
        for (long j = 0; j < width; j++) c[j] = sums[j] * alpha;
    } else {
        for (long j = 0; j < width; j++) c[j * c_col] = sums[j] * alpha;
    }
}

/* The portable kernel: for each pair, the odd product then the even one, each a Float32 FMA (the order
 * VDPBF16PS is specified with). */
static void strip_portable(int rows, long width, long kp0, long kp1, int causal, const uint32_t *a, long a_row,
                           long a_k, const uint32_t *b, long ldb, long b_block, float *c, long c_row, long c_col,
                           float alpha) {
    for (long q = 0; q * 16 < width; q++) {
        long w = width - 16 * q < 16 ? width - 16 * q : 16;
        long start = causal && 8 * q > kp0 ? 8 * q : kp0;
        float acc[4][16];
        memset(acc, 0, sizeof acc);
        const uint32_t *bq = b + q * b_block;
        for (long p = start; p < kp1; p++) {
            const uint32_t *bp = bq + p * ldb;
            float bl[16], bh[16];
            for (long j = 0; j < 16; j++) {
                uint32_t v = j < w ? bp[j] : 0;
                bl[j] = lo_bf16(v);
                bh[j] = hi_bf16(v);
            }
            for (int r = 0; r < rows; r++) {
                uint32_t pair = a[r * a_row + p * a_k];
                float al = lo_bf16(pair), ah = hi_bf16(pair);
                for (long j = 0; j < 16; j++) acc[r][j] = __builtin_fmaf(al, bl[j], __builtin_fmaf(ah, bh[j], acc[r][j]));
            }
        }
        for (int r = 0; r < rows; r++) store_row(acc[r], w, c + r * c_row + 16 * q * c_col, c_col, alpha);
    }
}

#if defined(__x86_64__)
/* The VDPBF16PS kernel: per pair-row, one (masked) load of B and one dot instruction per row, into four
 * zmm accumulators. Rows past `rows` repeat row 0 and are not stored. */
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
static void strip_dot(int rows, long width, long kp0, long kp1, int causal, const uint32_t *a, long a_row, long a_k,
                      const uint32_t *b, long ldb, long b_block, float *c, long c_row, long c_col, float alpha) {
    const uint32_t *a0 = a, *a1 = a + (rows > 1 ? a_row : 0), *a2 = a + (rows > 2 ? 2 * a_row : 0),
                   *a3 = a + (rows > 3 ? 3 * a_row : 0);
    const __m512 scale = _mm512_set1_ps(alpha);
    for (long q = 0; q * 16 < width; q++) {
        long w = width - 16 * q < 16 ? width - 16 * q : 16;
        __mmask32 m32 = w == 16 ? (__mmask32)0xFFFFFFFFu : (__mmask32)((1ull << (2 * w)) - 1);
        __mmask16 m16 = (__mmask16)((1u << w) - 1);
        long start = causal && 8 * q > kp0 ? 8 * q : kp0;
        __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0;
        const uint32_t *bp = b + q * b_block + start * ldb;
        for (long p = start; p < kp1; p++) {
            __m512bh bv = (__m512bh)_mm512_maskz_loadu_epi16(m32, bp);
            long o = p * a_k;
            c0 = _mm512_dpbf16_ps(c0, (__m512bh)_mm512_set1_epi32((int)a0[o]), bv);
            c1 = _mm512_dpbf16_ps(c1, (__m512bh)_mm512_set1_epi32((int)a1[o]), bv);
            c2 = _mm512_dpbf16_ps(c2, (__m512bh)_mm512_set1_epi32((int)a2[o]), bv);
            c3 = _mm512_dpbf16_ps(c3, (__m512bh)_mm512_set1_epi32((int)a3[o]), bv);
            bp += ldb;
        }
        __m512 out[4] = {_mm512_mul_ps(c0, scale), _mm512_mul_ps(c1, scale), _mm512_mul_ps(c2, scale),
                         _mm512_mul_ps(c3, scale)};
        float *cq = c + 16 * q * c_col;
        for (int r = 0; r < rows; r++) {
            if (c_col == 1) {
                _mm512_mask_storeu_ps(cq + r * c_row, m16, out[r]);
            } else {
                float sums[16];
                _mm512_storeu_ps(sums, out[r]);
                store_row(sums, w, cq + r * c_row, c_col, 1.0f);
            }
        }
    }
}
#endif

void rv_bf16_strip(int dot, int rows, long width, long kp0, long kp1, int causal, const uint32_t *a, long a_row,
                   long a_k, const uint32_t *b, long ldb, long b_block, float *c, long c_row, long c_col,
                   float alpha) {
#if defined(__x86_64__)
    if (dot) {
        strip_dot(rows, width, kp0, kp1, causal, a, a_row, a_k, b, ldb, b_block, c, c_row, c_col, alpha);
        return;
    }
#endif
    strip_portable(rows, width, kp0, kp1, causal, a, a_row, a_k, b, ldb, b_block, c, c_row, c_col, alpha);
}

void rv_bf16_rows(const float *x, long ld, long rows, long cols, long pad_cols, uint16_t *dst, long ldd) {
    for (long r = 0; r < rows; r++) {
        const float *src = x + r * ld;
        uint16_t *out = dst + r * ldd;
        for (long j = 0; j < cols; j++) out[j] = rv_bf16_of(src[j]);
        for (long j = cols; j < pad_cols; j++) out[j] = 0;
    }
}

void rv_bf16_panels(const float *x, long ld, long rows, long D, uint16_t *dst) {
    long padded = (rows + 15) / 16 * 16;
    for (long j = 0; j < padded; j++) {
        uint16_t *panel = dst + (j / 16) * 16 * D + 2 * (j % 16);
        if (j < rows) {
            const float *src = x + j * ld;
            for (long d = 0; d < D; d += 2) {
                panel[d * 16] = rv_bf16_of(src[d]);
                panel[d * 16 + 1] = rv_bf16_of(src[d + 1]);
            }
        } else {
            for (long d = 0; d < D; d += 2) panel[d * 16] = panel[d * 16 + 1] = 0;
        }
    }
}

void rv_bf16_pairs(const float *x, long ld, long rows, long pad_rows, long cols, long width, int causal,
                   uint16_t *dst) {
    for (long p = 0; 2 * p < rows; p++) {
        const float *even = x + 2 * p * ld, *odd = 2 * p + 1 < rows ? even + ld : NULL;
        long n = cols;
        if (causal) {
            long limit = (2 * p + 1 + 15) / 16 * 16;
            if (limit < n) n = limit;
        }
        uint16_t *out = dst + 2 * p * width;
        if (odd) {
            for (long j = 0; j < n; j++) {
                out[2 * j] = rv_bf16_of(even[j]);
                out[2 * j + 1] = rv_bf16_of(odd[j]);
            }
        } else {
            for (long j = 0; j < n; j++) {
                out[2 * j] = rv_bf16_of(even[j]);
                out[2 * j + 1] = 0;
            }
        }
        if (!causal && width > cols) memset(out + 2 * cols, 0, (size_t)(width - cols) * 4);
    }
    long first_zero = (rows + 1) / 2 * 2;
    if (pad_rows > first_zero) memset(dst + first_zero * width, 0, (size_t)(pad_rows - first_zero) * (size_t)width * 2);
}

void rv_bf16_transposed(const float *x, long ld, long rows, long cols, long pad_rows, uint16_t *dst, long ldd) {
    for (long i = 0; i < rows; i++) {
        const float *src = x + i * ld;
        for (long j = 0; j < cols; j++) dst[j * ldd + i] = rv_bf16_of(src[j]);
    }
    if (pad_rows > rows)
        for (long j = 0; j < cols; j++) memset(dst + j * ldd + rows, 0, (size_t)(pad_rows - rows) * 2);
}

/* ---- AMX ---------------------------------------------------------------------------------------------- */

/* Writes one 16×16 result tile (row-major), scaled, to c. */
static inline void store_tile(const float *tile, float *c, long c_row, long c_col, float alpha) {
    for (int r = 0; r < 16; r++) store_row(tile + 16 * r, 16, c + r * c_row, c_col, alpha);
}

/* The k chunks of 32 that output column block q sums over. */
static inline long block_start(int causal, long q, long k0) { return causal && 16 * q > k0 ? 16 * q : k0; }

static inline float bf16_value(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* The tiles in software: the same loads (16 rows of 64 bytes at a byte stride), the same dot product per
 * pair (odd product, then even, as Float32 FMAs) and the same loop as the hardware kernel below. */
static void amx_emulated(long m, long n, long k0, long k1, int causal, const uint16_t *a, long lda, const uint32_t *b,
                         long ldb, long b_block, float *c, long c_row, long c_col, float alpha) {
    float tc[16][16];
    uint16_t ta[16][32], tb[16][32];
    for (long q = 0; 16 * q < n; q++) {
        for (long r0 = 0; r0 < m; r0 += 16) {
            memset(tc, 0, sizeof tc);
            for (long k = block_start(causal, q, k0); k < k1; k += 32) {
                for (int r = 0; r < 16; r++) memcpy(ta[r], a + (r0 + r) * lda + k, 64);
                for (int p = 0; p < 16; p++) memcpy(tb[p], b + q * b_block + (k / 2 + p) * ldb, 64);
                for (int i = 0; i < 16; i++)
                    for (int j = 0; j < 16; j++)
                        for (int p = 0; p < 16; p++)
                            tc[i][j] = __builtin_fmaf(bf16_value(ta[i][2 * p]), bf16_value(tb[p][2 * j]),
                                                      __builtin_fmaf(bf16_value(ta[i][2 * p + 1]),
                                                                     bf16_value(tb[p][2 * j + 1]), tc[i][j]));
            }
            store_tile(&tc[0][0], c + r0 * c_row + 16 * q * c_col, c_row, c_col, alpha);
        }
    }
}

#if defined(__x86_64__) && defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>

/* Palette 1; tile 0 = C (16 rows of 16 floats), 1 = A (16 rows of 32 bf16), 2 = B (16 pair-rows of 16
 * columns): each 16 rows of 64 bytes. */
struct tile_config {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
};

__attribute__((target("amx-tile"))) static void tiles_configure(void) {
    static const struct tile_config config __attribute__((aligned(64))) = {
        .palette = 1, .colsb = {64, 64, 64}, .rows = {16, 16, 16}};
    _tile_loadconfig(&config);
}

__attribute__((target("amx-tile"))) static void tiles_release(void) { _tile_release(); }

__attribute__((target("amx-tile,amx-bf16")))
static void amx_hardware(long m, long n, long k0, long k1, int causal, const uint16_t *a, long lda, const uint32_t *b,
                         long ldb, long b_block, float *c, long c_row, long c_col, float alpha) {
    float tile[256] __attribute__((aligned(64)));
    for (long q = 0; 16 * q < n; q++) {
        for (long r0 = 0; r0 < m; r0 += 16) {
            _tile_zero(0);
            for (long k = block_start(causal, q, k0); k < k1; k += 32) {
                _tile_loadd(1, a + r0 * lda + k, lda * 2);
                _tile_loadd(2, b + q * b_block + (k / 2) * ldb, ldb * 4);
                _tile_dpbf16ps(0, 1, 2);
            }
            _tile_stored(0, tile, 64);
            store_tile(tile, c + r0 * c_row + 16 * q * c_col, c_row, c_col, alpha);
        }
    }
}

/* CPUID says AMX-TILE and AMX-BF16, the OS enables the tile state, and grants this process its use. */
static int amx_permitted(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    if (!(d & (1u << 22)) || !(d & (1u << 24))) return 0; /* AMX-BF16, AMX-TILE */
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27))) return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & (3u << 17)) != (3u << 17)) return 0; /* XTILECFG, XTILEDATA */
    /* ARCH_REQ_XCOMP_PERM (0x1023) for XFEATURE_XTILEDATA (18); granted once per process. */
    return syscall(SYS_arch_prctl, 0x1023, 18) == 0;
}
#endif

int rv_bf16_amx_available(void) {
#if defined(__x86_64__) && defined(__linux__)
    static int state = -1;
    if (state < 0) state = amx_permitted();
    return state;
#else
    return 0;
#endif
}

void rv_bf16_amx_begin(void) {
#if defined(__x86_64__) && defined(__linux__)
    if (rv_bf16_amx_available()) tiles_configure();
#endif
}

void rv_bf16_amx_end(void) {
#if defined(__x86_64__) && defined(__linux__)
    if (rv_bf16_amx_available()) tiles_release();
#endif
}

void rv_bf16_amx(int hardware, long m, long n, long k0, long k1, int causal, const uint16_t *a, long lda,
                 const uint32_t *b, long ldb, long b_block, float *c, long c_row, long c_col, float alpha) {
#if defined(__x86_64__) && defined(__linux__)
    if (hardware) {
        amx_hardware(m, n, k0, k1, causal, a, lda, b, ldb, b_block, c, c_row, c_col, alpha);
        return;
    }
#endif
    amx_emulated(m, n, k0, k1, causal, a, lda, b, ldb, b_block, c, c_row, c_col, alpha);
}

double rv_bf16_amx_self_check(void) {
    enum { M = 32, N = 32, K = 64 };
    static uint16_t a[M * K];
    static uint32_t b[(K / 2) * N];
    static float hw[M * N], emu[M * N];
    uint32_t state = 12345u;
    for (int i = 0; i < M * K; i++) {
        state = state * 1664525u + 1013904223u;
        a[i] = rv_bf16_of((float)(int)(state >> 8) / 8388608.0f - 1.0f);
    }
    for (int i = 0; i < (K / 2) * N; i++) {
        state = state * 1664525u + 1013904223u;
        uint16_t lo = rv_bf16_of((float)(int)(state >> 8) / 8388608.0f - 1.0f);
        state = state * 1664525u + 1013904223u;
        uint16_t hi = rv_bf16_of((float)(int)(state >> 8) / 8388608.0f - 1.0f);
        b[i] = (uint32_t)lo | ((uint32_t)hi << 16);
    }
    /* B as two column blocks of 16: pair-row p of block q at b + q·16 + p·N. */
    rv_bf16_amx(0, M, N, 0, K, 0, a, K, b, N, 16, emu, N, 1, 1.0f);
    if (!rv_bf16_amx_available()) return -1;
    rv_bf16_amx_begin();
    rv_bf16_amx(1, M, N, 0, K, 0, a, K, b, N, 16, hw, N, 1, 1.0f);
    rv_bf16_amx_end();
    double worst = 0;
    for (int i = 0; i < M * N; i++) {
        double d = hw[i] > emu[i] ? hw[i] - emu[i] : emu[i] - hw[i];
        if (!(d <= worst)) worst = d; /* NaN propagates as the worst */
    }
    return worst;
}
