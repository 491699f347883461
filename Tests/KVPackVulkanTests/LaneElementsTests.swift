import KVPack
import Testing
@testable import KVPackVulkan

/// Fewer lanes per token (more elements of a row per lane), the raw-code kernels' load widths and
/// f16 value sums, each against `CompressedAttention` on the same compressed cache.
@Suite("Vulkan decode: elements per lane, code load widths, f16 value sums", .vulkanDevice)
struct LaneElementsTests {
    typealias Tests = DecodeAttentionTests

    /// Runs `fixture` with `options` and returns the launch and the worst relative L2 error against the CPU.
    func run(_ fixture: DecodeFixture, _ options: DecodeOptions) throws -> (DecodeLaunch, Double) {
        let context = try #require(SharedContext.context)
        let device = try DeviceKVCache(context, flat: fixture.cache.flattened())
        let (got, launch) = try VulkanDecodeAttention(context: context).attend(device, queries: fixture.queries, options: options)
        return (launch, try DecodeFixture.worstError(got, try fixture.expected(), d: fixture.cache.model.headDim))
    }

    /// Two sequences whose KV heads keep 45 and 34 tokens (page tails), GQA 2, `k` / `v` in every page.
    func ragged(_ k: PageEncoding, _ v: PageEncoding) throws -> DecodeFixture { try DecodeFixture.ragged(k, v, qHeads: 4) }

    /// (uniform encoding index, elements per lane, tokens per step, pipelined).
    static let cases: [(Int, Int, Int, Bool)] = [
        // (On lavapipe's 8-lane subgroups 16 is already the default at head dim 128.)
        (0, 16, 2, true), (0, 32, 1, false), // f16
        (1, 16, 4, true), (1, 32, 2, false), // int8 token groups of 32 (raw codes)
        (3, 32, 2, true),                    // int4 token groups of 64 (raw codes)
        (2, 16, 2, false),                   // int8 channel groups (general kernel)
        (5, 16, 1, false),                   // bitmap
    ]

    @Test("16 or 32 elements per lane over the f16, raw-code, general and bitmap kernels", arguments: cases)
    func elementsPerLane(index: Int, elements: Int, step: Int, pipelined: Bool) throws {
        let (name, k, v) = Tests.uniform[index]
        let fixture = try ragged(k, v)
        let (launch, err) = try run(fixture, .init(pagesPerSplit: 2, tokensPerStep: step, pipelined: pipelined, f16Arithmetic: false,
                                                   elementsPerLane: elements))
        #expect(launch.lanesPerToken == 128 / elements, "\(launch)")
        #expect(err < 4e-3, "\(name) E=\(elements) step \(step): \(launch.kernel) worst rel. L2 \(err)")
    }

    @Test("mixed pages (ARKV tiers) with 16 elements per lane")
    func mixedElements() throws {
        let n = 61
        let fixture = try DecodeFixture(qHeads: 4, kvHeads: 2, d: 128, tokens: n, sequences: 1) { _, _ in
            (Array(0..<n), (0..<n).map { Tests.tiers[($0 / 16) % Tests.tiers.count] })
        }
        let (launch, err) = try run(fixture, .init(kernel: .mixed, pagesPerSplit: 2, tokensPerStep: 2, elementsPerLane: 16))
        #expect(launch.kernel.hasPrefix("decode_mixed_") && launch.lanesPerToken == 8)
        #expect(err < 4e-3, "mixed E=16: worst rel. L2 \(err)")
    }

    @Test("elements per lane the kernels do not take are refused with a typed error", arguments: [4, 12, 64])
    func refusedElements(elements: Int) throws {
        let context = try #require(SharedContext.context)
        let fixture = try ragged(.f16, .f16)
        if let why = try fixture.refusal(context, options: .init(elementsPerLane: elements)) { #expect(why.contains("elements per lane")) }
    }

    @Test("a raw-code token group smaller than a lane's slice falls back to the general kernel")
    func groupSmallerThanSlice() throws {
        let fixture = try ragged(Tests.int8t, Tests.int8t) // groups of 32
        let (launch, err) = try run(fixture, .init(pagesPerSplit: 2, tokensPerStep: 2, elementsPerLane: 32))
        #expect(launch.kernel.hasPrefix("decode_int8_") && launch.codeLoadBytes == 16, "\(launch)")
        #expect(err < 4e-3)
        let narrow = PageEncoding.int8(.init(groupSize: 16))
        let (fallback, err2) = try run(try ragged(narrow, narrow), .init(pagesPerSplit: 2, elementsPerLane: 32))
        #expect(fallback.kernel.hasPrefix("decode_quant_") && fallback.codeLoadBytes == 0, "\(fallback)")
        #expect(err2 < 4e-3)
    }

    /// int4 at head dim 64 with token groups of 64: a row is 32 code bytes and 4 parameter bytes,
    /// so a page of 13 tokens (a tail) leaves the next page 4-byte aligned only.
    @Test("code loads are as wide as the page offsets' alignment allows; every width matches the CPU",
          arguments: [(48, 16), (45, 4)])
    func codeLoadWidths(tokens: Int, bytes: Int) throws {
        let int4 = PageEncoding.int4(.init(groupSize: 64))
        let fixture = try DecodeFixture(qHeads: 4, kvHeads: 2, d: 64, tokens: tokens, sequences: 2) { _, _ in
            (Array(0..<tokens), Array(repeating: (int4, int4), count: tokens))
        }
        let context = try #require(SharedContext.context)
        // Fewer than headDim / subgroupSize elements would need more lanes than a subgroup has.
        for elements in [8, 16, 32] where elements >= 64 / context.capabilities.subgroupSize {
            let (launch, err) = try run(fixture, .init(pagesPerSplit: 1, tokensPerStep: 2, elementsPerLane: elements))
            // A lane's slice is elements / 2 bytes; the load is that wide at most.
            #expect(launch.kernel.hasPrefix("decode_int4_") && launch.codeLoadBytes == min(bytes, elements / 2), "\(launch)")
            #expect(err < 4e-3, "int4 N=\(tokens) E=\(elements): worst rel. L2 \(err)")
        }
    }

    @Test("f16 value sums (on by default with f16 arithmetic) stay within 1e-2 of the CPU, default and 32 elements per lane",
          arguments: [(nil, 2, true), (32, 2, false), (32, 4, true)] as [(Int?, Int, Bool)])
    func f16ValueSums(elements: Int?, step: Int, pipelined: Bool) throws {
        let context = try #require(SharedContext.context)
        guard context.capabilities.shaderFloat16, context.capabilities.subgroupShuffle else { return }
        let fixture = try ragged(.f16, .f16)
        for sums in [nil, false] as [Bool?] {
            let (launch, err) = try run(fixture, .init(pagesPerSplit: 2, tokensPerStep: step, pipelined: pipelined, f16Arithmetic: true,
                                                       elementsPerLane: elements, f16ValueSums: sums))
            #expect(launch.f16Arithmetic && launch.f16ValueSums == (sums ?? true), "\(launch)")
            #expect(err < 1e-2, "f16 arithmetic, value sums \(sums ?? true), E=\(elements.map(String.init) ?? "default"): worst rel. L2 \(err)")
        }
    }

    @Test("larger workgroups (more token groups, merged over several rounds) match the CPU; sizes the subgroup cannot take are refused",
          arguments: [(0, 256), (1, 512), (5, 256), (3, 1024)])
    func workgroupSizes(index: Int, size: Int) throws {
        let context = try #require(SharedContext.context)
        guard context.capabilities.subgroupShuffle, size <= context.capabilities.maxWorkgroupSize else { return }
        let (name, k, v) = Tests.uniform[index]
        let fixture = try ragged(k, v)
        let (launch, err) = try run(fixture, .init(pagesPerSplit: 3, workgroupSize: size))
        #expect(launch.workgroupSize == size && launch.mergeSlots >= 1, "\(launch)")
        #expect(err < 4e-3, "\(name) workgroup \(size): worst rel. L2 \(err)")
        if let why = try fixture.refusal(context, options: .init(workgroupSize: context.capabilities.subgroupSize * 3 + 1)) {
            #expect(why.contains("workgroup"))
        }
    }
}
