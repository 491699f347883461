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
// DIRECT_TILES (spec constant 8; the host: `DecodeOptions.coopmatDirect`), bit 0 keys, bit 1
// values: a full step's (16 rows of the page present) key / value tiles are read by the matrix
// loads straight from the pool instead of the stage. Dense f16 pages hold a page's keys as [tokens,
// D] f16 rows from `keyOffset` (values likewise), so Kᵀ's tile c is the column-major load at word
// keyOffset/16 + t·D/8 + 2c with stride D/8 (16-byte words: the stage's read with its padded ROW
// replaced by D/8), V's the row-major one from `valueOffset`. Direct values are loaded with the
// step's key tiles at the start of its use (BEGIN_STEP). What is read directly needs no `raw`
// registers and no stage; it is not loaded a step ahead. The page's last step when it is short
// keeps the stage for both (rows past the page's end repeat its last row, as below), loaded at its
// use. 0: every step through the stage, as before; 1: direct keys, staged values (loaded a step
// ahead as before); 3: both direct.
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

/// Full steps' tiles straight from the pool (above): bit 0 keys, bit 1 values; 0: all staged.
layout(constant_id = 8) const uint DIRECT_TILES = 0;
const bool DIRECT_KEYS = (DIRECT_TILES & 1u) != 0u, DIRECT_VALUES = (DIRECT_TILES & 2u) != 0u;
/// Whether loadRows loads (a step ahead) the step's key words, its value words.
const bool AHEAD_KEYS = !DIRECT_KEYS, AHEAD_VALUES = !DIRECT_VALUES;

/// 16-byte words of one matrix (key or value) of a step each lane loads.
const uint CHUNKS = TILE * D / 8u / LANES;

/// The step being loaded: this lane's 16-byte words of the key rows, then of the value rows
/// (with DIRECT_TILES only those of the matrices read through the stage).
uvec4 raw[2u * CHUNKS];

/// DIRECT_TILES: the step `loadRows` named (pool words of its first key and value rows, and the
/// rows the page has from there, at most 16), and the step in use (`stageStep` takes it): its
/// first key and value words, and whether it is full (its direct matrices read from the pool).
uint nextKey = 0u, nextValue = 0u, nextRows = 0u;
uint stepKey = 0u, stepValue = 0u;
bool stepDirect = false;

/// Lane `lane`'s words of rows t ..< t + 16 of the page (rows past its n repeat row n - 1): word
/// i is 16-byte chunk (i·32 + lane) of the 16 rows, so a subgroup's loads are consecutive.
/// DIRECT_TILES: also where the step's rows are; the words of a direct matrix are not loaded here
/// (the matrix loads read them, or stageStep where the step is short).
void loadRows(PageEntry p, uint t, uint lane) {
    if (DIRECT_TILES != 0u) {
        nextKey = (p.keyOffset >> 4) + t * (D / 8u);
        nextValue = (p.valueOffset >> 4) + t * (D / 8u);
        nextRows = min(p.tokens - t, TILE);
    }
    UNROLL for (uint i = 0u; i < CHUNKS; ++i) {
        uint j = i * LANES + lane, r = j / (D / 8u), c = j % (D / 8u);
        uint rowWord = min(t + r, p.tokens - 1u) * (D / 8u) + c;
        if (AHEAD_KEYS) raw[i] = poolF16[(p.keyOffset >> 4) + rowWord];
        if (AHEAD_VALUES) raw[CHUNKS + i] = poolF16[(p.valueOffset >> 4) + rowWord];
    }
}

/// Writes the loaded step to the subgroup's stage (after its previous step's matrix loads): the
/// words as loaded (8 halves each, in element order). DIRECT_TILES: takes the step loadRows
/// named; a direct matrix of a full step is left to the matrix loads, of a short one (the page's
/// last rows) loaded now and staged, rows past the page's end repeating its last row. The step
/// is the subgroup's (one token group), so the branches are uniform over it.
void stageStep() {
    const uint base = gl_SubgroupID * TILE * ROW, lane = gl_SubgroupInvocationID;
    if (DIRECT_TILES != 0u) {
        stepKey = nextKey;
        stepValue = nextValue;
        stepDirect = nextRows == TILE;
    }
    const bool stageKeys = AHEAD_KEYS || !stepDirect, stageValues = AHEAD_VALUES || !stepDirect;
    if (stageKeys || stageValues) {
        subgroupBarrier();
        UNROLL for (uint i = 0u; i < CHUNKS; ++i) {
            uint j = i * LANES + lane, r = j / (D / 8u), c = j % (D / 8u), at = base + r * ROW + c;
            uint rowWord = min(r, nextRows - 1u) * (D / 8u) + c; // DIRECT_TILES, a short step
            if (AHEAD_KEYS) stageK[at] = raw[i];
            else if (stageKeys) stageK[at] = poolF16[stepKey + rowWord];
            if (AHEAD_VALUES) stageV[at] = raw[CHUNKS + i];
            else if (stageValues) stageV[at] = poolF16[stepValue + rowWord];
        }
        subgroupBarrier();
    }
}

#define TILE_B coopmat<float16_t, gl_ScopeSubgroup, TILE, TILE, gl_MatrixUseB>
/// DIRECT_VALUES: a full step's value tiles, loaded from the pool with its key tiles
/// (BEGIN_STEP), so that both are in flight before the scores wait on the keys.
TILE_B directV[D / TILE];
#define BEGIN_STEP() \
    if (DIRECT_VALUES && stepDirect) { \
        UNROLL for (uint j = 0u; j < D / TILE; ++j) \
            coopMatLoad(directV[j], poolF16, stepValue + 2u * j, D / 8u, gl_CooperativeMatrixLayoutRowMajor); \
    }
// Kᵀ ([element][token]) and V ([token][element]): a full step's direct ones from the pool (rows
// D / 8 words apart), the others from the stage.
#define KEY_TILE(k, c, kv) \
    if (DIRECT_KEYS && stepDirect) \
        coopMatLoad(k, poolF16, stepKey + 2u * (c), D / 8u, gl_CooperativeMatrixLayoutColumnMajor); \
    else \
        coopMatLoad(k, stageK, (kv) + 2u * (c), ROW, gl_CooperativeMatrixLayoutColumnMajor)
#define VALUE_TILE(v, j, kv) \
    if (DIRECT_VALUES && stepDirect) \
        v = directV[j]; \
    else \
        coopMatLoad(v, stageV, (kv) + 2u * (j), ROW, gl_CooperativeMatrixLayoutRowMajor)
#include "include/coopmat_steps.glsl"
