// The cooperative-matrix kernels' tiles (decode_f16_coopmat.comp, decode_int8_coopmat.comp,
// decode_int4_coopmat.comp): constants, the shared-memory tiles and stages, the output
// accumulators and the softmax state. Included after decode_bindings.glsl and before the kernel's
// row loader (`loadRows`, and `stageStep`, which writes a loaded step into `stageK` / `stageV` as
// f16 tiles); coopmat_steps.glsl follows the loader.
//
// The host computes these arrays' bytes (`DecodeCall.coopmatTileBytes`): change them together.

/// decode_main's NEG_BIG, for the state declared before it is included.
#define NEG_BIG_VALUE -1.0e30
/// Tile edge: M = N = K = 16 (query rows, tokens, head-dim elements).
const uint TILE = 16u;
/// Lanes a subgroup (the host runs these kernels only where subgroups have 32).
const uint LANES = 32u;
const uint SUBGROUPS = gl_WorkGroupSize.x / LANES;
/// A staged row of D halves in 16-byte words (uvec4, 8 halves each), padded by one word so that
/// the 16-byte rows a matrix load reads from consecutive rows fall in different banks.
const uint ROW = D / 8u + 1u;
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
/// Each subgroup's step: 16 key rows and 16 value rows ([token][element], padded rows), as f16
/// (the f16 kernel's words as loaded; the int8 / int4 kernels' codes dequantized).
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
