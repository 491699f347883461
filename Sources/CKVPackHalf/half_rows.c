// Half-precision row kernels: portable C plus an F16C/AVX2/FMA version chosen at run time.
#include "CKVPackHalf.h"
#include <math.h>
#include <string.h>

// MARK: - Portable conversions

static inline float half_bits_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exponent = (h >> 10) & 0x1Fu;
    uint32_t mantissa = h & 0x3FFu;
    uint32_t bits;
    if (exponent == 0) {
        if (mantissa == 0) {
            bits = sign;
        } else { // subnormal: normalise
            exponent = 127 - 15 + 1;
            while ((mantissa & 0x400u) == 0) { mantissa <<= 1; exponent--; }
            mantissa &= 0x3FFu;
            bits = sign | (exponent << 23) | (mantissa << 13);
        }
    } else if (exponent == 0x1F) {
        bits = sign | 0x7F800000u | (mantissa << 13);
    } else {
        bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static inline uint16_t float_to_half_bits(float f) {
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t absx = x & 0x7FFFFFFFu;
    if (absx >= 0x7F800000u) { // inf or nan
        return (uint16_t)(sign | 0x7C00u | (absx > 0x7F800000u ? 0x200u | ((absx >> 13) & 0x3FFu) : 0));
    }
    if (absx >= 0x477FF000u) return (uint16_t)(sign | 0x7C00u); // rounds to >= 65520: inf
    if (absx < 0x38800000u) { // result is subnormal or zero
        if (absx < 0x33000000u) return (uint16_t)sign; // below half of the smallest subnormal
        uint32_t e = absx >> 23;
        uint32_t m = (absx & 0x7FFFFFu) | 0x800000u;
        uint32_t shift = 126 - e; // 14..24
        uint32_t half = m >> shift;
        uint32_t rem = m & ((1u << shift) - 1);
        uint32_t mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1u))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t e = (absx >> 23) - 127 + 15;
    uint32_t m = absx & 0x7FFFFFu;
    uint32_t h = (e << 10) | (m >> 13);
    uint32_t rem = m & 0x1FFFu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++; // carries into the exponent correctly
    return (uint16_t)(sign | h);
}

static void half_to_float_portable(const uint16_t *src, float *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = half_bits_to_float(src[i]);
}

static void float_to_half_portable(const float *src, uint16_t *dst, size_t n) {
    for (size_t i = 0; i < n; i++) dst[i] = float_to_half_bits(src[i]);
}

static void rows_dot_portable(const uint16_t *rows, size_t rowCount, size_t dim,
                              const float *queries, size_t nq, float scale,
                              float *out, size_t outStride) {
    for (size_t r = 0; r < rowCount; r++) {
        const uint16_t *row = rows + r * dim;
        for (size_t q = 0; q < nq; q++) {
            const float *qv = queries + q * dim;
            float acc = 0;
            for (size_t c = 0; c < dim; c++) acc += qv[c] * half_bits_to_float(row[c]);
            out[q * outStride + r] = acc * scale;
        }
    }
}

static void rows_accumulate_portable(const uint16_t *rows, size_t rowCount, size_t dim,
                                     const float *weights, size_t nq, size_t weightStride,
                                     float *acc) {
    for (size_t r = 0; r < rowCount; r++) {
        const uint16_t *row = rows + r * dim;
        for (size_t q = 0; q < nq; q++) {
            float w = weights[q * weightStride + r];
            if (w == 0) continue;
            float *a = acc + q * dim;
            for (size_t c = 0; c < dim; c++) a[c] += w * half_bits_to_float(row[c]);
        }
    }
}

static float exp_shifted_sum_portable(float *x, size_t n, float m) {
    float sum = 0;
    for (size_t i = 0; i < n; i++) { x[i] = expf(x[i] - m); sum += x[i]; }
    return sum;
}

// MARK: - x86-64 F16C / AVX2 / FMA

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#define KVP_X86 1
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
    if (dim % 8 != 0) { rows_dot_portable(rows, rowCount, dim, queries, nq, scale, out, outStride); return; }
    for (size_t r = 0; r < rowCount; r++) {
        const uint16_t *row = rows + r * dim;
        size_t q = 0;
        for (; q + 4 <= nq; q += 4) {
            const float *q0 = queries + q * dim, *q1 = q0 + dim, *q2 = q1 + dim, *q3 = q2 + dim;
            __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (size_t c = 0; c < dim; c += 8) {
                __m256 k = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(row + c)));
                a0 = _mm256_fmadd_ps(k, _mm256_loadu_ps(q0 + c), a0);
                a1 = _mm256_fmadd_ps(k, _mm256_loadu_ps(q1 + c), a1);
                a2 = _mm256_fmadd_ps(k, _mm256_loadu_ps(q2 + c), a2);
                a3 = _mm256_fmadd_ps(k, _mm256_loadu_ps(q3 + c), a3);
            }
            out[(q + 0) * outStride + r] = hsum256(a0) * scale;
            out[(q + 1) * outStride + r] = hsum256(a1) * scale;
            out[(q + 2) * outStride + r] = hsum256(a2) * scale;
            out[(q + 3) * outStride + r] = hsum256(a3) * scale;
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
    if (dim % 8 != 0) { rows_accumulate_portable(rows, rowCount, dim, weights, nq, weightStride, acc); return; }
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

static int accelerated_enabled = 1;

static int cpu_has_avx_f16c_fma(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c")
              && __builtin_cpu_supports("fma");
    }
    return cached && accelerated_enabled;
}
#endif

// MARK: - Dispatch

float kvp_exp_shifted_sum(float *x, size_t count, float maxValue) {
#ifdef KVP_X86
    if (cpu_has_avx_f16c_fma()) return exp_shifted_sum_avx(x, count, maxValue);
#endif
    return exp_shifted_sum_portable(x, count, maxValue);
}

void kvp_half_set_accelerated(int enabled) {
#ifdef KVP_X86
    accelerated_enabled = enabled ? 1 : 0;
#else
    (void)enabled;
#endif
}

int kvp_half_accelerated(void) {
#ifdef KVP_X86
    return cpu_has_avx_f16c_fma();
#else
    return 0;
#endif
}

void kvp_half_to_float(const uint16_t *src, float *dst, size_t count) {
#ifdef KVP_X86
    if (cpu_has_avx_f16c_fma()) { half_to_float_avx(src, dst, count); return; }
#endif
    half_to_float_portable(src, dst, count);
}

void kvp_float_to_half(const float *src, uint16_t *dst, size_t count) {
#ifdef KVP_X86
    if (cpu_has_avx_f16c_fma()) { float_to_half_avx(src, dst, count); return; }
#endif
    float_to_half_portable(src, dst, count);
}

void kvp_half_rows_dot(const uint16_t *rows, size_t rowCount, size_t dim,
                       const float *queries, size_t nq, float scale,
                       float *out, size_t outStride) {
#ifdef KVP_X86
    if (cpu_has_avx_f16c_fma()) { rows_dot_avx(rows, rowCount, dim, queries, nq, scale, out, outStride); return; }
#endif
    rows_dot_portable(rows, rowCount, dim, queries, nq, scale, out, outStride);
}

void kvp_half_rows_accumulate(const uint16_t *rows, size_t rowCount, size_t dim,
                              const float *weights, size_t nq, size_t weightStride,
                              float *acc) {
#ifdef KVP_X86
    if (cpu_has_avx_f16c_fma()) { rows_accumulate_avx(rows, rowCount, dim, weights, nq, weightStride, acc); return; }
#endif
    rows_accumulate_portable(rows, rowCount, dim, weights, nq, weightStride, acc);
}
