// The cooperative-matrix kernels' use of a step and their ends (decode_f16_coopmat.comp,
// decode_int8_coopmat.comp, decode_int4_coopmat.comp): after coopmat_tiles.glsl and the kernel's
// row loader, which defines `loadRows(page, t, lane)` (the lane's share of the 16-byte words of
// the step's 16 key and 16 value rows, into registers) and `stageStep()` (those registers into
// the subgroup's `stageK` / `stageV` as f16 tiles, between two subgroupBarrier()s). This file
// hooks them into decode_main.glsl's walk (TAKE_STEP = stageStep) and defines the tile products:
// S = Q·Kᵀ, the online softmax with a lazy rescale, O += P·V, and the hand-off to decode_merge.
#define TAKE_STEP() stageStep()

void prepareTiles();
void finishTiles();
void consume(uint valid, uint visible);
#define OWN_CONSUME 1
#define PREPARE_QUERIES() prepareTiles()
#define FINISH_ACCUMULATORS() finishTiles()

#include "decode_main.glsl"

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
