#pragma once
// Half-precision (IEEE binary16) row kernels for KVPack's CPU backend.
//
// Each entry point runs the best kernel level the CPU supports: 2 = AVX-512F, 1 = F16C/AVX2/FMA,
// 0 = portable C. Half values travel as their raw uint16_t bits.
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Converts `count` half values to float.
void kvp_half_to_float(const uint16_t *src, float *dst, size_t count);

/// Converts `count` floats to half (round to nearest even; overflow becomes +-inf).
void kvp_float_to_half(const float *src, uint16_t *dst, size_t count);

/// Scores of `rows` half rows against `nq` float queries.
/// rows: [rows, dim] halves; queries: [nq, dim] floats; out: [nq, outStride], out[q*outStride + r].
/// Each score is scale * dot(query, row), accumulated in float.
void kvp_half_rows_dot(const uint16_t *rows, size_t rowCount, size_t dim,
                       const float *queries, size_t nq, float scale,
                       float *out, size_t outStride);

/// Weighted sum of half rows: acc[q, :] += sum_r weights[q*weightStride + r] * rows[r, :].
/// rows: [rows, dim] halves; weights: [nq, weightStride]; acc: [nq, dim] floats.
void kvp_half_rows_accumulate(const uint16_t *rows, size_t rowCount, size_t dim,
                              const float *weights, size_t nq, size_t weightStride,
                              float *acc);

/// In place: x[i] = exp(x[i] - maxValue) for i in 0..<count; returns the sum of the results.
/// Inputs of -inf give exactly 0.
float kvp_exp_shifted_sum(float *x, size_t count, float maxValue);

/// In place: x = softmax(x) over `count` floats (max-shifted, fp32); -inf entries become 0.
/// - Precondition: count > 0 and at least one entry is finite.
void kvp_softmax_inplace(float *x, size_t count);

/// The highest kernel level this CPU supports (0, 1 or 2).
int kvp_half_max_level(void);

/// The kernel level in use on the calling thread: its requested level capped at `kvp_half_max_level()`.
int kvp_half_level(void);

/// Requests a kernel level for the calling thread only (capped at what the CPU supports; 99 = best).
/// For tests that compare the levels; every level computes the same results up to float rounding
/// order. Other threads keep the best level, so work running beside such a test is unaffected.
void kvp_half_set_level(int level);

#ifdef __cplusplus
}
#endif

#ifdef __cplusplus
extern "C" {
#endif

/// Scores of bitmap-sparse rows (Mustafar's format) against `nq` float queries, touching only
/// the nonzeros. masks: [rows, ceil(dim/64)]; offsets: [rows] index of each row's first nonzero
/// in `values`; values: the nonzeros (half bits). out[q*outStride + r] = scale * dot(q, row r).
void kvp_bitmap_rows_dot(const uint64_t *masks, const uint32_t *offsets, const uint16_t *values,
                         size_t rowCount, size_t dim, const float *queries, size_t nq, float scale,
                         float *out, size_t outStride);

/// acc[q, :] += sum_r weights[q*weightStride + r] * row r, over the nonzeros only.
void kvp_bitmap_rows_accumulate(const uint64_t *masks, const uint32_t *offsets, const uint16_t *values,
                                size_t rowCount, size_t dim, const float *weights, size_t nq,
                                size_t weightStride, float *acc);

#ifdef __cplusplus
}
#endif

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#ifdef __cplusplus
extern "C" {
#endif

/// Whether `kvp_int8_rows_dot` / `kvp_int8_rows_accumulate` take int8 pages of `dim` channels in
/// token-axis groups of `groupSize` (a multiple of 8 dividing `dim`).
int kvp_int8_rows_supported(size_t dim, size_t groupSize);

/// `kvp_half_rows_dot` over an int8 page (KVPack's payload: `[rows, dim]` codes, then an f16
/// scale and zero per group of `groupSize` channels of a row), read from the codes in fp32:
/// out[q*outStride + r] = scale * sum_c query[q][c] * (code[r][c] * groupScale + groupZero).
void kvp_int8_rows_dot(const uint8_t *payload, size_t rowCount, size_t dim, size_t groupSize, const float *queries, size_t nq,
                       float scale, float *out, size_t outStride);

/// `kvp_half_rows_accumulate` over an int8 page (as `kvp_int8_rows_dot`):
/// acc[q][c] += sum_r weights[q*weightStride + r] * (code[r][c] * groupScale + groupZero).
void kvp_int8_rows_accumulate(const uint8_t *payload, size_t rowCount, size_t dim, size_t groupSize, const float *weights,
                              size_t nq, size_t weightStride, float *acc);

/// Asks the memory system for `bytes` bytes from `p` (cache-line prefetches; reads nothing).
void kvp_prefetch(const void *p, size_t bytes);
/// Asks for the lines of `bytes` bytes from `p` about to be written (prefetches with write intent,
/// the last byte's line included).
void kvp_prefetch_write(const void *p, size_t bytes);

/// Bytes of `nq` queries of `dim` channels prepared for `kvp_int8_rows_dot_prepared` with groups
/// of `groupSize` channels; 0 where that path does not take the layout (groups of a multiple of
/// 16 channels, at most 1024, dividing `dim`): use `kvp_int8_rows_dot`.
size_t kvp_int8_queries_bytes(size_t nq, size_t dim, size_t groupSize);

/// Rounds `queries` (`[nq, dim]`, finite) to int16 (one step per query: its largest |element| is
/// 32767 steps) with their per-group sums, into `prepared` (`kvp_int8_queries_bytes` bytes).
void kvp_int8_queries_prepare(const float *queries, size_t nq, size_t dim, size_t groupSize, void *prepared);

/// `kvp_int8_rows_dot` with integer products on prepared queries: each score is the rounded
/// query's exact dot with the dequantized row (off from the fp32 query's by at most half a step
/// times the sum of |k|), in fp32.
void kvp_int8_rows_dot_prepared(const uint8_t *payload, size_t rowCount, size_t dim, size_t groupSize, const void *prepared,
                                size_t nq, float scale, float *out, size_t outStride);

/// Dequantizes int8/int4 rows (KVPack's quantized page payload: codes, then an f16 scale and zero
/// per group; bits 8 or 4, two codes a byte low nibble first; channelAxis 0 = groups of `groupSize`
/// channels within a row, 1 = groups of `groupSize` rows within a channel) to half bits, `[rows, dim]`:
/// half(code * scale + zero), rounded exactly as KVPack's Swift decoder rounds.
void kvp_quant_rows_to_half(const uint8_t *payload, size_t rowCount, size_t dim, int bits, size_t groupSize,
                            int channelAxis, uint16_t *out);

/// Magnitude pruning masks: for each of `rowCount` rows of `dim` halves, sets in
/// masks[r*ceil(dim/64) ..] (zeroed by the caller) the bits of the `keep` largest |x|, equal
/// magnitudes going to the lower index (finite values; dim <= 65535). O(dim) per row.
void kvp_bitmap_select(const uint16_t *rows, size_t rowCount, size_t dim, size_t keep, uint64_t *masks);

/// Encodes int8/int4 rows (KVPack's quantized page payload: codes, then an f16 scale and zero
/// per group, little-endian) into `payload` (zeroed by the caller, of the exact size), exactly as
/// KVPack's Swift reference encoder does. Returns 0, or -1 when memory runs out.
int kvp_quant_rows_encode(const uint16_t *values, size_t rows, size_t dim, int bits, size_t groupSize, int channelAxis,
                          uint8_t *payload);

/// Encodes bitmap rows (masks, then per-row offsets, then the `keep` nonzeros of each row; the
/// largest |x|, ties to the lower index) into `payload` (zeroed, 8-byte aligned, exact size).
void kvp_bitmap_encode(const uint16_t *rows, size_t rowCount, size_t dim, size_t keep, uint8_t *payload);

/// out[i*outStride + j] = scale * dot(queries[i], keys[j]) for `m` float queries `[m, dim]`
/// against `n` f16 key rows `[n, dim]` (dim <= 512), fp32 accumulation, register-blocked.
void kvp_window_scores(const uint16_t *keys, size_t n, size_t dim, const float *queries, size_t m, float scale,
                       float *out, size_t outStride);

/// glibc: allocations up to 512 MiB come from the heap and freed memory stays there (no mmap
/// and kernel zero-fill per large temporary buffer). No-op elsewhere.
void kvp_keep_large_buffers_in_heap(void);

/// Per column j < n of `rows` float rows (row i at p + i·stride): sum[j] += Σ_i x and
/// negXLogX[j] -= Σ_i x·ln(x + 1e-10) (x >= 0; a vectorized logf of about 1 ulp).
void kvp_column_moments(const float *p, size_t rows, size_t stride, size_t n, float *sum, float *negXLogX);

/// Per column j < n: m2[j] += Σ_i (x - mean[j])², m4[j] += Σ_i (x - mean[j])⁴.
void kvp_central_moments(const float *p, size_t rows, size_t stride, size_t n, const float *mean, float *m2, float *m4);

#ifdef __cplusplus
}
#endif
