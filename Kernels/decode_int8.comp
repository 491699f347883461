#version 450
// Decode attention over int8 pages whose groups run along tokens and cover each lane's slice
// (the common layout: g a power of two and a multiple of the lane's elements; the host checks). Keeps the codes as raw words and one
// (scale, zero) per row in registers and dequantizes at use, so a lane holds many more rows in
// flight than with expanded floats. Other int8 layouts run on decode_quant.
#include "include/decode_bindings.glsl"

const uint BITS = 8u;
const uint WORDS = E * BITS / 32u; // code words of a lane's slice of one row
uint raw[2u * U * WORDS];   // the step being loaded: codes
vec2 params[2u * U];        // and (scale, zero) per row
uint craw[2u * U * WORDS];  // the step being used
vec2 cparams[2u * U];

#define TAKE_STEP() \
    UNROLL for (uint i_ = 0u; i_ < 2u * U * WORDS; ++i_) craw[i_] = raw[i_]; \
    UNROLL for (uint i_ = 0u; i_ < 2u * U; ++i_) cparams[i_] = params[i_]

float codeToFloat(uint code) { return uintBitsToFloat(0x4B000000u | code) - 8388608.0; }

#define KEY(u, e) fma(codeToFloat((craw[(u) * WORDS + (e) * BITS / 32u] >> (((e) * BITS) % 32u)) & ((1u << BITS) - 1u)), cparams[u].x, cparams[u].y)
#define VALUE(u, e) fma(codeToFloat((craw[(U + (u)) * WORDS + (e) * BITS / 32u] >> (((e) * BITS) % 32u)) & ((1u << BITS) - 1u)), cparams[U + (u)].x, cparams[U + (u)].y)

void loadCodeRows(uint first, uint offset, uint n, uint t0, uint lane, uint shift) {
    uint paramsBase = (offset + n * D * BITS / 8u) >> 2;
    UNROLL for (uint u = 0u; u < U; ++u) {
        uint t = min(t0 + u, n - 1u);
        uint words = (offset + (t * D + lane * E) * BITS / 8u) >> 2;
        UNROLL for (uint i = 0u; i < WORDS; ++i) raw[(first + u) * WORDS + i] = poolInt8[words + i];
        params[first + u] = unpackHalf2x16(poolInt8[paramsBase + t * (D >> shift) + ((lane * E) >> shift)]);
    }
}

void loadRows(PageEntry p, uint t, uint lane) {
    loadCodeRows(0u, p.keyOffset, p.tokens, t, lane, p.keyShift);
    loadCodeRows(U, p.valueOffset, p.tokens, t, lane, p.valueShift);
}

#include "include/decode_main.glsl"
