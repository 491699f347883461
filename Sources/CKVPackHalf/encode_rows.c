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

static void quantize_group(const float *x, size_t start, size_t count, size_t step, int bits, float levels,
                           uint8_t *codes, uint8_t *param) {
    float lo = INFINITY, hi = -INFINITY;
    for (size_t k = 0; k < count; k++) {
        float v = x[start + k * step];
        lo = v < lo ? v : lo;   /* Swift.min(lo, v) */
        hi = v >= hi ? v : hi;  /* Swift.max(hi, v) */
    }
    uint16_t zero = round_down_half(lo);
    float z = half_bits_to_float(zero);
    uint16_t scale = hi > z ? round_up_half((hi - z) / levels) : 0;
    float s = half_bits_to_float(scale);
    param[0] = (uint8_t)(scale & 0xFFu); param[1] = (uint8_t)(scale >> 8);
    param[2] = (uint8_t)(zero & 0xFFu); param[3] = (uint8_t)(zero >> 8);
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
            quantize_group(x, (group / perRow) * dim + (group % perRow) * g, g, 1, bits, levels, payload, params + 4 * group);
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
