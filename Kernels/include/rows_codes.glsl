// Raw-code int8 / int4 rows whose quantization groups run along tokens and cover each lane's slice
// (g a power of two and a multiple of the lane's elements; the host checks): the codes stay raw
// words in registers with one (scale, zero) per row, dequantized at use, so a lane holds many
// more rows in flight than with expanded floats. Before including: BITS (8 or 4), CODE_POOL
// (poolInt8 or poolInt4) and CODE_BINDING (its binding, 3 or 4).
//
// With KVP_F16MATH (the `_f16math` build, devices with shaderFloat16) codes become f16 pairs
// without unpacking: q·k = scale·Σ q_e·code_e + zero·Σ q_e, with Σ q_e·code_e in packed f16 per
// lane; values: acc_e += Σ_u (w_u·scale_u)·code_e in packed f16 over a step, added to fp32
// accumulators once per step, and Σ_u w_u·zero_u in one fp32 sum per query, added at the end.
// With KVP_INTDOT too (the `_intdot` build, devices with packed 8-bit dot products) q·k is a
// pair of integer dot products of the codes with the queries split into two int8 parts.

const uint WORDS = E * BITS / 32u; // code words of a lane's slice of one row
uint raw[2u * U * WORDS];   // the step being loaded: codes
uint params[2u * U];        // and (scale, zero) per row, two halves in one word
uint craw[2u * U * WORDS];  // the step being used
uint cparams[2u * U];
/// (scale, zero) of row slot i of the step being used.
#define PARAMS(i) unpackHalf2x16(cparams[i])

#define TAKE_STEP() \
    UNROLL for (uint i_ = 0u; i_ < 2u * U * WORDS; ++i_) craw[i_] = raw[i_]; \
    UNROLL for (uint i_ = 0u; i_ < 2u * U; ++i_) cparams[i_] = params[i_]

#define KEY(u, e) fma(codeToFloat((craw[(u) * WORDS + (e) * BITS / 32u] >> (((e) * BITS) % 32u)) & ((1u << BITS) - 1u)), PARAMS(u).x, PARAMS(u).y)
#define VALUE(u, e) fma(codeToFloat((craw[(U + (u)) * WORDS + (e) * BITS / 32u] >> (((e) * BITS) % 32u)) & ((1u << BITS) - 1u)), PARAMS(U + (u)).x, PARAMS(U + (u)).y)

// LOAD_WORDS (1, 2 or 4 words per code load; at most WORDS) and the pool read as uvec2 / uvec4.
#include "code_windows.glsl"

void loadCodeRows(uint first, uint offset, uint n, uint t0, uint lane, uint shift) {
    uint paramsBase = (offset + n * D * BITS / 8u) >> 2;
    UNROLL for (uint u = 0u; u < U; ++u) {
        uint t = min(t0 + u, n - 1u);
        uint bytes = offset + (t * D + lane * E) * BITS / 8u;
        uint b = (first + u) * WORDS;
        if (LOAD_WORDS == 4u) {
            UNROLL for (uint i = 0u; i < WORDS / 4u; ++i) {
                uvec4 w = codeQuadWindows[poolWindow].words[(bytes >> 4) + i];
                raw[b + 4u * i] = w.x; raw[b + 4u * i + 1u] = w.y; raw[b + 4u * i + 2u] = w.z; raw[b + 4u * i + 3u] = w.w;
            }
        } else if (LOAD_WORDS == 2u) {
            UNROLL for (uint i = 0u; i < WORDS / 2u; ++i) {
                uvec2 w = codePairWindows[poolWindow].words[(bytes >> 3) + i];
                raw[b + 2u * i] = w.x; raw[b + 2u * i + 1u] = w.y;
            }
        } else {
            UNROLL for (uint i = 0u; i < WORDS; ++i) raw[b + i] = CODE_POOL[(bytes >> 2) + i];
        }
        params[first + u] = CODE_POOL[paramsBase + t * (D >> shift) + ((lane * E) >> shift)];
    }
}

void loadRows(PageEntry p, uint t, uint lane) {
    loadCodeRows(0u, p.keyOffset, p.tokens, t, lane, p.keyShift);
    loadCodeRows(U, p.valueOffset, p.tokens, t, lane, p.valueShift);
}

#if KVP_F16MATH
const uint PAIRS = 16u / BITS;                             // f16 pairs per code word
const uint PAIR_MASK = ((1u << BITS) - 1u) * 0x00010001u; // code j and code j + PAIRS of a shifted word

/// Codes j and j + PAIRS of word w as f16 (0x6400 is 1024.0: the halves are 1024 + code, exactly).
f16vec2 codePair(uint w, uint j) {
    return unpackFloat2x16(((w >> (BITS * j)) & PAIR_MASK) | 0x64006400u) - f16vec2(1024.0hf);
}

/// The element (of the lane's slice) in half h of pair j of word i.
uint pairElement(uint i, uint j, uint h) { return i * (32u / BITS) + j + h * PAIRS; }

float qsum[G];                 // Σ_e q_e of the lane's slice, fp32
float s[U * G];                // the step's weights (decode_main's consume writes them)
/// Σ_u w_u·zero_u of the step values so far, per query: one per lane (its slice has one zero per
/// row), added to every element of the slice once, at the end. Rescaled with `acc`.
float zacc[G];

#if KVP_INTDOT
// q·k as integer dot products (VK_KHR_shader_integer_dot_product): each query's slice is split
// into two int8 vectors, q ≈ step·(a + b / 254) with step = max|q| / 127 per query and lane, a =
// round(q / step) and b the rounded remainder (error at most max|q| / 64516, finer than f16's
// rounding), and a packed dot product multiplies 4 query bytes by 4 code bytes in one
// instruction: int8 codes as they lie, int4 codes split into their even and odd nibbles (two
// masks, one shift per word). Σ 254·(a·c) + b·c stays exact in int32.
/// OpSUDotKHR on 4 × 8-bit packed vectors (format 0): a's bytes signed, b's unsigned.
spirv_instruction(extensions = ["SPV_KHR_integer_dot_product"], capabilities = [6019, 6018], id = 4452)
int dot4SignedUnsigned(uint a, uint b, spirv_literal int packedFormat);

const uint QWORDS = E / 4u;   // packed query words per query, lane and part (a or b)
/// Per query: the words of a, then of b; int8 rows in element order, int4 rows even elements,
/// then odd ones, per code word.
uint qi[2u * G * QWORDS];
float qscale[G];              // step / 254 per query: one unit of 254·a + b

/// The 4 bytes of x (4 elements) as int8 parts: a = round(x / step) and b = round((x - a·step) · 254 / step).
uvec2 queryBytes(vec4 x, float step, float inv) {
    vec4 a = clamp(round(x * inv), -127.0, 127.0);
    vec4 b = clamp(round((x - a * step) * (254.0 * inv)), -127.0, 127.0);
    return uvec2(packSnorm4x8(a / 127.0), packSnorm4x8(b / 127.0));
}

/// Query g's slice as the two int8 parts, and their scale.
void packQuery(uint g) {
    float top = 0.0;
    UNROLL for (uint e = 0u; e < E; ++e) top = max(top, abs(q[g * E + e]));
    float step = top / 127.0, inv = top > 0.0 ? 127.0 / top : 0.0;
    qscale[g] = step / 254.0;
    UNROLL for (uint i = 0u; i < QWORDS; ++i) {
        // Word i: elements 4i ..< 4i + 4 (int8), or of code word i / 2 the even (i even) or odd elements (int4).
        uint e0 = BITS == 8u ? 4u * i : 8u * (i / 2u) + (i % 2u);
        uint d = BITS == 8u ? 1u : 2u;
        uvec2 w = queryBytes(vec4(q[g * E + e0], q[g * E + e0 + d], q[g * E + e0 + 2u * d], q[g * E + e0 + 3u * d]), step, inv);
        qi[(2u * g) * QWORDS + i] = w.x;
        qi[(2u * g + 1u) * QWORDS + i] = w.y;
    }
}

float scoreCodes(uint u, uint g) {
    int da = 0, db = 0;
    UNROLL for (uint i = 0u; i < WORDS; ++i) {
        uint w = craw[u * WORDS + i];
        if (BITS == 8u) {
            da += dot4SignedUnsigned(qi[(2u * g) * QWORDS + i], w, 0);
            db += dot4SignedUnsigned(qi[(2u * g + 1u) * QWORDS + i], w, 0);
        } else {
            uint even = w & 0x0F0F0F0Fu, odd = (w >> 4) & 0x0F0F0F0Fu;
            da += dot4SignedUnsigned(qi[(2u * g) * QWORDS + 2u * i], even, 0) + dot4SignedUnsigned(qi[(2u * g) * QWORDS + 2u * i + 1u], odd, 0);
            db += dot4SignedUnsigned(qi[(2u * g + 1u) * QWORDS + 2u * i], even, 0) + dot4SignedUnsigned(qi[(2u * g + 1u) * QWORDS + 2u * i + 1u], odd, 0);
        }
    }
    return fma(PARAMS(u).x * qscale[g], float(254 * da + db), PARAMS(u).y * qsum[g]);
}
#else
f16vec2 qh[G * WORDS * PAIRS]; // the G scaled queries in pair order

/// Query g's slice as f16 pairs.
void packQuery(uint g) {
    UNROLL for (uint i = 0u; i < WORDS; ++i) {
        UNROLL for (uint j = 0u; j < PAIRS; ++j)
            qh[(g * WORDS + i) * PAIRS + j] = f16vec2(q[g * E + pairElement(i, j, 0u)], q[g * E + pairElement(i, j, 1u)]);
    }
}

float scoreCodes(uint u, uint g) {
    f16vec2 a = f16vec2(0.0hf);
    UNROLL for (uint i = 0u; i < WORDS; ++i) {
        UNROLL for (uint j = 0u; j < PAIRS; ++j) a = fma(qh[(g * WORDS + i) * PAIRS + j], codePair(craw[u * WORDS + i], j), a);
    }
    return fma(PARAMS(u).x, float(a.x) + float(a.y), PARAMS(u).y * qsum[g]);
}
#endif

/// Per query: Σ q of the lane's slice, no zero-point sums yet, and its packed form for q·k.
void prepareCodeQueries() {
    UNROLL for (uint g = 0u; g < G; ++g) {
        float sum = 0.0;
        UNROLL for (uint e = 0u; e < E; ++e) sum += q[g * E + e];
        qsum[g] = sum;
        zacc[g] = 0.0;
        packQuery(g);
    }
}

void accumulateCodes() {
    UNROLL for (uint g = 0u; g < G; ++g) {
        f16vec2 part[WORDS * PAIRS];
        UNROLL for (uint k = 0u; k < WORDS * PAIRS; ++k) part[k] = f16vec2(0.0hf);
        UNROLL for (uint u = 0u; u < U; ++u) {
            float w = s[u * G + g];
            zacc[g] = fma(w, PARAMS(U + u).y, zacc[g]);
            f16vec2 ws = f16vec2(float16_t(w * PARAMS(U + u).x));
            UNROLL for (uint i = 0u; i < WORDS; ++i) {
                UNROLL for (uint j = 0u; j < PAIRS; ++j)
                    part[i * PAIRS + j] = fma(ws, codePair(craw[(U + u) * WORDS + i], j), part[i * PAIRS + j]);
            }
        }
        UNROLL for (uint i = 0u; i < WORDS; ++i) {
            UNROLL for (uint j = 0u; j < PAIRS; ++j) {
                acc[g * E + pairElement(i, j, 0u)] += float(part[i * PAIRS + j].x);
                acc[g * E + pairElement(i, j, 1u)] += float(part[i * PAIRS + j].y);
            }
        }
    }
}

/// decode_main's hooks for `zacc`: rescaled with the accumulators, added to them before the merge.
#define RESCALE_EXTRA(g, c) zacc[g] *= (c)
#define FINISH_ACCUMULATORS() \
    UNROLL for (uint g_ = 0u; g_ < G; ++g_) { UNROLL for (uint e_ = 0u; e_ < E; ++e_) acc[g_ * E + e_] += zacc[g_]; }
#define PREPARE_QUERIES() prepareCodeQueries()
#define SCORE(u, g) scoreCodes(u, g)
#define ACCUMULATE_STEP() accumulateCodes()
#endif
