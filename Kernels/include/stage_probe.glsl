// A probe of the int8 / int4 cooperative-matrix kernels' loader and stager (coopmat_codes.glsl)
// on any device with shaderFloat16: no cooperative matrices and no 32-lane subgroups needed (one
// workgroup of 32 invocations stands for a subgroup), so lavapipe runs it (CoopmatStageTests).
// Workgroup (x, y) loads rows 16y ..< 16y + 16 of page x of the table (rows past the page's end
// repeat its last row) with loadRows, dequantizes them into the stage with stageStep, as
// decode_int8_coopmat / decode_int4_coopmat do, and writes the stage's halves as floats:
// outputs[((x · steps + y) · 2 + m) · 16 · D + row · D + e], m = 0 keys, 1 values; steps is the
// push constant `splits`. Spec constants: 0 workgroup size (32), 1 D, 9 LOAD_WORDS. Before
// including: BITS, CODE_POOL, CODE_BINDING (as coopmat_codes.glsl), after decode_bindings.glsl.

const uint TILE = 16u;
const uint LANES = 32u;
const uint ROW = D / 8u + 1u;
shared uvec4 stageK[TILE * ROW];
shared uvec4 stageV[TILE * ROW];
#define STAGE_GROUP 0u
#define STAGE_LANE gl_LocalInvocationID.x
#define STAGE_SYNC() barrier()
#include "coopmat_codes.glsl"

void main() {
    const uint lane = gl_LocalInvocationID.x;
    loadRows(readPage(gl_WorkGroupID.x), gl_WorkGroupID.y * TILE, lane);
    stageStep();
    const uint base = (gl_WorkGroupID.x * pc.splits + gl_WorkGroupID.y) * 2u * TILE * D;
    for (uint i = lane; i < TILE * D / 8u; i += LANES) {
        uint r = i / (D / 8u), c = i % (D / 8u), at = base + r * D + 8u * c;
        uvec4 k = stageK[r * ROW + c], v = stageV[r * ROW + c];
        for (uint h = 0u; h < 4u; ++h) {
            vec2 a = unpackHalf2x16(k[h]), b = unpackHalf2x16(v[h]);
            outputs[at + 2u * h] = a.x;
            outputs[at + 2u * h + 1u] = a.y;
            outputs[at + TILE * D + 2u * h] = b.x;
            outputs[at + TILE * D + 2u * h + 1u] = b.y;
        }
    }
}
