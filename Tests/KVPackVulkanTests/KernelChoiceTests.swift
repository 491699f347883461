import KVPack
import Testing
@testable import KVPackVulkan

/// The kernel and elements per lane chosen for a layer, hand-worked for GPUs and CPU devices (no
/// GPU is needed: the choice is a pure function of encodings, head dim, device and options).
@Suite("Decode kernel choice and elements per lane")
struct KernelChoiceTests {
    static let g32 = QuantizationGrouping(groupSize: 32)
    static let g8 = QuantizationGrouping(groupSize: 8)
    static let channels = QuantizationGrouping(groupSize: 16, axis: .channel)

    func choose(_ kinds: Set<PageEncodingKind>, _ groupings: Set<QuantizationGrouping> = [], d: Int = 128, group: Int = 4,
                subgroup: Int? = 32, gpu: Bool = true, elements: Int? = nil, kernel: DecodeKernel = .automatic) throws -> KernelChoice {
        try KernelChoice(kinds: kinds, groupings: groupings, headDim: d, queryGroup: group, subgroupSize: subgroup, gpu: gpu,
                         options: .init(kernel: kernel, elementsPerLane: elements))
    }

    /// (kinds, groupings, head dim, subgroup size, GPU, option) -> (kernel, elements per lane).
    static let cases: [(Set<PageEncodingKind>, Set<QuantizationGrouping>, Int, Int?, Bool, Int?, DecodeKernel, Int)] = [
        ([.f16], [], 128, 32, true, nil, .f16, 16),           // GPU default: 16 (8 lanes a token)
        ([.f16], [], 64, 32, true, nil, .f16, 16),            // 4 lanes a token
        ([.f16], [], 128, 32, false, nil, .f16, 8),           // CPU device, 32-lane subgroup: 16 lanes of 8
        ([.f16], [], 128, 8, false, nil, .f16, 16),           // lavapipe's 8-lane subgroup: 8 lanes of 16
        ([.f16], [], 256, 8, true, nil, .f16, 32),            // a subgroup of 8 needs 32 at d = 256
        ([.f16], [], 128, nil, true, nil, .f16, 128),         // portable: one lane per token
        ([.int8], [g32], 128, 32, true, nil, .int8, 16),      // raw codes, groups of 32 cover 16
        ([.int4], [g8], 128, 32, true, nil, .int4, 8),        // groups of 8 do not cover 16: raw codes at 8
        ([.int4], [g8], 128, 32, true, 16, .quant, 16),       // ... unless 16 is asked for: the general kernel
        ([.int8], [channels], 128, 32, true, nil, .quant, 16),
        ([.int8, .int4], [g32], 128, 32, true, nil, .quant, 16),
        ([.bitmap], [], 128, 32, true, nil, .bitmap, 16),
        ([.f16, .int8], [g32], 128, 32, true, 8, .mixed, 8),
        ([.int8], [g32], 128, 32, true, 32, .int8, 32),
    ]

    @Test("kernel and elements per lane by encodings, head dim, subgroup, device and option", arguments: cases.indices)
    func choice(index: Int) throws {
        let (kinds, groupings, d, subgroup, gpu, option, kernel, elements) = Self.cases[index]
        let got = try choose(kinds, groupings, d: d, subgroup: subgroup, gpu: gpu, elements: option)
        #expect(got == KernelChoice(kernel: kernel, elementsPerLane: elements), "case \(index): \(got)")
    }

    /// GQA groups above 4 take 8 elements per lane on GPUs (8 x 16 query and accumulator values
    /// per lane spilled on the H200); the option and the subgroup's fewest still win.
    @Test("GPU default elements per lane by GQA group", arguments: [
        (1, 128, 32, nil as Int?, 16), (2, 128, 32, nil, 16), (4, 64, 32, nil, 16), (8, 128, 32, nil, 8), (8, 64, 32, nil, 8),
        (16, 256, 32, nil, 8), (8, 256, 8, nil, 32), (8, 128, 32, 16, 16),
    ])
    func gqaDefault(group: Int, d: Int, subgroup: Int, option: Int?, elements: Int) throws {
        let f16 = try choose([.f16], d: d, group: group, subgroup: subgroup, elements: option)
        #expect(f16 == KernelChoice(kernel: .f16, elementsPerLane: elements))
        // Raw-code int8 with groups of 32 covers 8 and 16 alike.
        let int8 = try choose([.int8], [Self.g32], d: d, group: group, subgroup: subgroup, elements: option)
        #expect(int8 == KernelChoice(kernel: .int8, elementsPerLane: elements))
        // A CPU device keeps the fewest its subgroup allows.
        #expect(try choose([.f16], d: d, group: group, subgroup: subgroup, gpu: false).elementsPerLane == max(8, d / subgroup))
    }

    @Test("options the kernels cannot take are typed errors", arguments: [
        (128, 32, 12), (128, 32, 64), (64, 32, 4), (256, 8, 16), // not 8/16/32, or fewer than headDim / subgroup
    ])
    func refused(d: Int, subgroup: Int, elements: Int) {
        let result = Result { () throws(VulkanError) in
            try KernelChoice(kinds: [.f16], groupings: [], headDim: d, subgroupSize: subgroup, gpu: true,
                             options: .init(elementsPerLane: elements))
        }
        guard case .failure(.unsupported(let why)) = result else { Issue.record("\(result)"); return }
        #expect(why.contains("elements per lane"))
    }

    @Test("a kernel that cannot read the layer, or raw codes whose groups do not cover the slice, are refused")
    func wrongKernel() {
        for (kinds, groupings, kernel, elements) in [([PageEncodingKind.bitmap], [QuantizationGrouping](), DecodeKernel.f16, Int?.none),
                                                     ([.int8], [Self.g8], .int8, 16)] {
            let result = Result { () throws(VulkanError) in
                try KernelChoice(kinds: Set(kinds), groupings: Set(groupings), headDim: 128, subgroupSize: 32, gpu: true,
                                 options: .init(kernel: kernel, elementsPerLane: elements))
            }
            guard case .failure(.unsupported) = result else { Issue.record("\(kernel): \(result)"); continue }
        }
    }
}

/// The automatic split-K rule, hand-worked on the bench's shapes (Hkv=8, pages of 16, 16 token
/// groups a workgroup at 16 elements per lane and head dim 128, the default target of 256).
@Suite("automatic pages per split")
struct SplitRuleTests {
    /// (max pages, heads = B x Hkv, pages per split of one kernel, of a pass of several).
    static let cases: [(Int, Int, Int, Int)] = [
        (8192, 8, 256, 256),  // B=1 N=128K: 32 splits of 256 pages reach the target: 256 workgroups
        (2048, 8, 64, 64),    // B=1 N=32K: 32 splits reach the target (a pass: also 4 pages per token group)
        (2048, 64, 512, 256), // B=8 N=32K: 4 splits reach the target; a pass's 16 pages per token group need 8
        (8192, 64, 512, 256), // B=8 N=128K: 32 pages per token group need 16 splits, a pass's 16 need 32
        (2048, 256, 512, 256), // B=32 N=32K: 4 splits of 32 pages per token group; a pass 8 of 16
        (256, 256, 256, 256), // B=32 N=4K: 256 heads reach the target alone: one split
        (512, 40, 74, 74),    // B=5 N=8K: ceil(256 / 40) = 7 splits of ceil(512 / 7) = 74 pages
        (256, 8, 16, 64),     // B=1 N=4K: 16 splits of one page per token group; a pass keeps 4 (4 splits)
        (1024, 8, 32, 64),    // B=1 N=16K: 32 splits reach the target; a pass stops at 16
        (256, 32, 32, 64),    // B=4 N=4K: ceil(256 / 32) = 8 splits; a pass stops at 4
        (3, 1, 3, 3),         // a short head: one split
    ]

    @Test("pages per split", arguments: cases)
    func pagesPerSplit(maxPages: Int, heads: Int, single: Int, pass: Int) {
        #expect(DecodeCall.automaticPagesPerSplit(maxPages: maxPages, tokenGroups: 16, heads: heads, targetWorkgroups: 256) == single)
        #expect(DecodeCall.automaticPagesPerSplit(maxPages: maxPages, tokenGroups: 16, heads: heads, targetWorkgroups: 256,
                                                  limits: .pass) == pass)
    }

    /// A kept plan's pages: exact below 64; above, the next multiple of 2^(bits - 6) where
    /// `most` has `bits` bits (65 has 7: multiples of 2; 2049 has 12: multiples of 64).
    @Test("planned pages", arguments: [(0, 0), (1, 1), (63, 63), (64, 64), (65, 66), (150, 152), (153, 156),
                                       (512, 512), (513, 528), (2047, 2048), (2048, 2048), (2049, 2112)])
    func plannedPages(most: Int, planned: Int) {
        #expect(DecodeCall.plannedPages(forMost: most) == planned)
    }

    @Test("bitmap pages alone: at most 16 pages per token group, at least 1")
    func bitmapLimits() {
        // B=8 N=32K: 8 splits of 256 pages (two waves), not 4 of 512; B=1 N=4K: 16 splits of 16.
        #expect(DecodeCall.automaticPagesPerSplit(maxPages: 2048, tokenGroups: 16, heads: 64, targetWorkgroups: 256, limits: .bitmap) == 256)
        #expect(DecodeCall.automaticPagesPerSplit(maxPages: 256, tokenGroups: 16, heads: 8, targetWorkgroups: 256, limits: .bitmap) == 16)
    }

    /// The cooperative-matrix kernel's calls at GQA 8 (8 KV heads a sequence, workgroups of 96:
    /// 3 token groups of one subgroup each), splits by the target of 256 workgroups up to 256
    /// pages a token group: B=1 N=128K 32 splits (the one-kernel cap of 32 pages gave 86 of 96),
    /// B=8 N=32K 4 (22 of 94), B=1 N=32K 32 (as before), B=32 N=32K 3 of 683 pages, 228 a group
    /// (22 of 94).
    @Test("cooperative-matrix calls: splits by the target of workgroups, at most 256 pages a token group",
          arguments: [(8192, 8, 256, 96), (2048, 64, 512, 94), (2048, 8, 64, 64), (2048, 256, 683, 94)])
    func coopmatLimits(maxPages: Int, heads: Int, coopmat: Int, oneKernel: Int) {
        #expect(DecodeCall.automaticPagesPerSplit(maxPages: maxPages, tokenGroups: 3, heads: heads, targetWorkgroups: 256, limits: .coopmat) == coopmat)
        #expect(DecodeCall.automaticPagesPerSplit(maxPages: maxPages, tokenGroups: 3, heads: heads, targetWorkgroups: 256) == oneKernel)
    }
}
