// Shared by every decode-attention kernel: bindings, specialization constants, push constants and
// the byte readers for the pools. The pools hold the bytes of `FlatCache.pools` (split into
// windows at head boundaries when one binding cannot cover them); the page table is `FlatCache`'s
// 32-byte entries (page_entry.glsl) with offsets into the head's window; the head directory has
// 16-byte entries.

#extension GL_EXT_control_flow_attributes : enable
#if KVP_SUBGROUP
#extension GL_KHR_shader_subgroup_basic : enable
#extension GL_KHR_shader_subgroup_shuffle : enable
#extension GL_KHR_shader_subgroup_vote : enable
#endif
#if KVP_F16MATH
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#endif
#if KVP_INTDOT
#extension GL_EXT_spirv_intrinsics : require
#endif

// Loops over a lane's elements and the group's queries are unrolled on the subgroup path (E is
// small there); the portable path (E = D) keeps them as loops, which drivers compile quickly.
#if KVP_SUBGROUP
#define UNROLL [[unroll]]
#else
#define UNROLL [[dont_unroll]]
#endif

#include "page_entry.glsl"

layout(local_size_x_id = 0) in;
/// Head dim (64, 128 or 256).
layout(constant_id = 1) const uint D = 128;
/// Elements of a row each lane handles; `D / E` lanes share one token.
layout(constant_id = 2) const uint E = 8;
/// Query heads per KV head (GQA group).
layout(constant_id = 3) const uint G = 4;
/// Tokens a token group loads before using them (loads in flight per lane).
layout(constant_id = 4) const uint U = 4;
/// 1: load the next step's rows while this step's are used (kernels with raw-word steps, i.e.
/// those that define TAKE_STEP); 0: load, then use.
layout(constant_id = 5) const uint PIPELINE = 0;
/// Token groups whose results one barrier round of the merge gathers (1 ... groups; the host sizes
/// it to the shared memory, `MERGE_SLOTS * G * D` floats, and to at least `2 * groups / D`).
layout(constant_id = 6) const uint MERGE_SLOTS = 1;
/// 1: keys are masked by position (causal, and the push constant's sliding window when nonzero)
/// against each sequence's query position; 0: every kept token is visible (a query after the cache).
layout(constant_id = 7) const uint MASKED = 0;
/// Lanes per token.
const uint T = D / E;

layout(push_constant) uniform Push {
    uint layers;        // layers in the cache (the directory is ordered sequence, layer, KV head)
    uint layer;         // which layer to attend over
    uint kvHeads;
    uint pagesPerSplit; // pages each workgroup walks
    uint splits;        // splits of all passes (workgroups along x in this one: its own); 1 = write the output directly
    float scale;        // logit scale
    uint window;        // MASKED: sliding window in tokens (a key is visible when query - window < key <= query); 0 = none
    uint directoryBase; // where this pass's heads start in the directory (u32s; 0 with one pass)
    uint splitBase;     // this pass's first split among `splits` (0 with one pass)
    uint fusedMerge;    // 1: the last workgroup of each head merges its splits (decode_merge's mergeSplits); 0: the merge pass does
} pc;

/// Pool windows per kind: a pool larger than one binding may cover (maxStorageBufferRange) is
/// split at head boundaries into up to POOL_WINDOWS buffers; every page of a head lies in the same
/// window of each kind (the directory names it), so the index is uniform across a workgroup.
#define POOL_WINDOWS 6

/// Per head: first page, page count, pool window, 0 (the device form of FlatCache's directory).
layout(std430, binding = 0) readonly buffer Directory { uint directory[]; };
layout(std430, binding = 1) readonly buffer PageTable { uint table[]; };
layout(std430, binding = 2) readonly buffer PoolF16 { uvec4 words[]; } poolF16Windows[POOL_WINDOWS];
layout(std430, binding = 3) readonly buffer PoolInt8 { uint words[]; } poolInt8Windows[POOL_WINDOWS];
layout(std430, binding = 4) readonly buffer PoolInt4 { uint words[]; } poolInt4Windows[POOL_WINDOWS];
layout(std430, binding = 5) readonly buffer PoolBitmap { uint words[]; } poolBitmapWindows[POOL_WINDOWS];

/// The window this workgroup's head reads (set first thing in main, from the directory).
uint poolWindow = 0u;
#define poolF16 poolF16Windows[poolWindow].words
#define poolInt8 poolInt8Windows[poolWindow].words
#define poolInt4 poolInt4Windows[poolWindow].words
#define poolBitmap poolBitmapWindows[poolWindow].words
layout(std430, binding = 6) readonly buffer Queries { float queries[]; };     // [B, Hq, D]
layout(std430, binding = 7) writeonly buffer Output { float outputs[]; };    // [B, Hq, D]
layout(std430, binding = 8) coherent buffer Partials { float partials[]; };  // [B, Hq, splits, D + 4] (the fused merge reads them back)
layout(std430, binding = 9) readonly buffer Positions { int positions[]; };        // FlatCache's positions pool
// The call's words: [B] query positions (MASKED), then [B, Hkv] split counters (`pc.fusedMerge`;
// zero between calls: the last workgroup of a head resets its counter).
layout(std430, binding = 10) readonly buffer QueryPositions { int queryPositions[]; };
layout(std430, binding = 10) coherent buffer SplitCounters { uint callWords[]; };

/// The row slices a loader fills: slot u holds elements `lane * E ..< lane * E + E` of one row, at
/// `row[u * E ...]`; slots 0 ..< U hold U key rows, slots U ..< 2U the same tokens' value rows.
float row[2u * U * E];

/// A lane's state (decode_main.glsl): its slice of the G scaled queries, of their output
/// accumulators, and each query's running max and sum of the online softmax.
float q[G * E];
float acc[G * E];
float rmax[G];
float rsum[G];

/// One page-table entry, decoded.
struct PageEntry {
    uint positionsOffset; // index of the page's first position in `positions`
    uint tokens;
    uint keyKind, valueKind;
    uint keyGroup, valueGroup;
    uint keyShift, valueShift; // log2 of the group size when it is a power of two, else 32
    bool keyByChannel, valueByChannel;
    uint keyOffset, valueOffset; // bytes into the kind's pool window (each at most maxStorageBufferRange)
};

/// A page-table entry from the words of its fields (page_entry.glsl): the positions offset; the
/// token count and both kinds; both group sizes; the axes; the key and value offsets.
PageEntry decodePage(uint positions, uint tokensAndKinds, uint groups, uint axes, uint keyOffset, uint valueOffset) {
    PageEntry e;
    e.positionsOffset = positions;
    e.tokens = (tokensAndKinds >> PAGE_TOKENS_SHIFT) & PAGE_TOKENS_MASK;
    e.keyKind = (tokensAndKinds >> PAGE_KEY_KIND_SHIFT) & PAGE_KIND_MASK;
    e.valueKind = (tokensAndKinds >> PAGE_VALUE_KIND_SHIFT) & PAGE_KIND_MASK;
    e.keyGroup = (groups >> PAGE_KEY_GROUP_SHIFT) & PAGE_GROUP_MASK;
    e.valueGroup = (groups >> PAGE_VALUE_GROUP_SHIFT) & PAGE_GROUP_MASK;
    e.keyShift = e.keyGroup != 0u && (e.keyGroup & (e.keyGroup - 1u)) == 0u ? uint(findLSB(e.keyGroup)) : 32u;
    e.valueShift = e.valueGroup != 0u && (e.valueGroup & (e.valueGroup - 1u)) == 0u ? uint(findLSB(e.valueGroup)) : 32u;
    e.keyByChannel = ((axes >> PAGE_AXES_SHIFT) & PAGE_KEY_BY_CHANNEL) != 0u;
    e.valueByChannel = ((axes >> PAGE_AXES_SHIFT) & PAGE_VALUE_BY_CHANNEL) != 0u;
    e.keyOffset = keyOffset;
    e.valueOffset = valueOffset;
    return e;
}

/// The entry whose words start at `b` of the uint array `words` (the table, or a shared copy).
#define DECODE_PAGE_AT(words, b) decodePage(words[(b) + PAGE_POSITIONS_WORD], words[(b) + PAGE_TOKENS_WORD], \
    words[(b) + PAGE_KEY_GROUP_WORD], words[(b) + PAGE_AXES_WORD], words[(b) + PAGE_KEY_OFFSET_WORD], words[(b) + PAGE_VALUE_OFFSET_WORD])

PageEntry readPage(uint page) { return DECODE_PAGE_AT(table, page * PAGE_ENTRY_WORDS); }

const uint KIND_F16 = 0u, KIND_INT8 = 1u, KIND_INT4 = 2u, KIND_BITMAP = 3u;

/// An int8 / int4 code (< 2^23) as a float, by the 2^23 trick instead of a conversion instruction.
float codeToFloat(uint code) { return uintBitsToFloat(0x4B000000u | code) - 8388608.0; }
