// x86-64 F16C / AVX2 / FMA kernels (level 1).
#include "half_internal.h"

#ifdef KVP_X86
#include <immintrin.h>
#define KVP_AVX __attribute__((target("avx2,f16c,fma")))

KVP_AVX static void half_to_float_avx(const uint16_t *src, float *dst, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm_loadu_si128((const __m128i *)(src + i));
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(h));
    }
    for (; i < n; i++) dst[i] = half_bits_to_float(src[i]);
}

KVP_AVX static void float_to_half_avx(const float *src, uint16_t *dst, size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT);
        _mm_storeu_si128((__m128i *)(dst + i), h);
    }
    for (; i < n; i++) dst[i] = float_to_half_bits(src[i]);
}

KVP_AVX static inline float hsum256(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    __m128 s = _mm_add_ps(lo, hi);
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

KVP_AVX static void rows_dot_avx(const uint16_t *rows, size_t rowCount, size_t dim,
                                 const float *queries, size_t nq, float scale,
                                 float *out, size_t outStride) {
    if (dim % 8 != 0) { kvp_half_portable.rows_dot(rows, rowCount, dim, queries, nq, scale, out, outStride); return; }
    for (size_t r = 0; r < rowCount; r++) {
        const uint16_t *row = rows + r * dim;
        size_t q = 0;
        for (; q + 4 <= nq; q += 4) {
            // Two accumulators per query (even and odd runs of 8 channels), summed as the
            // single-query loop below sums them: a query's score does not depend on which other
            // queries share its call (a prompt in chunks scores as in one piece).
            const float *q0 = queries + q * dim, *q1 = q0 + dim, *q2 = q1 + dim, *q3 = q2 + dim;
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            size_t c = 0;
            for (; c + 16 <= dim; c += 16) {
                __m256 k = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + c)));
                __m256 kb = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + c + 8)));
                a0 = _mm256_fmadd_ps(k, _mm256_loadu_ps(q0 + c), a0);
                a1 = _mm256_fmadd_ps(k, _mm256_loadu_ps(q1 + c), a1);
                a2 = _mm256_fmadd_ps(k, _mm256_loadu_ps(q2 + c), a2);
                a3 = _mm256_fmadd_ps(k, _mm256_loadu_ps(q3 + c), a3);
                b0 = _mm256_fmadd_ps(kb, _mm256_loadu_ps(q0 + c + 8), b0);
                b1 = _mm256_fmadd_ps(kb, _mm256_loadu_ps(q1 + c + 8), b1);
                b2 = _mm256_fmadd_ps(kb, _mm256_loadu_ps(q2 + c + 8), b2);
                b3 = _mm256_fmadd_ps(kb, _mm256_loadu_ps(q3 + c + 8), b3);
            }
            for (; c < dim; c += 8) {
                __m256 k = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + c)));
                a0 = _mm256_fmadd_ps(k, _mm256_loadu_ps(q0 + c), a0);
                a1 = _mm256_fmadd_ps(k, _mm256_loadu_ps(q1 + c), a1);
                a2 = _mm256_fmadd_ps(k, _mm256_loadu_ps(q2 + c), a2);
                a3 = _mm256_fmadd_ps(k, _mm256_loadu_ps(q3 + c), a3);
            }
            out[(q + 0) * outStride + r] = hsum256(_mm256_add_ps(a0, b0)) * scale;
            out[(q + 1) * outStride + r] = hsum256(_mm256_add_ps(a1, b1)) * scale;
            out[(q + 2) * outStride + r] = hsum256(_mm256_add_ps(a2, b2)) * scale;
            out[(q + 3) * outStride + r] = hsum256(_mm256_add_ps(a3, b3)) * scale;
        }
        for (; q < nq; q++) {
            const float *q0 = queries + q * dim;
            __m256 a0 = _mm256_setzero_ps(), a1 = a0;
            size_t c = 0;
            for (; c + 16 <= dim; c += 16) {
                a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + c))),
                                     _mm256_loadu_ps(q0 + c), a0);
                a1 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + c + 8))),
                                     _mm256_loadu_ps(q0 + c + 8), a1);
            }
            for (; c < dim; c += 8)
                a0 = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + c))),
                                     _mm256_loadu_ps(q0 + c), a0);
            out[q * outStride + r] = hsum256(_mm256_add_ps(a0, a1)) * scale;
        }
    }
}

KVP_AVX static void rows_accumulate_avx(const uint16_t *rows, size_t rowCount, size_t dim,
                                        const float *weights, size_t nq, size_t weightStride,
                                        float *acc) {
    if (dim % 8 != 0) { kvp_half_portable.rows_accumulate(rows, rowCount, dim, weights, nq, weightStride, acc); return; }
    // Chunk-outer: the accumulators of four queries stay in registers across the rows; callers
    // pass row blocks small enough (tens of rows) that the strided reads stay in L1.
    for (size_t c = 0; c < dim; c += 8) {
        size_t q = 0;
        for (; q + 4 <= nq; q += 4) {
            const float *w0 = weights + q * weightStride, *w1 = w0 + weightStride,
                        *w2 = w1 + weightStride, *w3 = w2 + weightStride;
            __m256 a0 = _mm256_loadu_ps(acc + (q + 0) * dim + c);
            __m256 a1 = _mm256_loadu_ps(acc + (q + 1) * dim + c);
            __m256 a2 = _mm256_loadu_ps(acc + (q + 2) * dim + c);
            __m256 a3 = _mm256_loadu_ps(acc + (q + 3) * dim + c);
            for (size_t r = 0; r < rowCount; r++) {
                __m256 v = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(rows + r * dim + c)));
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
            const float *w0 = weights + q * weightStride;
            __m256 a0 = _mm256_loadu_ps(acc + q * dim + c);
            for (size_t r = 0; r < rowCount; r++) {
                __m256 v = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(rows + r * dim + c)));
                a0 = _mm256_fmadd_ps(_mm256_set1_ps(w0[r]), v, a0);
            }
            _mm256_storeu_ps(acc + q * dim + c, a0);
        }
    }
}

// exp(x) for x <= 0 by range reduction x = n*ln2 + r, |r| <= ln2/2, and a degree-6 polynomial
// for exp(r) (Cephes expf coefficients; relative error about 2e-7). Below -87.3 the result is 0.
KVP_AVX static inline __m256 exp256_nonpositive(__m256 x) {
    const __m256 minX = _mm256_set1_ps(-87.3f);
    __m256 underflow = _mm256_cmp_ps(x, minX, _CMP_LT_OQ);
    x = _mm256_max_ps(x, minX);
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500E-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507E-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073E-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894E-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459E-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201E-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    __m256 result = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
    return _mm256_andnot_ps(underflow, result);
}

KVP_AVX static float exp_shifted_sum_avx(float *x, size_t n, float m) {
    __m256 mv = _mm256_set1_ps(m), sum = _mm256_setzero_ps();
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = exp256_nonpositive(_mm256_sub_ps(_mm256_loadu_ps(x + i), mv));
        _mm256_storeu_ps(x + i, v);
        sum = _mm256_add_ps(sum, v);
    }
    float s = hsum256(sum);
    for (; i < n; i++) { x[i] = expf(x[i] - m); s += x[i]; }
    return s;
}


KVP_AVX static void softmax_avx(float *x, size_t n) {
    __m256 mv = _mm256_set1_ps(-INFINITY);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) mv = _mm256_max_ps(mv, _mm256_loadu_ps(x + i));
    float lanes[8];
    _mm256_storeu_ps(lanes, mv);
    float m = -INFINITY;
    for (int j = 0; j < 8; j++) m = lanes[j] > m ? lanes[j] : m;
    for (; i < n; i++) m = x[i] > m ? x[i] : m;
    __m256 inv = _mm256_set1_ps(1.0f / exp_shifted_sum_avx(x, n, m));
    for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), inv));
    for (; i < n; i++) x[i] *= _mm256_cvtss_f32(inv);
}

const kvp_half_kernels kvp_half_avx2 = {
    half_to_float_avx, float_to_half_avx, rows_dot_avx, rows_accumulate_avx, exp_shifted_sum_avx, softmax_avx,
};
#endif
