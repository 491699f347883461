import KVPack
import Testing
@testable import KVPackVulkan

/// A layer mixing encodings (ARKV tiers) decodes in one pass per kernel, merged by the split-K
/// merge (the fused one by default): each pass against `CompressedAttention` on the same compressed cache.
@Suite("Vulkan decode: one pass per kernel over mixed encodings", .vulkanDevice)
struct EncodingPassesTests {
    typealias Tests = DecodeAttentionTests
    static let int4t = PageEncoding.int4(.init(groupSize: 32))

    /// Pages of 8 tokens cycling f16, int8/g32, int8/g32, int4/g32 (the bench's mixed cache), in
    /// two sequences whose heads keep 61, 50 and 39 tokens (page tails; head 2 of sequence 1 has
    /// f16 pages only).
    func tiers(d: Int = 128) throws -> DecodeFixture {
        let cycle: [(PageEncoding, PageEncoding)] = [(.f16, .f16), (Tests.int8t, Tests.int8t), (Tests.int8t, Tests.int8t), (Self.int4t, Self.int4t)]
        return try DecodeFixture(qHeads: 12, kvHeads: 3, d: d, tokens: 61, sequences: 2, pageSize: 8) { s, h in
            let n = 61 - 11 * h
            if s == 1 && h == 2 { return (Array(0..<n), Array(repeating: (.f16, .f16), count: n)) }
            return (Array(0..<n), (0..<n).map { cycle[($0 / 8) % 4] })
        }
    }

    @Test("f16, int8 and int4 pages: three passes on the f16, int8 and int4 kernels; all match the CPU",
          arguments: [(128, 1 as Int?), (128, nil), (64, 2)])
    func threePasses(d: Int, split: Int?) throws {
        let context = try #require(SharedContext.context)
        let fixture = try tiers(d: d)
        let device = try DeviceKVCache(context, flat: fixture.cache.flattened())
        let attention = VulkanDecodeAttention(context: context)
        let (got, launch) = try attention.attend(device, queries: fixture.queries, options: .init(pagesPerSplit: split))
        let kernels = launch.passes.map { $0.kernel.split(separator: "_").dropFirst().first.map(String.init) ?? "" }
        #expect(kernels == ["f16", "int8", "int4"], "\(launch.kernel)")
        #expect(try attention.kernels(for: device, options: .init(pagesPerSplit: split)) == [.f16, .int8, .int4])
        #expect(try attention.kernel(for: device) == .mixed) // the one kernel that reads them all
        #expect(launch.splits == launch.passes.reduce(0) { $0 + $1.splits } && launch.kernel.contains(" + "))
        let expected = try fixture.expected()
        let err = try DecodeFixture.worstError(got, expected, d: d)
        #expect(err < 4e-3, "passes d=\(d): worst rel. L2 \(err)")
        // One kernel over all of them gives the same answer.
        let (mixed, one) = try attention.attend(device, queries: fixture.queries, options: .init(kernel: .mixed, pagesPerSplit: split))
        #expect(one.passes.isEmpty && one.kernel.hasPrefix("decode_mixed_"))
        #expect(try DecodeFixture.worstError(mixed, expected, d: d) < 4e-3)
    }

    @Test("passes under a causal mask with a sliding window")
    func maskedPasses() throws {
        let context = try #require(SharedContext.context)
        let fixture = try tiers()
        let device = try DeviceKVCache(context, flat: fixture.cache.flattened())
        let mask = DecodeMask(queryPositions: [30, 44], window: 20)
        let (got, launch) = try VulkanDecodeAttention(context: context).attend(device, queries: fixture.queries, mask: mask,
                                                                               options: .init(pagesPerSplit: 1))
        #expect(launch.passes.count == 3)
        let err = try DecodeFixture.worstError(got, try fixture.expected(mask: mask), d: 128)
        #expect(err < 4e-3, "masked passes: worst rel. L2 \(err)")
        #expect(try DecodeFixture.worstError(got, try fixture.expected(), d: 128) > 1e-2)
    }

    @Test("passes over pools split into windows")
    func windowedPasses() throws {
        let context = try #require(SharedContext.context)
        let fixture = try tiers(d: 64)
        let flat = fixture.cache.flattened()
        let device = try DeviceKVCache(context, flat: flat, windowLimit: flat.pools.map(\.count).max()! / 3 + 16)
        #expect(device.poolWindows > 1)
        let (got, launch) = try VulkanDecodeAttention(context: context).attend(device, queries: fixture.queries)
        #expect(launch.passes.count == 3)
        #expect(try DecodeFixture.worstError(got, try fixture.expected(), d: 64) < 4e-3)
    }

    @Test("the device orders each head's pages by encoding class and counts them per class")
    func classOrder() throws {
        let context = try #require(SharedContext.context)
        let fixture = try tiers()
        let flat = fixture.cache.flattened()
        let device = try DeviceKVCache(context, flat: flat)
        let classes = device.layers[0].classes
        #expect(classes.map(\.key.kind) == [.f16, .int8, .int4])
        // Sequence 0, head 0: 61 tokens in 8 pages cycling f16, int8, int8, int4 -> 2, 4, 2 pages.
        #expect(device.classCounts(head: 0) == [2, 4, 2])
        // Sequence 1, head 2: f16 only (5 pages of 8 and a tail of 7 -> 5 pages).
        #expect(device.classCounts(head: 5) == [5, 0, 0])
        for h in flat.heads.indices {
            #expect(device.classCounts(head: h).reduce(0, +) == Int(flat.heads[h].pageCount))
        }
    }

    @Test("f16 arithmetic and integer dot products asked of a call of several passes apply to the passes that have them")
    func lenientOptions() throws {
        let context = try #require(SharedContext.context)
        let caps = context.capabilities
        guard caps.shaderFloat16, caps.integerDotProduct, caps.subgroupShuffle else { return }
        let cycle: [(PageEncoding, PageEncoding)] = [(.f16, .f16), (Tests.int8t, Tests.int8t), (.bitmap, .bitmap)]
        let fixture = try DecodeFixture(qHeads: 8, kvHeads: 2, d: 128, tokens: 60, sequences: 1, pageSize: 8) { _, _ in
            (Array(0..<60), (0..<60).map { cycle[($0 / 8) % 3] })
        }
        let device = try DeviceKVCache(context, flat: fixture.cache.flattened())
        let (got, launch) = try VulkanDecodeAttention(context: context).attend(
            device, queries: fixture.queries, options: .init(pagesPerSplit: 2, f16Arithmetic: true, integerDot: true))
        #expect(launch.passes.map(\.kernel) == ["decode_f16_subgroup_f16math", "decode_int8_subgroup_f16math_intdot", "decode_bitmap_staged_subgroup"],
                "\(launch.kernel)")
        let err = try DecodeFixture.worstError(got, try fixture.expected(), d: 128)
        #expect(err < 1e-2, "worst rel. L2 \(err)")
    }
}
