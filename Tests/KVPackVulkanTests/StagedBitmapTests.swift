import KVPack
import Testing
@testable import KVPackVulkan

/// The staged bitmap loader (`DecodeOptions.stagedBitmap`: a token group copies a page's header
/// and each step's nonzeros into shared memory with 16-byte loads, then decodes from there)
/// against `CompressedAttention` on the same cache, over head dims, lanes per token (several token
/// groups per subgroup), steps, sparsities (dense rows: the largest steps; nearly empty rows) and
/// page sizes (odd ones put pages and rows at every 2-byte alignment).
@Suite("Vulkan decode: staged bitmap rows", .vulkanDevice)
struct StagedBitmapTests {
    static var available: Bool {
        guard let caps = SharedContext.context?.capabilities else { return false }
        return caps.subgroupShuffle && caps.subgroupVote
    }

    /// (head dim, elements per lane or nil, tokens per step, key sparsity, value sparsity, page
    /// size, workgroup size or nil): workgroups small enough that the stage fits lavapipe's 32 KiB.
    static let cases: [(Int, Int?, Int, Double, Double, Int, Int?)] = [
        (128, nil, 1, 0.5, 0.7, 16, nil), (128, 32, 2, 0.0, 0.0, 16, 32), (64, nil, 4, 0.97, 0.3, 7, 64),
        (256, nil, 2, 0.7, 0.0, 5, 32), (128, 32, 4, 0.3, 0.95, 9, 16), (64, 16, 1, 0.0, 0.97, 33, 64),
    ]

    @Test("staged bitmap rows equal the CPU over head dims, lanes, steps, sparsities and page sizes", arguments: cases)
    func matchesCPU(d: Int, elements: Int?, step: Int, keySparsity: Double, valueSparsity: Double, pageSize: Int,
                    workgroup: Int?) throws {
        guard Self.available else { return }
        let context = try #require(SharedContext.context)
        // Two sequences, GQA 4, heads of 45 and 34 tokens (page tails).
        let fixture = try DecodeFixture.ragged(.bitmap, .bitmap, d: d, pageSize: pageSize, keySparsity: keySparsity,
                                               valueSparsity: valueSparsity)
        let device = try DeviceKVCache(context, flat: fixture.cache.flattened())
        let attention = VulkanDecodeAttention(context: context)
        let options = DecodeOptions(pagesPerSplit: 2, tokensPerStep: step, elementsPerLane: elements, workgroupSize: workgroup,
                                    stagedBitmap: true)
        let (got, launch) = try attention.attend(device, queries: fixture.queries, options: options)
        #expect(launch.stagedRows == min(pageSize, 45) && launch.kernel == "decode_bitmap_staged_subgroup", "\(launch)")
        let expected = try fixture.expected()
        let err = try DecodeFixture.worstError(got, expected, d: d)
        #expect(err < 1e-4, "staged bitmap d=\(d) E=\(elements.map(String.init) ?? "default") step \(step) sparsity \(keySparsity)/\(valueSparsity) pages of \(pageSize) workgroup \(launch.workgroupSize): worst rel. L2 \(err)")
        // The per-lane loader on the same cache: also right, and it is another code path.
        var perLane = options
        perLane.stagedBitmap = false
        let (other, plain) = try attention.attend(device, queries: fixture.queries, options: perLane)
        #expect(plain.stagedRows == 0)
        #expect(try DecodeFixture.worstError(other, expected, d: d) < 1e-4)
    }

    @Test("staged bitmap rows under a sliding-window mask, one split per head")
    func masked() throws {
        guard Self.available else { return }
        let context = try #require(SharedContext.context)
        let fixture = try DecodeFixture(qHeads: 4, kvHeads: 1, d: 128, tokens: 50, sequences: 2, pageSize: 16) { s, _ in
            (Array(0..<(50 - 9 * s)), Array(repeating: (PageEncoding.bitmap, PageEncoding.bitmap), count: 50 - 9 * s))
        }
        let device = try DeviceKVCache(context, flat: fixture.cache.flattened())
        let mask = DecodeMask(queryPositions: [37, 30], window: 19)
        let (got, launch) = try VulkanDecodeAttention(context: context).attend(device, queries: fixture.queries, mask: mask,
                                                                                options: .init(tokensPerStep: 2, workgroupSize: 64, stagedBitmap: true))
        #expect(launch.stagedRows == 16)
        let err = try DecodeFixture.worstError(got, try fixture.expected(mask: mask), d: 128)
        #expect(err < 1e-4, "worst rel. L2 \(err)")
    }

    @Test("without a step option, the longest step up to the default whose stage fits the shared memory")
    func stepFitsSharedMemory() throws {
        guard Self.available else { return }
        let context = try #require(SharedContext.context)
        let caps = context.capabilities
        // Pages of 64 tokens at head dim 128: find the default workgroup's token groups and what
        // fits. 47 pages in one split: enough for a default page cache, which bitmap pages do not
        // take (it would crowd the stage and the merge slots).
        let fixture = try DecodeFixture(qHeads: 4, kvHeads: 1, d: 128, tokens: 3000, sequences: 1, pageSize: 64) { _, _ in
            (Array(0..<3000), Array(repeating: (PageEncoding.bitmap, PageEncoding.bitmap), count: 3000))
        }
        let device = try DeviceKVCache(context, flat: fixture.cache.flattened())
        let attention = VulkanDecodeAttention(context: context)
        for workgroup in [32, 64, 128] where workgroup % caps.subgroupSize == 0 {
            let options = DecodeOptions(kernel: .bitmap, pagesPerSplit: 47, workgroupSize: workgroup)
            let (got, launch) = try attention.attend(device, queries: fixture.queries, options: options)
            let groups = workgroup / launch.lanesPerToken, slot = 4 * 128 * 4
            let fits = { (step: Int) in
                DecodeCall.stagedBitmapBytes(rows: 64, headDim: 128, step: step, tokenGroups: groups) + slot + Page.tableEntryBytes
                    + DecodeCall.mergeFlagBytes <= caps.maxSharedMemory
            }
            let byDefault = DecodeCall.defaultStep(.bitmap, subgroup: true, device: context.device.kind)
            if let step = (1...byDefault).reversed().first(where: fits) {
                #expect(launch.stagedRows == 64 && launch.tokensPerStep == step, "workgroup \(workgroup): \(launch)")
                let stage = DecodeCall.stagedBitmapBytes(rows: 64, headDim: 128, step: step, tokenGroups: groups)
                // (the page cache's array keeps room for one entry even when empty)
                let slots = max(1, min(groups, (caps.maxSharedMemory - DecodeCall.mergeFlagBytes - Page.tableEntryBytes - stage) / slot))
                #expect(launch.mergeSlots == slots)
                #expect(launch.pageCacheEntries == 0)
            } else {
                #expect(launch.stagedRows == 0 && launch.tokensPerStep == byDefault, "workgroup \(workgroup): \(launch)")
            }
            #expect(try DecodeFixture.worstError(got, try fixture.expected(), d: 128) < 1e-4)
        }
    }

    @Test("asking for staged rows on the portable path is refused with the reason")
    func refusedOnPortablePath() throws {
        let context = try #require(SharedContext.context)
        let fixture = try DecodeFixture(qHeads: 4, kvHeads: 1, d: 64, tokens: 20, sequences: 1) { _, _ in
            (Array(0..<20), Array(repeating: (PageEncoding.bitmap, PageEncoding.bitmap), count: 20))
        }
        if let why = try fixture.refusal(context, options: .init(portable: true, stagedBitmap: true)) {
            #expect(why.contains("staged bitmap rows need the subgroup path"))
        }
    }

    @Test("shared memory of the stage: hand-worked sizes and the step that fits")
    func stageBytes() {
        // d = 128, pages of 16, step 2, 16 token groups: header 16·(16 + 4) = 320 bytes -> 20 + 1
        // units, nonzeros 2·256 = 512 bytes -> 32 + 1 units, widened to 66; keys and values:
        // 2·(21 + 66) = 174 units of 16 bytes per group.
        #expect(DecodeCall.stagedBitmapBytes(rows: 16, headDim: 128, step: 2, tokenGroups: 16) == 174 * 16 * 16)
        // d = 64, pages of 7, step 4, 32 groups: header 7·12 = 84 -> 6 + 1; nonzeros 512 -> 32 + 1 -> 66.
        #expect(DecodeCall.stagedBitmapBytes(rows: 7, headDim: 64, step: 4, tokenGroups: 32) == 2 * (7 + 66) * 16 * 32)
        // The H200's 48 KiB less one merge slot (4 · 130 · 4 bytes): d = 128, pages of 16, 16 groups
        // take step 2 (44544 bytes); d = 64 (32 groups of 4 lanes), step 2 needs
        // 2·(13 + 2·17)·16·32 = 48128 bytes, step 1 2·(13 + 2·9)·16·32 = 31744.
        let room = 49152 - 2080
        #expect(DecodeCall.stagedBitmapStep(rows: 16, headDim: 128, tokenGroups: 16, sharedMemory: room, step: 2, fixed: false) == 2)
        #expect(DecodeCall.stagedBitmapStep(rows: 16, headDim: 64, tokenGroups: 32, sharedMemory: room, step: 2, fixed: false) == 1)
        #expect(DecodeCall.stagedBitmapStep(rows: 16, headDim: 64, tokenGroups: 32, sharedMemory: room, step: 2, fixed: true) == nil)
        #expect(DecodeCall.stagedBitmapStep(rows: 1024, headDim: 128, tokenGroups: 16, sharedMemory: room, step: 2, fixed: false) == nil)
    }
}
