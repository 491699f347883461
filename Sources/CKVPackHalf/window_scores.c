// Observation-window scores: out[i, j] = scale * dot(q_i, k_j) for m float queries against n
// f16 key rows, as a register-blocked micro-kernel (8 queries x 16 keys per tile, or 8 x 32 with
// AVX-512's 32 vector registers; keys converted to fp32 and transposed once per block). The
// policies' heavy step (SnapKV, H2O, ARKV, Task-KV): a small matrix product, not a row-by-row dot
// loop. Per feature (c) a tile loads its key vectors and 8 query scalars for 8 (or 16) FMAs: the
// 32-key tile halves the loads per FMA, so the FMA units, not the load ports, set the pace.
#include "half_internal.h"

enum { KEYS = 16, QUERIES = 8 };
typedef float v16 __attribute__((vector_size(64)));

KVP_CLONES static void window_scores_16(const uint16_t *keys, size_t n, size_t dim, const float *queries, size_t m,
                                        float scale, float *out, size_t outStride) {
    float kt[512 * KEYS]; /* one block of keys, transposed: kt[c * KEYS + r] */
    float block[512 * KEYS];
    if (dim > 512) return;
    for (size_t j0 = 0; j0 < n; j0 += KEYS) {
        size_t rows = n - j0 < KEYS ? n - j0 : KEYS;
        kvp_half_to_float(keys + j0 * dim, block, rows * dim);
        for (size_t r = 0; r < KEYS; r++) {
            for (size_t c = 0; c < dim; c++) kt[c * KEYS + r] = r < rows ? block[r * dim + c] : 0.0f;
        }
        for (size_t i0 = 0; i0 < m; i0 += QUERIES) {
            size_t qs = m - i0 < QUERIES ? m - i0 : QUERIES;
            const float *q[QUERIES];
            for (size_t i = 0; i < QUERIES; i++) q[i] = queries + (i0 + (i < qs ? i : 0)) * dim;
            v16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, a4 = {0}, a5 = {0}, a6 = {0}, a7 = {0};
            for (size_t c = 0; c < dim; c++) {
                v16 k;
                memcpy(&k, kt + c * KEYS, sizeof k);
                a0 += q[0][c] * k; a1 += q[1][c] * k; a2 += q[2][c] * k; a3 += q[3][c] * k;
                a4 += q[4][c] * k; a5 += q[5][c] * k; a6 += q[6][c] * k; a7 += q[7][c] * k;
            }
            v16 acc[QUERIES] = {a0, a1, a2, a3, a4, a5, a6, a7};
            for (size_t i = 0; i < qs; i++) {
                for (size_t r = 0; r < rows; r++) out[(i0 + i) * outStride + j0 + r] = scale * acc[i][r];
            }
        }
    }
}

#if defined(__x86_64__) && defined(__clang__)
enum { WIDE = 32 };

__attribute__((target("avx512f"))) static void window_scores_32(const uint16_t *keys, size_t n, size_t dim,
                                                                const float *queries, size_t m, float scale,
                                                                float *out, size_t outStride) {
    float kt[512 * WIDE]; /* one block of keys, transposed: kt[c * WIDE + r] */
    float row[512];
    for (size_t j0 = 0; j0 < n; j0 += WIDE) {
        size_t rows = n - j0 < WIDE ? n - j0 : WIDE;
        for (size_t r = 0; r < WIDE; r++) {
            if (r < rows) {
                kvp_half_to_float(keys + (j0 + r) * dim, row, dim);
                for (size_t c = 0; c < dim; c++) kt[c * WIDE + r] = row[c];
            } else {
                for (size_t c = 0; c < dim; c++) kt[c * WIDE + r] = 0.0f;
            }
        }
        for (size_t i0 = 0; i0 < m; i0 += QUERIES) {
            size_t qs = m - i0 < QUERIES ? m - i0 : QUERIES;
            const float *q[QUERIES];
            for (size_t i = 0; i < QUERIES; i++) q[i] = queries + (i0 + (i < qs ? i : 0)) * dim;
            v16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, a4 = {0}, a5 = {0}, a6 = {0}, a7 = {0};
            v16 b0 = {0}, b1 = {0}, b2 = {0}, b3 = {0}, b4 = {0}, b5 = {0}, b6 = {0}, b7 = {0};
            for (size_t c = 0; c < dim; c++) {
                v16 k0, k1;
                memcpy(&k0, kt + c * WIDE, sizeof k0);
                memcpy(&k1, kt + c * WIDE + KEYS, sizeof k1);
                float x0 = q[0][c], x1 = q[1][c], x2 = q[2][c], x3 = q[3][c];
                float x4 = q[4][c], x5 = q[5][c], x6 = q[6][c], x7 = q[7][c];
                a0 += x0 * k0; b0 += x0 * k1; a1 += x1 * k0; b1 += x1 * k1;
                a2 += x2 * k0; b2 += x2 * k1; a3 += x3 * k0; b3 += x3 * k1;
                a4 += x4 * k0; b4 += x4 * k1; a5 += x5 * k0; b5 += x5 * k1;
                a6 += x6 * k0; b6 += x6 * k1; a7 += x7 * k0; b7 += x7 * k1;
            }
            v16 lo[QUERIES] = {a0, a1, a2, a3, a4, a5, a6, a7};
            v16 hi[QUERIES] = {b0, b1, b2, b3, b4, b5, b6, b7};
            for (size_t i = 0; i < qs; i++) {
                float *o = out + (i0 + i) * outStride + j0;
                for (size_t r = 0; r < rows; r++) o[r] = scale * (r < KEYS ? lo[i][r] : hi[i][r - KEYS]);
            }
        }
    }
}
#endif

void kvp_window_scores(const uint16_t *keys, size_t n, size_t dim, const float *queries, size_t m, float scale,
                       float *out, size_t outStride) {
    if (dim > 512) return;
#if defined(__x86_64__) && defined(__clang__)
    if (kvp_half_level() >= 2) {
        window_scores_32(keys, n, dim, queries, m, scale, out, outStride);
        return;
    }
#endif
    window_scores_16(keys, n, dim, queries, m, scale, out, outStride);
}
