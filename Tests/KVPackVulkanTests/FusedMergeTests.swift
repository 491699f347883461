import KVPack
import Testing
@testable import KVPackVulkan

/// Split-K merged by the last workgroup of each KV head (`DecodeOptions.fusedMerge`, counted with
/// an atomic counter per head) or by the merge pass after a barrier: the same outputs as the CPU,
/// and the counters back at zero after every call.
@Suite("Vulkan split-K merge: by the last workgroup of a head, or by a merge pass", .vulkanDevice)
struct FusedMergeTests {
    /// Ragged heads (a head's last split short, one head ending before the others' last split),
    /// two sequences, every encoding of `PageCacheTests.plans` (the ARKV tiers run as three passes).
    static func fixture(_ plan: Int) throws -> DecodeFixture {
        let encoding = PageCacheTests.plans[plan].1
        return try DecodeFixture(qHeads: 8, kvHeads: 2, d: 128, tokens: 150, sequences: 2) { s, h in
            let n = 150 - 37 * h - 9 * s
            return (Array(0..<n), (0..<n).map(encoding))
        }
    }

    @Test("fused and pass merges give the CPU's output, masked and not, every encoding and the tiers' passes",
          arguments: PageCacheTests.plans.indices, [true, false])
    func sameAsCPU(plan: Int, fused: Bool) throws {
        let context = try #require(SharedContext.context)
        let fixture = try Self.fixture(plan)
        let device = try DeviceKVCache(context, flat: fixture.cache.flattened())
        let mask = DecodeMask(queryPositions: [120, 100], window: 90)
        // The launches of `PageCacheTests.sameAsTable` with no cache (the plain walk unmasked, the
        // pipelined walk masked): the same lavapipe pipelines, compiled once for both suites.
        for (pipelined, masked) in [(false, false), (true, true)] {
            var options = DecodeOptions(pagesPerSplit: 5, pipelined: pipelined, pageCacheEntries: 0)
            if plan == 3 { options.tokensPerStep = 2 }
            options.fusedMerge = fused
            let (got, launch) = try VulkanDecodeAttention(context: context).attend(device, queries: fixture.queries,
                                                                                 mask: masked ? mask : nil, options: options)
            #expect(launch.splits > 1 && launch.fusedMerge == fused, "\(launch)")
            let err = try DecodeFixture.worstError(got, try fixture.expected(mask: masked ? mask : nil), d: 128)
            #expect(err < 4e-3, "\(PageCacheTests.plans[plan].0), fused \(fused), masked \(masked): \(launch.kernel) worst rel. L2 \(err)")
        }
    }

    @Test("by default: the fused merge, whatever the splits")
    func defaultRule() throws {
        let context = try #require(SharedContext.context)
        let fixture = try Self.fixture(0) // the longest head: 150 tokens, 10 pages of 16
        let device = try DeviceKVCache(context, flat: fixture.cache.flattened())
        for (pagesPerSplit, splits) in [(2, 5), (1, 10)] {
            var options = DecodeOptions(pagesPerSplit: pagesPerSplit)
            options.mergeSplitChunk = 8 // the GPUs' chunks: 5 splits, a chunk with 3 past the end
            let (got, launch) = try VulkanDecodeAttention(context: context).attend(device, queries: fixture.queries, options: options)
            #expect(launch.splits == splits && launch.fusedMerge && launch.mergeSplitChunk == 8, "\(launch)")
            #expect(try DecodeFixture.worstError(got, try fixture.expected(), d: 128) < 4e-3)
        }
    }

    @Test("the chunk of splits: on GPUs the smallest of 8, 16, 32 that covers the call's splits, 32 above; 1 on CPU devices",
          arguments: [(2, 8), (8, 8), (9, 16), (16, 16), (17, 32), (32, 32), (33, 32), (200, 32)])
    func chunkRule(splits: Int, chunk: Int) {
        #expect(DecodeCall.mergeSplitChunk(splits: splits, gpu: true) == chunk)
        #expect(DecodeCall.mergeSplitChunk(splits: splits, gpu: false) == 1)
    }

    /// The fused merge's runs of 4 elements over other GQA groups and head dims: 16 query heads
    /// over 2 (256 runs: two rounds per invocation, 10 splits in GPU chunks of 8, the second
    /// chunk 6 past the end) and one query head per KV head at head dim 64 (16 runs: most
    /// invocations idle).
    @Test("fused merge over GQA groups and head dims: the CPU's output", arguments: [(16, 128, 8), (2, 64, 1)])
    func runs(qHeads: Int, d: Int, chunk: Int) throws {
        let context = try #require(SharedContext.context)
        let fixture = try DecodeFixture(qHeads: qHeads, kvHeads: 2, d: d, tokens: 150, sequences: 2) { s, h in
            let n = 150 - 37 * h - 9 * s
            return (Array(0..<n), Array(repeating: (.f16, .f16), count: n))
        }
        let device = try DeviceKVCache(context, flat: fixture.cache.flattened())
        var options = DecodeOptions(pagesPerSplit: 1, pageCacheEntries: 0)
        options.fusedMerge = true
        options.mergeSplitChunk = chunk
        let (got, launch) = try VulkanDecodeAttention(context: context).attend(device, queries: fixture.queries, options: options)
        #expect(launch.splits == 10 && launch.fusedMerge && launch.mergeSplitChunk == chunk, "\(launch)")
        let err = try DecodeFixture.worstError(got, try fixture.expected(), d: d)
        #expect(err < 4e-3, "\(qHeads) query heads, d \(d): worst rel. L2 \(err)")
    }

    @Test("a chunk of splits outside 1 ... 32 is refused", arguments: [0, 33])
    func chunkRange(chunk: Int) throws {
        let context = try #require(SharedContext.context)
        let fixture = try Self.fixture(0)
        let device = try DeviceKVCache(context, flat: fixture.cache.flattened())
        var options = DecodeOptions(pagesPerSplit: 2)
        options.mergeSplitChunk = chunk
        #expect(throws: VulkanError.self) {
            _ = try VulkanDecodeAttention(context: context).attend(device, queries: fixture.queries, options: options)
        }
    }

    @Test("one split: no merge of either kind")
    func oneSplit() throws {
        let context = try #require(SharedContext.context)
        let fixture = try Self.fixture(0)
        let device = try DeviceKVCache(context, flat: fixture.cache.flattened())
        let (got, launch) = try VulkanDecodeAttention(context: context).attend(device, queries: fixture.queries,
                                                                             options: .init(pagesPerSplit: 1 << 20))
        #expect(launch.splits == 1 && !launch.fusedMerge)
        #expect(try DecodeFixture.worstError(got, try fixture.expected(), d: 128) < 4e-3)
    }

    @Test("the counters are zero after every call: one call recorded three times in a submission, then submitted again")
    func countersReset() throws {
        let context = try #require(SharedContext.context)
        let fixture = try Self.fixture(4) // the tiers: three passes counting into the same counters
        let device = try DeviceKVCache(context, flat: fixture.cache.flattened())
        var options = DecodeOptions(pagesPerSplit: 1)
        options.fusedMerge = true
        let call = try DecodeCall(context, cache: device, layer: 0, queries: fixture.queries, mask: nil, options: options)
        #expect(call.launch.fusedMerge && call.launch.passes.count == 3)
        #expect(try call.splitCounters() == [0, 0, 0, 0])
        for repeats in [3, 1] {
            try context.submit { (commands) throws(VulkanError) in
                for _ in 0..<repeats {
                    call.record(commands)
                    call.barrier(commands)
                }
            }
            #expect(try call.splitCounters() == [0, 0, 0, 0], "after \(repeats) calls")
            #expect(try DecodeFixture.worstError(try call.output(), try fixture.expected(), d: 128) < 4e-3)
        }
    }
}
