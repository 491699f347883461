import KVPack
import Testing
@testable import KVPackVulkan

/// q·k as packed 8-bit integer dot products on raw int8 / int4 codes (the `_intdot` kernels),
/// against `CompressedAttention` on the same compressed cache.
@Suite("Vulkan decode: integer dot products on raw codes", .vulkanDevice)
struct IntegerDotTests {
    typealias Tests = DecodeAttentionTests

    static var available: Bool {
        guard let caps = SharedContext.context?.capabilities else { return false }
        return caps.integerDotProduct && caps.shaderFloat16 && caps.subgroupShuffle
    }

    /// (uniform encoding index: 1 int8 token groups of 32, 3 int4 token groups of 64; head dim;
    /// elements per lane, nil for the default; tokens per step; pipelined).
    static let cases: [(Int, Int, Int?, Int, Bool)] = [
        (1, 128, nil, 4, true), (1, 64, 16, 2, false), (1, 256, 32, 1, true),
        (3, 128, nil, 2, false), (3, 64, 32, 4, true), (3, 256, nil, 2, true),
    ]

    @Test("integer-dot q·k stays within 4e-3 of the CPU over head dims, lane widths and steps", arguments: cases)
    func matchesCPU(index: Int, d: Int, elements: Int?, step: Int, pipelined: Bool) throws {
        guard Self.available else { return }
        let context = try #require(SharedContext.context)
        let (name, k, v) = Tests.uniform[index]
        // Two sequences, GQA 4, heads of 45 and 34 tokens (page tails).
        let fixture = try DecodeFixture.ragged(k, v, d: d)
        let device = try DeviceKVCache(context, flat: fixture.cache.flattened())
        let attention = VulkanDecodeAttention(context: context)
        let options = DecodeOptions(pagesPerSplit: 2, tokensPerStep: step, pipelined: pipelined, f16Arithmetic: true,
                                    elementsPerLane: elements, integerDot: true)
        let (got, launch) = try attention.attend(device, queries: fixture.queries, options: options)
        #expect(launch.kernel.hasSuffix("_f16math_intdot") && launch.integerDot, "\(launch.kernel)")
        let expected = try fixture.expected()
        let err = try DecodeFixture.worstError(got, expected, d: d)
        // q·k is exact in integers but for the queries' two-part rounding (finer than f16's): as
        // close to the CPU as the fp32 kernels (the f16 value sums remain).
        #expect(err < 4e-3, "\(name) integer dot d=\(d) E=\(elements.map(String.init) ?? "default") step \(step): worst rel. L2 \(err)")
        // And it is not the f16-arithmetic kernel under another name: the outputs differ.
        var f16 = options
        f16.integerDot = false
        let (other, plain) = try attention.attend(device, queries: fixture.queries, options: f16)
        #expect(!plain.integerDot && plain.kernel.hasSuffix("_f16math"))
        #expect(other != got)
    }

    /// A query slice whose largest element is 6 times the others: one int8 part would round them
    /// to steps of 24 / 127 (about 5% of their size); the second part brings that to 24 / 32258.
    @Test("one outsized query element: the two-part rounding keeps the others")
    func outsizedQueryElement() throws {
        guard Self.available else { return }
        let context = try #require(SharedContext.context)
        let int8 = Tests.int8t
        var fixture = try DecodeFixture(qHeads: 4, kvHeads: 1, d: 128, tokens: 40, sequences: 1) { _, _ in
            (Array(0..<40), Array(repeating: (int8, int8), count: 40))
        }
        fixture.queries[5] = 24 // the others are within ±4
        let device = try DeviceKVCache(context, flat: fixture.cache.flattened())
        let (got, _) = try VulkanDecodeAttention(context: context).attend(
            device, queries: fixture.queries, options: .init(pagesPerSplit: 1, f16Arithmetic: true, integerDot: true))
        let err = try DecodeFixture.worstError(got, try fixture.expected(), d: 128)
        #expect(err < 4e-3, "worst rel. L2 \(err)")
    }

    @Test("integer dot products without f16 arithmetic, or on another kernel, are refused with a typed error")
    func refused() throws {
        guard Self.available else { return }
        let context = try #require(SharedContext.context)
        for (k, options) in [(Tests.int8t, DecodeOptions(f16Arithmetic: false, integerDot: true)),
                             (PageEncoding.f16, DecodeOptions(f16Arithmetic: true, integerDot: true)),
                             (Tests.int8c, DecodeOptions(integerDot: true))] {
            let fixture = try DecodeFixture(qHeads: 4, kvHeads: 2, d: 128, tokens: 20, sequences: 1) { _, _ in
                (Array(0..<20), Array(repeating: (k, k), count: 20))
            }
            if let why = try fixture.refusal(context, options: options) { #expect(why.contains("integer dot"), "\(k)") }
        }
    }

    @Test("a CPU device (lavapipe) does not default to integer dot products")
    func cpuDefault() throws {
        let context = try #require(SharedContext.context)
        guard context.device.kind == .cpu else { return }
        let fixture = try DecodeFixture(qHeads: 4, kvHeads: 2, d: 128, tokens: 20, sequences: 1) { _, _ in
            (Array(0..<20), Array(repeating: (Tests.int8t, Tests.int8t), count: 20))
        }
        let device = try DeviceKVCache(context, flat: fixture.cache.flattened())
        let (_, launch) = try VulkanDecodeAttention(context: context).attend(device, queries: fixture.queries,
                                                                            options: .init(f16Arithmetic: true))
        #expect(!launch.integerDot && launch.kernel.hasSuffix("_f16math"))
    }
}
