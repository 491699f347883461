// The decode-attention body every encoding kernel shares: the page-table walk and the online
// softmax. Before including it, a kernel defines `loadRows(page, t, lane)`, which loads the lane's
// slices of key rows t ..< t + U of the page and of the same tokens' value rows (rows past the
// page's end repeat its last row; their scores are masked here), in one of two forms:
//
// - raw steps (the kernel defines TAKE_STEP, KEY and VALUE): the loader writes raw words to the
//   kernel's load registers, TAKE_STEP() moves them to the registers KEY(u, e) / VALUE(u, e)
//   decode element e of step slot u from, at use. With PIPELINE = 1 the next step's loads are
//   issued before this step is used, so a lane keeps a step of loads in flight while it computes.
// - floats (no TAKE_STEP): the loader writes floats to `row`: slots 0 ..< U key rows, U ..< 2U
//   value rows; KEY / VALUE read them, or the kernel defines KEY / VALUE to decode its own words.
// - staged (the kernel defines STAGED_STEPS and stageStep(page, t, lane, group, hasStep, fresh)):
//   the token groups of a subgroup stage each step in shared memory together, so the walk runs
//   while any group of the subgroup has a step (subgroupAny) and a group without one only joins
//   stageStep's barriers; KEY / VALUE read the staged step.
//
// Grid: x = split (a run of `pagesPerSplit` pages), y = KV head, z = sequence. A call may run
// several passes (one per kernel, over each head's pages of the encodings that kernel reads), each
// with its own part of the directory and of the splits. A workgroup is
// `groups` token groups of T lanes; group w walks pages w, w + groups, ... of its split, U tokens
// at a time, for all G query heads of its KV head at once (each page is read once per group).
// Lane `lane` holds elements lane·E ..< lane·E + E of the G queries and accumulators; a dot product
// is summed over the T lanes with subgroup shuffles (or T = 1 on the portable path).

// A kernel may also define SCORE(u, g): the lane's part of query g's dot product with the key of
// step slot u (e.g. in f16 arithmetic); the default sums q·KEY in fp32. Likewise
// ACCUMULATE_STEP(): acc[g·E + e] += Σ_u s[u·G + g]·VALUE(u, e), its own way (the kernel then
// declares the step weights `float s[U * G]` at module scope).
//
// RESCALE_EXTRA(g, c) and FINISH_ACCUMULATORS(): a kernel keeping sums of its own beside `acc`
// (e.g. one per query instead of one per element) rescales them by c with `acc[g·E ..]`, and
// adds them to `acc` before the token groups merge.
//
// OWN_CONSUME: the kernel uses a step its own way (e.g. as matrix products over a tile of tokens,
// decode_f16_coopmat.comp) and declares `void consume(uint valid, uint visible);` before including
// this file, defining it anywhere; the walk, the hooks above and the merges stay as they are.
//
// STEP_VALUE_SUMS (a constant expression; default false): the kernel's ACCUMULATE_STEP does the
// value sums of a query-outer kernel, which then skips its own.
#ifndef STEP_VALUE_SUMS
#define STEP_VALUE_SUMS false
#endif
//
// Element-outer order (each element decoded once, used by all G queries) when the kernel decodes
// at use, unless it asks for query-outer order (BY_QUERY: fewer live registers, better for f16).
#if defined(KEY) && !defined(BY_QUERY)
#define DECODE_AT_USE 1
#else
#define DECODE_AT_USE 0
#endif
#ifndef KEY
#define KEY(u, e) row[(u) * E + (e)]
#define VALUE(u, e) row[(U + (u)) * E + (e)]
#endif

const float NEG_BIG = -1.0e30; // finite: exp(NEG_BIG - NEG_BIG) stays 1 with l = 0, never NaN

/// Page-table entries of the workgroup's split kept in shared memory: the first PAGE_CACHE pages
/// of the split (0: none), copied once at the start, so a token group moving to its next page
/// reads the entry there instead of waiting on memory before it can issue that page's loads.
/// Pages of the split past them are read from the table.
layout(constant_id = 11) const uint PAGE_CACHE = 0;
shared uint pageCache[(PAGE_CACHE > 0u ? PAGE_CACHE : 1u) * PAGE_ENTRY_WORDS];
/// The table index of the split's first page (set in main).
uint splitFirstPage = 0u;

/// Page i of the workgroup's split.
PageEntry splitPage(uint i) {
    if (i < PAGE_CACHE) return DECODE_PAGE_AT(pageCache, i * PAGE_ENTRY_WORDS);
    return readPage(splitFirstPage + i);
}

float laneSum(float x) {
#if KVP_SUBGROUP
    UNROLL for (uint s = T / 2u; s > 0u; s >>= 1) x += subgroupShuffleXor(x, s);
#endif
    return x;
}

/// The query position of this workgroup's sequence (MASKED).
int queryPos = 0;

/// Bit u set when token t + u of `page` exists and is visible to the query (MASKED).
uint visibility(PageEntry page, uint t) {
    uint bits = 0u;
    UNROLL for (uint u = 0u; u < U; ++u) {
        if (t + u < page.tokens) {
            int key = positions[page.positionsOffset + t + u];
            bool seen = key <= queryPos && (pc.window == 0u || queryPos - key < int(pc.window));
            if (seen) bits |= 1u << u;
        }
    }
    return bits;
}

#ifndef OWN_CONSUME
/// Uses one step: scores of its U tokens (slots u >= `valid` are past the page's end, and with
/// MASKED the slots whose bit in `visible` is clear: masked), the online-softmax rescale, and the
/// value accumulation.
void consume(uint valid, uint visible) {
#ifndef ACCUMULATE_STEP
    float s[U * G]; // (a kernel with ACCUMULATE_STEP declares it at module scope, where that function reads it)
#endif
    UNROLL for (uint i = 0u; i < U * G; ++i) s[i] = 0.0;
    UNROLL for (uint u = 0u; u < U; ++u) {
#if defined(SCORE)
        UNROLL for (uint g = 0u; g < G; ++g) s[u * G + g] = SCORE(u, g); // the kernel's own lane dot product
#elif DECODE_AT_USE
        UNROLL for (uint e = 0u; e < E; ++e) {
            float k = KEY(u, e); // decoded once, used by all G queries
            UNROLL for (uint g = 0u; g < G; ++g) s[u * G + g] = fma(q[g * E + e], k, s[u * G + g]);
        }
#else
        UNROLL for (uint g = 0u; g < G; ++g) {
            UNROLL for (uint e = 0u; e < E; ++e) s[u * G + g] = fma(q[g * E + e], KEY(u, e), s[u * G + g]);
        }
#endif
    }
    UNROLL for (uint i = 0u; i < U * G; ++i) s[i] = laneSum(s[i]);
    UNROLL for (uint u = 0u; u < U; ++u) {
        if (u >= valid || (MASKED != 0u && (visible & (1u << u)) == 0u)) {
            UNROLL for (uint g = 0u; g < G; ++g) s[u * G + g] = NEG_BIG;
        }
    }
    // s becomes the step's weights exp(s - running max).
    UNROLL for (uint g = 0u; g < G; ++g) {
        float top = rmax[g];
        UNROLL for (uint u = 0u; u < U; ++u) top = max(top, s[u * G + g]);
        if (top > rmax[g]) {
            float c = exp(rmax[g] - top);
            rsum[g] *= c;
            UNROLL for (uint e = 0u; e < E; ++e) acc[g * E + e] *= c;
#ifdef RESCALE_EXTRA
            RESCALE_EXTRA(g, c);
#endif
            rmax[g] = top;
        }
        UNROLL for (uint u = 0u; u < U; ++u) {
            s[u * G + g] = exp(s[u * G + g] - top);
            // Masked slots seen before any visible token (top = NEG_BIG) get exp(0) = 1 here; the first
            // visible token's rescale, exp(NEG_BIG - top) = 0, or the merges (same factor) erase them,
            // and the host refuses a mask that leaves a head no visible token.
            rsum[g] += s[u * G + g];
#if !DECODE_AT_USE
            if (!STEP_VALUE_SUMS) {
                UNROLL for (uint e = 0u; e < E; ++e) acc[g * E + e] = fma(s[u * G + g], VALUE(u, e), acc[g * E + e]);
            }
#endif
        }
    }
#if defined(ACCUMULATE_STEP)
    ACCUMULATE_STEP(); // the kernel's own value accumulation (e.g. in f16 arithmetic), from `s`
#elif DECODE_AT_USE
    UNROLL for (uint u = 0u; u < U; ++u) {
        UNROLL for (uint e = 0u; e < E; ++e) {
            float v = VALUE(u, e);
            UNROLL for (uint g = 0u; g < G; ++g) acc[g * E + e] = fma(s[u * G + g], v, acc[g * E + e]);
        }
    }
#endif
}

#endif // OWN_CONSUME

#include "decode_merge.glsl"

void main() {
    const uint split = gl_WorkGroupID.x, kvHead = gl_WorkGroupID.y, seq = gl_WorkGroupID.z;
#if KVP_SUBGROUP
    const uint lane = gl_SubgroupInvocationID % T;
    const uint group = gl_SubgroupID * (gl_SubgroupSize / T) + gl_SubgroupInvocationID / T;
    const uint groups = gl_NumSubgroups * (gl_SubgroupSize / T);
#else
    const uint lane = 0u;
    const uint group = gl_LocalInvocationID.x;
    const uint groups = gl_WorkGroupSize.x;
#endif
    const uint qHeads = pc.kvHeads * G;
    // The queries load first: their loads are in flight while the directory and page-table reads
    // that the first rows wait on come back (after the page cache's barrier they would wait too).
    UNROLL for (uint g = 0u; g < G; ++g) {
        uint qb = ((seq * qHeads) + kvHead * G + g) * D + lane * E;
        UNROLL for (uint e = 0u; e < E; ++e) {
            q[g * E + e] = queries[qb + e] * pc.scale;
            acc[g * E + e] = 0.0;
        }
        rmax[g] = NEG_BIG;
        rsum[g] = 0.0;
    }
    const uint dir = pc.directoryBase + 4u * ((seq * pc.layers + pc.layer) * pc.kvHeads + kvHead);
    const uint firstPage = directory[dir], pageCount = directory[dir + 1u];
    poolWindow = directory[dir + 2u];
    if (MASKED != 0u) queryPos = queryPositions[seq];
    const uint p0 = split * pc.pagesPerSplit, p1 = min(pageCount, p0 + pc.pagesPerSplit);
    splitFirstPage = firstPage + p0;
    if (PAGE_CACHE > 0u) {
        uint cached = p1 > p0 ? min(p1 - p0, PAGE_CACHE) * PAGE_ENTRY_WORDS : 0u;
        for (uint i = gl_LocalInvocationIndex; i < cached; i += gl_WorkGroupSize.x) pageCache[i] = table[splitFirstPage * PAGE_ENTRY_WORDS + i];
        barrier();
    }

#ifdef PREPARE_QUERIES
    PREPARE_QUERIES();
#endif

#ifdef STAGED_STEPS
    {
        // Staged steps (decode_bitmap_staged.comp): the subgroup's token groups stage together, so
        // the loop runs while any of them has a step, and a group without one only joins the barriers.
        uint p = p0 + group, t = 0u;
        bool hasStep = p < p1, fresh = true;
        PageEntry page = PageEntry(0u, 1u, 0u, 0u, 0u, 0u, 32u, 32u, false, false, 0u, 0u); // (no page)
        if (hasStep) page = splitPage(p - p0);
        while (subgroupAny(hasStep)) {
            stageStep(page, t, lane, group, hasStep, fresh);
            if (hasStep) {
                consume(page.tokens - t, MASKED != 0u ? visibility(page, t) : 0u);
                t += U;
                fresh = t >= page.tokens;
                if (fresh) {
                    t = 0u;
                    p += groups;
                    hasStep = p < p1;
                    if (hasStep) page = splitPage(p - p0);
                }
            }
        }
    }
#else
#ifdef TAKE_STEP
    if (PIPELINE != 0u) {
        // Steps in order across the group's pages; step i + 1 is loaded before step i is used.
        uint p = p0 + group, t = 0u;
        PageEntry page;
        if (p < p1) {
            page = splitPage(p - p0);
            loadRows(page, 0u, lane);
        }
        while (p < p1) {
            TAKE_STEP();
            uint valid = page.tokens - t;
            uint visible = MASKED != 0u ? visibility(page, t) : 0u;
            t += U;
            if (t >= page.tokens) {
                t = 0u;
                p += groups;
                if (p < p1) page = splitPage(p - p0);
            }
            if (p < p1) loadRows(page, t, lane);
            consume(valid, visible);
        }
    } else
#else
#define TAKE_STEP()
#endif
    {
        for (uint p = p0 + group; p < p1; p += groups) {
            PageEntry page = splitPage(p - p0);
            // U tokens per step: their key and value loads are issued together, before the first is
            // used, so each lane keeps 2U row loads in flight; one softmax rescale per step.
            for (uint t = 0u; t < page.tokens; t += U) {
                loadRows(page, t, lane);
                TAKE_STEP();
                consume(page.tokens - t, MASKED != 0u ? visibility(page, t) : 0u);
            }
        }
    }
#endif // STAGED_STEPS

#ifdef FINISH_ACCUMULATORS
    FINISH_ACCUMULATORS();
#endif
    // One token group: its lanes hold the workgroup's result.
    if (groups == 1u) {
        writeGroupResult(seq, kvHead, split, lane);
    } else {
        mergeTokenGroups(seq, kvHead, split, group, groups, lane);
    }
    if (pc.fusedMerge != 0u && pc.splits > 1u) mergeSplits(seq, kvHead);
}
