// The end of a decode workgroup (included by decode_main.glsl, after its state and before main):
// the merge of its token groups through shared memory, the output or split partial it writes, and
// the fused split-K merge by the last workgroup of a head.

/// The merge slots: MERGE_SLOTS token groups' accumulators, G·D floats each (their running max
/// and sum use the same memory first).
shared float mergeBuffer[MERGE_SLOTS * G * D];

/// Invocations of the workgroup (the merge spreads its outputs over all of them).
const uint INVOCATIONS = gl_WorkGroupSize.x;
/// Outputs (query, element) of the workgroup each invocation sums in the merge.
const uint MERGE_OUTPUTS = (G * D + INVOCATIONS - 1u) / INVOCATIONS;

/// Where split `s` of query head `qh` starts in `partials` (`[B, Hq, splits, D + 4]`: the
/// unnormalized accumulator, then the running max and sum, and 2 floats that keep every split's
/// start 16-byte aligned for the fused merge's vector loads).
uint partialBase(uint qh, uint s) { return (qh * pc.splits + s) * (D + 4u); }

/// Element d of query head qh's result from this workgroup: with one split the output x / l,
/// else x in the split's partial, and with `stats` its max m and sum l.
void storeResult(uint qh, uint split, uint d, float x, float m, float l, bool stats) {
    if (pc.splits == 1u) {
        outputs[qh * D + d] = x / l;
    } else {
        uint b = partialBase(qh, pc.splitBase + split);
        partials[b + d] = x;
        if (stats) {
            partials[b + D] = m;
            partials[b + D + 1u] = l;
        }
    }
}

/// Merges the `groups` token groups' results and writes the workgroup's output (one split) or
/// partials, with every invocation taking part: (1) each group's running max and sum per query go
/// to shared memory, and every invocation finds each query's max over the groups and the total of
/// the sums rescaled to it; (2) each group rescales its accumulators to that max and writes them
/// to a merge slot, MERGE_SLOTS groups a round, and invocation i sums outputs i, i + INVOCATIONS,
/// ... over the slots of the round (slot layout [G][E][T]: the writes of a group's lanes and the
/// reads of consecutive invocations fall in consecutive banks); (3) each invocation writes its
/// outputs. The stats of step 1 use the merge slots' memory before step 2 (the host keeps
/// MERGE_SLOTS·G·D >= 2·groups·G).
void mergeTokenGroups(uint seq, uint kvHead, uint split, uint group, uint groups, uint lane) {
    const uint qHeads = pc.kvHeads * G;
    if (lane == 0u) {
        UNROLL for (uint g = 0u; g < G; ++g) {
            mergeBuffer[(group * G + g) * 2u] = rmax[g];
            mergeBuffer[(group * G + g) * 2u + 1u] = rsum[g];
        }
    }
    barrier();
    float top[G], total[G];
    UNROLL for (uint g = 0u; g < G; ++g) {
        top[g] = NEG_BIG;
        for (uint w = 0u; w < groups; ++w) top[g] = max(top[g], mergeBuffer[(w * G + g) * 2u]);
        total[g] = 0.0;
        for (uint w = 0u; w < groups; ++w)
            total[g] += mergeBuffer[(w * G + g) * 2u + 1u] * exp(mergeBuffer[(w * G + g) * 2u] - top[g]);
        float c = exp(rmax[g] - top[g]);
        UNROLL for (uint e = 0u; e < E; ++e) acc[g * E + e] *= c;
    }
    float x[MERGE_OUTPUTS];
    UNROLL for (uint o = 0u; o < MERGE_OUTPUTS; ++o) x[o] = 0.0;
    for (uint w0 = 0u; w0 < groups; w0 += MERGE_SLOTS) {
        barrier(); // the stats, or the round before, are read
        if (group >= w0 && group < w0 + MERGE_SLOTS) {
            uint b0 = (group - w0) * G * D + lane;
            UNROLL for (uint g = 0u; g < G; ++g) {
                UNROLL for (uint e = 0u; e < E; ++e) mergeBuffer[b0 + (g * E + e) * T] = acc[g * E + e];
            }
        }
        barrier();
        uint slots = min(MERGE_SLOTS, groups - w0);
        for (uint k = 0u; k < slots; ++k) {
            UNROLL for (uint o = 0u; o < MERGE_OUTPUTS; ++o) {
                uint i = gl_LocalInvocationIndex + o * INVOCATIONS;
                if (i < G * D) x[o] += mergeBuffer[k * G * D + i];
            }
        }
    }
    UNROLL for (uint o = 0u; o < MERGE_OUTPUTS; ++o) {
        uint i = gl_LocalInvocationIndex + o * INVOCATIONS;
        if (i < G * D) {
            // Output i is query g, element (lane, e) of the slot layout: d = lane·E + e.
            uint g = i / D, r = i % D, d = (r % T) * E + r / T;
            storeResult(seq * qHeads + kvHead * G + g, split, d, x[o], top[g], total[g], d == 0u);
        }
    }
}

/// One token group's result, from its lanes: the output (one split) or the split's partial.
void writeGroupResult(uint seq, uint kvHead, uint split, uint lane) {
    const uint qHeads = pc.kvHeads * G;
    UNROLL for (uint g = 0u; g < G; ++g) {
        UNROLL for (uint e = 0u; e < E; ++e)
            storeResult(seq * qHeads + kvHead * G + g, split, lane * E + e, acc[g * E + e], rmax[g], rsum[g], lane == 0u && e == 0u);
    }
}

/// Splits whose partials' loads are in flight together in the fused merge (8 on GPUs; 1 on CPU
/// devices, where the unrolled loads only cost compile time).
layout(constant_id = 12) const uint SPLIT_CHUNK = 8;
shared uint lastOfHead;

/// The fused merge reads the partials four floats at a time (head dims are 64, 128 or 256).
layout(std430, binding = 8) coherent buffer PartialQuads { vec4 partialQuads[]; };
/// Runs of 4 consecutive elements of one query head the fused merge writes (G·D / 4), and the
/// rounds of them each invocation takes.
const uint MERGE_RUNS = G * D / 4u;
const uint MERGE_RUN_ROUNDS = (MERGE_RUNS + INVOCATIONS - 1u) / INVOCATIONS;

/// With `pc.fusedMerge` (split-K): the last workgroup of a head to finish (of every split and
/// pass, counted in `callWords`) merges the head's split partials into the output, instead of the
/// merge pass (split_merge.comp) after a barrier. Counts this workgroup's split of its head done
/// (its partials written); the last one resets the counter and merges the head's G query heads
/// over all `pc.splits` splits: each invocation takes runs of 4 elements of one query head (at
/// G = 4, D = 128 one run each), and for a chunk of SPLIT_CHUNK splits issues each split's
/// (max, sum) and the run's 4 floats as two 16-byte loads, all at once, then folds the chunk into
/// a running max, total and sums (as split_merge.comp).
void mergeSplits(uint seq, uint kvHead) {
    const uint qHeads = pc.kvHeads * G;
#ifdef KVP_COOPMAT
    // A module on the Vulkan memory model (glslang declares it for cooperative matrices): there
    // barrier() orders shared memory only and atomics are relaxed, so the partials' order is
    // explicit: every invocation's partials before the count (a workgroup barrier over buffer
    // memory, a releasing count), the count before the last workgroup's reads (an acquiring
    // count, the same barrier).
    controlBarrier(gl_ScopeWorkgroup, gl_ScopeQueueFamily, gl_StorageSemanticsBuffer | gl_StorageSemanticsShared, gl_SemanticsAcquireRelease);
    if (gl_LocalInvocationIndex == 0u) {
        uint counter = gl_NumWorkGroups.z + seq * pc.kvHeads + kvHead;
        uint arrived = atomicAdd(callWords[counter], 1u, gl_ScopeQueueFamily, gl_StorageSemanticsBuffer, gl_SemanticsAcquireRelease) + 1u;
        lastOfHead = arrived == pc.splits ? 1u : 0u;
        if (arrived == pc.splits) atomicExchange(callWords[counter], 0u); // ready for the next call
    }
    controlBarrier(gl_ScopeWorkgroup, gl_ScopeQueueFamily, gl_StorageSemanticsBuffer | gl_StorageSemanticsShared, gl_SemanticsAcquireRelease);
    if (lastOfHead == 0u) return;
#else
    memoryBarrierBuffer(); // this invocation's partials, before the count
    barrier();             // every invocation's, before the count
    if (gl_LocalInvocationIndex == 0u) {
        uint counter = gl_NumWorkGroups.z + seq * pc.kvHeads + kvHead;
        uint arrived = atomicAdd(callWords[counter], 1u) + 1u;
        lastOfHead = arrived == pc.splits ? 1u : 0u;
        if (arrived == pc.splits) atomicExchange(callWords[counter], 0u); // ready for the next call
    }
    barrier();
    if (lastOfHead == 0u) return;
    memoryBarrierBuffer();
#endif
    UNROLL for (uint r = 0u; r < MERGE_RUN_ROUNDS; ++r) {
        uint run = gl_LocalInvocationIndex + r * INVOCATIONS;
        uint qh = seq * qHeads + kvHead * G + min(run, MERGE_RUNS - 1u) * 4u / D; // past the runs: read, not written
        uint d0 = run * 4u % D;
        float top = NEG_BIG, total = 0.0;
        vec4 x = vec4(0.0);
        for (uint s0 = 0u; s0 < pc.splits; s0 += SPLIT_CHUNK) {
            vec2 stats[SPLIT_CHUNK];
            vec4 a[SPLIT_CHUNK];
            UNROLL for (uint k = 0u; k < SPLIT_CHUNK; ++k) {
                uint p = partialBase(qh, min(s0 + k, pc.splits - 1u)) / 4u; // past the last split: weighed 0
                stats[k] = partialQuads[p + D / 4u].xy;
                a[k] = partialQuads[p + d0 / 4u];
            }
            float chunkTop = top;
            UNROLL for (uint k = 0u; k < SPLIT_CHUNK; ++k) if (s0 + k < pc.splits) chunkTop = max(chunkTop, stats[k].x);
            float c = exp(top - chunkTop);
            total *= c;
            x *= c;
            UNROLL for (uint k = 0u; k < SPLIT_CHUNK; ++k) {
                float w = s0 + k < pc.splits ? exp(stats[k].x - chunkTop) : 0.0;
                total = fma(stats[k].y, w, total);
                x = fma(a[k], vec4(w), x);
            }
            top = chunkTop;
        }
        if (run < MERGE_RUNS) {
            UNROLL for (uint j = 0u; j < 4u; ++j) outputs[qh * D + d0 + j] = x[j] / total;
        }
    }
}
