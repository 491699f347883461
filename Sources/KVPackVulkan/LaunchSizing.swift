import KVPack

/// How a decode call sizes its launch: the automatic split-K, and the shared memory of the page
/// cache and the staged bitmap loader (the rules `DecodeCall.plan` applies, pure functions with
/// hand-worked tests).
extension DecodeCall {
    /// Bounds on the pages each token group walks in a split, for the automatic split-K.
    struct SplitLimits: Sendable, Equatable {
        /// At most this many (longer splits leave a tail of few long workgroups).
        var maxPagesPerGroup: Int
        /// At least this many, unless the target of workgroups is reached first.
        var minPagesPerGroup: Int

        /// A call of one kernel: 1 to 32 pages. Short heads then fill the GPU, and long ones run
        /// one wave of long workgroups instead of two (measured: `Kernels/README.md`, "Defaults").
        static let oneKernel = SplitLimits(maxPagesPerGroup: 32, minPagesPerGroup: 1)
        /// Each pass of a call of several (a mixed layer's kernels): 4 to 16 pages (passes run one
        /// after another; more, shorter workgroups per pass were slower at B=1 N=32K).
        static let pass = SplitLimits(maxPagesPerGroup: 16, minPagesPerGroup: 4)
        /// A call of the bitmap kernel alone: 1 to 16 pages. It is bound by its work per element,
        /// not by loads in flight, and two waves of shorter workgroups balanced better (measured:
        /// `Kernels/README.md`, "Defaults").
        static let bitmap = SplitLimits(maxPagesPerGroup: 16, minPagesPerGroup: 1)
        /// A call of a cooperative-matrix kernel: 1 to 256 pages, so that the splits follow the
        /// target of workgroups. Its token groups are whole subgroups (3 a workgroup of 96), so
        /// the one-kernel cap of 32 pages split B=1 N=128K at GQA 8 into 86 splits (2.6 waves)
        /// and B=8 N=32K into 22; on an H100, 32 and 4 splits (85 and 171 pages per token group)
        /// took 14-20% and 10-12% less time over f16 / int8 / int4 pages (measured:
        /// `Kernels/README.md`, "What sets their registers and waves").
        static let coopmat = SplitLimits(maxPagesPerGroup: 256, minPagesPerGroup: 1)
    }

    /// Pages per split when the caller gives none: enough splits that `heads` (sequences x KV
    /// heads) x splits workgroups reach `targetWorkgroups` while each token group keeps at least
    /// `limits.minPagesPerGroup` pages, and enough that none walks more than
    /// `limits.maxPagesPerGroup`.
    static func automaticPagesPerSplit(maxPages: Int, tokenGroups groups: Int, heads: Int, targetWorkgroups: Int,
                                       limits: SplitLimits = .oneKernel) -> Int {
        let longest = max(1, limits.maxPagesPerGroup) * groups
        let byLength = (maxPages + longest - 1) / longest
        let byOccupancy = min((max(1, targetWorkgroups) + heads - 1) / heads, maxPages / (max(1, limits.minPagesPerGroup) * groups))
        let splits = max(1, byLength, byOccupancy)
        return max(1, (maxPages + splits - 1) / splits)
    }

    /// The most pages a kept plan is made for when a call's longest head has `most`: `most` up to
    /// 63, above it rounded up to a multiple of a 32nd to a 64th of it (2 pages from 64, 64 pages
    /// from 2048). A plan covers any head up to its pages (the splits past a head's pages are
    /// empty, as for the shorter heads of a call), so a live decode, whose longest head gains a
    /// page every page-size steps, plans again every 64 pages at 32K tokens of 16-token pages
    /// instead of at each page; the splits then cover at most 1/32 more pages than the heads
    /// have.
    static func plannedPages(forMost most: Int) -> Int {
        guard most >= 64 else { return max(0, most) }
        let step = 1 << (Int.bitWidth - most.leadingZeroBitCount - 6)
        return (most + step - 1) / step * step
    }

    /// Page-table entries a workgroup caches in shared memory when the caller asks for `asked`:
    /// never more than the split's pages.
    static func pageCacheEntries(_ asked: Int, pagesPerSplit: Int) -> Int { max(0, min(asked, pagesPerSplit)) }

    /// The default page cache: the split's pages up to 256 where each token group walks at least
    /// two pages (its page changes then save a wait on memory), none where it walks one (the copy
    /// and its barrier only delay the first loads); and no more than `room` bytes hold, the shared
    /// memory the merge slots (and a staged bitmap loader's stage) leave. Measured:
    /// `Kernels/README.md`, "Defaults". The split's pages count from 32 on in multiples of 32 (the
    /// pages past the cache are read from the table, as past 256): the size is a specialization
    /// constant and the pages per split follow the longest head, so a live decode growing its
    /// heads would otherwise need a new pipeline, compiled inside a step, every few pages.
    static func defaultPageCache(pagesPerSplit: Int, tokenGroups groups: Int, room: Int) -> Int {
        guard pagesPerSplit >= 2 * groups else { return 0 }
        let pages = pagesPerSplit >= 32 ? pagesPerSplit / 32 * 32 : pagesPerSplit
        return min(256, pages, max(0, room) / Page.tableEntryBytes)
    }

    /// Splits whose partials the fused merge's last workgroup loads at once (`SPLIT_CHUNK` in
    /// `Kernels/include/decode_merge.glsl`) for a call of `splits` splits: on GPUs the smallest of
    /// 8, 16 and 32 that covers them (one round trip), 32 above; 1 on CPU devices (unrolled loads
    /// only cost their compile time there). Each chunk was fastest where it covers the splits in
    /// one round (measured: `Kernels/README.md`, "Defaults").
    static func mergeSplitChunk(splits: Int, gpu: Bool) -> Int {
        guard gpu else { return 1 }
        return [8, 16].first { splits <= $0 } ?? 32
    }

    /// Floats of one split's partial result for one query head (`partialBase` in
    /// `Kernels/include/decode_merge.glsl`): the `D` unnormalized sums, the running max and sum,
    /// and 2 floats of padding that keep each partial 16-byte aligned for the fused merge.
    static func partialFloats(headDim d: Int) -> Int { d + 4 }

    /// Shared memory the kernels declare beside the merge slots, the page cache and a staged
    /// bitmap stage: the fused split-K merge's last-workgroup flag, with room for alignment.
    static let mergeFlagBytes = 16

    /// Shared memory of one merge slot (`mergeBuffer` in `Kernels/include/decode_merge.glsl`): one
    /// token group's accumulators, `G · D` floats.
    static func mergeSlotBytes(queryGroup group: Int, headDim d: Int) -> Int { group * d * 4 }

    /// The fewest merge slots a workgroup of `groups` token groups declares: the merge first keeps
    /// every group's running max and sum per query (`2 · groups · G` floats) in the slots' memory.
    static func leastMergeSlots(tokenGroups groups: Int, headDim d: Int) -> Int { max(1, (2 * groups + d - 1) / d) }

    /// Shared memory of a page cache of `entries` page-table entries (`pageCache` in
    /// `Kernels/include/decode_main.glsl`): the kernel's array keeps room for one entry even when
    /// the cache is empty (an array cannot be).
    static func pageCacheBytes(_ entries: Int) -> Int { max(1, entries) * Page.tableEntryBytes }

    /// Shared memory of the staged bitmap loader (`stage` in `Kernels/decode_bitmap_staged.comp`):
    /// per token group, for keys and for values, a page's header of `rows` rows (masks and
    /// first-nonzero indices) and a step's nonzeros (at most `step` dense rows), each in 16-byte
    /// units plus one for the alignment of its start, the nonzeros widened to a word per half.
    static func stagedBitmapBytes(rows: Int, headDim d: Int, step: Int, tokenGroups groups: Int) -> Int {
        let header = (rows * (d / 8 + 4) + 15) / 16 + 1
        let values = (step * 2 * d + 15) / 16 + 1
        return 16 * 2 * (header + 2 * values) * groups
    }

    /// The step of a staged bitmap call: `step` when its stage fits `sharedMemory` bytes; when the
    /// caller set no step (`fixed` false), the longest shorter one that fits; nil when none does.
    static func stagedBitmapStep(rows: Int, headDim d: Int, tokenGroups groups: Int, sharedMemory: Int, step: Int, fixed: Bool) -> Int? {
        (fixed ? [step] : Array((1...step).reversed())).first {
            stagedBitmapBytes(rows: rows, headDim: d, step: $0, tokenGroups: groups) <= sharedMemory
        }
    }

    /// Shared memory of the cooperative-matrix kernel's own arrays (`Kernels/decode_f16_coopmat.comp`)
    /// for a workgroup of `subgroups` subgroups: the query tile `tileQ`, 16 rows of `ROW = D/8 + 1`
    /// uvec4 words (16 bytes each: a row of D halves padded by 16 bytes); and per subgroup its key and
    /// value stage (`stageK`, `stageV`: 16 such rows each), its S scratch (`scratch`: 16x16
    /// floats, 1 KB) and its P (`tileP`: 16x16 halves, 512 B); plus 256 bytes of slack for the
    /// alignment of the kernel's arrays. At D = 128: 4352 + 256 bytes and 10240 per subgroup.
    static func coopmatTileBytes(headDim d: Int, subgroups: Int) -> Int {
        let row = (d / 8 + 1) * 16
        return 16 * row + subgroups * (2 * 16 * row + 16 * 16 * 4 + 16 * 16 * 2) + coopmatSlackBytes
    }

    /// Shared memory the host keeps free beside the coopmat kernel's arrays, against padding
    /// between them (they are all multiples of 16 bytes but the fused merge's flag).
    static let coopmatSlackBytes = 256

    /// All the shared memory of the cooperative-matrix kernel: its tiles, `mergeSlots` merge slots
    /// (`mergeBuffer`, G·D floats each), the fused merge's flag and the page cache (`pageCache`:
    /// room for one entry when empty). E.g. D = 128, G = 4, 4 subgroups, one slot, no page cache:
    /// 4352 + 4·10240 + 256 + 2048 + 16 + 32 = 47664 bytes (NVIDIA's limit: 49152).
    static func coopmatSharedBytes(headDim d: Int, queryGroup group: Int, subgroups: Int, mergeSlots: Int, pageCacheEntries: Int) -> Int {
        coopmatTileBytes(headDim: d, subgroups: subgroups) + mergeSlots * mergeSlotBytes(queryGroup: group, headDim: d)
            + mergeFlagBytes + pageCacheBytes(pageCacheEntries)
    }

    /// The cooperative-matrix kernel's workgroup (a multiple of its 32-lane subgroups, one token
    /// group each): `asked` when its shared memory fits with the fewest merge slots and no page
    /// cache, else nil; without `asked`, the largest of 128, 96, 64 and 32 invocations (at most
    /// `maxWorkgroup`) that fits, nil when none does. At `sharedMemory` = 49152: D = 64: 128
    /// (G <= 8); D = 128: 128 up to G = 4, 96 at G = 8; D = 256: 32.
    static func coopmatWorkgroup(headDim d: Int, queryGroup group: Int, sharedMemory: Int, maxWorkgroup: Int, asked: Int?) -> Int? {
        func fits(_ invocations: Int) -> Bool {
            let subgroups = invocations / 32
            return invocations % 32 == 0 && subgroups >= 1 && invocations <= maxWorkgroup
                && coopmatSharedBytes(headDim: d, queryGroup: group, subgroups: subgroups,
                                      mergeSlots: leastMergeSlots(tokenGroups: subgroups, headDim: d), pageCacheEntries: 0) <= sharedMemory
        }
        if let asked { return fits(asked) ? asked : nil }
        return [128, 96, 64, 32].first(where: fits)
    }
}
