// x86-64 AVX-512F kernels (level 2): 16 floats per register and twice the registers, so the row
// kernels keep more queries and rows in flight per load. Conversions and exp reuse level 1.
#include "half_internal.h"

#ifdef KVP_X86
#include <immintrin.h>
#define KVP_AVX512 __attribute__((target("avx512f,avx2,f16c,fma")))

/// Sums of eight 512-bit vectors, in order, as one 256-bit vector.
KVP_AVX512 static inline __m256 sum8(const __m512 v[8]) {
    __m256 f[8];
    for (int i = 0; i < 8; i++)
        f[i] = _mm256_add_ps(_mm512_castps512_ps256(v[i]), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v[i]), 1)));
    __m256 t0 = _mm256_hadd_ps(f[0], f[1]), t1 = _mm256_hadd_ps(f[2], f[3]);
    __m256 t2 = _mm256_hadd_ps(f[4], f[5]), t3 = _mm256_hadd_ps(f[6], f[7]);
    __m256 u0 = _mm256_hadd_ps(t0, t1), u1 = _mm256_hadd_ps(t2, t3);
    return _mm256_add_ps(_mm256_permute2f128_ps(u0, u1, 0x20), _mm256_permute2f128_ps(u0, u1, 0x31));
}

/// Two rows against four queries at a time; eight accumulators reduced together.
KVP_AVX512 static void rows_dot_avx512(const uint16_t *rows, size_t rowCount, size_t dim,
                                       const float *queries, size_t nq, float scale,
                                       float *out, size_t outStride) {
    if (dim % 16 != 0 || nq < 4) { kvp_half_avx2.rows_dot(rows, rowCount, dim, queries, nq, scale, out, outStride); return; }
    size_t q4 = nq - nq % 4;
    size_t r = 0;
    for (; r + 2 <= rowCount; r += 2) {
        const uint16_t *row0 = rows + r * dim, *row1 = row0 + dim;
        for (size_t q = 0; q < q4; q += 4) {
            const float *qp = queries + q * dim;
            __m512 a[8];
            for (int i = 0; i < 8; i++) a[i] = _mm512_setzero_ps();
            for (size_t c = 0; c < dim; c += 16) {
                __m512 k0 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(row0 + c)));
                __m512 k1 = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(row1 + c)));
                for (int j = 0; j < 4; j++) {
                    __m512 qv = _mm512_loadu_ps(qp + j * dim + c);
                    a[j] = _mm512_fmadd_ps(k0, qv, a[j]);
                    a[4 + j] = _mm512_fmadd_ps(k1, qv, a[4 + j]);
                }
            }
            float s[8];
            _mm256_storeu_ps(s, _mm256_mul_ps(sum8(a), _mm256_set1_ps(scale)));
            for (int j = 0; j < 4; j++) {
                out[(q + j) * outStride + r] = s[j];
                out[(q + j) * outStride + r + 1] = s[4 + j];
            }
        }
        if (q4 < nq) {
            kvp_half_avx2.rows_dot(row0, 2, dim, queries + q4 * dim, nq - q4, scale, out + q4 * outStride + r, outStride);
        }
    }
    if (r < rowCount) kvp_half_avx2.rows_dot(rows + r * dim, rowCount - r, dim, queries, nq, scale, out + r, outStride);
}

/// acc[q, cb..<cb+16*NB] += sum_r w[q, r] * row_r[cb..<cb+16*NB] for two queries, the 2*NB
/// accumulators held in registers across all rows.
#define KVP_ACCUMULATE_BLOCK(NB)                                                                        \
KVP_AVX512 static void accumulate2_##NB(const uint16_t *rows, size_t rowCount, size_t dim, size_t cb,   \
                                        const float *w0, const float *w1, float *acc0, float *acc1) {   \
    __m512 a0[NB], a1[NB];                                                                              \
    for (int j = 0; j < NB; j++) {                                                                      \
        a0[j] = _mm512_loadu_ps(acc0 + cb + 16 * j);                                                    \
        a1[j] = w1 ? _mm512_loadu_ps(acc1 + cb + 16 * j) : _mm512_setzero_ps();                         \
    }                                                                                                   \
    for (size_t r = 0; r < rowCount; r++) {                                                             \
        const uint16_t *row = rows + r * dim + cb;                                                      \
        __m512 b0 = _mm512_set1_ps(w0[r]);                                                              \
        __m512 b1 = _mm512_set1_ps(w1 ? w1[r] : 0.0f);                                                  \
        for (int j = 0; j < NB; j++) {                                                                  \
            __m512 v = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(row + 16 * j)));            \
            a0[j] = _mm512_fmadd_ps(b0, v, a0[j]);                                                      \
            a1[j] = _mm512_fmadd_ps(b1, v, a1[j]);                                                      \
        }                                                                                               \
    }                                                                                                   \
    for (int j = 0; j < NB; j++) {                                                                      \
        _mm512_storeu_ps(acc0 + cb + 16 * j, a0[j]);                                                    \
        if (w1) _mm512_storeu_ps(acc1 + cb + 16 * j, a1[j]);                                            \
    }                                                                                                   \
}
KVP_ACCUMULATE_BLOCK(8)
KVP_ACCUMULATE_BLOCK(4)

KVP_AVX512 static void rows_accumulate_avx512(const uint16_t *rows, size_t rowCount, size_t dim,
                                              const float *weights, size_t nq, size_t weightStride,
                                              float *acc) {
    if (dim % 64 != 0) { kvp_half_avx2.rows_accumulate(rows, rowCount, dim, weights, nq, weightStride, acc); return; }
    for (size_t q = 0; q < nq; q += 2) {
        const float *w0 = weights + q * weightStride;
        const float *w1 = q + 1 < nq ? w0 + weightStride : NULL;
        float *acc0 = acc + q * dim, *acc1 = acc0 + dim;
        size_t cb = 0;
        for (; cb + 128 <= dim; cb += 128) accumulate2_8(rows, rowCount, dim, cb, w0, w1, acc0, acc1);
        for (; cb < dim; cb += 64) accumulate2_4(rows, rowCount, dim, cb, w0, w1, acc0, acc1);
    }
}

// Conversions and exp are memory- or latency-bound already; level 2 reuses level 1's.
static void to_float_avx512(const uint16_t *s, float *d, size_t n) { kvp_half_avx2.to_float(s, d, n); }
static void to_half_avx512(const float *s, uint16_t *d, size_t n) { kvp_half_avx2.to_half(s, d, n); }
static float exp_shifted_sum_avx512(float *x, size_t n, float m) { return kvp_half_avx2.exp_shifted_sum(x, n, m); }
static void softmax_avx512(float *x, size_t n) { kvp_half_avx2.softmax(x, n); }

const kvp_half_kernels kvp_half_avx512 = {
    to_float_avx512, to_half_avx512, rows_dot_avx512, rows_accumulate_avx512, exp_shifted_sum_avx512, softmax_avx512,
};
#endif
