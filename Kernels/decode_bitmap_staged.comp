#version 450
// Decode attention over bitmap-sparse pages (Mustafar's format), staged: the T lanes of a token
// group copy the bytes a step needs into shared memory with aligned 16-byte loads spread over the
// lanes, so global reads are wide and coalesced whatever the nonzeros' alignment:
// - when a page starts: its header (every row's masks, then every row's first-nonzero index), for
//   keys and values, `n · (D/8 + 4)` bytes each;
// - each step: the nonzeros of its U rows (one contiguous run per kind, bounded by the header).
// The nonzeros are staged one half per 32-bit word (zero-extended), so that an element is one
// shared-memory read and a conversion. Each lane then reads its E elements of a row from there at
// use (KEY / VALUE): its bit of the row's mask and, for a set bit, the nonzero at the row's first
// + the set bits before it.
// Subgroup path only (KVP_SUBGROUP_ONLY): the token groups of a subgroup share its barriers, so
// the staged loop in decode_main runs until no group of the subgroup has a step left.
#include "include/decode_bindings.glsl"

/// The most tokens of a page (the layer's longest): the header stage is sized for it.
layout(constant_id = 10) const uint STAGE_ROWS = 16;
/// 16-byte units of a token group's stage: a kind's header (plus one unit for its start's
/// alignment) and a kind's nonzeros of one step (at most U dense rows, plus one unit for the
/// alignment; loaded in VAL_VEC units of 8 halves, staged widened in twice as many).
const uint HDR_VEC = (STAGE_ROWS * (D / 8u + 4u) + 15u) / 16u + 1u;
const uint VAL_VEC = (U * 2u * D + 15u) / 16u + 1u;
const uint GROUP_VEC = 2u * (HDR_VEC + 2u * VAL_VEC);
shared uvec4 stage[GROUP_VEC * (gl_WorkGroupSize.x / T)];

layout(std430, binding = 5) readonly buffer PoolBitmapQuads { uvec4 words[]; } bitmapQuadWindows[POOL_WINDOWS];

/// Per row slot of the step (keys 0 ..< U, values U ..< 2U): the lane's E bits of the row's mask,
/// and the word of `stage` holding the row's first nonzero in the lane's slice.
uint stagedBits[2u * U];
uint stagedAt[2u * U];

uint stageWord(uint w) { return stage[w >> 2][w & 3u]; }
/// The u32 at byte `b` of `stage` (b even: pages of the bitmap pool are 2-byte aligned).
uint stageU32(uint b) {
    uint w = b >> 2;
    return (b & 2u) == 0u ? stageWord(w) : (stageWord(w) >> 16) | (stageWord(w + 1u) << 16);
}

/// Element e of the lane's slice of row slot r.
float stagedElement(uint r, uint e) {
    uint m = stagedBits[r];
    float x = unpackHalf2x16(stageWord(stagedAt[r] + bitCount(m & ((1u << e) - 1u)))).x;
    return ((m >> e) & 1u) != 0u ? x : 0.0;
}
#define KEY(u, e) stagedElement(u, e)
#define VALUE(u, e) stagedElement(U + (u), e)

const uint HDR_LOADS = (HDR_VEC + T - 1u) / T; // 16-byte loads per lane for a kind's header
const uint VAL_LOADS = (VAL_VEC + T - 1u) / T; // and for a kind's nonzeros of a step

void stageSync() {
    subgroupMemoryBarrierShared();
    subgroupBarrier();
}

/// Stages step t of `page` for token group `group` (its header too when `fresh`) and sets the
/// lane's `stagedBits` / `stagedAt`; every lane of the subgroup calls it, `hasStep` false for a
/// group without a step (it only joins the barriers).
void stageStep(PageEntry page, uint t, uint lane, uint group, bool hasStep, bool fresh) {
    const uint base = group * GROUP_VEC;
    const uint n = page.tokens, maskBytes = D / 8u, hdrBytes = n * (maskBytes + 4u);
    uint offsets[2] = uint[2](page.keyOffset, page.valueOffset);
    // The header's loads are issued before the barrier that ends the previous step's reads.
    uvec4 hdr[2 * HDR_LOADS];
    uint hdrCount[2];
    bool loadHeader = hasStep && fresh;
    UNROLL for (uint kv = 0u; kv < 2u; ++kv) {
        uint first = offsets[kv] >> 4;
        hdrCount[kv] = min(HDR_VEC, ((offsets[kv] + hdrBytes + 15u) >> 4) - first);
        UNROLL for (uint i = 0u; i < HDR_LOADS; ++i) {
            uint j = lane + i * T;
            if (loadHeader && j < hdrCount[kv]) hdr[kv * HDR_LOADS + i] = bitmapQuadWindows[poolWindow].words[first + j];
        }
    }
    stageSync();
    UNROLL for (uint kv = 0u; kv < 2u; ++kv) {
        UNROLL for (uint i = 0u; i < HDR_LOADS; ++i) {
            uint j = lane + i * T;
            if (loadHeader && j < hdrCount[kv]) stage[base + kv * HDR_VEC + j] = hdr[kv * HDR_LOADS + i];
        }
    }
    stageSync();
    if (hasStep) {
        uvec4 vals[2 * VAL_LOADS];
        uint valCount[2];
        UNROLL for (uint kv = 0u; kv < 2u; ++kv) {
            // The page's header in the stage (bytes), its first-nonzero indices, the step's run of nonzeros.
            uint hb = 16u * (base + kv * HDR_VEC) + (offsets[kv] & 15u);
            uint firsts = hb + n * maskBytes;
            uint start = stageU32(firsts + 4u * t);
            uint end;
            if (t + U < n) {
                end = stageU32(firsts + 4u * (t + U));
            } else {
                end = stageU32(firsts + 4u * (n - 1u));
                UNROLL for (uint w = 0u; w < D / 32u; ++w) end += bitCount(stageU32(hb + (n - 1u) * maskBytes + 4u * w));
            }
            uint from = offsets[kv] + hdrBytes + 2u * start, to = offsets[kv] + hdrBytes + 2u * end;
            uint first = from >> 4;
            valCount[kv] = min(VAL_VEC, ((to + 15u) >> 4) - first);
            UNROLL for (uint i = 0u; i < VAL_LOADS; ++i) {
                uint j = lane + i * T;
                if (j < valCount[kv]) vals[kv * VAL_LOADS + i] = bitmapQuadWindows[poolWindow].words[first + j];
            }
            // The lane's bits of each row and where its nonzeros start (in words of `stage`).
            uint valuesAt = 4u * (base + 2u * HDR_VEC + 2u * kv * VAL_VEC) + ((from & 15u) >> 1);
            uint c0 = lane * E;
            UNROLL for (uint u = 0u; u < U; ++u) {
                uint r = min(t + u, n - 1u); // rows past the page's end repeat its last (decode_main masks them)
                uint rowMasks = hb + r * maskBytes;
                uint before = stageU32(firsts + 4u * r) - start;
                UNROLL for (uint w = 0u; w < D / 32u; ++w) {
                    if (32u * w + 32u <= c0) before += bitCount(stageU32(rowMasks + 4u * w));
                }
                uint word = stageU32(rowMasks + 4u * (c0 / 32u));
                uint below = c0 % 32u;
                if (below != 0u) before += bitCount(word & ((1u << below) - 1u));
                stagedBits[kv * U + u] = E >= 32u ? word : (word >> below) & ((1u << (E % 32u)) - 1u);
                stagedAt[kv * U + u] = valuesAt + before;
            }
        }
        UNROLL for (uint kv = 0u; kv < 2u; ++kv) {
            UNROLL for (uint i = 0u; i < VAL_LOADS; ++i) {
                uint j = lane + i * T;
                if (j < valCount[kv]) {
                    uvec4 w = vals[kv * VAL_LOADS + i];
                    uint at = base + 2u * HDR_VEC + 2u * (kv * VAL_VEC + j);
                    stage[at] = uvec4(w.x & 0xFFFFu, w.x >> 16, w.y & 0xFFFFu, w.y >> 16);
                    stage[at + 1u] = uvec4(w.z & 0xFFFFu, w.z >> 16, w.w & 0xFFFFu, w.w >> 16);
                }
            }
        }
    }
    stageSync();
}

#define STAGED_STEPS 1
#include "include/decode_main.glsl"
