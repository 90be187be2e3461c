/* Products of the trainer's bf16 attention: per (sequence, head), the score, value and gradient products
 * with bf16 inputs and Float32 accumulation, on register strips of at most 4 rows × 32 columns, or on AMX tiles.
 *
 * Operands are packed so that every step of a strip takes two consecutive k at once:
 *   - A: the pair (A[r, 2p], A[r, 2p+1]) is one uint32 (even k in the low half) at a[r·a_row + p·a_k];
 *   - B: pair-row p of 16 columns is 16 uint32 (B[2p, j] low, B[2p+1, j] high) at b[p·ldb + j], column
 *     block q (columns 16q…16q+15) starting at b + q·b_block.
 * That is the operand layout of AVX512-BF16's VDPBF16PS (and of AMX's TDPBF16PS), which adds both
 * products of a pair to a Float32 lane in one instruction. Where the CPU lacks it, a portable kernel
 * computes the same sums from the same layout with Float32 fused multiply-adds (the products of two bf16
 * values are exact in Float32, so the two differ only in how the additions round). */
#ifndef RIVER_BF16_ATTENTION_H
#define RIVER_BF16_ATTENTION_H

#include <stdint.h>

/* 1 when this CPU (and the OS) run AVX512-BF16 (VDPBF16PS on zmm registers, with AVX512-BW masks). */
int rv_bf16_dot_available(void);

/* c[r·c_row + j·c_col] = alpha · Σ_{kp0 ≤ p < kp1} (A[r, 2p]·B[2p, j] + A[r, 2p+1]·B[2p+1, j]) for
 * r < rows (1…4) and j < width, in the layout above. With `causal`, column block q starts at
 * p = max(kp0, 8q) (its first column's k), for products whose B is zero above the diagonal; the dot kernel
 * takes blocks in pairs, both from the first one's start, so B must also hold zeros in the 16 columns after
 * each diagonal block (rv_bf16_pairs with `causal` writes them). `dot` picks
 * the VDPBF16PS kernel (only where rv_bf16_dot_available()) or the portable one. Sums run over p in
 * ascending order, one strip per output, so results do not depend on the thread count. */
void rv_bf16_strip(int dot, int rows, long width, long kp0, long kp1, int causal,
                   const uint32_t *a, long a_row, long a_k, const uint32_t *b, long ldb, long b_block,
                   float *c, long c_row, long c_col, float alpha);

/* dst[r·ldd + j] = bf16(x[r·ld + j]) for j < cols; 0 for cols ≤ j < pad_cols (r < rows). */
void rv_bf16_rows(const float *x, long ld, long rows, long cols, long pad_cols, uint16_t *dst, long ldd);

/* The 16-row panels of a B whose rows are the rows of x transposed (B[d, j] = x[j, d], k = d):
 * dst[q·16·D + (d/2)·32 + 2r + (d%2)] = bf16(x[(16q + r)·ld + d]) for d < D (even), 0 for rows past
 * `rows`; q < ⌈rows/16⌉. As a B operand: ldb = 16, b_block = 8·D (uint32). */
void rv_bf16_panels(const float *x, long ld, long rows, long D, uint16_t *dst);

/* Pair-rows of a B that is x itself (B[i, j] = x[i, j], k = i):
 * dst[(i/2)·2·width + 2j + (i%2)] = bf16(x[i·ld + j]) for i < rows, j < cols, and 0 for the padding:
 * the partner of row `rows` − 1 when `rows` is odd, columns cols…width−1. As a B operand:
 * ldb = width, b_block = 16; as the A operand of xᵀ·(…) (rows j, k = i): a_row = 1, a_k = width.
 * With `causal` (x a causal T×T matrix whose row i holds its values up to column ⌈(i+1)/16⌉·16), pair-row
 * p < rows/2 holds x up to column min(cols, ⌈(2p+1)/16⌉·16) and zeros for 16 columns more: all that a causal
 * product reads (the strips take column blocks in pairs from the first block's start). */
void rv_bf16_pairs(const float *x, long ld, long rows, long cols, long width, int causal, uint16_t *dst);

/* The causal pair-rows (as rv_bf16_pairs with `causal`, cols = T = total_rows) of rows first_row …
 * first_row + rows − 1 of a causal T×T matrix: x points at row first_row, dst at pair-row first_row/2 of a
 * layout `width` columns wide; first_row is even, and `rows` too unless the strip ends at row T. A strip of
 * query rows adds its pair-rows while its values are in cache; a last odd row pairs with zeros. */
void rv_bf16_causal_pairs(const float *x, long ld, long first_row, long rows, long total_rows, long width,
                          uint16_t *dst);

/* dst[j·ldd + i] = bf16(x[i·ld + j]) for i < rows, j < cols: xᵀ as a row-major
 * A operand of the AMX kernel. */
void rv_bf16_transposed(const float *x, long ld, long rows, long cols, uint16_t *dst, long ldd);

/* AMX (Intel's tile matrix unit: TDPBF16PS multiplies a 16×32 bf16 tile by a 32×16 one into 16×16
 * Float32 sums, 16 times the work of one VDPBF16PS).
 *
 * rv_bf16_amx_available: the CPU has AMX-TILE and AMX-BF16, the OS enables the tile state, and Linux
 * granted this process its use (arch_prctl ARCH_REQ_XCOMP_PERM; asked once).
 * rv_bf16_amx_begin / _end: load the tile configuration on the calling thread before its first tile
 * product, and release the tiles after its last (each thread that calls rv_bf16_amx with hardware = 1).
 *
 * rv_bf16_amx: c[r·c_row + j·c_col] = alpha · Σ_k A[r, k]·B[k, j] for r < m and j < n (both multiples of
 * 16), A row-major bf16 (a[r·lda + k]), B in the pair-rows above (pair-row k/2 of column block q at
 * b + q·b_block + (k/2)·ldb). Column blocks go in pairs (q even, q + 1) sharing each A tile; a pair sums k
 * from start(q) = (causal and 16q > k0 ? 16q : k0) to k1 in chunks of 32 (k0, k1 even), so with `causal`
 * B must hold zeros for block q + 1 from there (rv_bf16_pairs writes them). A last, partial chunk is loaded
 * from zero-padded copies: nothing at or past k1 is read. hardware = 0 runs the same loop on an emulation of
 * the tiles (any CPU; tests, and the hardware's self-check). */
int rv_bf16_amx_available(void);
void rv_bf16_amx_begin(void);
void rv_bf16_amx_end(void);
void rv_bf16_amx(int hardware, long m, long n, long k0, long k1, int causal, const uint16_t *a, long lda,
                 const uint32_t *b, long ldb, long b_block, float *c, long c_row, long c_col, float alpha);

/* The largest absolute difference between the hardware tiles and their emulation on fixed 32×32 products
 * of values in [−1, 1) — plain (k 64); scaled, causal and stored transposed; with a partial last chunk
 * (k 48) — sums of ≤ 64 products, a few 1e-6 from the order of the additions; or −1 where AMX is not
 * available. */
double rv_bf16_amx_self_check(void);

#endif
