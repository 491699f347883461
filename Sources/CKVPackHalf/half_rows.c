// Dispatch: picks, once per process, the best kernel level the CPU supports.
#include <stdatomic.h>
#include "half_internal.h"

// Threads that find no level yet each work it out (the same answer) and store it: an atomic, so
// that the first calls from several threads at once are no data race.
static int max_level(void) {
    static atomic_int cached = -1;
    int level = atomic_load_explicit(&cached, memory_order_relaxed);
    if (level < 0) {
        level = 0;
#ifdef KVP_X86
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c") && __builtin_cpu_supports("fma")) {
            level = 1;
            if (__builtin_cpu_supports("avx512f")) level = 2;
        }
#endif
        atomic_store_explicit(&cached, level, memory_order_relaxed);
    }
    return level;
}

// Per thread, so a test that pins a level never changes the kernels other threads run.
static _Thread_local int requested_level = 99;

static const kvp_half_kernels *kernels(void) {
    int level = requested_level < max_level() ? requested_level : max_level();
#ifdef KVP_X86
    if (level >= 2) return &kvp_half_avx512;
    if (level == 1) return &kvp_half_avx2;
#endif
    return &kvp_half_portable;
}

int kvp_half_max_level(void) { return max_level(); }

int kvp_half_level(void) { return requested_level < max_level() ? requested_level : max_level(); }

void kvp_half_set_level(int level) { requested_level = level < 0 ? 0 : level; }

void kvp_half_to_float(const uint16_t *src, float *dst, size_t count) { kernels()->to_float(src, dst, count); }

void kvp_float_to_half(const float *src, uint16_t *dst, size_t count) { kernels()->to_half(src, dst, count); }

void kvp_half_rows_dot(const uint16_t *rows, size_t rowCount, size_t dim, const float *queries, size_t nq,
                       float scale, float *out, size_t outStride) {
    kernels()->rows_dot(rows, rowCount, dim, queries, nq, scale, out, outStride);
}

void kvp_half_rows_accumulate(const uint16_t *rows, size_t rowCount, size_t dim, const float *weights,
                              size_t nq, size_t weightStride, float *acc) {
    kernels()->rows_accumulate(rows, rowCount, dim, weights, nq, weightStride, acc);
}

float kvp_exp_shifted_sum(float *x, size_t count, float maxValue) {
    return kernels()->exp_shifted_sum(x, count, maxValue);
}

void kvp_softmax_inplace(float *x, size_t count) { kernels()->softmax(x, count); }
