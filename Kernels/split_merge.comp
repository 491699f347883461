#version 450
// Second pass of split-K decode: combines each query head's per-split (max, sum, unnormalized
// accumulator) into the output. Grid: x = query head, y = sequence; threads over the head dim.
#extension GL_EXT_control_flow_attributes : enable

layout(local_size_x = 64) in;
layout(constant_id = 1) const uint D = 128;

layout(push_constant) uniform Push {
    uint qHeads;
    uint splits;
} pc;

layout(std430, binding = 7) writeonly buffer Output { float outputs[]; };    // [B, Hq, D]
layout(std430, binding = 8) readonly buffer Partials { float partials[]; };  // [B, Hq, splits, D + 2]

void main() {
    uint qh = gl_WorkGroupID.y * pc.qHeads + gl_WorkGroupID.x;
    uint base = qh * pc.splits * (D + 2u);
    float top = -1.0e30;
    for (uint s = 0u; s < pc.splits; ++s) top = max(top, partials[base + s * (D + 2u) + D]);
    float total = 0.0;
    for (uint s = 0u; s < pc.splits; ++s) {
        uint b = base + s * (D + 2u);
        total += partials[b + D + 1u] * exp(partials[b + D] - top);
    }
    for (uint c = gl_LocalInvocationID.x; c < D; c += gl_WorkGroupSize.x) {
        float x = 0.0;
        for (uint s = 0u; s < pc.splits; ++s) {
            uint b = base + s * (D + 2u);
            x += partials[b + c] * exp(partials[b + D] - top);
        }
        outputs[qh * D + c] = x / total;
    }
}
