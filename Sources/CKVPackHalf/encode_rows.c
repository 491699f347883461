// Encoders for KVPack's quantized and bitmap page payloads (the formats the Swift decoders and
// the attention kernels read). They produce exactly the bytes of the Swift reference encoders
// (QuantizedRows.encodeReference, BitmapRows), which a property test checks. Little-endian hosts.
#include "half_internal.h"
#include <stdlib.h>

static inline uint16_t next_up_half(uint16_t h) {
    if (h == 0x7C00u || ((h & 0x7C00u) == 0x7C00u && (h & 0x3FFu))) return h; // +inf, nan
    if (h & 0x8000u) return h == 0x8000u ? 0x0001u : (uint16_t)(h - 1);
    return (uint16_t)(h + 1);
}

static inline uint16_t next_down_half(uint16_t h) {
    if (h == 0xFC00u || ((h & 0x7C00u) == 0x7C00u && (h & 0x3FFu))) return h; // -inf, nan
    if (h & 0x8000u) return (uint16_t)(h + 1);
    return h == 0 ? 0x8001u : (uint16_t)(h - 1);
}

/* The largest half not above x, and the smallest not below it. */
static inline uint16_t round_down_half(float x) {
    uint16_t h = float_to_half_bits(x);
    return half_bits_to_float(h) > x ? next_down_half(h) : h;
}
static inline uint16_t round_up_half(float x) {
    uint16_t h = float_to_half_bits(x);
    return half_bits_to_float(h) < x ? next_up_half(h) : h;
}

/* The group's min and max, scanned in order as the Swift reference does (NaN ignored; of +0 and
 * -0 the first for the min and the last for the max). */
static void group_range(const float *x, size_t start, size_t count, size_t step, float *lo, float *hi) {
    float l = INFINITY, h = -INFINITY;
    for (size_t k = 0; k < count; k++) {
        float v = x[start + k * step];
        l = v < l ? v : l;   /* Swift.min(lo, v) */
        h = v >= h ? v : h;  /* Swift.max(hi, v) */
    }
    *lo = l;
    *hi = h;
}

/* The group's f16 zero point (largest half <= lo) and scale (smallest half >= (hi - zero) / levels,
 * 0 when hi <= zero), written to its 4 parameter bytes; their float values in *z and *s. */
static void group_params(float lo, float hi, float levels, uint8_t *param, float *z, float *s) {
    uint16_t zero = round_down_half(lo);
    *z = half_bits_to_float(zero);
    uint16_t scale = hi > *z ? round_up_half((hi - *z) / levels) : 0;
    *s = half_bits_to_float(scale);
    param[0] = (uint8_t)(scale & 0xFFu); param[1] = (uint8_t)(scale >> 8);
    param[2] = (uint8_t)(zero & 0xFFu); param[3] = (uint8_t)(zero >> 8);
}

static void quantize_group(const float *x, size_t start, size_t count, size_t step, int bits, float levels,
                           uint8_t *codes, uint8_t *param) {
    float lo, hi, z, s;
    group_range(x, start, count, step, &lo, &hi);
    group_params(lo, hi, levels, param, &z, &s);
    for (size_t k = 0; k < count; k++) {
        size_t i = start + k * step;
        float code = 0;
        float v = (x[i] - z) / s + 0.5f;
        if (s > 0 && v >= 0) {
            if (v < levels + 1) {
                float c = (float)(long)v;
                code = c < levels ? c : levels;
            } else {
                code = levels;
            }
        }
        if (bits == 8) codes[i] = (uint8_t)code;
        else codes[i / 2] |= (uint8_t)((uint8_t)code << (i % 2 == 0 ? 0 : 4));
    }
}

typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));
typedef int32_t v4i __attribute__((vector_size(16)));
typedef uint8_t v8u8 __attribute__((vector_size(8)));
typedef uint8_t v4u8 __attribute__((vector_size(4)));
/* Lane-wise m ? a : b for a comparison mask m (C has no vector ?:); casts reinterpret bits. */
#define SELECT(m, a, b) ((v8f)(((v8i)(a) & (m)) | ((v8i)(b) & ~(m))))

/* A token-axis group (contiguous, count a multiple of 8): quantize_group's bytes, 8 lanes at a
 * time. The min/max lane reductions agree with the sequential scan except where the extreme is a
 * zero (+0 and -0 compare equal, so the scan keeps whichever came first or last): then the
 * sequential scan decides. Codes use the same operations in the same order per element. */
KVP_CLONES static void quantize_run(const float *x, size_t count, int bits, float levels, uint8_t *codes, uint8_t *param) {
    v8f lo, hi;
    for (int l = 0; l < 8; l++) { lo[l] = INFINITY; hi[l] = -INFINITY; }
    for (size_t k = 0; k < count; k += 8) {
        v8f v;
        memcpy(&v, x + k, sizeof v);
        lo = SELECT(v < lo, v, lo);
        hi = SELECT(v >= hi, v, hi);
    }
    float l0 = INFINITY, h0 = -INFINITY;
    for (int l = 0; l < 8; l++) {
        l0 = lo[l] < l0 ? lo[l] : l0;
        h0 = hi[l] >= h0 ? hi[l] : h0;
    }
    if (l0 == 0 || h0 == 0) group_range(x, 0, count, 1, &l0, &h0);
    float z, s;
    group_params(l0, h0, levels, param, &z, &s);
    if (!(s > 0)) {
        memset(codes, 0, bits == 8 ? count : count / 2);
        return;
    }
    v8f zv = z - (v8f){0}, sv = s - (v8f){0}, top = levels + 1 - (v8f){0}, lv = levels - (v8f){0}, nil = {0};
    for (size_t k = 0; k < count; k += 8) {
        v8f v;
        memcpy(&v, x + k, sizeof v);
        v = (v - zv) / sv + 0.5f;
        v8i inRange = v < top;
        v8f small = SELECT(inRange, v, nil);         /* no conversion of huge or NaN values */
        v8f c = __builtin_convertvector(__builtin_convertvector(small, v8i), v8f); /* truncation */
        c = SELECT(c < lv, c, lv);
        c = SELECT(inRange, c, lv);
        c = SELECT(v >= nil, c, nil);
        v8i ci = __builtin_convertvector(c, v8i);
        if (bits == 8) {
            v8u8 b = __builtin_convertvector(ci, v8u8);
            memcpy(codes + k, &b, 8);
        } else {
            v4i even = __builtin_shufflevector(ci, ci, 0, 2, 4, 6), odd = __builtin_shufflevector(ci, ci, 1, 3, 5, 7);
            v4u8 b = __builtin_convertvector(even | odd << 4, v4u8);
            memcpy(codes + k / 2, &b, 4);
        }
    }
}

int kvp_quant_rows_encode(const uint16_t *values, size_t rows, size_t dim, int bits, size_t g, int channelAxis,
                          uint8_t *payload) {
    float *x = malloc(rows * dim * sizeof(float));
    if (!x) return -1;
    kvp_half_to_float(values, x, rows * dim);
    float levels = (float)((1 << bits) - 1);
    size_t codeBytes = bits == 8 ? rows * dim : rows * dim / 2;
    uint8_t *params = payload + codeBytes;
    if (!channelAxis) {
        size_t perRow = dim / g, groups = rows * perRow;
        for (size_t group = 0; group < groups; group++) {
            size_t start = (group / perRow) * dim + (group % perRow) * g;
            if (g % 8 == 0) {
                quantize_run(x + start, g, bits, levels, bits == 8 ? payload + start : payload + start / 2, params + 4 * group);
            } else {
                quantize_group(x, start, g, 1, bits, levels, payload, params + 4 * group);
            }
        }
    } else {
        size_t tokenGroups = (rows + g - 1) / g;
        for (size_t tg = 0; tg < tokenGroups; tg++) {
            size_t end = (tg + 1) * g < rows ? (tg + 1) * g : rows;
            for (size_t c = 0; c < dim; c++) {
                quantize_group(x, tg * g * dim + c, end - tg * g, dim, bits, levels, payload, params + 4 * (tg * dim + c));
            }
        }
    }
    free(x);
    return 0;
}

void kvp_bitmap_encode(const uint16_t *rows, size_t rowCount, size_t dim, size_t keep, uint8_t *payload) {
    size_t words = (dim + 63) / 64;
    uint64_t *masks = (uint64_t *)payload; /* payload is 8-byte aligned (Swift arrays are) */
    uint8_t *offsets = payload + rowCount * words * 8;
    uint8_t *values = offsets + rowCount * 4;
    if (keep > dim) keep = dim;
    kvp_bitmap_select(rows, rowCount, dim, keep, masks);
    size_t next = 0;
    for (size_t r = 0; r < rowCount; r++) {
        uint32_t o = (uint32_t)next;
        memcpy(offsets + 4 * r, &o, 4);
        for (size_t w = 0; w < words; w++) {
            uint64_t m = masks[r * words + w];
            while (m) {
                int b = __builtin_ctzll(m);
                memcpy(values + 2 * next, &rows[r * dim + 64 * w + (size_t)b], 2);
                next++;
                m &= m - 1;
            }
        }
    }
}
