#version 450
// Second pass of split-K decode: combines each query head's per-split (max, sum, unnormalized
// accumulator) into the output. Grid: x = query head, y = sequence; one workgroup per query head,
// invocation i summing elements i and i + 128 over the splits. The merge is a short dispatch
// between the decode and the caller, so its latency counts: no shared memory and no barriers;
// every invocation reads the splits' (max, sum) itself (one broadcast load a warp) and issues a
// chunk of CHUNK splits' loads at once, then folds the chunk into a running max, total and sums
// (one L2 round trip a chunk).
#extension GL_EXT_control_flow_attributes : enable

layout(local_size_x = 128) in;
layout(constant_id = 1) const uint D = 128;
const uint THREADS = 128u;
/// Splits whose loads are in flight together (32: one round trip for the splits of a one-kernel
/// call, the automatic rule's most).
const uint CHUNK = 32u;

layout(push_constant) uniform Push {
    uint qHeads;
    uint splits;
} pc;

layout(std430, binding = 7) writeonly buffer Output { float outputs[]; };    // [B, Hq, D]
layout(std430, binding = 8) readonly buffer Partials { float partials[]; };  // [B, Hq, splits, D + 4]

void main() {
    const uint i = gl_LocalInvocationID.x;
    const uint qh = gl_WorkGroupID.y * pc.qHeads + gl_WorkGroupID.x;
    const uint base = qh * pc.splits * (D + 4u);
    // Elements past D (D = 64: half the invocations; D = 256: the second element) read element 0
    // and are not written.
    const uint e0 = i < D ? i : 0u, e1 = i + THREADS < D ? i + THREADS : 0u;
    float top = -1.0e30, total = 0.0, x0 = 0.0, x1 = 0.0;
    for (uint s0 = 0u; s0 < pc.splits; s0 += CHUNK) {
        float m[CHUNK], l[CHUNK], a[CHUNK], b[CHUNK];
        [[unroll]] for (uint k = 0u; k < CHUNK; ++k) {
            uint p = base + min(s0 + k, pc.splits - 1u) * (D + 4u); // past the last split: read it again, weigh it 0
            m[k] = partials[p + D];
            l[k] = partials[p + D + 1u];
            a[k] = partials[p + e0];
            b[k] = partials[p + e1];
        }
        float chunkTop = top;
        [[unroll]] for (uint k = 0u; k < CHUNK; ++k) if (s0 + k < pc.splits) chunkTop = max(chunkTop, m[k]);
        float c = exp(top - chunkTop);
        total *= c; x0 *= c; x1 *= c;
        [[unroll]] for (uint k = 0u; k < CHUNK; ++k) {
            float w = s0 + k < pc.splits ? exp(m[k] - chunkTop) : 0.0;
            total = fma(l[k], w, total);
            x0 = fma(a[k], w, x0);
            x1 = fma(b[k], w, x1);
        }
        top = chunkTop;
    }
    if (i < D) outputs[qh * D + i] = x0 / total;
    if (i + THREADS < D) outputs[qh * D + i + THREADS] = x1 / total;
}
