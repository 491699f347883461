// Attention over int8 pages with token-axis groups read straight from the codes: each score is
// sum over groups of scale * (q . codes) + zero * (sum of q over the group), and each value row
// code * scale + zero is formed in registers, in fp32 (no f16 copy of the page, as the GPU
// kernels read them). Other quantized layouts (int4, channel-axis groups) go through
// kvp_quant_rows_to_half and the f16 kernels.
#include "half_internal.h"

static inline void group_params(const uint8_t *p, size_t i, float *s, float *z) {
    uint16_t sb, zb;
    memcpy(&sb, p + 4 * i, 2);
    memcpy(&zb, p + 4 * i + 2, 2);
    *s = half_bits_to_float(sb);
    *z = half_bits_to_float(zb);
}

static void int8_rows_dot_portable(const uint8_t *payload, size_t rows, size_t dim, size_t g, const float *queries,
                                   size_t nq, float scale, float *out, size_t stride) {
    const uint8_t *p = payload + rows * dim;
    size_t groups = dim / g;
    for (size_t r = 0; r < rows; r++) {
        const uint8_t *row = payload + r * dim;
        for (size_t q = 0; q < nq; q++) {
            const float *x = queries + q * dim;
            float total = 0;
            for (size_t k = 0; k < groups; k++) {
                float s, z, dot = 0, sum = 0;
                group_params(p, r * groups + k, &s, &z);
                for (size_t c = k * g; c < (k + 1) * g; c++) {
                    dot += x[c] * (float)row[c];
                    sum += x[c];
                }
                total += s * dot + z * sum;
            }
            out[q * stride + r] = total * scale;
        }
    }
}

static void int8_rows_accumulate_portable(const uint8_t *payload, size_t rows, size_t dim, size_t g, const float *weights,
                                          size_t nq, size_t stride, float *acc) {
    const uint8_t *p = payload + rows * dim;
    size_t groups = dim / g;
    for (size_t r = 0; r < rows; r++) {
        const uint8_t *row = payload + r * dim;
        for (size_t k = 0; k < groups; k++) {
            float s, z;
            group_params(p, r * groups + k, &s, &z);
            for (size_t q = 0; q < nq; q++) {
                float w = weights[q * stride + r];
                for (size_t c = k * g; c < (k + 1) * g; c++) acc[q * dim + c] += w * ((float)row[c] * s + z);
            }
        }
    }
}


// MARK: - q·k with integer products (prepared queries)
//
// Each query is rounded once per head to int16 (one step per query, max |q| -> 32767, so an
// element is off by at most 2^-16 of the largest), with its per-group sums of the rounded
// elements; a page's scores are then Σ_k scale_k·(Σ_c q16_c·code_c) + zero_k·Σ_c q16_c, times the
// step: exactly the rounded query's dot with the dequantized row. The prepared block: unit[nq],
// sums[nq·groups] (floats), then q16[nq·dim] aligned to 32 bytes.

static int prepared_supported(size_t dim, size_t g) {
    return g > 0 && g % 16 == 0 && g <= 1024 && dim % g == 0;
}

size_t kvp_int8_queries_bytes(size_t nq, size_t dim, size_t groupSize) {
    if (!prepared_supported(dim, groupSize) || nq == 0) return 0;
    return 4 * (nq + nq * (dim / groupSize)) + 32 + 2 * nq * dim;
}

static inline int16_t *prepared_codes(const void *prepared, size_t nq, size_t groups) {
    uintptr_t at = (uintptr_t)prepared + 4 * (nq + nq * groups);
    return (int16_t *)((at + 31) & ~(uintptr_t)31);
}

void kvp_int8_queries_prepare(const float *queries, size_t nq, size_t dim, size_t groupSize, void *prepared) {
    size_t groups = dim / groupSize;
    float *unit = (float *)prepared, *sums = unit + nq;
    int16_t *q16 = prepared_codes(prepared, nq, groups);
    for (size_t q = 0; q < nq; q++) {
        const float *x = queries + q * dim;
        float top = 0;
        for (size_t c = 0; c < dim; c++) top = fabsf(x[c]) > top ? fabsf(x[c]) : top;
        float f = top > 0 ? 32767.0f / top : 0.0f;
        unit[q] = top > 0 ? top / 32767.0f : 0.0f;
        for (size_t k = 0; k < groups; k++) {
            int32_t sum = 0;
            for (size_t c = k * groupSize; c < (k + 1) * groupSize; c++) {
                long v = lrintf(x[c] * f);
                v = v > 32767 ? 32767 : (v < -32767 ? -32767 : v);
                q16[q * dim + c] = (int16_t)v;
                sum += (int32_t)v;
            }
            sums[q * groups + k] = (float)sum;
        }
    }
}

static void int8_rows_dot_prepared_portable(const uint8_t *payload, size_t rows, size_t dim, size_t g, const void *prepared,
                                            size_t nq, float scale, float *out, size_t stride) {
    const uint8_t *p = payload + rows * dim;
    size_t groups = dim / g;
    const float *unit = (const float *)prepared, *sums = unit + nq;
    const int16_t *q16 = prepared_codes(prepared, nq, groups);
    for (size_t r = 0; r < rows; r++) {
        const uint8_t *row = payload + r * dim;
        for (size_t q = 0; q < nq; q++) {
            float total = 0;
            for (size_t k = 0; k < groups; k++) {
                float s, z;
                group_params(p, r * groups + k, &s, &z);
                int64_t dot = 0;
                for (size_t c = k * g; c < (k + 1) * g; c++) dot += (int32_t)q16[q * dim + c] * (int32_t)row[c];
                total += s * (float)dot + z * sums[q * groups + k];
            }
            out[q * stride + r] = total * unit[q] * scale;
        }
    }
}

#ifdef KVP_X86
#include <immintrin.h>
#define KVP_AVX __attribute__((target("avx2,f16c,fma")))

KVP_AVX static inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

KVP_AVX static inline __m256 codes8(const uint8_t *c) {
    return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)c)));
}

// The f16 (scale, zero) pairs of `count` groups from `p`, as floats (F16C, eight halves a step).
KVP_AVX static inline void params_avx(const uint8_t *p, size_t count, float *s, float *z) {
    size_t i = 0;
    float f[8];
    for (; i + 4 <= count; i += 4) {
        _mm256_storeu_ps(f, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p + 4 * i))));
        s[i] = f[0]; z[i] = f[1]; s[i + 1] = f[2]; z[i + 1] = f[3];
        s[i + 2] = f[4]; z[i + 2] = f[5]; s[i + 3] = f[6]; z[i + 3] = f[7];
    }
    for (; i < count; i++) group_params(p, i, &s[i], &z[i]);
}


// The prepared dot on AVX2: the codes widen to int16 once for four queries, vpmaddwd sums
// code·q pairs in int32 (a lane takes g/16 pairs of at most 2·255·32767 a group: no overflow for
// g <= 1024), and each group's int32 sums become fp32 once, taking the group's scale. A row's
// (scale, zero) pairs are converted with F16C and read as pairs.
KVP_AVX static void int8_rows_dot_prepared_avx(const uint8_t *payload, size_t rows, size_t dim, size_t g, const void *prepared,
                                               size_t nq, float scale, float *out, size_t stride) {
    const uint8_t *p = payload + rows * dim;
    size_t groups = dim / g;
    const float *unit = (const float *)prepared, *sums = unit + nq;
    const int16_t *q16 = prepared_codes(prepared, nq, groups);
    float pairs[2 * 64];
    if (groups > 64) { int8_rows_dot_prepared_portable(payload, rows, dim, g, prepared, nq, scale, out, stride); return; }
    for (size_t r = 0; r < rows; r++) {
        const uint8_t *row = payload + r * dim;
        const uint8_t *rp = p + 4 * r * groups;
        size_t i = 0;
        for (; i + 4 <= groups; i += 4) _mm256_storeu_ps(pairs + 2 * i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(rp + 4 * i))));
        for (; i < groups; i++) group_params(rp, i, &pairs[2 * i], &pairs[2 * i + 1]);
        size_t q = 0;
        for (; q + 4 <= nq; q += 4) {
            const int16_t *q0 = q16 + q * dim, *q1 = q0 + dim, *q2 = q1 + dim, *q3 = q2 + dim;
            __m256 f0 = _mm256_setzero_ps(), f1 = f0, f2 = f0, f3 = f0;
            float t0 = 0, t1 = 0, t2 = 0, t3 = 0;
            for (size_t k = 0; k < groups; k++) {
                __m256i i0 = _mm256_setzero_si256(), i1 = i0, i2 = i0, i3 = i0;
                for (size_t c = k * g; c < (k + 1) * g; c += 16) {
                    __m256i codes = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(row + c)));
                    i0 = _mm256_add_epi32(i0, _mm256_madd_epi16(codes, _mm256_load_si256((const __m256i *)(q0 + c))));
                    i1 = _mm256_add_epi32(i1, _mm256_madd_epi16(codes, _mm256_load_si256((const __m256i *)(q1 + c))));
                    i2 = _mm256_add_epi32(i2, _mm256_madd_epi16(codes, _mm256_load_si256((const __m256i *)(q2 + c))));
                    i3 = _mm256_add_epi32(i3, _mm256_madd_epi16(codes, _mm256_load_si256((const __m256i *)(q3 + c))));
                }
                __m256 sk = _mm256_set1_ps(pairs[2 * k]);
                float zk = pairs[2 * k + 1];
                f0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i0), sk, f0);
                f1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i1), sk, f1);
                f2 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i2), sk, f2);
                f3 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i3), sk, f3);
                t0 += zk * sums[(q + 0) * groups + k];
                t1 += zk * sums[(q + 1) * groups + k];
                t2 += zk * sums[(q + 2) * groups + k];
                t3 += zk * sums[(q + 3) * groups + k];
            }
            out[(q + 0) * stride + r] = (hsum(f0) + t0) * unit[q + 0] * scale;
            out[(q + 1) * stride + r] = (hsum(f1) + t1) * unit[q + 1] * scale;
            out[(q + 2) * stride + r] = (hsum(f2) + t2) * unit[q + 2] * scale;
            out[(q + 3) * stride + r] = (hsum(f3) + t3) * unit[q + 3] * scale;
        }
        for (; q < nq; q++) {
            const int16_t *q0 = q16 + q * dim;
            __m256 f0 = _mm256_setzero_ps();
            float t0 = 0;
            for (size_t k = 0; k < groups; k++) {
                __m256i i0 = _mm256_setzero_si256();
                for (size_t c = k * g; c < (k + 1) * g; c += 16) {
                    __m256i codes = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(row + c)));
                    i0 = _mm256_add_epi32(i0, _mm256_madd_epi16(codes, _mm256_load_si256((const __m256i *)(q0 + c))));
                }
                f0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(i0), _mm256_set1_ps(pairs[2 * k]), f0);
                t0 += pairs[2 * k + 1] * sums[q * groups + k];
            }
            out[q * stride + r] = (hsum(f0) + t0) * unit[q] * scale;
        }
    }
}

// Four queries at a time: the codes of a group are scaled once (codes * scale) and then shared
// by the queries' FMAs; the zero terms use each query's per-group sums, formed once per call.
KVP_AVX static void int8_rows_dot_avx(const uint8_t *payload, size_t rows, size_t dim, size_t g, const float *queries,
                                      size_t nq, float scale, float *out, size_t stride) {
    const uint8_t *p = payload + rows * dim;
    size_t groups = dim / g;
    float sums[16 * 32];
    if (nq > 16 || groups > 32) { int8_rows_dot_portable(payload, rows, dim, g, queries, nq, scale, out, stride); return; }
    for (size_t q = 0; q < nq; q++)
        for (size_t k = 0; k < groups; k++) {
            float s = 0;
            for (size_t c = k * g; c < (k + 1) * g; c++) s += queries[q * dim + c];
            sums[q * groups + k] = s;
        }
    for (size_t r = 0; r < rows; r++) {
        const uint8_t *row = payload + r * dim;
        float s[32], z[32];
        params_avx(p + 4 * r * groups, groups, s, z);
        size_t q = 0;
        for (; q + 4 <= nq; q += 4) {
            const float *q0 = queries + q * dim, *q1 = q0 + dim, *q2 = q1 + dim, *q3 = q2 + dim;
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (size_t k = 0; k < groups; k++) {
                __m256 sk = _mm256_set1_ps(s[k]);
                for (size_t c = k * g; c < (k + 1) * g; c += 8) {
                    __m256 v = _mm256_mul_ps(codes8(row + c), sk);
                    a0 = _mm256_fmadd_ps(v, _mm256_loadu_ps(q0 + c), a0);
                    a1 = _mm256_fmadd_ps(v, _mm256_loadu_ps(q1 + c), a1);
                    a2 = _mm256_fmadd_ps(v, _mm256_loadu_ps(q2 + c), a2);
                    a3 = _mm256_fmadd_ps(v, _mm256_loadu_ps(q3 + c), a3);
                }
            }
            float t0 = hsum(a0), t1 = hsum(a1), t2 = hsum(a2), t3 = hsum(a3);
            for (size_t k = 0; k < groups; k++) {
                t0 += z[k] * sums[(q + 0) * groups + k];
                t1 += z[k] * sums[(q + 1) * groups + k];
                t2 += z[k] * sums[(q + 2) * groups + k];
                t3 += z[k] * sums[(q + 3) * groups + k];
            }
            out[(q + 0) * stride + r] = t0 * scale;
            out[(q + 1) * stride + r] = t1 * scale;
            out[(q + 2) * stride + r] = t2 * scale;
            out[(q + 3) * stride + r] = t3 * scale;
        }
        for (; q < nq; q++) {
            const float *q0 = queries + q * dim;
            __m256 a0 = _mm256_setzero_ps();
            for (size_t k = 0; k < groups; k++) {
                __m256 sk = _mm256_set1_ps(s[k]);
                for (size_t c = k * g; c < (k + 1) * g; c += 8)
                    a0 = _mm256_fmadd_ps(_mm256_mul_ps(codes8(row + c), sk), _mm256_loadu_ps(q0 + c), a0);
            }
            float t = hsum(a0);
            for (size_t k = 0; k < groups; k++) t += z[k] * sums[q * groups + k];
            out[q * stride + r] = t * scale;
        }
    }
}

// Chunk-outer, as the f16 kernel: four queries' accumulators stay in registers across the rows.
KVP_AVX static void int8_rows_accumulate_avx(const uint8_t *payload, size_t rows, size_t dim, size_t g, const float *weights,
                                             size_t nq, size_t stride, float *acc) {
    const uint8_t *p = payload + rows * dim;
    size_t groups = dim / g;
    float s[64 * 32], z[64 * 32];
    if (rows > 64 || groups > 32) { int8_rows_accumulate_portable(payload, rows, dim, g, weights, nq, stride, acc); return; }
    params_avx(p, rows * groups, s, z);
    for (size_t c = 0; c < dim; c += 8) {
        size_t k = c / g, q = 0;
        for (; q + 4 <= nq; q += 4) {
            const float *w0 = weights + q * stride, *w1 = w0 + stride, *w2 = w1 + stride, *w3 = w2 + stride;
            __m256 a0 = _mm256_loadu_ps(acc + (q + 0) * dim + c);
            __m256 a1 = _mm256_loadu_ps(acc + (q + 1) * dim + c);
            __m256 a2 = _mm256_loadu_ps(acc + (q + 2) * dim + c);
            __m256 a3 = _mm256_loadu_ps(acc + (q + 3) * dim + c);
            for (size_t r = 0; r < rows; r++) {
                __m256 v = _mm256_fmadd_ps(codes8(payload + r * dim + c), _mm256_set1_ps(s[r * groups + k]),
                                           _mm256_set1_ps(z[r * groups + k]));
                a0 = _mm256_fmadd_ps(_mm256_set1_ps(w0[r]), v, a0);
                a1 = _mm256_fmadd_ps(_mm256_set1_ps(w1[r]), v, a1);
                a2 = _mm256_fmadd_ps(_mm256_set1_ps(w2[r]), v, a2);
                a3 = _mm256_fmadd_ps(_mm256_set1_ps(w3[r]), v, a3);
            }
            _mm256_storeu_ps(acc + (q + 0) * dim + c, a0);
            _mm256_storeu_ps(acc + (q + 1) * dim + c, a1);
            _mm256_storeu_ps(acc + (q + 2) * dim + c, a2);
            _mm256_storeu_ps(acc + (q + 3) * dim + c, a3);
        }
        for (; q < nq; q++) {
            const float *w0 = weights + q * stride;
            __m256 a0 = _mm256_loadu_ps(acc + q * dim + c);
            for (size_t r = 0; r < rows; r++) {
                __m256 v = _mm256_fmadd_ps(codes8(payload + r * dim + c), _mm256_set1_ps(s[r * groups + k]),
                                           _mm256_set1_ps(z[r * groups + k]));
                a0 = _mm256_fmadd_ps(_mm256_set1_ps(w0[r]), v, a0);
            }
            _mm256_storeu_ps(acc + q * dim + c, a0);
        }
    }
}
#endif

int kvp_int8_rows_supported(size_t dim, size_t groupSize) {
    return groupSize > 0 && groupSize % 8 == 0 && dim % groupSize == 0;
}

void kvp_int8_rows_dot(const uint8_t *payload, size_t rowCount, size_t dim, size_t groupSize, const float *queries, size_t nq,
                       float scale, float *out, size_t outStride) {
#ifdef KVP_X86
    if (kvp_half_level() >= 1) { int8_rows_dot_avx(payload, rowCount, dim, groupSize, queries, nq, scale, out, outStride); return; }
#endif
    int8_rows_dot_portable(payload, rowCount, dim, groupSize, queries, nq, scale, out, outStride);
}

void kvp_int8_rows_accumulate(const uint8_t *payload, size_t rowCount, size_t dim, size_t groupSize, const float *weights,
                              size_t nq, size_t weightStride, float *acc) {
#ifdef KVP_X86
    if (kvp_half_level() >= 1) { int8_rows_accumulate_avx(payload, rowCount, dim, groupSize, weights, nq, weightStride, acc); return; }
#endif
    int8_rows_accumulate_portable(payload, rowCount, dim, groupSize, weights, nq, weightStride, acc);
}

void kvp_int8_rows_dot_prepared(const uint8_t *payload, size_t rowCount, size_t dim, size_t groupSize, const void *prepared,
                                size_t nq, float scale, float *out, size_t outStride) {
#ifdef KVP_X86
    if (kvp_half_level() >= 1) {
        int8_rows_dot_prepared_avx(payload, rowCount, dim, groupSize, prepared, nq, scale, out, outStride);
        return;
    }
#endif
    int8_rows_dot_prepared_portable(payload, rowCount, dim, groupSize, prepared, nq, scale, out, outStride);
}
