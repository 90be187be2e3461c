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

/* The pair (bf16(lo), bf16(hi)) as one uint32, lo in the low half. */
static inline uint32_t pair_bits(float lo, float hi) {
    uint32_t a, b;
    memcpy(&a, &lo, 4);
    memcpy(&b, &hi, 4);
    return (round_bits(a) >> 16) | round_bits(b);
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
 * VDPBF16PS is specified with), on 16-lane vectors (GCC/Clang vector extensions: zmm or ymm pairs, whatever
 * the build targets). Rows past `rows` repeat row 0 and are not stored. */
typedef float v16f __attribute__((vector_size(64)));
typedef uint32_t v16u __attribute__((vector_size(64)));

static void strip_portable(int rows, long width, long kp0, long kp1, int causal, const uint32_t *a, long a_row,
                           long a_k, const uint32_t *b, long ldb, long b_block, float *c, long c_row, long c_col,
                           float alpha) {
    const uint32_t *ar[4] = {a, a + (rows > 1 ? a_row : 0), a + (rows > 2 ? 2 * a_row : 0), a + (rows > 3 ? 3 * a_row : 0)};
    for (long q = 0; q * 16 < width; q++) {
        long w = width - 16 * q < 16 ? width - 16 * q : 16;
        /* Causal blocks start where their pair (q even, q + 1) starts, as in the dot kernel: the extra
         * terms of an odd block are exact zeros, and the zeros B must hold there are checked here too. */
        long pair = q & ~1L;
        long start = causal && 8 * pair > kp0 ? 8 * pair : kp0;
        v16f acc[4] = {{0}, {0}, {0}, {0}};
        const uint32_t *bq = b + q * b_block;
        for (long p = start; p < kp1; p++) {
            const uint32_t *bp = bq + p * ldb;
            v16u v = {0};
            if (w == 16) memcpy(&v, bp, 64); else memcpy(&v, bp, (size_t)w * 4);
            v16u lo_bits = v << 16, hi_bits = v & 0xFFFF0000u;
            v16f bl, bh;
            memcpy(&bl, &lo_bits, 64);
            memcpy(&bh, &hi_bits, 64);
            for (int r = 0; r < 4; r++) {
                uint32_t pair = ar[r][p * a_k];
                float al = lo_bf16(pair), ah = hi_bf16(pair);
                for (int j = 0; j < 16; j++) acc[r][j] = __builtin_fmaf(al, bl[j], __builtin_fmaf(ah, bh[j], acc[r][j]));
            }
        }
        for (int r = 0; r < rows; r++) {
            float sums[16];
            memcpy(sums, &acc[r], 64);
            store_row(sums, w, c + r * c_row + 16 * q * c_col, c_col, alpha);
        }
    }
}

#if defined(__x86_64__)
/* Stores a row of sums (scaled) to its `w` ≤ 16 outputs. */
__attribute__((target("avx512f,avx512bw,avx512vl")))
static inline void store_sums(__m512 sums, long w, float *c, long c_col) {
    if (c_col == 1) {
        _mm512_mask_storeu_ps(c, (__mmask16)((1u << w) - 1), sums);
    } else {
        float t[16];
        _mm512_storeu_ps(t, sums);
        store_row(t, w, c, c_col, 1.0f);
    }
}

/* The VDPBF16PS kernel: per pair-row, one (masked) load of B per column block and one dot instruction per
 * row and block, into eight zmm accumulators (4 rows × 2 blocks of 16 columns; VDPBF16PS's latency is
 * longer than an FMA's, and four independent sums do not hide it). Rows past `rows` repeat row 0 and are
 * not stored. A causal pair of blocks starts at the first block's start: the second block's B is zero there
 * (rv_bf16_pairs writes those zeros). */
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
static void strip_dot(int rows, long width, long kp0, long kp1, int causal, const uint32_t *a, long a_row, long a_k,
                      const uint32_t *b, long ldb, long b_block, float *c, long c_row, long c_col, float alpha) {
    const uint32_t *ar[4] = {a, a + (rows > 1 ? a_row : 0), a + (rows > 2 ? 2 * a_row : 0), a + (rows > 3 ? 3 * a_row : 0)};
    const __m512 scale = _mm512_set1_ps(alpha);
    for (long q = 0; q * 16 < width; q += 2) {
        long w0 = width - 16 * q < 16 ? width - 16 * q : 16;
        long w1 = width - 16 * q - 16 < 0 ? 0 : width - 16 * q - 16 < 16 ? width - 16 * q - 16 : 16;
        __mmask32 m0 = w0 == 16 ? (__mmask32)0xFFFFFFFFu : (__mmask32)((1ull << (2 * w0)) - 1);
        __mmask32 m1 = w1 == 16 ? (__mmask32)0xFFFFFFFFu : (__mmask32)((1ull << (2 * w1)) - 1);
        long start = causal && 8 * q > kp0 ? 8 * q : kp0;
        __m512 c0 = _mm512_setzero_ps(), c1 = c0, c2 = c0, c3 = c0, d0 = c0, d1 = c0, d2 = c0, d3 = c0;
        const uint32_t *bp = b + q * b_block + start * ldb;
        if (w1 > 0) {
            for (long p = start; p < kp1; p++) {
                __m512bh b0 = (__m512bh)_mm512_maskz_loadu_epi16(m0, bp);
                __m512bh b1 = (__m512bh)_mm512_maskz_loadu_epi16(m1, bp + b_block);
                long o = p * a_k;
                __m512bh x0 = (__m512bh)_mm512_set1_epi32((int)ar[0][o]), x1 = (__m512bh)_mm512_set1_epi32((int)ar[1][o]);
                __m512bh x2 = (__m512bh)_mm512_set1_epi32((int)ar[2][o]), x3 = (__m512bh)_mm512_set1_epi32((int)ar[3][o]);
                c0 = _mm512_dpbf16_ps(c0, x0, b0); d0 = _mm512_dpbf16_ps(d0, x0, b1);
                c1 = _mm512_dpbf16_ps(c1, x1, b0); d1 = _mm512_dpbf16_ps(d1, x1, b1);
                c2 = _mm512_dpbf16_ps(c2, x2, b0); d2 = _mm512_dpbf16_ps(d2, x2, b1);
                c3 = _mm512_dpbf16_ps(c3, x3, b0); d3 = _mm512_dpbf16_ps(d3, x3, b1);
                bp += ldb;
            }
        } else {
            for (long p = start; p < kp1; p++) {
                __m512bh b0 = (__m512bh)_mm512_maskz_loadu_epi16(m0, bp);
                long o = p * a_k;
                c0 = _mm512_dpbf16_ps(c0, (__m512bh)_mm512_set1_epi32((int)ar[0][o]), b0);
                c1 = _mm512_dpbf16_ps(c1, (__m512bh)_mm512_set1_epi32((int)ar[1][o]), b0);
                c2 = _mm512_dpbf16_ps(c2, (__m512bh)_mm512_set1_epi32((int)ar[2][o]), b0);
                c3 = _mm512_dpbf16_ps(c3, (__m512bh)_mm512_set1_epi32((int)ar[3][o]), b0);
                bp += ldb;
            }
        }
        __m512 first[4] = {c0, c1, c2, c3}, second[4] = {d0, d1, d2, d3};
        float *cq = c + 16 * q * c_col;
        for (int r = 0; r < rows; r++) {
            store_sums(_mm512_mul_ps(first[r], scale), w0, cq + r * c_row, c_col);
            if (w1 > 0) store_sums(_mm512_mul_ps(second[r], scale), w1, cq + r * c_row + 16 * c_col, c_col);
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
    uint32_t *out = (uint32_t *)dst;
    long padded = (rows + 15) / 16 * 16;
    for (long j = 0; j < padded; j++) {
        uint32_t *panel = out + (j / 16) * 8 * D + (j % 16);
        if (j < rows) {
            const float *src = x + j * ld;
            for (long p = 0; p < D / 2; p++) panel[16 * p] = pair_bits(src[2 * p], src[2 * p + 1]);
        } else {
            for (long p = 0; p < D / 2; p++) panel[16 * p] = 0;
        }
    }
}

/* Pair-rows first_row/2 … of x's pair layout from its rows first_row … first_row + rows − 1 (x points at
 * row first_row, dst at pair-row first_row/2; first_row even); a last odd row of all `total_rows` pairs
 * with zeros. Causal: pair-row p is written up to min(cols, ⌈(2p+1)/16⌉·16), then zeros for 16 columns. */
static void pairs_of_rows(const float *x, long ld, long first_row, long rows, long total_rows, long cols, long width,
                          int causal, uint16_t *dst) {
    for (long p = 0; 2 * p < rows; p++) {
        long row = first_row + 2 * p;
        const float *even = x + 2 * p * ld;
        long n = cols, zeros = width;
        if (causal) {
            long limit = (row + 1 + 15) / 16 * 16;
            if (limit < n) n = limit;
            zeros = limit + 16 < cols ? limit + 16 : cols;
        }
        uint32_t *out = (uint32_t *)dst + p * width;
        if (row + 1 < total_rows) {
            const float *odd = even + ld;
            for (long j = 0; j < n; j++) out[j] = pair_bits(even[j], odd[j]);
        } else {
            for (long j = 0; j < n; j++) out[j] = pair_bits(even[j], 0.0f);
        }
        if (zeros > n) memset(out + n, 0, (size_t)(zeros - n) * 4);
    }
}

void rv_bf16_pairs(const float *x, long ld, long rows, long cols, long width, int causal, uint16_t *dst) {
    pairs_of_rows(x, ld, 0, rows, rows, cols, width, causal, dst);
}

void rv_bf16_causal_pairs(const float *x, long ld, long first_row, long rows, long total_rows, long width,
                          uint16_t *dst) {
    pairs_of_rows(x, ld, first_row, rows, total_rows, total_rows, width, 1, dst);
}

void rv_bf16_transposed(const float *x, long ld, long rows, long cols, uint16_t *dst, long ldd) {
    /* Blocks of 32 rows: each output row then gets 64 contiguous bytes per block, read from an L1-sized block
     * of x (32 rows of `cols` floats). */
    for (long i0 = 0; i0 < rows; i0 += 32) {
        long n = rows - i0 < 32 ? rows - i0 : 32;
        const float *block = x + i0 * ld;
        for (long j = 0; j < cols; j++) {
            uint16_t *out = dst + j * ldd + i0;
            for (long i = 0; i < n; i++) out[i] = rv_bf16_of(block[i * ld + j]);
        }
    }
}

/* ---- AMX ---------------------------------------------------------------------------------------------- */

/* Writes one 16×16 result tile (row-major) to c, scaled: row by row where c's rows are contiguous
 * (c_col = 1), else column by column (a transposed output: c_row = 1, each tile column a contiguous run). */
static inline void store_tile(const float *tile, float *c, long c_row, long c_col, float alpha) {
    if (c_col == 1) {
        for (int r = 0; r < 16; r++)
            for (int j = 0; j < 16; j++) c[r * c_row + j] = tile[16 * r + j] * alpha;
    } else if (c_row == 1) {
        for (int j = 0; j < 16; j++)
            for (int r = 0; r < 16; r++) c[j * c_col + r] = tile[16 * r + j] * alpha;
    } else {
        for (int r = 0; r < 16; r++) store_row(tile + 16 * r, 16, c + r * c_row, c_col, alpha);
    }
}

/* The k chunks of 32 that an output column block sums over: from its first k (causal) or k0. A pair of
 * blocks q, q+1 runs from q's start; the B operand holds zeros for q+1 there (see rv_bf16_pairs). */
static inline long block_start(int causal, long q, long k0) { return causal && 16 * q > k0 ? 16 * q : k0; }

static inline float bf16_value(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* The tiles in software: the same loads (16 rows of 64 bytes at a byte stride), the same dot product per
 * pair (odd product, then even, as Float32 FMAs: the order VDPBF16PS is specified with; TDPBF16PS's may
 * differ, which the self-check's tolerance allows) and the same loop as the hardware kernel below: pairs of
 * 16-column blocks sharing each A tile, two accumulator tiles. */
static void emu_dp(float tc[16][16], uint16_t ta[16][32], uint16_t tb[16][32]) {
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 16; j++)
            for (int p = 0; p < 16; p++)
                tc[i][j] = __builtin_fmaf(bf16_value(ta[i][2 * p]), bf16_value(tb[p][2 * j]),
                                          __builtin_fmaf(bf16_value(ta[i][2 * p + 1]), bf16_value(tb[p][2 * j + 1]), tc[i][j]));
}

/* The tiles of one chunk of `valid` ≤ 32 k (even) as 16 rows of 64 bytes: A's rows, B's pair-rows for one
 * or two column blocks (b1 may be NULL), zeros past `valid`. The hardware kernel loads its last, partial
 * chunk from here, so nothing past k1 is read: the products never see the values that follow (a future
 * key's value, say), not even multiplied by zero. */
static void tail_tiles(const uint16_t *a, long lda, const uint32_t *b0, const uint32_t *b1, long ldb, long valid,
                       uint16_t ta[16][32], uint16_t tb0[16][32], uint16_t tb1[16][32]) {
    for (int r = 0; r < 16; r++) {
        memcpy(ta[r], a + r * lda, (size_t)valid * 2);
        memset(ta[r] + valid, 0, (size_t)(32 - valid) * 2);
    }
    for (int p = 0; p < 16; p++) {
        if (2 * p < valid) {
            memcpy(tb0[p], b0 + p * ldb, 64);
            if (b1) memcpy(tb1[p], b1 + p * ldb, 64);
        } else {
            memset(tb0[p], 0, 64);
            if (b1) memset(tb1[p], 0, 64);
        }
    }
}

static void amx_emulated(long m, long n, long k0, long k1, int causal, const uint16_t *a, long lda, const uint32_t *b,
                         long ldb, long b_block, float *c, long c_row, long c_col, float alpha) {
    float tc0[16][16], tc1[16][16];
    uint16_t ta[16][32], tb0[16][32], tb1[16][32];
    for (long q = 0; 16 * q < n; q += 2) {
        int two = 16 * (q + 1) < n;
        for (long r0 = 0; r0 < m; r0 += 16) {
            memset(tc0, 0, sizeof tc0);
            memset(tc1, 0, sizeof tc1);
            for (long k = block_start(causal, q, k0); k < k1; k += 32) {
                long valid = k1 - k < 32 ? k1 - k : 32;
                tail_tiles(a + r0 * lda + k, lda, b + q * b_block + (k / 2) * ldb, two ? b + (q + 1) * b_block + (k / 2) * ldb : NULL,
                           ldb, valid, ta, tb0, tb1);
                emu_dp(tc0, ta, tb0);
                if (two) emu_dp(tc1, ta, tb1);
            }
            store_tile(&tc0[0][0], c + r0 * c_row + 16 * q * c_col, c_row, c_col, alpha);
            if (two) store_tile(&tc1[0][0], c + r0 * c_row + 16 * (q + 1) * c_col, c_row, c_col, alpha);
        }
    }
}

#if defined(__x86_64__) && defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>

/* Palette 1; tiles 0, 1 = C (16 rows of 16 floats), 2 = A (16 rows of 32 bf16), 3, 4 = B (16 pair-rows of
 * 16 columns): each 16 rows of 64 bytes. */
struct tile_config {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
};

__attribute__((target("amx-tile"))) static void tiles_configure(void) {
    static const struct tile_config config __attribute__((aligned(64))) = {
        .palette = 1, .colsb = {64, 64, 64, 64, 64}, .rows = {16, 16, 16, 16, 16}};
    _tile_loadconfig(&config);
}

__attribute__((target("amx-tile"))) static void tiles_release(void) { _tile_release(); }

/* Scales a 16×16 block of c (rows of c_row floats) in place. */
static inline void scale_block(float *c, long c_row, float alpha) {
    if (alpha == 1.0f) return;
    for (int r = 0; r < 16; r++)
        for (int j = 0; j < 16; j++) c[r * c_row + j] *= alpha;
}

__attribute__((target("amx-tile,amx-bf16")))
static void amx_hardware(long m, long n, long k0, long k1, int causal, const uint16_t *a, long lda, const uint32_t *b,
                         long ldb, long b_block, float *c, long c_row, long c_col, float alpha) {
    float tile[2][256] __attribute__((aligned(64)));
    struct { uint16_t a[16][32], b0[16][32], b1[16][32]; } tail __attribute__((aligned(64)));
    for (long q = 0; 16 * q < n; q += 2) {
        int two = 16 * (q + 1) < n;
        for (long r0 = 0; r0 < m; r0 += 16) {
            _tile_zero(0);
            _tile_zero(1);
            const uint32_t *b0 = b + q * b_block, *b1 = b0 + b_block;
            for (long k = block_start(causal, q, k0); k < k1; k += 32) {
                if (k + 32 > k1) {
                    /* The last, partial chunk: from zero-padded copies (tail_tiles). */
                    tail_tiles(a + r0 * lda + k, lda, b0 + (k / 2) * ldb, two ? b1 + (k / 2) * ldb : NULL, ldb, k1 - k,
                               tail.a, tail.b0, tail.b1);
                    _tile_loadd(2, tail.a, 64);
                    _tile_loadd(3, tail.b0, 64);
                    _tile_dpbf16ps(0, 2, 3);
                    if (two) {
                        _tile_loadd(4, tail.b1, 64);
                        _tile_dpbf16ps(1, 2, 4);
                    }
                    break;
                }
                _tile_loadd(2, a + r0 * lda + k, lda * 2);
                _tile_loadd(3, b0 + (k / 2) * ldb, ldb * 4);
                _tile_dpbf16ps(0, 2, 3);
                if (two) {
                    _tile_loadd(4, b1 + (k / 2) * ldb, ldb * 4);
                    _tile_dpbf16ps(1, 2, 4);
                }
            }
            float *c0 = c + r0 * c_row + 16 * q * c_col, *c1 = c0 + 16 * c_col;
            if (c_col == 1) {
                /* Straight into c, then scaled there while the rows are in L1. */
                _tile_stored(0, c0, c_row * 4);
                scale_block(c0, c_row, alpha);
                if (two) {
                    _tile_stored(1, c1, c_row * 4);
                    scale_block(c1, c_row, alpha);
                }
            } else {
                _tile_stored(0, tile[0], 64);
                store_tile(tile[0], c0, c_row, c_col, alpha);
                if (two) {
                    _tile_stored(1, tile[1], 64);
                    store_tile(tile[1], c1, c_row, c_col, alpha);
                }
            }
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
    static int state = -1; /* asked once; concurrent first calls ask twice, with the same answer */
    int known = __atomic_load_n(&state, __ATOMIC_ACQUIRE);
    if (known < 0) {
        known = amx_permitted();
        __atomic_store_n(&state, known, __ATOMIC_RELEASE);
    }
    return known;
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

/* One product of the self-check on hardware and emulation; the largest difference. */
static double self_check_case(const uint16_t *a, const uint32_t *b, long k1, int causal, long c_row, long c_col,
                              float alpha) {
    enum { M = 32, N = 32 };
    float hw[M * N], emu[M * N];
    memset(hw, 0, sizeof hw);
    memset(emu, 0, sizeof emu);
    rv_bf16_amx(0, M, N, 0, k1, causal, a, 64, b, N, 16, emu, c_row, c_col, alpha);
    rv_bf16_amx_begin();
    rv_bf16_amx(1, M, N, 0, k1, causal, a, 64, b, N, 16, hw, c_row, c_col, alpha);
    rv_bf16_amx_end();
    double worst = 0;
    for (int i = 0; i < M * N; i++) {
        double d = hw[i] > emu[i] ? hw[i] - emu[i] : emu[i] - hw[i];
        if (!(d <= worst)) worst = d; /* NaN propagates as the worst */
    }
    return worst;
}

double rv_bf16_amx_self_check(void) {
    enum { M = 32, N = 32, K = 64 };
    uint16_t a[M * K];
    uint32_t b[(K / 2) * N];
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
    if (!rv_bf16_amx_available()) return -1;
    /* B as two column blocks of 16 (pair-row p of block q at b + q·16 + p·32): a plain product; one scaled,
     * causal and stored transposed (as dvᵀ, dkᵀ are); one whose last chunk of k is partial (as P·v's are). */
    double worst = self_check_case(a, b, K, 0, N, 1, 1.0f);
    double w2 = self_check_case(a, b, K, 1, 1, M, 0.125f);
    double w3 = self_check_case(a, b, 48, 0, N, 1, 0.5f);
    if (!(w2 <= worst)) worst = w2;
    if (!(w3 <= worst)) worst = w3;
    return worst;
}
