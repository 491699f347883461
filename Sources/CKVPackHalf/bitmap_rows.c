// Bitmap-sparse row kernels: walk each row's mask words and read only the packed nonzeros.
#include "half_internal.h"

#if defined(__x86_64__) && defined(__clang__) && defined(__ELF__) && !defined(KVP_NO_IFUNC)
#define KVP_CLONES_AVX2 __attribute__((target_clones("avx2", "default")))
#else
#define KVP_CLONES_AVX2
#endif

KVP_CLONES_AVX2 void kvp_bitmap_rows_dot(const uint64_t *masks, const uint32_t *offsets, const uint16_t *values,
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

KVP_CLONES_AVX2 void kvp_bitmap_rows_accumulate(const uint64_t *masks, const uint32_t *offsets, const uint16_t *values,
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

/* Sets the bits of the `keep` (1..dim) largest magnitudes of one row, equal magnitudes going to
   the lower index: a two-level radix select on the 15-bit magnitude (high 8 bits, then low 7),
   branch-light counting instead of comparisons. */
static void select_row(const uint16_t *row, size_t dim, size_t keep, uint64_t *mask, uint32_t *hi, uint32_t *lo) {
    /* hi[256] and lo[128] arrive zeroed and are left zeroed (only touched entries are reset). */
    uint32_t top = 0;
    for (size_t c = 0; c < dim; c++) {
        uint32_t m = row[c] & 0x7FFFu;
        hi[m >> 7]++;
        top = m > top ? m : top;
    }
    size_t above = 0;
    int b = (int)(top >> 7);
    for (; b > 0; b--) {
        if (above + hi[b] >= keep) break;
        above += hi[b];
    }
    uint32_t topLow = 0;
    for (size_t c = 0; c < dim; c++) {
        uint32_t m = row[c] & 0x7FFFu;
        if ((int)(m >> 7) == b) {
            lo[m & 127u]++;
            topLow = (m & 127u) > topLow ? (m & 127u) : topLow;
        }
    }
    int l = (int)topLow;
    for (; l > 0; l--) {
        if (above + lo[l] >= keep) break;
        above += lo[l];
    }
    uint32_t threshold = ((uint32_t)b << 7) | (uint32_t)l;
    size_t ties = keep - above; /* elements equal to the threshold that stay, lowest index first */
    for (size_t c = 0; c < dim; c++) {
        uint32_t m = row[c] & 0x7FFFu;
        if (m > threshold || (m == threshold && ties > 0)) {
            if (m == threshold) ties--;
            mask[c / 64] |= (uint64_t)1 << (c % 64);
        }
        hi[m >> 7] = 0;
        lo[m & 127u] = 0;
    }
}

#if defined(__x86_64__) && defined(__clang__)
#include <immintrin.h>

/* select_row for rows of a multiple of 32 halves on AVX-512BW: the keep-th largest magnitude by a
   binary search over the 15-bit magnitudes, each step counting `>= t` with 32-lane compares and
   popcounts; then the mask words straight from compare masks (ties: the lowest indices of the
   `== threshold` lanes). Same selection as select_row. */
__attribute__((target("avx512bw,avx512f,popcnt"))) static void select_rows_avx512bw(const uint16_t *rows, size_t rowCount,
                                                                                   size_t dim, size_t keep, uint64_t *masks) {
    size_t chunks = dim / 32, words = (dim + 63) / 64;
    __m512i mags[16]; /* dim <= 512 */
    const __m512i magnitude = _mm512_set1_epi16(0x7FFF);
    for (size_t r = 0; r < rowCount; r++) {
        const uint16_t *row = rows + r * dim;
        for (size_t k = 0; k < chunks; k++) mags[k] = _mm512_and_si512(_mm512_loadu_si512(row + 32 * k), magnitude);
        unsigned lo = 0, hi = 0x7FFF;
        while (lo < hi) {
            unsigned mid = (lo + hi + 1) / 2;
            __m512i t = _mm512_set1_epi16((short)mid);
            size_t count = 0;
            for (size_t k = 0; k < chunks; k++) count += (size_t)_mm_popcnt_u32(_mm512_cmpge_epu16_mask(mags[k], t));
            if (count >= keep) lo = mid; else hi = mid - 1;
        }
        __m512i t = _mm512_set1_epi16((short)lo);
        size_t above = 0;
        for (size_t k = 0; k < chunks; k++) above += (size_t)_mm_popcnt_u32(_mm512_cmpgt_epu16_mask(mags[k], t));
        size_t ties = keep - above;
        uint64_t *mask = masks + r * words;
        for (size_t k = 0; k < chunks; k++) {
            uint32_t bits = _mm512_cmpgt_epu16_mask(mags[k], t);
            uint32_t eq = _mm512_cmpeq_epu16_mask(mags[k], t);
            while (eq && ties > 0) { /* the lowest-index ties first */
                bits |= eq & (0u - eq);
                eq &= eq - 1;
                ties--;
            }
            mask[k / 2] |= (uint64_t)bits << (32 * (k % 2));
        }
    }
}
#endif

void kvp_bitmap_select(const uint16_t *rows, size_t rowCount, size_t dim, size_t keep, uint64_t *masks) {
    size_t words = (dim + 63) / 64;
    if (keep > dim) keep = dim;
    if (keep == 0) return;
#if defined(__x86_64__) && defined(__clang__)
    if (dim % 32 == 0 && dim <= 512 && __builtin_cpu_supports("avx512bw")) {
        select_rows_avx512bw(rows, rowCount, dim, keep, masks);
        return;
    }
#endif
    uint32_t hi[256], lo[128];
    memset(hi, 0, sizeof hi);
    memset(lo, 0, sizeof lo);
    for (size_t r = 0; r < rowCount; r++) select_row(rows + r * dim, dim, keep, masks + r * words, hi, lo);
}
