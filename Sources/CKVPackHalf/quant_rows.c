// int8/int4 page dequantization: codes to f16 rows in one vectorized pass over a page (small
// enough to stay in L1), which the f16 row kernels then read.
#include "half_internal.h"
#include <stdlib.h>

// Portable C, compiled once per instruction set and picked at load time where the compiler
// supports function multi-versioning.
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

KVP_CLONES static void dequantize_rows(const uint8_t *payload, size_t rows, size_t dim, int bits, size_t g,
                                       int channelAxis, float *out) {
#pragma clang fp contract(off)
    const uint8_t *codes = payload;
    const uint8_t *p = payload + (bits == 8 ? rows * dim : rows * dim / 2);
    float *sc = channelAxis ? malloc(sizeof(float) * 2 * dim) : NULL;
    float *zc = sc ? sc + dim : NULL;
    for (size_t r = 0; r < rows; r++) {
        float *x = out + r * dim;
        row_codes(codes, bits, r, dim, x);
        if (!channelAxis) {
            size_t groups = dim / g;
            for (size_t k = 0; k < groups; k++) {
                float s, z;
                params(p, r * groups + k, &s, &z);
                for (size_t c = k * g; c < (k + 1) * g; c++) x[c] = x[c] * s + z;
            }
        } else {
            if (r % g == 0) for (size_t c = 0; c < dim; c++) params(p, (r / g) * dim + c, &sc[c], &zc[c]);
            for (size_t c = 0; c < dim; c++) x[c] = x[c] * sc[c] + zc[c];
        }
    }
    free(sc);
}

void kvp_quant_rows_to_half(const uint8_t *payload, size_t rows, size_t dim, int bits, size_t g,
                            int channelAxis, uint16_t *out) {
    float stackBuffer[16 * 256];
    float *x = rows * dim <= 16 * 256 ? stackBuffer : malloc(sizeof(float) * rows * dim);
    dequantize_rows(payload, rows, dim, bits, g, channelAxis, x);
    kvp_float_to_half(x, out, rows * dim);
    if (x != stackBuffer) free(x);
}
