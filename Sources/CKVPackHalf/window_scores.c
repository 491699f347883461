// Observation-window scores: out[i, j] = scale * dot(q_i, k_j) for m float queries against n
// f16 key rows, as a register-blocked micro-kernel (8 queries x 16 keys per tile, keys converted
// to fp32 and transposed once per 16-row block). The policies' heavy step (SnapKV, H2O, ARKV,
// Task-KV): a small matrix product, not a row-by-row dot loop.
#include "half_internal.h"

#if defined(__x86_64__) && defined(__clang__)
#define KVP_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define KVP_CLONES
#endif

enum { KEYS = 16, QUERIES = 8 };
typedef float v16 __attribute__((vector_size(64)));

KVP_CLONES void kvp_window_scores(const uint16_t *keys, size_t n, size_t dim, const float *queries, size_t m, float scale,
                                  float *out, size_t outStride) {
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
