// The int8 / int4 cooperative-matrix kernels' row loader and stager (decode_int8_coopmat.comp,
// decode_int4_coopmat.comp), between coopmat_tiles.glsl and coopmat_steps.glsl. Pages in the
// raw-code layout rows_codes.glsl reads: codes `[n, D]` row-major (int4: two per byte, element 2i
// in the low nibble), then one (scale, zero) f16 pair (one u32: scale low, zero high) per row and
// token group, `[n, D / g]`. Before including: BITS (8u or 4u), CODE_POOL (poolInt8 or poolInt4)
// and CODE_BINDING (3 or 4).
//
// Each lane loads its share of the step's 16 key rows' and 16 value rows' codes in 16-byte words
// (a row is D·BITS/8 bytes, a whole number of words at D >= 64; word i of a lane is word i·32 +
// lane of the 16 rows, so a subgroup's loads are consecutive), with each word's (scale, zero);
// with PIPELINE the next step's words load while this step is used (decode_main's walk). At the
// step's use (stageStep) each lane dequantizes its words, code·scale + zero in packed f16 (the
// code exact, one rounding), into the subgroup's f16 stage, where coopmat_steps.glsl's matrix
// loads read them as the f16 kernel's.
//
// What the host guarantees (KernelChoice.coopmatPagesRefusal; other pages keep the other
// kernels): every page of the layer is int8 (or int4) for keys and values, with token groups
// (axis .token) of a power of two covering a whole 16-byte code word (g >= 16 for int8, >= 32 for
// int4), so that one (scale, zero) serves a word; page offsets aligned to LOAD_WORDS · 4 bytes
// (at least 4).

#include "code_windows.glsl"

// The stage a lane writes is its subgroup's, between barriers of the subgroup; a probe on a
// device without 32-lane subgroups (stage_probe.glsl, lavapipe) runs one workgroup of 32 as one.
#ifndef STAGE_GROUP
#define STAGE_GROUP gl_SubgroupID
#define STAGE_LANE gl_SubgroupInvocationID
#define STAGE_SYNC() subgroupBarrier()
#endif

/// Bytes of one row's codes, and its 16-byte code words.
const uint CODE_BYTES = D * BITS / 8u;
const uint ROW_CODE_WORDS = CODE_BYTES / 16u;
/// Elements one 16-byte code word holds (16 int8, 32 int4), and the f16 stage words (8 halves
/// each) they dequantize into.
const uint WORD_ELEMENTS = 128u / BITS;
const uint STAGE_WORDS = WORD_ELEMENTS / 8u;
/// 16-byte code words of one matrix (key or value) of a step each lane loads.
const uint CODE_CHUNKS = TILE * ROW_CODE_WORDS / LANES;

/// The step being loaded: this lane's code words of the key rows, then of the value rows, and
/// each word's (scale, zero) as two halves.
uvec4 raw[2u * CODE_CHUNKS];
uint params[2u * CODE_CHUNKS];

/// The 16 bytes at byte `at` of the code pool window (`at` aligned to LOAD_WORDS · 4 bytes).
uvec4 codeWord(uint at) {
    if (LOAD_WORDS == 4u) return codeQuadWindows[poolWindow].words[at >> 4];
    if (LOAD_WORDS == 2u) {
        uint i = at >> 3;
        return uvec4(codePairWindows[poolWindow].words[i], codePairWindows[poolWindow].words[i + 1u]);
    }
    uint i = at >> 2;
    return uvec4(CODE_POOL[i], CODE_POOL[i + 1u], CODE_POOL[i + 2u], CODE_POOL[i + 3u]);
}

/// Lane `lane`'s code words of rows t ..< t + 16 of a page's keys or values at byte `offset` (n
/// rows; rows past them repeat row n - 1) into slots first ..< first + CODE_CHUNKS, with their
/// parameters (`shift`: log2 of the token group).
void loadCodeRows(uint first, uint offset, uint n, uint t, uint lane, uint shift) {
    const uint paramWords = (offset + n * CODE_BYTES) >> 2;
    UNROLL for (uint i = 0u; i < CODE_CHUNKS; ++i) {
        uint j = i * LANES + lane, r = min(t + j / ROW_CODE_WORDS, n - 1u), c = j % ROW_CODE_WORDS;
        raw[first + i] = codeWord(offset + r * CODE_BYTES + 16u * c);
        params[first + i] = CODE_POOL[paramWords + r * (D >> shift) + ((c * WORD_ELEMENTS) >> shift)];
    }
}

void loadRows(PageEntry p, uint t, uint lane) {
    loadCodeRows(0u, p.keyOffset, p.tokens, t, lane, p.keyShift);
    loadCodeRows(CODE_CHUNKS, p.valueOffset, p.tokens, t, lane, p.valueShift);
}

/// Two words of codes as f16 pairs, each half 1024 + code (0x6400 is 1024.0; exact for codes
/// below 1024), dequantized: code·scale + zero per half, in f16.
uint dequantizePair(uint halves, f16vec2 scale, f16vec2 zero) {
    return packFloat2x16(fma(unpackFloat2x16(halves | 0x64006400u) - f16vec2(1024.0hf), scale, zero));
}

/// Pairs (a.lo, a.hi) and (b.lo, b.hi) as (a.lo, b.lo) and (a.hi, b.hi): codes taken out of a
/// word two at a time (elements k and k + 2 of int8, k and k + 4 of int4) back in element order.
uvec2 interleave(uint a, uint b) { return uvec2((a & 0xFFFFu) | (b << 16), (a >> 16) | (b & 0xFFFF0000u)); }

/// One 16-byte code word and its (scale, zero) as STAGE_WORDS f16 stage words in element order.
void dequantizeWord(uvec4 w, uint param, out uvec4 words[STAGE_WORDS]) {
    const f16vec2 sz = unpackFloat2x16(param);
    const f16vec2 scale = f16vec2(sz.x), zero = f16vec2(sz.y);
    UNROLL for (uint k = 0u; k < 4u; ++k) {
        uint x = w[k];
        if (BITS == 8u) {
            // Bytes b0..b3 (elements 4k ..< 4k + 4): (b0, b2) and (b1, b3), then (b0, b1), (b2, b3).
            uvec2 e = interleave(dequantizePair(x & 0x00FF00FFu, scale, zero), dequantizePair((x >> 8) & 0x00FF00FFu, scale, zero));
            words[k / 2u][2u * (k % 2u)] = e.x;
            words[k / 2u][2u * (k % 2u) + 1u] = e.y;
        } else {
            // Nibbles n0..n7 (elements 8k ..< 8k + 8): (n_j, n_j+4) for j < 4, then in order.
            uvec2 a = interleave(dequantizePair(x & 0x000F000Fu, scale, zero), dequantizePair((x >> 4) & 0x000F000Fu, scale, zero));
            uvec2 b = interleave(dequantizePair((x >> 8) & 0x000F000Fu, scale, zero), dequantizePair((x >> 12) & 0x000F000Fu, scale, zero));
            words[k] = uvec4(a.x, b.x, a.y, b.y); // (n0,n1) (n2,n3) (n4,n5) (n6,n7)
        }
    }
}

/// Dequantizes the loaded step into the subgroup's stage (after its previous step's matrix
/// loads): code word (row r, c) becomes stage words c·STAGE_WORDS ..< (c + 1)·STAGE_WORDS of row r.
void stageStep() {
    const uint base = STAGE_GROUP * TILE * ROW, lane = STAGE_LANE;
    STAGE_SYNC();
    UNROLL for (uint i = 0u; i < CODE_CHUNKS; ++i) {
        uint j = i * LANES + lane, at = base + (j / ROW_CODE_WORDS) * ROW + (j % ROW_CODE_WORDS) * STAGE_WORDS;
        uvec4 k[STAGE_WORDS], v[STAGE_WORDS];
        dequantizeWord(raw[i], params[i], k);
        dequantizeWord(raw[CODE_CHUNKS + i], params[CODE_CHUNKS + i], v);
        UNROLL for (uint s = 0u; s < STAGE_WORDS; ++s) {
            stageK[at + s] = k[s];
            stageV[at + s] = v[s];
        }
    }
    STAGE_SYNC();
}
