#version 450
// Second pass of split-K decode: combines each query head's per-split (max, sum, unnormalized
// accumulator) into the output. Grid: x = query head, y = sequence; one workgroup per query head.
// The splits are spread over the invocations (each loads a few, a shared-memory reduction finds
// the max and the total), and the per-split weights of up to 128 splits at a time wait in shared
// memory while every invocation sums its elements over them, several loads in flight at once:
// the merge is a short dispatch between the decode and the caller, so its latency counts.
#extension GL_EXT_control_flow_attributes : enable

layout(local_size_x = 128) in;
layout(constant_id = 1) const uint D = 128;
const uint THREADS = 128u;

layout(push_constant) uniform Push {
    uint qHeads;
    uint splits;
} pc;

layout(std430, binding = 7) writeonly buffer Output { float outputs[]; };    // [B, Hq, D]
layout(std430, binding = 8) readonly buffer Partials { float partials[]; };  // [B, Hq, splits, D + 2]

shared float reduce[THREADS];
shared float weights[THREADS];

/// The max (max = true) or the sum of every invocation's `x`.
float workgroupReduce(float x, bool max_) {
    uint i = gl_LocalInvocationID.x;
    reduce[i] = x;
    barrier();
    for (uint s = THREADS / 2u; s > 0u; s >>= 1) {
        if (i < s) reduce[i] = max_ ? max(reduce[i], reduce[i + s]) : reduce[i] + reduce[i + s];
        barrier();
    }
    float r = reduce[0];
    barrier();
    return r;
}

void main() {
    const uint i = gl_LocalInvocationID.x;
    const uint qh = gl_WorkGroupID.y * pc.qHeads + gl_WorkGroupID.x;
    const uint base = qh * pc.splits * (D + 2u);
    float top = -1.0e30;
    for (uint s = i; s < pc.splits; s += THREADS) top = max(top, partials[base + s * (D + 2u) + D]);
    top = workgroupReduce(top, true);
    float part = 0.0;
    for (uint s = i; s < pc.splits; s += THREADS) {
        uint b = base + s * (D + 2u);
        part += partials[b + D + 1u] * exp(partials[b + D] - top);
    }
    const float total = workgroupReduce(part, false);

    // Elements c = i, i + THREADS, ... (at most 2 per invocation: D <= 256).
    float x0 = 0.0, x1 = 0.0;
    for (uint s0 = 0u; s0 < pc.splits; s0 += THREADS) {
        uint count = min(THREADS, pc.splits - s0);
        if (i < count) weights[i] = exp(partials[base + (s0 + i) * (D + 2u) + D] - top);
        barrier();
        uint k = 0u;
        // Four splits a round: their loads are independent, so they are in flight together.
        for (; k + 4u <= count; k += 4u) {
            uint b = base + (s0 + k) * (D + 2u);
            if (i < D) {
                float a = partials[b + i], bb = partials[b + (D + 2u) + i];
                float c = partials[b + 2u * (D + 2u) + i], d = partials[b + 3u * (D + 2u) + i];
                x0 += weights[k] * a + weights[k + 1u] * bb + weights[k + 2u] * c + weights[k + 3u] * d;
            }
            if (i + THREADS < D) {
                float a = partials[b + i + THREADS], bb = partials[b + (D + 2u) + i + THREADS];
                float c = partials[b + 2u * (D + 2u) + i + THREADS], d = partials[b + 3u * (D + 2u) + i + THREADS];
                x1 += weights[k] * a + weights[k + 1u] * bb + weights[k + 2u] * c + weights[k + 3u] * d;
            }
        }
        for (; k < count; ++k) {
            uint b = base + (s0 + k) * (D + 2u);
            if (i < D) x0 += weights[k] * partials[b + i];
            if (i + THREADS < D) x1 += weights[k] * partials[b + i + THREADS];
        }
        barrier();
    }
    if (i < D) outputs[qh * D + i] = x0 / total;
    if (i + THREADS < D) outputs[qh * D + i + THREADS] = x1 / total;
}
