// Fused dequantize-and-compute kernels for int8/int4 pages: the codes are read once, in order,
// and never written back out as floats.
#include "half_internal.h"
#include <stdlib.h>

// Portable C, compiled once per instruction set and picked at load time where the compiler
// supports function multi-versioning.
#if defined(__x86_64__) && defined(__clang__) && defined(__ELF__)
#define KVP_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define KVP_CLONES
#endif

static inline float code_at(const uint8_t *codes, int bits, size_t index) {
    if (bits == 8) return (float)codes[index];
    uint8_t b = codes[index >> 1];
    return (float)((index & 1) ? (b >> 4) : (b & 0x0F));
}

static inline void params(const uint8_t *p, size_t group, float *s, float *z) {
    uint16_t sb, zb;
    memcpy(&sb, p + 4 * group, 2);
    memcpy(&zb, p + 4 * group + 2, 2);
    *s = half_bits_to_float(sb);
    *z = half_bits_to_float(zb);
}

/// Dot product in eight independent lanes (so the compiler vectorizes it without reassociating).
static inline float lane_dot(const float *a, const float *b, size_t n) {
    float part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) part[j] += a[i + j] * b[i + j];
    float t = 0;
    for (; i < n; i++) t += a[i] * b[i];
    return t + ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
}

/// Codes of one row as floats (the row's codes are contiguous).
static inline void row_codes(const uint8_t *codes, int bits, size_t r, size_t dim, float *out) {
    if (bits == 8) {
        const uint8_t *c = codes + r * dim;
        for (size_t i = 0; i < dim; i++) out[i] = (float)c[i];
    } else {
        const uint8_t *c = codes + r * dim / 2;
        for (size_t i = 0; i < dim / 2; i++) {
            out[2 * i] = (float)(c[i] & 0x0F);
            out[2 * i + 1] = (float)(c[i] >> 4);
        }
    }
}

KVP_CLONES void kvp_quant_rows_dot(const uint8_t *payload, size_t rows, size_t dim, int bits, size_t g,
                        int channelAxis, const float *queries, size_t nq, float scale, float *out, size_t stride) {
    const uint8_t *codes = payload;
    const uint8_t *p = payload + (bits == 8 ? rows * dim : rows * dim / 2);
    float *x = malloc(sizeof(float) * dim * 4);
    float *sq = x + dim, *sc = x + 2 * dim, *zc = x + 3 * dim;
    if (!channelAxis) {
        size_t groups = dim / g;
        // Per query and group: the sum of the query's elements (the zero point's share).
        float *qsum = malloc(sizeof(float) * nq * groups);
        for (size_t q = 0; q < nq; q++)
            for (size_t k = 0; k < groups; k++) {
                float t = 0;
                for (size_t c = k * g; c < (k + 1) * g; c++) t += queries[q * dim + c];
                qsum[q * groups + k] = t;
            }
        float *sz = malloc(sizeof(float) * 2 * groups);
        for (size_t r = 0; r < rows; r++) {
            row_codes(codes, bits, r, dim, x);
            for (size_t k = 0; k < groups; k++) params(p, r * groups + k, &sz[2 * k], &sz[2 * k + 1]);
            for (size_t q = 0; q < nq; q++) {
                const float *qv = queries + q * dim;
                float acc = 0;
                for (size_t k = 0; k < groups; k++)
                    acc += sz[2 * k] * lane_dot(x + k * g, qv + k * g, g) + sz[2 * k + 1] * qsum[q * groups + k];
                out[q * stride + r] = acc * scale;
            }
        }
        free(sz);
        free(qsum);
    } else {
        for (size_t r0 = 0; r0 < rows; r0 += g) {
            size_t r1 = r0 + g < rows ? r0 + g : rows;
            size_t tg = r0 / g;
            for (size_t c = 0; c < dim; c++) params(p, tg * dim + c, &sc[c], &zc[c]);
            for (size_t q = 0; q < nq; q++) {
                const float *qv = queries + q * dim;
                for (size_t c = 0; c < dim; c++) sq[c] = sc[c] * qv[c];
                float zq = lane_dot(zc, qv, dim);
                for (size_t r = r0; r < r1; r++) {
                    row_codes(codes, bits, r, dim, x);
                    out[q * stride + r] = (lane_dot(x, sq, dim) + zq) * scale;
                }
            }
        }
    }
    free(x);
}

KVP_CLONES void kvp_quant_rows_accumulate(const uint8_t *payload, size_t rows, size_t dim, int bits, size_t g,
                               int channelAxis, const float *weights, size_t nq, size_t stride, float *acc) {
    const uint8_t *codes = payload;
    const uint8_t *p = payload + (bits == 8 ? rows * dim : rows * dim / 2);
    float *x = malloc(sizeof(float) * dim * 4);
    float *tmp = x + dim, *sc = x + 2 * dim, *zc = x + 3 * dim;
    if (!channelAxis) {
        size_t groups = dim / g;
        for (size_t r = 0; r < rows; r++) {
            row_codes(codes, bits, r, dim, x);
            for (size_t k = 0; k < groups; k++) {
                float s, z;
                params(p, r * groups + k, &s, &z);
                for (size_t q = 0; q < nq; q++) {
                    float w = weights[q * stride + r];
                    float ws = w * s, wz = w * z;
                    float *a = acc + q * dim;
                    for (size_t c = k * g; c < (k + 1) * g; c++) a[c] += ws * x[c] + wz;
                }
            }
        }
    } else {
        for (size_t r0 = 0; r0 < rows; r0 += g) {
            size_t r1 = r0 + g < rows ? r0 + g : rows;
            size_t tg = r0 / g;
            for (size_t c = 0; c < dim; c++) params(p, tg * dim + c, &sc[c], &zc[c]);
            for (size_t q = 0; q < nq; q++) {
                float wsum = 0;
                for (size_t c = 0; c < dim; c++) tmp[c] = 0;
                for (size_t r = r0; r < r1; r++) {
                    float w = weights[q * stride + r];
                    wsum += w;
                    row_codes(codes, bits, r, dim, x);
                    for (size_t c = 0; c < dim; c++) tmp[c] += w * x[c];
                }
                float *a = acc + q * dim;
                for (size_t c = 0; c < dim; c++) a[c] += sc[c] * tmp[c] + zc[c] * wsum;
            }
        }
    }
    free(x);
}
