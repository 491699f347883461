import KVPack
import KVPackTestSupport
import Testing
@testable import KVPackVulkan

/// `DecodeOptions.coopmatDirect`: the f16 coopmat kernel's full steps read their tiles straight
/// from the pool (spec constant 8, DIRECT_TILES, of `Kernels/decode_f16_coopmat.comp`). The
/// kernel itself runs only on a GPU (`kvpack bench vulkan --check`, rows `coopmat-direct`); here
/// the option's way into the launch and its refusals, worked by hand.
@Suite("Cooperative-matrix kernel: direct tiles (option, spec constant, refusal)")
struct CoopmatDirectTests {
    @Test("which kernels take it: the f16 coopmat kernel only; elsewhere refused, or off in a pass of several")
    func byKernel() throws {
        let f16 = "decode_f16_coopmat"
        #expect(try DecodeCall.coopmatDirectTiles(nil, kernel: f16, lenient: false) == .off)
        for asked in CoopmatDirectTiles.allCases { #expect(try DecodeCall.coopmatDirectTiles(asked, kernel: f16, lenient: false) == asked) }
        // Asked for where it does not apply: off in a pass of several, or asked off.
        #expect(try DecodeCall.coopmatDirectTiles(.on, kernel: "decode_f16_subgroup_f16math", lenient: true) == .off)
        #expect(try DecodeCall.coopmatDirectTiles(.off, kernel: "decode_int8_coopmat", lenient: false) == .off)
        for name in ["decode_int8_coopmat", "decode_int4_coopmat", "decode_f16_subgroup_f16math", "decode_bitmap_staged_subgroup"] {
            for asked in [CoopmatDirectTiles.keys, .on] {
                let result = Result { () throws(VulkanError) in try DecodeCall.coopmatDirectTiles(asked, kernel: name, lenient: false) }
                guard case .failure(.unsupported(let why)) = result else { Issue.record("\(name): \(result)"); continue }
                #expect(why.contains("coopmatDirect \(asked)") && why.contains(f16) && why.contains(name), "\(why)")
            }
        }
    }

    @Test("spec constant 8 (DIRECT_TILES): bit 0 keys, bit 1 values, as the kernel reads it")
    func specConstant() {
        #expect(CoopmatDirectTiles.off.specConstant == 0)
        #expect(CoopmatDirectTiles.keys.specConstant == 1)
        #expect(CoopmatDirectTiles.on.specConstant == 3)
    }

    /// The launch an H100-like device gets for f16 pages at head dim 128, GQA 8, masked (as
    /// `CoopmatKernelTests.launch`): 96 invocations, 8 splits of 4 pages, 3 merge slots; the same
    /// shared layout with and without direct tiles, so every constant but 8 is the same.
    @Test("f16 pages: spec constant 8 is 1 for direct keys, 3 for direct keys and values, 0 without (nil or off), and nothing else changes",
          .vulkanDevice, arguments: [CoopmatDirectTiles?.none, .off, .keys, .on])
    func launch(direct: CoopmatDirectTiles?) throws {
        let context = try #require(SharedContext.context)
        let fixture = try DecodeFixture(qHeads: 64, kvHeads: 8, d: 128, tokens: 512, sequences: 1) { _, _ in
            (Array(0..<512), Array(repeating: (.f16, .f16), count: 512))
        }
        let device = try DeviceKVCache(context, flat: fixture.cache.flattened())
        var options = DecodeOptions()
        options.coopmatDirect = direct
        let choice = try KernelChoice(kinds: [.f16], groupings: [], headDim: 128, queryGroup: 8, subgroupSize: 32, gpu: true,
                                      options: options, capabilities: CoopmatKernelTests.gpu())
        #expect(choice.kernel == .coopmat)
        let (launch, key) = try DecodeCall.plan(choice, maxPages: device.layers[0].maxPages, capabilities: CoopmatKernelTests.gpu(),
                                                device: .discrete, cache: device, layer: 0, masked: true, options: options, lenient: false)
        let on: UInt32 = direct == .keys ? 1 : direct == .on ? 3 : 0
        #expect(key.name == "decode_f16_coopmat")
        #expect(key.constants == [96, 128, 4, 8, 16, 1, 3, 1, on, 1, 0, 0, 0])
        #expect(launch.coopmatDirect == direct ?? .off)
        #expect(launch.splits == 8 && launch.pagesPerSplit == 4 && launch.workgroupSize == 96 && launch.mergeSlots == 3, "\(launch)")
    }

    @Test("int8 pages on the coopmat kernel, or f16 pages on the f16 kernel, with it asked for: a typed error", .vulkanDevice)
    func refusedInPlan() throws {
        let context = try #require(SharedContext.context)
        let g32 = PageEncoding.int8(.init(groupSize: 32))
        for (encoding, kernel) in [(g32, DecodeKernel.coopmat), (.f16, .f16)] {
            let fixture = try DecodeFixture(qHeads: 64, kvHeads: 8, d: 128, tokens: 64, sequences: 1) { _, _ in
                (Array(0..<64), Array(repeating: (encoding, encoding), count: 64))
            }
            let device = try DeviceKVCache(context, flat: fixture.cache.flattened())
            var options = DecodeOptions(kernel: kernel)
            options.coopmatDirect = .keys
            let result = Result { () throws(VulkanError) in
                let choice = try KernelChoice(kinds: [encoding.kind], groupings: Set([encoding.grouping].compactMap { $0 }), headDim: 128,
                                              queryGroup: 8, subgroupSize: 32, gpu: true, options: options, capabilities: CoopmatKernelTests.gpu())
                return try DecodeCall.plan(choice, maxPages: device.layers[0].maxPages, capabilities: CoopmatKernelTests.gpu(), device: .discrete,
                                           cache: device, layer: 0, masked: false, options: options, lenient: false).1
            }
            guard case .failure(.unsupported(let why)) = result else { Issue.record("\(encoding) \(kernel): \(result)"); continue }
            #expect(why.contains("coopmatDirect"), "\(why)")
        }
    }

    @Test("on lavapipe: asked for with the f16 kernel, a typed error from attend, not a crash", .vulkanDevice)
    func lavapipe() throws {
        let context = try #require(SharedContext.context)
        let fixture = try DecodeFixture(qHeads: 8, kvHeads: 2, d: 64, tokens: 40, sequences: 1) { _, _ in
            (Array(0..<40), Array(repeating: (.f16, .f16), count: 40))
        }
        let device = try DeviceKVCache(context, flat: fixture.cache.flattened())
        var options = DecodeOptions(kernel: .f16)
        options.coopmatDirect = .on
        let result = Result { () throws(VulkanError) in
            try VulkanDecodeAttention(context: context).attend(device, queries: fixture.queries, options: options)
        }
        guard case .failure(.unsupported(let why)) = result else { Issue.record("\(result)"); return }
        #expect(why.contains("coopmatDirect"), "\(why)")
    }
}
