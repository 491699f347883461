// Portable C kernels: the reference every accelerated level is tested against.
#include "half_internal.h"

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

static void softmax_portable(float *x, size_t n) {
    float m = -INFINITY;
    for (size_t i = 0; i < n; i++) m = x[i] > m ? x[i] : m;
    float inv = 1.0f / exp_shifted_sum_portable(x, n, m);
    for (size_t i = 0; i < n; i++) x[i] *= inv;
}

const kvp_half_kernels kvp_half_portable = {
    half_to_float_portable, float_to_half_portable, rows_dot_portable, rows_accumulate_portable,
    exp_shifted_sum_portable, softmax_portable,
};
