// The cooperative-matrix kernels' tiles (decode_f16_coopmat.comp, decode_int8_coopmat.comp,
// decode_int4_coopmat.comp): constants, the shared-memory tiles and stages, the output
// accumulators and the softmax state. Included after decode_bindings.glsl and before the kernel's
// row loader (`loadTile`, `clearTile`, and `stageStep`, which writes a loaded step into `stageK` /
// `stageV` as f16 tiles); coopmat_steps.glsl follows the loader.
//
// The host computes these arrays' bytes (`DecodeCall.coopmatTileBytes`): change them together.

/// decode_main's NEG_BIG, for the state declared before it is included.
#define NEG_BIG_VALUE -1.0e30
/// Tile edge: M = N = K = 16 (query rows, tokens, head-dim elements).
const uint TILE = 16u;
/// Tiles of 16 tokens a step: U (spec constant 4) is 16 or 32 tokens. A step of 32 is two key
/// tiles (S as a 16x32 pair of accumulator tiles, one softmax pass over 32 columns, P as two A
/// tiles), so the step's fixed cost (S and P through shared memory, the barriers and shuffles of
/// the softmax) is paid once per 32 tokens; each tile is the token group's next run of up to 16
/// tokens of one page (decode_main's TILED_STEPS walk), so with pages of 16 tokens a step spans
/// two pages.
const uint TILES = U / TILE;
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
/// Each subgroup's step: U key rows and U value rows ([token][element], padded rows; tile k is
/// rows 16k ..< 16k + 16), as f16 (the f16 kernel's words as loaded; the int8 / int4 kernels'
/// codes dequantized).
shared uvec4 stageK[SUBGROUPS * U * ROW];
shared uvec4 stageV[SUBGROUPS * U * ROW];
/// Each subgroup's 16 x U fp32 scratch (S, row-major, U / 4 words a row; its first 16x16 floats
/// also hold an accumulator tile being rescaled or read out, 4 words a row).
shared vec4 scratch[SUBGROUPS * TILE * U / 4u];
/// Each subgroup's P (16 x U f16, row-major, U / 8 words a row; tile k is columns 16k ..< 16k +
/// 16): rows 0 ..< 8 written each step, rows 8 ..< 16 zero.
shared uvec4 tileP[SUBGROUPS * TILE * U / 8u];
/// Words of one subgroup's P and of its scratch.
const uint P_WORDS = TILE * U / 8u;
const uint S_WORDS = TILE * U / 4u;

#define ACC_TILE coopmat<float, gl_ScopeSubgroup, TILE, TILE, gl_MatrixUseAccumulator>
/// The subgroup's output accumulators: O[16 queries][D], tile j holding elements 16j ..< 16j + 16.
ACC_TILE o[D / TILE];
/// This lane's query row (lanes 4r ..< 4r + 4 share row r < 8; rows >= G are padding) and the
/// row's reference max and sum of weights.
float refMax = NEG_BIG_VALUE;
float refSum = 0.0;
