// A probe of the int8 / int4 cooperative-matrix kernels' loader and stager (coopmat_codes.glsl)
// on any device with shaderFloat16: no cooperative matrices and no 32-lane subgroups needed (one
// workgroup of 32 invocations stands for a subgroup), so lavapipe runs it (CoopmatStageTests).
// Workgroup (x, y) stages one step of TILES = U / 16 tiles (U, spec constant 4: 16 or 32), as
// decode_int8_coopmat / decode_int4_coopmat do: tile k is rows 16y ..< 16y + 16 of page x + k of
// the table (rows past the page's end repeat its last row) loaded with loadTile, or, where page
// x + k is past the table's `pagesPerSplit` pages (push constant), cleared with clearTile; then
// stageStep dequantizes the step into the stage, and the workgroup writes the stage's U rows of
// halves as floats: outputs[((x · steps + y) · 2 + m) · U · D + row · D + e], m = 0 keys, 1
// values, row 16k + r for tile k's row r; steps is the push constant `splits`. Spec constants: 0
// workgroup size (32), 1 D, 4 U, 9 LOAD_WORDS. Before including: BITS, CODE_POOL, CODE_BINDING
// (as coopmat_codes.glsl), after decode_bindings.glsl.

const uint TILE = 16u;
const uint TILES = U / TILE;
const uint LANES = 32u;
const uint ROW = D / 8u + 1u;
shared uvec4 stageK[U * ROW];
shared uvec4 stageV[U * ROW];
#define STAGE_GROUP 0u
#define STAGE_LANE gl_LocalInvocationID.x
#define STAGE_SYNC() barrier()
#include "coopmat_codes.glsl"

void main() {
    const uint lane = gl_LocalInvocationID.x;
    for (uint k = 0u; k < TILES; ++k) {
        uint page = gl_WorkGroupID.x + k;
        if (page < pc.pagesPerSplit) loadTile(k, readPage(page), gl_WorkGroupID.y * TILE, lane);
        else clearTile(k);
    }
    stageStep();
    const uint base = (gl_WorkGroupID.x * pc.splits + gl_WorkGroupID.y) * 2u * U * D;
    for (uint i = lane; i < U * D / 8u; i += LANES) {
        uint r = i / (D / 8u), c = i % (D / 8u), at = base + r * D + 8u * c;
        uvec4 k = stageK[r * ROW + c], v = stageV[r * ROW + c];
        for (uint h = 0u; h < 4u; ++h) {
            vec2 a = unpackHalf2x16(k[h]), b = unpackHalf2x16(v[h]);
            outputs[at + 2u * h] = a.x;
            outputs[at + 2u * h + 1u] = a.y;
            outputs[at + U * D + 2u * h] = b.x;
            outputs[at + U * D + 2u * h + 1u] = b.y;
        }
    }
}
