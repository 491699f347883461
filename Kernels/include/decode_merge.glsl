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

/// Where split `s` of query head `qh` starts in `partials` (`[B, Hq, splits, D + 2]`: the
/// unnormalized accumulator, then the running max and sum).
uint partialBase(uint qh, uint s) { return (qh * pc.splits + s) * (D + 2u); }

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

/// With `pc.fusedMerge` (split-K): the last workgroup of a head to finish (of every split and
/// pass, counted in `callWords`) merges the head's split partials into the output, instead of the
/// merge pass (split_merge.comp) after a barrier. Counts this workgroup's split of its head done
/// (its partials written); the last one resets the counter and merges the head's G query heads
/// over all `pc.splits` splits, every invocation taking MERGE_OUTPUTS outputs (as
/// split_merge.comp: chunks of SPLIT_CHUNK splits' loads at once, folded into a running max,
/// total and sum).
void mergeSplits(uint seq, uint kvHead) {
    const uint qHeads = pc.kvHeads * G;
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
    float top[MERGE_OUTPUTS], total[MERGE_OUTPUTS], x[MERGE_OUTPUTS];
    UNROLL for (uint o = 0u; o < MERGE_OUTPUTS; ++o) {
        top[o] = NEG_BIG;
        total[o] = 0.0;
        x[o] = 0.0;
    }
    for (uint s0 = 0u; s0 < pc.splits; s0 += SPLIT_CHUNK) {
        float m[MERGE_OUTPUTS * SPLIT_CHUNK], l[MERGE_OUTPUTS * SPLIT_CHUNK], a[MERGE_OUTPUTS * SPLIT_CHUNK];
        UNROLL for (uint o = 0u; o < MERGE_OUTPUTS; ++o) {
            uint i = min(gl_LocalInvocationIndex + o * INVOCATIONS, G * D - 1u); // past G·D: read, not written
            uint qh = seq * qHeads + kvHead * G + i / D;
            UNROLL for (uint k = 0u; k < SPLIT_CHUNK; ++k) {
                uint p = partialBase(qh, min(s0 + k, pc.splits - 1u)); // past the last split: weighed 0
                m[o * SPLIT_CHUNK + k] = partials[p + D];
                l[o * SPLIT_CHUNK + k] = partials[p + D + 1u];
                a[o * SPLIT_CHUNK + k] = partials[p + i % D];
            }
        }
        UNROLL for (uint o = 0u; o < MERGE_OUTPUTS; ++o) {
            float chunkTop = top[o];
            UNROLL for (uint k = 0u; k < SPLIT_CHUNK; ++k) if (s0 + k < pc.splits) chunkTop = max(chunkTop, m[o * SPLIT_CHUNK + k]);
            float c = exp(top[o] - chunkTop);
            total[o] *= c;
            x[o] *= c;
            UNROLL for (uint k = 0u; k < SPLIT_CHUNK; ++k) {
                float w = s0 + k < pc.splits ? exp(m[o * SPLIT_CHUNK + k] - chunkTop) : 0.0;
                total[o] = fma(l[o * SPLIT_CHUNK + k], w, total[o]);
                x[o] = fma(a[o * SPLIT_CHUNK + k], w, x[o]);
            }
            top[o] = chunkTop;
        }
    }
    UNROLL for (uint o = 0u; o < MERGE_OUTPUTS; ++o) {
        uint i = gl_LocalInvocationIndex + o * INVOCATIONS;
        if (i < G * D) outputs[(seq * qHeads + kvHead * G + i / D) * D + i % D] = x[o] / total[o];
    }
}
