#version 450
// Copies what a batched session attend uploads (appended rows, re-packed pages, page-table
// entries) from the host-visible staging buffer to their places in one pool bank and its page
// table, in one dispatch, instead of one copy region each (a copy region costs about 2.6 us on an
// H100's compute queue; a decode step of 32 sessions has about a thousand).
// Records (4 words each, from word `recordBase` of the staging buffer): destination (0: the bank,
// 1: the page table), first destination word, first source word, words. Grid: x = record (the
// rest of the records in y, for more than 65535), 64 invocations striding over its words.

layout(local_size_x = 64) in;

layout(push_constant) uniform Push {
    uint records;
    uint recordBase;
    uint recordsPerRow;
} pc;

layout(std430, binding = 1) buffer PageTable { uint table[]; };
layout(std430, binding = 2) buffer Bank { uint words[]; } bank[6];
layout(std430, binding = 6) readonly buffer Staging { uint staging[]; };

void main() {
    const uint r = gl_WorkGroupID.y * pc.recordsPerRow + gl_WorkGroupID.x;
    if (r >= pc.records) return;
    const uint at = pc.recordBase + 4u * r;
    const uint target = staging[at], destination = staging[at + 1u], source = staging[at + 2u], count = staging[at + 3u];
    if (target == 0u) {
        for (uint i = gl_LocalInvocationID.x; i < count; i += 64u) bank[0].words[destination + i] = staging[source + i];
    } else {
        for (uint i = gl_LocalInvocationID.x; i < count; i += 64u) table[destination + i] = staging[source + i];
    }
}
