// The bitmap cooperative-matrix kernel's row loader and stager (decode_bitmap_coopmat.comp), between
// coopmat_tiles.glsl and coopmat_steps.glsl. Pages in Mustafar's bitmap layout (rows_bitmap.glsl):
// n rows' masks (D/64 u64 a row, bit b of mask w marks element 64w + b), then each row's u32 index
// of its first nonzero, then the nonzeros as f16 in row order; pages are only 2-byte aligned.
// Before including: HEADER_WORD(w), an lvalue float holding u32 word w < D/2 + 16 of the stage
// group's header scratch (the kernel's `scratch`, free between a step's products).
//
// Loading (loadRows; with PIPELINE the next step's while this one is used), per matrix (keys,
// values): the step's header, each lane its share of the 16 rows' mask words and one row's first
// index (with HEADER_AHEAD a step earlier, through decode_main's PREFETCH_STEP), then the step's
// nonzeros, one contiguous run of the page, in aligned 16-byte words spread over the lanes (word
// i of a lane is word i·32 + lane of the run), so that the loads are wide and coalesced and read
// only the bytes the step has. The run ends at the step's last row's first index plus its count.
//
// Staging (stageStep), keys then values: the run's words go to the start of the matrix's stage
// as loaded and the masks and first indices to the header scratch; each lane then reads the
// nonzeros of its stage words (stage word j = i·32 + lane: row j / (D/8), elements 8c ..< 8c + 8
// with c = j % (D/8), the same c for all of a lane's words since D/8 divides 32) by the mask's
// byte c and the count of the row's set bits before it, and after a barrier writes the 16 rows as
// f16 words, zeros where the mask is clear, into the stage where coopmat_steps.glsl's matrix loads
// read them as the f16 kernel's. Rows past the page's end stage as zero rows (their tokens weigh
// exactly 0, so 0·v stays 0).

#include "rows_bitmap.glsl" // bitmapU32: a u32 at an even byte offset

layout(std430, binding = 5) readonly buffer PoolBitmapQuads { uvec4 words[]; } bitmapQuadWindows[POOL_WINDOWS];

// The stage a lane writes is its subgroup's, between barriers of the subgroup; a probe on a
// device without 32-lane subgroups (stage_probe.glsl, lavapipe) runs one workgroup of 32 as one.
#ifndef STAGE_GROUP
#define STAGE_GROUP gl_SubgroupID
#define STAGE_LANE gl_SubgroupInvocationID
#define STAGE_SYNC() subgroupBarrier()
#endif

/// u32 words of one row's masks, of the step's 16 rows' masks, and those each lane loads.
const uint MASK_WORDS = D / 32u;
const uint STEP_MASK_WORDS = TILE * MASK_WORDS;
const uint MASK_SLOTS = STEP_MASK_WORDS / LANES;
/// 16-byte words of a step's run at most (16 dense rows, and a word for the run's start off 16
/// bytes), and those each lane loads.
const uint RUN_WORDS = TILE * D / 8u + 1u;
const uint RUN_SLOTS = (RUN_WORDS + LANES - 1u) / LANES;
/// Stage words (8 halves) of one matrix of a step each lane writes.
const uint STAGE_CHUNKS = TILE * D / 8u / LANES;

/// 1: each step's header (masks, first indices) loads a step ahead of its nonzeros (decode_main's
/// PREFETCH_STEP), so that the run's loads, whose addresses come from it, need not wait for it;
/// 0: both at the step's load.
layout(constant_id = 10) const uint HEADER_AHEAD = 0;

/// A step's header as loaded, per matrix (keys 0, values 1): its rows (0: none), this lane's mask
/// words, on lanes 0 ..< 16 row `lane`'s first index, the step's first index, and its last row's
/// first index and mask words (the run ends at their sum).
uint hdrRows[2];
uint hdrMasks[2u * MASK_SLOTS];
uint hdrRowFirst[2];
uint hdrStart[2];
uint hdrLastFirst[2];
uint hdrLastMask[2u * MASK_WORDS];

/// The step being loaded, keys (slots 0 ..< n) then values (n ..< 2n): this lane's run words and
/// mask words; per matrix the run's length in words and, on lanes 0 ..< 16, row `lane`'s first
/// nonzero as a half index into the run (0 for rows past the page).
uvec4 raw[2u * RUN_SLOTS];
uint masks[2u * MASK_SLOTS];
uint runWords[2];
uint rowStart[2];

/// Loads the header of matrix m (0 keys, 1 values) of rows t ..< t + 16 of a page whose bytes
/// start at `offset` (n rows; none from t >= n on, which only the probe asks).
void loadHeader(uint m, uint offset, uint n, uint t, uint lane) {
    const uint rows = t < n ? min(TILE, n - t) : 0u;
    hdrRows[m] = rows;
    hdrRowFirst[m] = 0u;
    hdrStart[m] = 0u;
    hdrLastFirst[m] = 0u;
    UNROLL for (uint i = 0u; i < MASK_SLOTS; ++i) hdrMasks[m * MASK_SLOTS + i] = 0u;
    UNROLL for (uint w = 0u; w < MASK_WORDS; ++w) hdrLastMask[m * MASK_WORDS + w] = 0u;
    if (rows == 0u) return;
    const uint firsts = offset + n * (D / 8u), last = t + rows - 1u; // firsts: byte of row 0's first index
    UNROLL for (uint i = 0u; i < MASK_SLOTS; ++i) {
        uint k = i * LANES + lane;
        if (k / MASK_WORDS < rows) hdrMasks[m * MASK_SLOTS + i] = bitmapU32(offset + t * (D / 8u) + 4u * k);
    }
    hdrStart[m] = bitmapU32(firsts + 4u * t);
    hdrLastFirst[m] = bitmapU32(firsts + 4u * last);
    UNROLL for (uint w = 0u; w < MASK_WORDS; ++w) hdrLastMask[m * MASK_WORDS + w] = bitmapU32(offset + last * (D / 8u) + 4u * w);
    if (lane < rows) hdrRowFirst[m] = bitmapU32(firsts + 4u * (t + lane));
}

/// Loads matrix m's run of nonzeros by its loaded header (the page's bytes at `offset`, n rows).
void loadRun(uint m, uint offset, uint n, uint lane) {
    UNROLL for (uint i = 0u; i < MASK_SLOTS; ++i) masks[m * MASK_SLOTS + i] = hdrMasks[m * MASK_SLOTS + i];
    runWords[m] = 0u;
    rowStart[m] = 0u;
    if (hdrRows[m] == 0u) return;
    uint end = hdrLastFirst[m];
    UNROLL for (uint w = 0u; w < MASK_WORDS; ++w) end += bitCount(hdrLastMask[m * MASK_WORDS + w]);
    const uint values = offset + n * (D / 8u + 4u); // byte of the page's first nonzero
    const uint from = values + 2u * hdrStart[m], to = values + 2u * end;
    const uint first = from >> 4;
    runWords[m] = ((to + 15u) >> 4) - first;
    if (lane < hdrRows[m]) rowStart[m] = hdrRowFirst[m] - hdrStart[m] + ((from & 15u) >> 1);
    UNROLL for (uint i = 0u; i < RUN_SLOTS; ++i) {
        uint j = i * LANES + lane;
        if (j < runWords[m]) raw[m * RUN_SLOTS + i] = bitmapQuadWindows[poolWindow].words[first + j];
    }
}

/// The headers of rows t ..< t + 16 of page p.
void loadHeaders(PageEntry p, uint t, uint lane) {
    loadHeader(0u, p.keyOffset, p.tokens, t, lane);
    loadHeader(1u, p.valueOffset, p.tokens, t, lane);
}
#define PREFETCH_STEP(page, t, lane) if (HEADER_AHEAD != 0u) loadHeaders(page, t, lane)

/// Rows t ..< t + 16 of page p: their header (loaded here, or with HEADER_AHEAD already by
/// PREFETCH_STEP), then their nonzeros.
void loadRows(PageEntry p, uint t, uint lane) {
    if (HEADER_AHEAD == 0u) loadHeaders(p, t, lane);
    loadRun(0u, p.keyOffset, p.tokens, lane);
    loadRun(1u, p.valueOffset, p.tokens, lane);
}

uint headerRead(uint w) { return floatBitsToUint(HEADER_WORD(w)); }
void headerWrite(uint w, uint x) { HEADER_WORD(w) = uintBitsToFloat(x); }

/// Word `at` of matrix m's stage (m is a constant where it is called, so the branch folds).
uvec4 stageRead(uint m, uint at) { return m == 0u ? stageK[at] : stageV[at]; }
void stageWrite(uint m, uint at, uvec4 w) {
    if (m == 0u) stageK[at] = w;
    else stageV[at] = w;
}

/// Half h of the run staged at word `base` of matrix m's stage, as the low 16 bits.
uint runHalf(uint m, uint base, uint h) { return (stageRead(m, base + (h >> 3))[(h >> 1) & 3u] >> (16u * (h & 1u))) & 0xFFFFu; }

/// Expands matrix m's loaded step into its stage (see the top of the file).
void stageBitmapMatrix(uint m) {
    const uint base = STAGE_GROUP * TILE * ROW, lane = STAGE_LANE;
    UNROLL for (uint i = 0u; i < RUN_SLOTS; ++i) {
        uint j = i * LANES + lane;
        if (j < runWords[m]) stageWrite(m, base + j, raw[m * RUN_SLOTS + i]);
    }
    UNROLL for (uint i = 0u; i < MASK_SLOTS; ++i) headerWrite(i * LANES + lane, masks[m * MASK_SLOTS + i]);
    if (lane < TILE) headerWrite(STEP_MASK_WORDS + lane, rowStart[m]);
    STAGE_SYNC();
    const uint c = lane % (D / 8u); // this lane's 8 elements of a row: byte c of its masks
    uvec4 words[STAGE_CHUNKS];
    UNROLL for (uint i = 0u; i < STAGE_CHUNKS; ++i) {
        const uint r = (i * LANES + lane) / (D / 8u);
        uint h = headerRead(STEP_MASK_WORDS + r);
        UNROLL for (uint w = 0u; w < MASK_WORDS; ++w) {
            if (w < c / 4u) h += bitCount(headerRead(r * MASK_WORDS + w));
        }
        const uint word = headerRead(r * MASK_WORDS + c / 4u), below = 8u * (c % 4u);
        h += bitCount(word & ((1u << below) - 1u));
        const uint bits = (word >> below) & 0xFFu;
        UNROLL for (uint k = 0u; k < 4u; ++k) {
            uint lo = 0u, hi = 0u;
            if ((bits & (1u << (2u * k))) != 0u) lo = runHalf(m, base, h++);
            if ((bits & (2u << (2u * k))) != 0u) hi = runHalf(m, base, h++);
            words[i][k] = lo | (hi << 16);
        }
    }
    STAGE_SYNC();
    UNROLL for (uint i = 0u; i < STAGE_CHUNKS; ++i) {
        uint j = i * LANES + lane;
        stageWrite(m, base + (j / (D / 8u)) * ROW + c, words[i]);
    }
    // The run's words took the stage's padding words too: zero again (no matrix load reads them).
    if (lane < TILE) stageWrite(m, base + lane * ROW + D / 8u, uvec4(0u));
}

/// Expands the loaded step into the subgroup's stage (after its previous step's matrix loads).
void stageStep() {
    STAGE_SYNC();
    stageBitmapMatrix(0u); // its readers of the header are done when its stage writes begin
    stageBitmapMatrix(1u);
    STAGE_SYNC();
}
