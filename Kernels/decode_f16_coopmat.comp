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
// The tiles and their products (below) are include/coopmat_tiles.glsl and coopmat_steps.glsl,
// shared with decode_int8_coopmat.comp and decode_int4_coopmat.comp; this file is the f16 row
// loader (the stage holds the loaded words as they are).
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
#include "include/coopmat_tiles.glsl"

/// 16-byte words of one matrix (key or value) of a step each lane loads.
const uint CHUNKS = TILE * D / 8u / LANES;

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
#include "include/coopmat_steps.glsl"
