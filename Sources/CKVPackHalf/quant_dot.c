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
