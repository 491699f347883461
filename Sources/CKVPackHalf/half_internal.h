#pragma once
// Internal to CKVPackHalf: scalar conversions and the per-level kernel tables.
#include "CKVPackHalf.h"
#include <math.h>
#include <string.h>

// Functions compiled for AVX-512, AVX2 and baseline x86-64, picked at load time (ifunc: ELF only).
// Not under the thread sanitizer: ifunc resolvers run before its runtime starts and crash it.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KVP_NO_IFUNC 1
#endif
#endif
#if defined(__x86_64__) && defined(__clang__) && defined(__ELF__) && !defined(KVP_NO_IFUNC)
#define KVP_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define KVP_CLONES
#endif

// MARK: - Scalar conversions (exact; round to nearest even)

static inline float half_bits_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exponent = (h >> 10) & 0x1Fu;
    uint32_t mantissa = h & 0x3FFu;
    uint32_t bits;
    if (exponent == 0) {
        if (mantissa == 0) {
            bits = sign;
        } else { // subnormal: normalise
            exponent = 127 - 15 + 1;
            while ((mantissa & 0x400u) == 0) { mantissa <<= 1; exponent--; }
            mantissa &= 0x3FFu;
            bits = sign | (exponent << 23) | (mantissa << 13);
        }
    } else if (exponent == 0x1F) {
        bits = sign | 0x7F800000u | (mantissa << 13);
    } else {
        bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

static inline uint16_t float_to_half_bits(float f) {
    uint32_t x;
    memcpy(&x, &f, sizeof x);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t absx = x & 0x7FFFFFFFu;
    if (absx >= 0x7F800000u) { // inf or nan
        return (uint16_t)(sign | 0x7C00u | (absx > 0x7F800000u ? 0x200u | ((absx >> 13) & 0x3FFu) : 0));
    }
    if (absx >= 0x477FF000u) return (uint16_t)(sign | 0x7C00u); // rounds to >= 65520: inf
    if (absx < 0x38800000u) { // result is subnormal or zero
        if (absx < 0x33000000u) return (uint16_t)sign; // below half of the smallest subnormal
        uint32_t e = absx >> 23;
        uint32_t m = (absx & 0x7FFFFFu) | 0x800000u;
        uint32_t shift = 126 - e; // 14..24
        uint32_t half = m >> shift;
        uint32_t rem = m & ((1u << shift) - 1);
        uint32_t mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (half & 1u))) half++;
        return (uint16_t)(sign | half);
    }
    uint32_t e = (absx >> 23) - 127 + 15;
    uint32_t m = absx & 0x7FFFFFu;
    uint32_t h = (e << 10) | (m >> 13);
    uint32_t rem = m & 0x1FFFu;
    if (rem > 0x1000u || (rem == 0x1000u && (h & 1u))) h++; // carries into the exponent correctly
    return (uint16_t)(sign | h);
}


typedef struct {
    void (*to_float)(const uint16_t *, float *, size_t);
    void (*to_half)(const float *, uint16_t *, size_t);
    void (*rows_dot)(const uint16_t *, size_t, size_t, const float *, size_t, float, float *, size_t);
    void (*rows_accumulate)(const uint16_t *, size_t, size_t, const float *, size_t, size_t, float *);
    float (*exp_shifted_sum)(float *, size_t, float);
    void (*softmax)(float *, size_t);
} kvp_half_kernels;

extern const kvp_half_kernels kvp_half_portable;
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#define KVP_X86 1
extern const kvp_half_kernels kvp_half_avx2;
extern const kvp_half_kernels kvp_half_avx512;
#endif
