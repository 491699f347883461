#version 450
// Decode attention over dense f16 pages on cooperative matrices (tensor cores), for devices with
// VK_KHR_cooperative_matrix and a 16x16x16 f16 x f16 -> f32 subgroup shape (NVIDIA: M = N = K = 16).
// Same bindings, push constants, page-table walk, masks and split-K outputs as decode_f16.comp
// (decode_bindings.glsl, decode_main.glsl, decode_merge.glsl), so its partials go through the same
// fused merge or merge pass. KVP_COOPMAT: the build compiles it once, with a glslang that has
// GL_KHR_cooperative_matrix (Kernels/README.md), with -DKVP_SUBGROUP=1 (KVP_SUBGROUP_ONLY).
//
// How the decode maps onto 16x16x16 tiles (one subgroup = one token group of decode_main's walk):
//   S = Q · Kᵀ   rows: the G query heads of the KV head (padded to 16 with zero rows),
//                columns: 16 tokens of a page (one step, U = 16), summed over D/16 tiles of the head dim;
//   O += P · V   P = exp(S - m) as f16 (rows as S), V: the step's 16 tokens x 16 elements, one
//                accumulator tile per 16 elements of the head dim (D/16 tiles, fp32).
// Queries, the step's key and value rows, S and P pass through shared memory (coopMatLoad and
// coopMatStore only read and write memory); the output accumulators stay in the subgroup's
// accumulator tiles for the whole walk.
//
// The walk is decode_main's (token groups walking the pages of a split, U tokens a step, the
// next step's rows loading into registers while this step is used), with T = 32 lanes a token
// group, i.e. one token group per subgroup, so that every cooperative-matrix operation runs in
// control flow uniform over its subgroup. Only the use of a step is this kernel's (OWN_CONSUME).
//
// The host must set: workgroup size a multiple of 32 on a device whose subgroups are 32 lanes;
// E (id 2) = D / 32 (so T = 32 and decode_merge's layout holds: lane l keeps elements
// l·E ..< l·E + E of each query at the end); U (id 4) = 16 (one tile of tokens a step); G (id 3)
// at most 8. PIPELINE (id 5) 1 keeps the next step's rows in registers (2·D/16 16-byte words a lane:
// 64 registers at D = 128); the shared memory is
//   16·(D/8 + 1)·16 bytes (queries) + subgroups · (2·16·(D/8 + 1)·16 + 1024 + 512) bytes (the
//   subgroup's key and value stage, S, P) + decode_merge's slots and decode_main's page cache,
// e.g. 29 KB at D = 128 with 2 subgroups, G = 8 and no page cache.
//
// Online softmax with a lazy rescale: each query row keeps a reference max m; a step's weights are
// exp(s - m), and the accumulators are rescaled (through shared memory: an accumulator's element
// layout is the driver's) only when a row's max exceeds m by more than RESCALE_MARGIN, so P stays
// below e^8 (well inside f16) and most steps skip the rescale. (m, l, O) stay a consistent triple,
// which is all the token-group and split merges need. Masked tokens and tokens past a page's end
// weigh exactly 0 (their rows are the page's last row, repeated, so 0·v stays 0).

#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_KHR_cooperative_matrix : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#include "include/decode_bindings.glsl"

/// decode_main's NEG_BIG, for the state declared before it is included.
#define NEG_BIG_VALUE -1.0e30
/// Tile edge: M = N = K = 16 (query rows, tokens, head-dim elements).
const uint TILE = 16u;
/// Lanes a subgroup (the host runs this kernel only where subgroups have 32).
const uint LANES = 32u;
const uint SUBGROUPS = gl_WorkGroupSize.x / LANES;
/// A staged row of D halves in 16-byte words (uvec4, 8 halves each), padded by one word so that
/// the 16-byte rows a matrix load reads from consecutive rows fall in different banks.
const uint ROW = D / 8u + 1u;
/// 16-byte words of one matrix (key or value) of a step each lane loads.
const uint CHUNKS = TILE * D / 8u / LANES;
/// Natural-log units a row's max may exceed its reference before the accumulators are rescaled.
const float RESCALE_MARGIN = 8.0;

// Every array a matrix load or store reads or writes has a 16-byte element type (uvec4 holding 8
// halves, vec4), so its start is 16-byte aligned wherever the driver places it: the Vulkan spec
// (VUID-RuntimeSpirv-OpCooperativeMatrixLoadKHR-08986) requires a matrix load's or store's
// pointer and stride aligned to 16 bytes. An f16vec4 array is only 8-byte aligned: placed after
// an array of odd 4-byte length (decode_merge's `lastOfHead`), its tiles start 8 bytes off 16,
// and NVIDIA's shared-memory matrix loads (16-byte rows) then read rows shifted by 4 halves,
// taking in the never-written padding of the row before. Element offsets and strides below are
// in 16-byte words.
/// The group's scaled queries as f16, rows G ..< 16 zero: the A operand of S = Q·Kᵀ.
shared uvec4 tileQ[TILE * ROW];
/// Each subgroup's step: 16 key rows and 16 value rows ([token][element], padded rows).
shared uvec4 stageK[SUBGROUPS * TILE * ROW];
shared uvec4 stageV[SUBGROUPS * TILE * ROW];
/// Each subgroup's 16x16 fp32 scratch (S; an accumulator tile being rescaled or read out), row-major.
shared vec4 scratch[SUBGROUPS * TILE * TILE / 4u];
/// Each subgroup's P (16x16 f16, row-major, 2 words a row): rows 0 ..< 8 written each step,
/// rows 8 ..< 16 zero.
shared uvec4 tileP[SUBGROUPS * TILE * TILE / 8u];
/// Words of one subgroup's P.
const uint P_WORDS = TILE * TILE / 8u;

#define ACC_TILE coopmat<float, gl_ScopeSubgroup, TILE, TILE, gl_MatrixUseAccumulator>
/// The subgroup's output accumulators: O[16 queries][D], tile j holding elements 16j ..< 16j + 16.
ACC_TILE o[D / TILE];
/// This lane's query row (lanes 4r ..< 4r + 4 share row r < 8; rows >= G are padding) and the
/// row's reference max and sum of weights.
float refMax = NEG_BIG_VALUE;
float refSum = 0.0;

/// The step being loaded: this lane's 16-byte words of the key rows, then of the value rows.
uvec4 raw[2u * CHUNKS];

/// Lane `lane`'s words of rows t ..< t + 16 of the page (rows past its n repeat row n - 1): word
/// i is 16-byte chunk (i·32 + lane) of the 16 rows, so a subgroup's loads are consecutive.
void loadRows(PageEntry p, uint t, uint lane) {
    UNROLL for (uint i = 0u; i < CHUNKS; ++i) {
        uint j = i * LANES + lane, r = j / (D / 8u), c = j % (D / 8u);
        uint rowWord = min(t + r, p.tokens - 1u) * (D / 8u) + c;
        raw[i] = poolF16[(p.keyOffset >> 4) + rowWord];
        raw[CHUNKS + i] = poolF16[(p.valueOffset >> 4) + rowWord];
    }
}

/// Writes the loaded step to the subgroup's stage (after its previous step's matrix loads): the
/// words as loaded (8 halves each, in element order).
void stageStep() {
    const uint base = gl_SubgroupID * TILE * ROW, lane = gl_SubgroupInvocationID;
    subgroupBarrier();
    UNROLL for (uint i = 0u; i < CHUNKS; ++i) {
        uint j = i * LANES + lane, at = base + (j / (D / 8u)) * ROW + j % (D / 8u);
        stageK[at] = raw[i];
        stageV[at] = raw[CHUNKS + i];
    }
    subgroupBarrier();
}
#define TAKE_STEP() stageStep()

void prepareTiles();
void finishTiles();
void consume(uint valid, uint visible);
#define OWN_CONSUME 1
#define PREPARE_QUERIES() prepareTiles()
#define FINISH_ACCUMULATORS() finishTiles()

#include "include/decode_main.glsl"

/// Once per workgroup, after the queries' loads (decode_main's PREPARE_QUERIES): the query tile
/// (its padding words too), the zero rows of each P, the padding words of each stage (no matrix
/// load reads them; zero, so that no leftover of another dispatch is ever in a tile), the
/// accumulators.
void prepareTiles() {
    const uint qHeads = pc.kvHeads * G;
    const uint q0 = (gl_WorkGroupID.z * qHeads + gl_WorkGroupID.y * G) * D;
    for (uint i = gl_LocalInvocationIndex; i < TILE * ROW; i += gl_WorkGroupSize.x) {
        uint r = i / ROW, c = i % ROW; // word c < D / 8 holds elements 8c ..< 8c + 8; c = D / 8 pads
        uvec4 word = uvec4(0u);
        if (r < G && c < D / 8u) {
            uint at = q0 + r * D + 8u * c;
            UNROLL for (uint h = 0u; h < 4u; ++h)
                word[h] = packFloat2x16(f16vec2(vec2(queries[at + 2u * h], queries[at + 2u * h + 1u]) * pc.scale));
        }
        tileQ[i] = word;
    }
    const uint lane = gl_SubgroupInvocationID, stage = gl_SubgroupID * TILE * ROW;
    if (lane < TILE) {
        tileP[gl_SubgroupID * P_WORDS + P_WORDS / 2u + lane] = uvec4(0u); // rows 8 ..< 16
        stageK[stage + lane * ROW + D / 8u] = uvec4(0u);
        stageV[stage + lane * ROW + D / 8u] = uvec4(0u);
    }
    UNROLL for (uint j = 0u; j < D / TILE; ++j) o[j] = ACC_TILE(0.0);
    barrier();
}

/// Multiplies row r of every accumulator tile by this lane's `c` (rows of lanes 4r ..< 4r + 4).
void rescaleRows(float c) {
    const uint base = gl_SubgroupID * 64u, lane = gl_SubgroupInvocationID;
    UNROLL for (uint j = 0u; j < D / TILE; ++j) {
        subgroupBarrier(); // the scratch's last readers are done
        coopMatStore(o[j], scratch, base, TILE / 4u, gl_CooperativeMatrixLayoutRowMajor);
        subgroupBarrier();
        scratch[base + lane] *= c; // lane = 4r + quarter: row r < 8, columns 4·quarter ..< +4
        subgroupBarrier();
        coopMatLoad(o[j], scratch, base, TILE / 4u, gl_CooperativeMatrixLayoutRowMajor);
    }
}

/// Uses one step of 16 tokens (slots u >= `valid` past the page's end; with MASKED, those whose
/// bit in `visible` is clear are masked): S = Q·Kᵀ, the rows' weights, O += P·V.
void consume(uint valid, uint visible) {
    const uint kv = gl_SubgroupID * TILE * ROW, base = gl_SubgroupID * 64u, lane = gl_SubgroupInvocationID;
    const uint pBase = gl_SubgroupID * P_WORDS;
    ACC_TILE s = ACC_TILE(0.0);
    UNROLL for (uint c = 0u; c < D / TILE; ++c) {
        coopmat<float16_t, gl_ScopeSubgroup, TILE, TILE, gl_MatrixUseA> q;
        coopmat<float16_t, gl_ScopeSubgroup, TILE, TILE, gl_MatrixUseB> k;
        coopMatLoad(q, tileQ, 2u * c, ROW, gl_CooperativeMatrixLayoutRowMajor);
        coopMatLoad(k, stageK, kv + 2u * c, ROW, gl_CooperativeMatrixLayoutColumnMajor); // Kᵀ: [element][token]
        s = coopMatMulAdd(q, k, s);
    }
    subgroupBarrier(); // the scratch's last readers are done
    coopMatStore(s, scratch, base, TILE / 4u, gl_CooperativeMatrixLayoutRowMajor);
    subgroupBarrier();

    // Lane 4r + quarter: row r (a query when r < G), tokens 4·quarter ..< 4·quarter + 4.
    const uint r = lane / 4u, first = 4u * (lane % 4u);
    vec4 x = scratch[base + lane];
    bvec4 seen;
    UNROLL for (uint u = 0u; u < 4u; ++u) {
        seen[u] = r < G && first + u < valid && (MASKED == 0u || (visible & (1u << (first + u))) != 0u);
        if (!seen[u]) x[u] = NEG_BIG;
    }
    float top = max(max(x.x, x.y), max(x.z, x.w));
    top = max(top, subgroupShuffleXor(top, 1u));
    top = max(top, subgroupShuffleXor(top, 2u));
    bool grow = top > refMax + RESCALE_MARGIN; // refMax = NEG_BIG: the row's first visible token
    if (subgroupAny(grow)) {
        float next = grow ? top : refMax;
        float c = exp(refMax - next);
        refSum *= c;
        refMax = next;
        rescaleRows(c);
    }
    vec4 w = vec4(0.0);
    UNROLL for (uint u = 0u; u < 4u; ++u) if (seen[u]) w[u] = exp(x[u] - refMax);
    // The sum counts the weights as P·V uses them, rounded to f16 (those below f16's range as 0),
    // so that the output's numerator and denominator agree.
    f16vec4 weights = f16vec4(w);
    w = vec4(weights);
    float sum = w.x + w.y + w.z + w.w;
    sum += subgroupShuffleXor(sum, 1u);
    sum += subgroupShuffleXor(sum, 2u);
    refSum += sum;
    // Row r's halves 4·quarter ..< 4·quarter + 4: the low or high half of the row's word quarter / 2.
    const uint pAt = pBase + 2u * r + (lane % 4u) / 2u, part = 2u * (lane % 2u);
    tileP[pAt][part] = packFloat2x16(weights.xy);
    tileP[pAt][part + 1u] = packFloat2x16(weights.zw);
    subgroupBarrier();

    coopmat<float16_t, gl_ScopeSubgroup, TILE, TILE, gl_MatrixUseA> p;
    coopMatLoad(p, tileP, pBase, TILE / 8u, gl_CooperativeMatrixLayoutRowMajor);
    UNROLL for (uint j = 0u; j < D / TILE; ++j) {
        coopmat<float16_t, gl_ScopeSubgroup, TILE, TILE, gl_MatrixUseB> v;
        coopMatLoad(v, stageV, kv + 2u * j, ROW, gl_CooperativeMatrixLayoutRowMajor); // V: [token][element]
        o[j] = coopMatMulAdd(p, v, o[j]);
    }
}

/// After the walk (decode_main's FINISH_ACCUMULATORS): the state decode_merge reads, in its
/// layout: each query's (max, sum) on every lane, and lane l's elements l·E ..< l·E + E of each
/// query's accumulator (one tile holds them: E divides 16).
void finishTiles() {
    const uint base = gl_SubgroupID * 64u, lane = gl_SubgroupInvocationID;
    UNROLL for (uint g = 0u; g < G; ++g) {
        rmax[g] = subgroupShuffle(refMax, 4u * g);
        rsum[g] = subgroupShuffle(refSum, 4u * g);
    }
    UNROLL for (uint j = 0u; j < D / TILE; ++j) {
        subgroupBarrier();
        coopMatStore(o[j], scratch, base, TILE / 4u, gl_CooperativeMatrixLayoutRowMajor);
        subgroupBarrier();
        if (lane * E / TILE == j) {
            UNROLL for (uint g = 0u; g < G; ++g) {
                UNROLL for (uint e = 0u; e < E; ++e) {
                    uint col = lane * E % TILE + e;
                    acc[g * E + e] = scratch[base + g * 4u + col / 4u][col % 4u];
                }
            }
        }
    }
}
