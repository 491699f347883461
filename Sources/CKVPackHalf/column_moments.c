// Column statistics of probability rows (ARKV's attention-distribution features): per column j of
// `rows` rows, Σ x, Σ -x·ln(x + 1e-10), and the central moments Σ (x - mean)², Σ (x - mean)⁴.
// Vectorized across columns, 16 at a time, with a Cephes-style logf (about 1 ulp) instead of one
// libm call per element.
#include "half_internal.h"

typedef float vf __attribute__((vector_size(64)));
typedef int32_t vi __attribute__((vector_size(64)));

/// *v = ln(*v) for positive, finite, normal values (through a pointer: a 64-byte vector passed by
/// value would change the ABI between the target clones).
static inline __attribute__((always_inline)) void vlog(vf *v) {
    vf x = *v;
    vi bits;
    memcpy(&bits, &x, sizeof bits);
    vi e = ((bits >> 23) & 0xff) - 126;               // x = m·2^e, m in [0.5, 1)
    vi mb = (bits & 0x807fffff) | 0x3f000000;
    vf m;
    memcpy(&m, &mb, sizeof m);
    vi small = m < 0.70710678118654752440f;          // m < √½: use 2m, e - 1
    e = e + small;                                      // small is -1 where true
    vf ef = __builtin_convertvector(e, vf);
    vf t = m - 1.0f;
    vf twice = m + m - 1.0f;
    vi tb, wb;
    memcpy(&tb, &t, sizeof tb);
    memcpy(&wb, &twice, sizeof wb);
    vi rb = (wb & small) | (tb & ~small);
    vf r;
    memcpy(&r, &rb, sizeof r);
    vf z = r * r;
    vf y = r * 7.0376836292e-2f - 1.1514610310e-1f;
    y = y * r + 1.1676998740e-1f;
    y = y * r - 1.2420140846e-1f;
    y = y * r + 1.4249322787e-1f;
    y = y * r - 1.6668057665e-1f;
    y = y * r + 2.0000714765e-1f;
    y = y * r - 2.4999993993e-1f;
    y = y * r + 3.3333331174e-1f;
    y = y * r * z;
    y += ef * -2.12194440e-4f;
    y += -0.5f * z;
    *v = r + y + ef * 0.693359375f;
}

KVP_CLONES void kvp_column_moments(const float *p, size_t rows, size_t stride, size_t n, float *sum, float *negXLogX) {
    size_t j = 0;
    for (; j + 16 <= n; j += 16) {
        vf s, h;
        memcpy(&s, sum + j, sizeof s);
        memcpy(&h, negXLogX + j, sizeof h);
        for (size_t i = 0; i < rows; i++) {
            vf x;
            memcpy(&x, p + i * stride + j, sizeof x);
            s += x;
            vf l = x + 1e-10f;
            vlog(&l);
            h -= x * l;
        }
        memcpy(sum + j, &s, sizeof s);
        memcpy(negXLogX + j, &h, sizeof h);
    }
    for (; j < n; j++) {
        for (size_t i = 0; i < rows; i++) {
            float x = p[i * stride + j];
            sum[j] += x;
            negXLogX[j] -= x * logf(x + 1e-10f);
        }
    }
}

KVP_CLONES void kvp_central_moments(const float *p, size_t rows, size_t stride, size_t n, const float *mean, float *m2, float *m4) {
    for (size_t i = 0; i < rows; i++) {
        const float *row = p + i * stride;
        for (size_t j = 0; j < n; j++) {
            float e = row[j] - mean[j], e2 = e * e;
            m2[j] += e2;
            m4[j] += e2 * e2;
        }
    }
}
