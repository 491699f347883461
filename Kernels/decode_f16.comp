#version 450
// Decode attention over dense f16 pages: the baseline every compressed kernel is compared with.
// Rows stay raw (two halves a word) in registers and are unpacked at use, query by query; with
// PIPELINE the next step's rows load while this step's are used.
// KVP_F16MATH (the `_f16math` build, for devices with shaderFloat16): each lane's part of q·k is
// summed in packed f16 (two halves per FMA, E/2 FMAs a row, no key unpacking), then added in fp32
// across lanes; the softmax stays fp32, the value sums of a step are f16 with F16_VALUES (else fp32).
#include "include/decode_bindings.glsl"

const uint WORDS = E / 2u; // words of a lane's slice of one row
uint raw[2u * U * WORDS];  // the step being loaded
uint cur[2u * U * WORDS];  // the step being used

#define TAKE_STEP() UNROLL for (uint i_ = 0u; i_ < 2u * U * WORDS; ++i_) cur[i_] = raw[i_]
#define BY_QUERY 1
#define KEY(u, e) unpackHalf2x16(cur[(u) * WORDS + (e) / 2u])[(e) % 2u]
#define VALUE(u, e) unpackHalf2x16(cur[(U + (u)) * WORDS + (e) / 2u])[(e) % 2u]

#if KVP_F16MATH
f16vec2 qh[G * WORDS]; // the lane's slice of the G scaled queries, two halves a register

float scoreF16(uint u, uint g) {
    f16vec2 a = f16vec2(0.0hf);
    UNROLL for (uint w = 0u; w < WORDS; ++w) a = fma(qh[g * WORDS + w], unpackFloat2x16(cur[u * WORDS + w]), a);
    return float(a.x) + float(a.y);
}
#define SCORE(u, g) scoreF16(u, g)
// Called once the fp32 queries are loaded (decode_main's PREPARE_QUERIES hook).
#define PREPARE_QUERIES() \
    UNROLL for (uint i_ = 0u; i_ < G * WORDS; ++i_) qh[i_] = f16vec2(q[2u * i_], q[2u * i_ + 1u])

/// 1: a step's value sums Σ_u w_u·v_u in packed f16 (two halves per FMA, no value unpacking),
/// added to the fp32 accumulators once per step; 0: fp32 FMAs on unpacked values.
layout(constant_id = 8) const uint F16_VALUES = 0;
float s[U * G]; // the step's weights (decode_main's consume writes them)

void accumulateStep() {
    if (F16_VALUES != 0u) {
        UNROLL for (uint g = 0u; g < G; ++g) {
            f16vec2 part[WORDS];
            UNROLL for (uint w = 0u; w < WORDS; ++w) part[w] = f16vec2(0.0hf);
            UNROLL for (uint u = 0u; u < U; ++u) {
                f16vec2 weight = f16vec2(float16_t(s[u * G + g]));
                UNROLL for (uint w = 0u; w < WORDS; ++w) part[w] = fma(weight, unpackFloat2x16(cur[(U + u) * WORDS + w]), part[w]);
            }
            UNROLL for (uint w = 0u; w < WORDS; ++w) {
                acc[g * E + 2u * w] += float(part[w].x);
                acc[g * E + 2u * w + 1u] += float(part[w].y);
            }
        }
    }
}
#define ACCUMULATE_STEP() accumulateStep()
#define STEP_VALUE_SUMS (F16_VALUES != 0u) // else decode_main's fp32 sums, query by query
#endif

/// The lane's slices of rows t0 ..< t0 + U (clamped to the page's n rows; 16-byte loads: pages of
/// the f16 pool start 16-byte aligned) into slots first ..< first + U of `raw`.
void loadWords(uint first, uint offset, uint n, uint t0, uint lane) {
    UNROLL for (uint u = 0u; u < U; ++u) {
        uint at = (offset + 2u * (min(t0 + u, n - 1u) * D + lane * E)) >> 4;
        UNROLL for (uint i = 0u; i < E / 8u; ++i) {
            uvec4 w = poolF16[at + i];
            uint b = (first + u) * WORDS + 4u * i;
            raw[b] = w.x; raw[b + 1u] = w.y; raw[b + 2u] = w.z; raw[b + 3u] = w.w;
        }
    }
}

void loadRows(PageEntry p, uint t, uint lane) {
    loadWords(0u, p.keyOffset, p.tokens, t, lane);
    loadWords(U, p.valueOffset, p.tokens, t, lane);
}

#include "include/decode_main.glsl"
