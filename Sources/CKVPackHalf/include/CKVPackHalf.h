#pragma once
// Half-precision (IEEE binary16) row kernels for KVPack's CPU backend.
//
// Each entry point picks, once per process, an F16C/AVX2/FMA version when the CPU has those
// features and a portable version otherwise. Half values travel as their raw uint16_t bits.
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

/// 1 when the accelerated (F16C/AVX2/FMA) versions are in use, else 0.
int kvp_half_accelerated(void);

/// Turns the accelerated versions off (0) or back on where the CPU has them (1). For tests
/// that compare both paths; not thread-safe against concurrent kernel calls.
void kvp_half_set_accelerated(int enabled);

#ifdef __cplusplus
}
#endif
