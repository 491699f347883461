import KVPack
import Testing
@testable import KVPackVulkan

/// The split's page-table entries in shared memory (`DecodeOptions.pageCacheEntries`): the same
/// outputs as reading the table, whether a split's pages are all cached, partly (the rest read
/// from the table) or not at all.
@Suite("Vulkan page-table entries cached in shared memory", .vulkanDevice)
struct PageCacheTests {
    static let int8t = PageEncoding.int8(.init(groupSize: 32))
    static let int4t = PageEncoding.int4(.init(groupSize: 64))

    /// (name, encodings of token i): uniform f16 / int8 / int4 / bitmap heads and ARKV-style tiers.
    static let plans: [(String, @Sendable (Int) -> (PageEncoding, PageEncoding))] = [
        ("f16", { _ in (.f16, .f16) }),
        ("int8", { _ in (int8t, int8t) }),
        ("int4", { _ in (int4t, int4t) }),
        ("bitmap", { _ in (.bitmap, .bitmap) }),
        ("tiers", { i in [(.f16, .f16), (int8t, int8t), (int4t, int4t)][(i / 16) % 3] }),
    ]

    /// Entries cached: none, fewer than a split's 5 pages, and all of them.
    @Test("cached, partly cached and uncached page tables give the CPU's output, plain and pipelined walks, masked",
          arguments: plans.indices, [0, 2, 5])
    func sameAsTable(plan: Int, entries: Int) throws {
        let context = try #require(SharedContext.context)
        let (name, encoding) = Self.plans[plan]
        // Ragged heads (the last split of a head is short, some heads end before others' last split).
        let fixture = try DecodeFixture(qHeads: 8, kvHeads: 2, d: 128, tokens: 150, sequences: 2) { s, h in
            let n = 150 - 37 * h - 9 * s
            return (Array(0..<n), (0..<n).map(encoding))
        }
        let device = try DeviceKVCache(context, flat: fixture.cache.flattened())
        let mask = DecodeMask(queryPositions: [120, 100], window: 90)
        // The plain walk unmasked, and the GPU's pipelined walk masked (positions come from the
        // cached entries): other suites cover the other pairs; each pair is lavapipe pipelines to compile.
        for (pipelined, masked) in [(false, false), (true, true)] {
            do {
                var options = DecodeOptions(pagesPerSplit: 5, pipelined: pipelined, pageCacheEntries: entries)
                if plan == 3 { options.tokensPerStep = 2 }
                let (got, launch) = try VulkanDecodeAttention(context: context).attend(device, queries: fixture.queries,
                                                                                     mask: masked ? mask : nil, options: options)
                #expect(launch.pageCacheEntries == entries)
                #expect(launch.passes.allSatisfy { $0.pageCacheEntries == entries })
                let err = try DecodeFixture.worstError(got, try fixture.expected(mask: masked ? mask : nil), d: 128)
                #expect(err < 4e-3, "\(name), \(entries) entries, pipelined \(pipelined), masked \(masked): \(launch.kernel) worst rel. L2 \(err)")
            }
        }
    }

    /// (pages per split, token groups, bytes of shared memory left, entries cached by default).
    static let rule: [(Int, Int, Int, Int)] = [
        (256, 16, 20_000, 256), // B=1 N=128K on an H200: 16 pages per token group, all cached
        (300, 16, 20_000, 256), // at most 256
        (32, 16, 20_000, 32),   // two pages per token group
        (16, 16, 20_000, 0),    // one page per token group (B=1 N=4K): none
        (256, 16, 448, 14),     // what the room holds (the staged bitmap loader's leftovers)
        (256, 16, 0, 0),
        (127, 16, 20_000, 96),  // the split's pages from 32 on in multiples of 32
        (63, 16, 20_000, 32),
        (31, 8, 20_000, 31),    // below 32, as they are
        (256, 16, 3_000, 93),   // the room's limit as it is (it does not move as heads grow)
    ]

    @Test("a decode growing its heads needs few pipelines: the default cache takes 8 sizes from 32 to 256 pages per split")
    func fewSizes() {
        let sizes = Set((32...300).map { DecodeCall.defaultPageCache(pagesPerSplit: $0, tokenGroups: 16, room: 20_000) })
        #expect(sizes == [32, 64, 96, 128, 160, 192, 224, 256])
    }

    @Test("entries cached by default: the split's pages up to 256 where each token group walks two or more, as room allows", arguments: rule)
    func defaultRule(pagesPerSplit: Int, groups: Int, room: Int, expected: Int) {
        #expect(DecodeCall.defaultPageCache(pagesPerSplit: pagesPerSplit, tokenGroups: groups, room: room) == expected)
    }

    @Test("entries asked for: never more than the split's pages")
    func askedRule() {
        #expect(DecodeCall.pageCacheEntries(3, pagesPerSplit: 16) == 3)
        #expect(DecodeCall.pageCacheEntries(64, pagesPerSplit: 16) == 16)
        #expect(DecodeCall.pageCacheEntries(0, pagesPerSplit: 256) == 0)
    }

    @Test("a launch caches what the rule says, reads pages past the cache from the table; a cache that leaves no merge slot is refused")
    func sizes() throws {
        let context = try #require(SharedContext.context)
        let fixture = try DecodeFixture(qHeads: 4, kvHeads: 1, d: 64, tokens: 16 * 300, sequences: 1) { _, _ in
            (Array(0..<(16 * 300)), Array(repeating: (.f16, .f16), count: 16 * 300))
        }
        let device = try DeviceKVCache(context, flat: fixture.cache.flattened())
        let attention = VulkanDecodeAttention(context: context)
        for (split, entries) in [(1 << 20, nil), (7, nil), (7, 3), (1 << 20, 0)] as [(Int, Int?)] {
            let (got, launch) = try attention.attend(device, queries: fixture.queries,
                                                     options: DecodeOptions(pagesPerSplit: split, pageCacheEntries: entries))
            let groups = launch.workgroupSize / launch.lanesPerToken
            // Head dim 64, 4 query heads: merge slots of 1024 bytes, at most one per token group, in
            // what one page-table entry (the cache array is never empty) and the merge's flag leave.
            let shared = context.capabilities.maxSharedMemory - DecodeCall.mergeFlagBytes
            let room = shared - min(groups, (shared - Page.tableEntryBytes) / 1024) * 1024
            let expected = entries.map { DecodeCall.pageCacheEntries($0, pagesPerSplit: launch.pagesPerSplit) }
                ?? DecodeCall.defaultPageCache(pagesPerSplit: launch.pagesPerSplit, tokenGroups: groups, room: room)
            #expect(launch.pageCacheEntries == expected)
            #expect(try DecodeFixture.worstError(got, try fixture.expected(), d: 64) < 4e-3, "pages per split \(split), cache \(launch.pageCacheEntries)")
        }
        // Entries of 32 bytes filling the device's shared memory leave no room for a merge slot.
        let tooMany = context.capabilities.maxSharedMemory / Page.tableEntryBytes
        let long = try DecodeFixture(qHeads: 4, kvHeads: 1, d: 64, tokens: 16 * tooMany, sequences: 1) { _, _ in
            (Array(0..<(16 * tooMany)), Array(repeating: (.f16, .f16), count: 16 * tooMany))
        }
        let why = try long.refusal(context, options: DecodeOptions(pagesPerSplit: 1 << 20, pageCacheEntries: tooMany))
        #expect(why?.contains("a page cache of \(tooMany) entries") == true, "\(why ?? "")")
    }
}
