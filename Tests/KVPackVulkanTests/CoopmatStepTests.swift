import Foundation
import KVPack
import KVPackTestSupport
import Testing
@testable import KVPackVulkan

/// The cooperative-matrix kernels' steps of 32 tokens (two key tiles a step, spec constant 4 = 32,
/// `DecodeOptions.tokensPerStep`): choice, shared memory, workgroups and launch, hand-worked from
/// the kernels' arrays (`Kernels/include/coopmat_tiles.glsl`; the totals match the SPIR-V's
/// Workgroup arrays specialized with spirv-opt, but for the 256 bytes of slack and the 16-byte
/// flag). The kernels themselves run only on a GPU (`kvpack bench vulkan --check`).
@Suite("Cooperative-matrix kernel: steps of 32 tokens")
struct CoopmatStepTests {
    func choose(_ kinds: Set<PageEncodingKind>, _ groupings: Set<QuantizationGrouping> = [], d: Int = 128, group: Int = 8,
                options: DecodeOptions) throws(VulkanError) -> KernelChoice {
        try KernelChoice(kinds: kinds, groupings: groupings, headDim: d, queryGroup: group, subgroupSize: 32, gpu: true,
                         options: options, capabilities: CoopmatKernelTests.gpu())
    }

    // Per subgroup at step 32: stageK + stageV 2·32 rows of (D/8 + 1)·16 bytes, scratch 16·32
    // floats (2048), tileP 16·32 halves (1024). D = 128: 2·32·272 = 17408, so 20480 a subgroup
    // (twice step 16's 10240); D = 64: 2·32·144 + 3072 = 12288; D = 256: 2·32·528 + 3072 = 36864.
    @Test("shared memory of a workgroup at steps of 32")
    func sharedBytes() {
        #expect(DecodeCall.coopmatTileBytes(headDim: 128, subgroups: 2, step: 32) == 4352 + 2 * 20480 + 256)
        #expect(DecodeCall.coopmatTileBytes(headDim: 128, subgroups: 3, step: 16) == DecodeCall.coopmatTileBytes(headDim: 128, subgroups: 3))
        #expect(DecodeCall.coopmatTileBytes(headDim: 64, subgroups: 3, step: 32) == 2304 + 3 * 12288 + 256)
        #expect(DecodeCall.coopmatTileBytes(headDim: 256, subgroups: 1, step: 32) == 8448 + 36864 + 256)
        // + one merge slot (G·D·4), the flag (16) and an empty page cache (32).
        #expect(DecodeCall.coopmatSharedBytes(headDim: 128, queryGroup: 4, subgroups: 2, mergeSlots: 1, pageCacheEntries: 0, step: 32) == 47664)
        #expect(DecodeCall.coopmatSharedBytes(headDim: 128, queryGroup: 8, subgroups: 1, mergeSlots: 1, pageCacheEntries: 0, step: 32) == 29232)
    }

    /// (head dim, group, asked) -> workgroup at 49152 bytes and steps of 32.
    @Test("its workgroups at steps of 32", arguments: [
        (64, 8, Int?.none, 96 as Int?), // 96: 2304 + 36864 + 256 + 2048 + 48 = 41520; 128: 53808
        (64, 4, nil, 96),               // 40496
        (128, 4, nil, 64),              // 47664; 96: 4352 + 61440 > 49152
        (128, 8, nil, 32),              // 64: 45568 + 4096 + 48 = 49712; 32: 29232
        (128, 8, 64, nil),              // asked, does not fit
        (256, 2, nil, 32),              // 8448 + 36864 + 256 + 2048 + 48 = 47664
        (256, 3, nil, 32),              // 48688
        (256, 4, nil, nil),             // 49712: none fits
        (256, 8, nil, nil),             // 53808
    ])
    func workgroup(d: Int, group: Int, asked: Int?, expected: Int?) {
        #expect(DecodeCall.coopmatWorkgroup(headDim: d, queryGroup: group, sharedMemory: 49152, maxWorkgroup: 1024, asked: asked, step: 32) == expected)
    }

    @Test("a step of 32 takes the coopmat kernel, on request and automatically at GQA 8, for f16, int8 and int4 pages")
    func chosen() throws {
        let g32 = QuantizationGrouping(groupSize: 32)
        for (kind, groupings) in [(PageEncodingKind.f16, Set<QuantizationGrouping>()), (.int8, [g32]), (.int4, [g32])] {
            for d in [64, 128] {
                #expect(try choose([kind], groupings, d: d, options: .init(tokensPerStep: 32)) == KernelChoice(kernel: .coopmat, elementsPerLane: d / 32))
                #expect(try choose([kind], groupings, d: d, group: 4, options: .init(kernel: .coopmat, tokensPerStep: 32)).kernel == .coopmat)
            }
        }
        // Where step 32 does not fit (D = 256, GQA 4 / 8) the automatic choice keeps the other kernels.
        #expect(try choose([.f16], d: 256, options: .init(tokensPerStep: 32)).kernel == .f16)
        #expect(try choose([.f16], d: 256, group: 2, options: .init(kernel: .coopmat, tokensPerStep: 32)).kernel == .coopmat)
    }

    @Test("asked for at a step it cannot take, or where that step's shared memory does not fit: a typed error naming why", arguments: [
        (128, 8, 8, "16 or 32 tokens"),
        (128, 8, 64, "16 or 32 tokens"),
        (256, 4, 32, "steps of 32 tokens"),
        (256, 8, 32, "shared memory"),
    ])
    func refused(d: Int, group: Int, step: Int, names: String) {
        let result = Result { () throws(VulkanError) in
            try choose([.f16], d: d, group: group, options: .init(kernel: .coopmat, tokensPerStep: step))
        }
        guard case .failure(.unsupported(let why)) = result else { Issue.record("\(result)"); return }
        #expect(why.contains("coopmat") && why.contains(names), "\(why)")
    }

    /// The launch at steps of 32 on an H100-like device, planned on lavapipe's upload of a cache of
    /// 8 KV heads x 512 tokens (32 pages of 16 a head), worked by hand: spec constant 4 (U) = 32.
    /// D = 128, G = 4: workgroups of 64 (2 token groups); splits aiming at 256 workgroups over 8
    /// heads: min(32, 32 pages / 2 groups = 16) = 16 splits of 2 pages; tiles 45568 bytes leave
    /// 3568: one merge slot of 2048, no page cache (2 pages < 2 x 2 groups). G = 8: 32
    /// invocations, 32 splits of 1 page, one slot. D = 64, G = 8: 96 (3 groups), min(32, 10) = 10
    /// splits wanted, 4 pages each, 8 splits; 9712 bytes left: 3 slots of 2048, no page cache.
    @Test("its launch and spec constants at steps of 32", .vulkanDevice, arguments: [
        // (encoding, d, G, masked) -> splits, pages per split, constants
        (PageEncoding.f16, 128, 4, false, 16, 2, [64, 128, 4, 4, 32, 1, 1, 0, 0, 1, 0, 0, 0] as [UInt32]),
        (.f16, 128, 8, true, 32, 1, [32, 128, 4, 8, 32, 1, 1, 1, 0, 1, 0, 0, 0]),
        (.f16, 64, 8, false, 8, 4, [96, 64, 2, 8, 32, 1, 3, 0, 0, 1, 0, 0, 0]),
        (.int4(.init(groupSize: 32)), 128, 4, false, 16, 2, [64, 128, 4, 4, 32, 1, 1, 0, 0, 4, 0, 0, 0]),
        (.int8(.init(groupSize: 32)), 128, 8, false, 32, 1, [32, 128, 4, 8, 32, 1, 1, 0, 0, 4, 0, 0, 0]),
    ])
    func launch(encoding: PageEncoding, d: Int, group: Int, masked: Bool, splits: Int, pagesPerSplit: Int, constants: [UInt32]) throws {
        let context = try #require(SharedContext.context)
        let tokens = 512
        let fixture = try DecodeFixture(qHeads: 8 * group, kvHeads: 8, d: d, tokens: tokens, sequences: 1) { _, _ in
            (Array(0..<tokens), Array(repeating: (encoding, encoding), count: tokens))
        }
        let device = try DeviceKVCache(context, flat: fixture.cache.flattened())
        let options = DecodeOptions(kernel: .coopmat, tokensPerStep: 32)
        let choice = try choose([encoding.kind], encoding.grouping.map { [$0] } ?? [], d: d, group: group, options: options)
        let (launch, key) = try DecodeCall.plan(choice, maxPages: device.layers[0].maxPages, capabilities: CoopmatKernelTests.gpu(),
                                                device: .discrete, cache: device, layer: 0, masked: masked, options: options, lenient: false)
        #expect(key.name == "decode_\(encoding.kind)_coopmat")
        #expect(key.constants == constants)
        #expect(launch.splits == splits && launch.pagesPerSplit == pagesPerSplit, "\(launch)")
        #expect(launch.tokensPerStep == 32 && launch.lanesPerToken == 32 && launch.pipelined)
        let used = DecodeCall.coopmatSharedBytes(headDim: d, queryGroup: group, subgroups: Int(constants[0]) / 32,
                                                 mergeSlots: Int(constants[6]), pageCacheEntries: Int(constants[11]), step: 32)
        #expect(used <= 49152)
    }
}
