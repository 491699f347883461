// Bitmap-sparse row kernels: walk each row's mask words and read only the packed nonzeros.
#include "half_internal.h"

#if defined(__x86_64__) && defined(__clang__) && defined(__ELF__)
#define KVP_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define KVP_CLONES
#endif

KVP_CLONES void kvp_bitmap_rows_dot(const uint64_t *masks, const uint32_t *offsets, const uint16_t *values,
                         size_t rowCount, size_t dim, const float *queries, size_t nq, float scale,
                         float *out, size_t outStride) {
    size_t words = (dim + 63) / 64;
    float acc[64];
    for (size_t r = 0; r < rowCount; r++) {
        for (size_t q0 = 0; q0 < nq; q0 += 64) {
            size_t qn = nq - q0 < 64 ? nq - q0 : 64;
            for (size_t q = 0; q < qn; q++) acc[q] = 0;
            const uint16_t *v = values + offsets[r];
            for (size_t w = 0; w < words; w++) {
                uint64_t m = masks[r * words + w];
                while (m) {
                    size_t c = 64 * w + (size_t)__builtin_ctzll(m);
                    float x = half_bits_to_float(*v++);
                    const float *qc = queries + q0 * dim + c;
                    for (size_t q = 0; q < qn; q++) acc[q] += x * qc[q * dim];
                    m &= m - 1;
                }
            }
            for (size_t q = 0; q < qn; q++) out[(q0 + q) * outStride + r] = acc[q] * scale;
        }
    }
}

KVP_CLONES void kvp_bitmap_rows_accumulate(const uint64_t *masks, const uint32_t *offsets, const uint16_t *values,
                                size_t rowCount, size_t dim, const float *weights, size_t nq,
                                size_t weightStride, float *acc) {
    size_t words = (dim + 63) / 64;
    for (size_t r = 0; r < rowCount; r++) {
        const uint16_t *v = values + offsets[r];
        for (size_t w = 0; w < words; w++) {
            uint64_t m = masks[r * words + w];
            while (m) {
                size_t c = 64 * w + (size_t)__builtin_ctzll(m);
                float x = half_bits_to_float(*v++);
                for (size_t q = 0; q < nq; q++) acc[q * dim + c] += weights[q * weightStride + r] * x;
                m &= m - 1;
            }
        }
    }
}

/* Quickselect (Lomuto) over unique 32-bit keys (magnitude << 16 | (0xFFFF - index)): after
   it, the `keep` largest keys occupy k[0..keep), in no particular order. keep >= 1. */
static void select_largest(uint32_t *k, size_t n, size_t keep) {
    size_t lo = 0, hi = n - 1, target = keep - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint32_t t = k[mid]; k[mid] = k[hi]; k[hi] = t;
        uint32_t pivot = k[hi];
        size_t store = lo;
        for (size_t i = lo; i < hi; i++) {
            if (k[i] > pivot) { t = k[i]; k[i] = k[store]; k[store] = t; store++; }
        }
        t = k[store]; k[store] = k[hi]; k[hi] = t;
        if (store == target) return;
        if (store > target) hi = store - 1; else lo = store + 1;
    }
}

void kvp_bitmap_select(const uint16_t *rows, size_t rowCount, size_t dim, size_t keep, uint64_t *masks) {
    size_t words = (dim + 63) / 64;
    uint32_t keys[65536];
    if (keep > dim) keep = dim;
    if (keep == 0) return;
    for (size_t r = 0; r < rowCount; r++) {
        const uint16_t *row = rows + r * dim;
        for (size_t c = 0; c < dim; c++) keys[c] = ((uint32_t)(row[c] & 0x7FFF) << 16) | (uint32_t)(0xFFFF - c);
        if (keep < dim) select_largest(keys, dim, keep);
        for (size_t i = 0; i < keep; i++) {
            size_t c = 0xFFFF - (keys[i] & 0xFFFF);
            masks[r * words + c / 64] |= (uint64_t)1 << (c % 64);
        }
    }
}
