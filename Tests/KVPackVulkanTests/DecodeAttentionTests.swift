import KVPack
import Testing
@testable import KVPackVulkan

/// Every decode kernel against `CompressedAttention` (the CPU ground truth) on the same
/// compressed cache, on whatever device the machine has (lavapipe on CI).
@Suite("Vulkan decode attention vs the CPU over compressed pages", .vulkanDevice)
struct DecodeAttentionTests {
    static let int8t = PageEncoding.int8(.init(groupSize: 32))
    static let int8c = PageEncoding.int8(.init(groupSize: 16, axis: .channel))
    static let int4t = PageEncoding.int4(.init(groupSize: 64))
    static let int4c = PageEncoding.int4(.init(groupSize: 8, axis: .channel))
    static let int4g4 = PageEncoding.int4(.init(groupSize: 4))

    /// (name, key, value) encodings used uniformly in a head.
    static let uniform: [(String, PageEncoding, PageEncoding)] = [
        ("f16", .f16, .f16),
        ("int8 token groups", int8t, int8t),
        ("int8 channel groups", int8c, int8c),
        ("int4 token groups", int4t, int4t),
        ("int4 channel keys, small token groups for values", int4c, int4g4),
        ("bitmap", .bitmap, .bitmap),
        ("int8 keys, bitmap values", int8t, .bitmap),
    ]

    /// (head dim, query heads, KV heads, tokens, sequences, pages per split, portable).
    /// GQA 8 runs at head dim 64 and GQA 1 at 256: lavapipe compiles a pipeline in time growing
    /// with group x elements per lane, and this keeps the suite's cold run (no Mesa shader cache)
    /// short while still covering every head dim and every GQA ratio.
    static let shapes: [(Int, Int, Int, Int, Int, Int?, Bool)] = [
        (64, 16, 2, 45, 1, 1 << 20, false), // GQA 8, no split
        (128, 8, 2, 37, 3, 1, false),       // GQA 4, batch 3, split-K every page
        (256, 2, 2, 50, 2, 2, false),       // GQA 1, split-K
        (128, 4, 1, 21, 2, nil, true),      // portable path, automatic split
    ]

    func check(_ fixture: DecodeFixture, pagesPerSplit: Int?, portable: Bool, kernel: DecodeKernel = .automatic,
               step: Int? = nil, pipelined: Bool? = nil, mergeSlotLimit: Int? = nil, label: String) throws {
        let context = try #require(SharedContext.context)
        let device = try DeviceKVCache(context, flat: fixture.cache.flattened())
        var options = DecodeOptions(kernel: kernel, pagesPerSplit: pagesPerSplit, portable: portable, tokensPerStep: step,
                                    pipelined: pipelined)
        options.mergeSlotLimit = mergeSlotLimit
        let (got, launch) = try VulkanDecodeAttention(context: context).attend(device, queries: fixture.queries, options: options)
        let err = try DecodeFixture.worstError(got, try fixture.expected(), d: fixture.cache.model.headDim)
        #expect(err < 4e-3, "\(label): \(launch.kernel), \(launch.splits) splits: worst rel. L2 \(err)")
    }

    @Test("uniform encodings over head dims, GQA ratios, batches, split-K on and off, portable path",
          arguments: uniform.indices)
    func uniformEncodings(index: Int) throws {
        let (name, k, v) = Self.uniform[index]
        for (d, qh, kv, n, b, split, portable) in Self.shapes {
            let fixture = try DecodeFixture(qHeads: qh, kvHeads: kv, d: d, tokens: n, sequences: b) { _, _ in
                (Array(0..<n), Array(repeating: (k, v), count: n))
            }
            try check(fixture, pagesPerSplit: split, portable: portable, label: "\(name) d=\(d) Hq=\(qh) Hkv=\(kv) N=\(n) B=\(b)")
        }
    }

    @Test("int8 / int4 token groups run on the raw-code kernels, channel groups on the general one")
    func quantKernelChoice() throws {
        let context = try #require(SharedContext.context)
        for (enc, expected) in [(Self.int8t, "decode_int8"), (Self.int4t, "decode_int4"), (Self.int8c, "decode_quant")] {
            let fixture = try DecodeFixture(qHeads: 8, kvHeads: 2, d: 128, tokens: 33, sequences: 1) { _, _ in
                (Array(0..<33), Array(repeating: (enc, enc), count: 33))
            }
            let device = try DeviceKVCache(context, flat: fixture.cache.flattened())
            let (got, launch) = try VulkanDecodeAttention(context: context).attend(device, queries: fixture.queries)
            #expect(launch.kernel.hasPrefix(expected), "\(enc): \(launch.kernel)")
            #expect(try DecodeFixture.worstError(got, try fixture.expected(), d: 128) < 4e-3)
        }
    }

    @Test("the mixed kernel reads uniform caches too", arguments: [0, 3, 5])
    func mixedKernelOnUniform(index: Int) throws {
        let (name, k, v) = Self.uniform[index]
        let fixture = try DecodeFixture(qHeads: 8, kvHeads: 2, d: 128, tokens: 40, sequences: 2) { _, _ in
            (Array(0..<40), Array(repeating: (k, v), count: 40))
        }
        try check(fixture, pagesPerSplit: 1, portable: false, kernel: .mixed, label: "mixed kernel, \(name)")
    }

    @Test("several tokens per step (the GPU default), with page tails the step does not divide",
          arguments: [(0, 4, 128), (1, 8, 128), (3, 8, 128), (4, 2, 128), (5, 4, 128)])
    func tokensPerStep(index: Int, step: Int, d: Int) throws {
        let (name, k, v) = Self.uniform[index]
        let fixture = try DecodeFixture.ragged(k, v, d: d, shrink: 7)
        try check(fixture, pagesPerSplit: 2, portable: false, step: step, label: "\(name) step \(step) d=\(d)")
    }

    /// (uniform index, tokens per step, head dim, pages per split): f16, int8 and int4 token groups.
    static let pipelinedCases: [(Int, Int, Int, Int?)] = [(0, 1, 128, 2), (0, 2, 64, nil), (0, 4, 256, 1), (1, 4, 128, 3),
                                                          (3, 2, 128, 1 << 20), (3, 8, 128, 2)]

    @Test("pipelined steps (the next step loads while this one is used) across page tails, ragged heads and splits",
          arguments: pipelinedCases)
    func pipelinedSteps(index: Int, step: Int, d: Int, split: Int?) throws {
        let (name, k, v) = Self.uniform[index]
        let fixture = try DecodeFixture.ragged(k, v, d: d)
        try check(fixture, pagesPerSplit: split, portable: false, step: step, pipelined: true,
                  label: "\(name) pipelined step \(step) d=\(d) split \(split.map(String.init) ?? "auto")")
    }

    @Test("f16 arithmetic for q·k (shaderFloat16 devices) stays within 1e-2 of the CPU; refused for bitmap pages",
          arguments: [(2, 128, true), (4, 64, false), (1, 256, true)])
    func f16Arithmetic(step: Int, d: Int, pipelined: Bool) throws {
        let context = try #require(SharedContext.context)
        guard context.capabilities.shaderFloat16, context.capabilities.subgroupShuffle else { return }
        let fixture = try DecodeFixture.ragged(.f16, .f16, d: d)
        let device = try DeviceKVCache(context, flat: fixture.cache.flattened())
        let options = DecodeOptions(pagesPerSplit: 2, tokensPerStep: step, pipelined: pipelined, f16Arithmetic: true)
        let (got, launch) = try VulkanDecodeAttention(context: context).attend(device, queries: fixture.queries, options: options)
        #expect(launch.kernel == "decode_f16_subgroup_f16math" && launch.f16Arithmetic)
        // Each lane sums E/2 products per half in f16 (about 1e-3 relative), hence the wider bound.
        let err = try DecodeFixture.worstError(got, try fixture.expected(), d: d)
        #expect(err < 1e-2, "f16 arithmetic d=\(d) step \(step): worst rel. L2 \(err)")

        let bitmap = try DecodeFixture(qHeads: 8, kvHeads: 2, d: d, tokens: 20, sequences: 1) { _, _ in
            (Array(0..<20), Array(repeating: (PageEncoding.bitmap, PageEncoding.bitmap), count: 20))
        }
        if let why = try bitmap.refusal(context, options: .init(f16Arithmetic: true)) { #expect(why.contains("f16 arithmetic")) }
    }

    @Test("f16 arithmetic and pipelining are GPU defaults; a CPU device (lavapipe) runs fp32, load-then-use")
    func cpuDefaults() throws {
        let context = try #require(SharedContext.context)
        guard context.device.kind == .cpu else { return }
        let fixture = try DecodeFixture(qHeads: 8, kvHeads: 2, d: 128, tokens: 20, sequences: 1) { _, _ in
            (Array(0..<20), Array(repeating: (.f16, .f16), count: 20))
        }
        let device = try DeviceKVCache(context, flat: fixture.cache.flattened())
        let (_, launch) = try VulkanDecodeAttention(context: context).attend(device, queries: fixture.queries)
        #expect(launch.kernel.hasPrefix("decode_f16_") && !launch.f16Arithmetic && !launch.pipelined && launch.tokensPerStep == 1)
    }

    @Test("f16 arithmetic on raw int8 / int4 codes (q·k and value sums) stays within 1e-2 of the CPU",
          arguments: [(1, 4, 128, false), (3, 4, 128, true), (1, 2, 64, true), (3, 8, 256, false)])
    func f16ArithmeticCodes(index: Int, step: Int, d: Int, pipelined: Bool) throws {
        let context = try #require(SharedContext.context)
        guard context.capabilities.shaderFloat16, context.capabilities.subgroupShuffle else { return }
        let (name, k, v) = Self.uniform[index]
        let fixture = try DecodeFixture.ragged(k, v, d: d)
        let device = try DeviceKVCache(context, flat: fixture.cache.flattened())
        let options = DecodeOptions(pagesPerSplit: 2, tokensPerStep: step, pipelined: pipelined, f16Arithmetic: true)
        let (got, launch) = try VulkanDecodeAttention(context: context).attend(device, queries: fixture.queries, options: options)
        #expect(launch.kernel.hasSuffix("_f16math") && launch.f16Arithmetic, "\(launch.kernel)")
        let err = try DecodeFixture.worstError(got, try fixture.expected(), d: d)
        #expect(err < 1e-2, "\(name) f16 arithmetic d=\(d) step \(step): worst rel. L2 \(err)")
        let (fp32, _) = try VulkanDecodeAttention(context: context).attend(device, queries: fixture.queries,
                                                                          options: .init(pagesPerSplit: 2, f16Arithmetic: false))
        print("F16MATH \(name) d=\(d): f16 \(err), fp32 \(try DecodeFixture.worstError(fp32, try fixture.expected(), d: d))")
    }

    @Test("token groups merge in one round or several", arguments: [1, 3])
    func mergeRounds(limit: Int) throws {
        let fixture = try DecodeFixture(qHeads: 8, kvHeads: 2, d: 128, tokens: 300, sequences: 1) { _, _ in
            (Array(0..<300), Array(repeating: (.f16, .f16), count: 300))
        }
        try check(fixture, pagesPerSplit: 1 << 20, portable: false, mergeSlotLimit: limit, label: "merge slots <= \(limit)")
    }

    @Test("a workgroup of one token group writes from its lanes; 64 token groups keep their merge stats in two slots",
          arguments: [(8, 8, 1), (256, 16, 2)])
    func mergeExtremes(workgroup: Int, elements: Int, slots: Int) throws {
        let context = try #require(SharedContext.context)
        let caps = context.capabilities
        guard caps.subgroupShuffle, workgroup % caps.subgroupSize == 0, workgroup <= caps.maxWorkgroupSize else { return }
        // Head dim 64: 8 elements a lane make 8 lanes a token (a workgroup of 8: one token group), 16
        // make 4 (256: 64 token groups, whose stats, 2 · 64 · G floats, need two slots of G · 64
        // floats even when one is asked for).
        let fixture = try DecodeFixture(qHeads: 8, kvHeads: 2, d: 64, tokens: 300, sequences: 2) { _, _ in
            (Array(0..<300), Array(repeating: (.f16, .f16), count: 300))
        }
        let device = try DeviceKVCache(context, flat: fixture.cache.flattened())
        for split in [1 << 20, 3] {
            var options = DecodeOptions(pagesPerSplit: split, elementsPerLane: elements)
            options.workgroupSize = workgroup
            options.mergeSlotLimit = 1
            let (got, launch) = try VulkanDecodeAttention(context: context).attend(device, queries: fixture.queries, options: options)
            #expect(launch.workgroupSize == workgroup && launch.mergeSlots == slots, "\(launch)")
            let err = try DecodeFixture.worstError(got, try fixture.expected(), d: 64)
            #expect(err < 4e-3, "workgroup \(workgroup), \(launch.splits) splits: worst rel. L2 \(err)")
        }
    }

    @Test("more splits than the merge pass's 128 invocations (chunks of 32 splits, a tail of 4); masked splits before any visible one",
          arguments: [64, 256])
    func manySplits(d: Int) throws {
        // 2100 tokens in pages of 16: 132 pages, one split each.
        let fixture = try DecodeFixture(qHeads: 2, kvHeads: 1, d: d, tokens: 2100, sequences: 1) { _, _ in
            (Array(0..<2100), Array(repeating: (.f16, .f16), count: 2100))
        }
        try check(fixture, pagesPerSplit: 1, portable: false, label: "132 splits d=\(d)")
        // A window of 500 tokens ending at 1900: the first 86 splits (two whole chunks of the merge
        // pass, ten of the fused merge's) see no visible key, the last 12 neither.
        let context = try #require(SharedContext.context)
        let device = try DeviceKVCache(context, flat: fixture.cache.flattened())
        let mask = DecodeMask(queryPositions: [1900], window: 500)
        for fused in [false, true] {
            var options = DecodeOptions(pagesPerSplit: 1)
            options.fusedMerge = fused
            options.mergeSplitChunk = 8 // the GPUs' chunks (CPU devices load one split at a time)
            let (got, launch) = try VulkanDecodeAttention(context: context).attend(device, queries: fixture.queries, mask: mask,
                                                                                  options: options)
            let err = try DecodeFixture.worstError(got, try fixture.expected(mask: mask), d: d)
            #expect(launch.splits == 132 && launch.fusedMerge == fused && err < 4e-3, "132 splits, window, fused \(fused), d=\(d): worst rel. L2 \(err)")
        }
    }

    @Test("pools split into windows at head boundaries: same output as one buffer, ragged mixed heads, batch 2",
          arguments: [0, 3, 6])
    func poolWindows(index: Int) throws {
        let context = try #require(SharedContext.context)
        let (name, k, v) = Self.uniform[index]
        let fixture = try DecodeFixture(qHeads: 8, kvHeads: 4, d: 64, tokens: 40, sequences: 2) { s, h in
            let n = 40 - 7 * h - 3 * s
            return (Array(0..<n), Array(repeating: (k, v), count: n))
        }
        let flat = fixture.cache.flattened()
        // A third of the largest pool (plus the 16 bytes of padding): 3-4 windows of 8 ragged heads.
        let limit = flat.pools.map(\.count).max()! / 3 + 16
        let device = try DeviceKVCache(context, flat: flat, windowLimit: limit)
        #expect(device.poolWindows > 1, "\(name): pools \(flat.pools.map(\.count)) fit one window of \(limit)")
        let (got, _) = try VulkanDecodeAttention(context: context).attend(device, queries: fixture.queries, options: .init(pagesPerSplit: 1))
        #expect(try DecodeFixture.worstError(got, try fixture.expected(), d: 64) < 4e-3, "\(name), \(device.poolWindows) windows")
    }

    /// (uniform index, window, tokens per step, pipelined, pages per split).
    static let maskedCases: [(Int, Int?, Int, Bool, Int?)] = [(0, nil, 1, false, 1), (0, 5, 2, true, nil), (1, 7, 4, false, 2),
                                                               (3, 3, 4, true, 1), (5, 9, 1, false, nil), (6, 20, 2, false, 1)]

    @Test("masked by position: causal and sliding windows, queries inside the cache, kept tokens with gaps, batch 2",
          arguments: maskedCases)
    func masked(index: Int, window: Int?, step: Int, pipelined: Bool, split: Int?) throws {
        let context = try #require(SharedContext.context)
        let (name, k, v) = Self.uniform[index]
        // 90 tokens; head h keeps every other one from h on, sequence 1 also drops its last 10.
        let fixture = try DecodeFixture(qHeads: 8, kvHeads: 2, d: 64, tokens: 90, sequences: 2) { s, h in
            let kept = Array(stride(from: h, to: 90 - 10 * s, by: 2))
            return (kept, Array(repeating: (k, v), count: kept.count))
        }
        let device = try DeviceKVCache(context, flat: fixture.cache.flattened())
        let mask = DecodeMask(queryPositions: [41, 66], window: window)
        let options = DecodeOptions(pagesPerSplit: split, tokensPerStep: step, pipelined: pipelined)
        let (got, launch) = try VulkanDecodeAttention(context: context).attend(device, queries: fixture.queries, mask: mask, options: options)
        let err = try DecodeFixture.worstError(got, try fixture.expected(mask: mask), d: 64)
        #expect(err < 4e-3, "\(name) window \(window.map(String.init) ?? "none"): \(launch.kernel), worst rel. L2 \(err)")
        // The mask matters: unmasked attention differs.
        #expect(try DecodeFixture.worstError(got, try fixture.expected(), d: 64) > 1e-2)
    }

    @Test("a mask that hides every key of a head is a typed error; a bad window is refused")
    func maskWithoutKeys() throws {
        let context = try #require(SharedContext.context)
        let fixture = try DecodeFixture(qHeads: 4, kvHeads: 2, d: 64, tokens: 30, sequences: 1) { _, h in
            let kept = Array(10 * h..<30)
            return (kept, Array(repeating: (.f16, .f16), count: kept.count))
        }
        let device = try DeviceKVCache(context, flat: fixture.cache.flattened())
        let attention = VulkanDecodeAttention(context: context)
        // Head 1 keeps positions 10 ..< 30: a query at 5 sees none of them.
        let early = Result { () throws(VulkanError) in
            try attention.attend(device, queries: fixture.queries, mask: DecodeMask(queryPositions: [5]))
        }
        guard case .failure(.noVisibleKeys(0, 0, 1, 5, nil)) = early else { Issue.record("\(early)"); return }
        // Head 0 keeps 0 ..< 30: a query at 40 with a window of 5 sees nothing (keys 36 ..< 40 are gone).
        let far = Result { () throws(VulkanError) in
            try attention.attend(device, queries: fixture.queries, mask: DecodeMask(queryPositions: [40], window: 5))
        }
        guard case .failure(.noVisibleKeys(0, 0, 0, 40, 5)) = far else { Issue.record("\(far)"); return }
        let zero = Result { () throws(VulkanError) in
            try attention.attend(device, queries: fixture.queries, mask: DecodeMask(queryPositions: [20], window: 0))
        }
        guard case .failure(.unsupported) = zero else { Issue.record("\(zero)"); return }
    }

    @Test("the mixed kernel with several tokens per step")
    func mixedStep() throws {
        let n = 61
        let fixture = try DecodeFixture(qHeads: 8, kvHeads: 2, d: 128, tokens: n, sequences: 1, pageSize: 16) { _, _ in
            (Array(0..<n), (0..<n).map { Self.tiers[($0 / 16) % Self.tiers.count] })
        }
        try check(fixture, pagesPerSplit: 1 << 20, portable: false, kernel: .mixed, step: 2, label: "mixed step 2")
    }

    static let tiers: [(PageEncoding, PageEncoding)] = [(.f16, .f16), (int8t, int8t), (int4c, int4t), (.bitmap, .bitmap), (int8c, .f16)]

    @Test("mixed encodings in one head (ARKV tiers) and ragged heads with evicted tokens, batch 2",
          arguments: [(64, 8, false), (128, 4, false), (256, 1, false), (128, 4, true)])
    func mixedRagged(d: Int, group: Int, portable: Bool) throws {
        let n = 70
        let fixture = try DecodeFixture(qHeads: 2 * group, kvHeads: 2, d: d, tokens: n, sequences: 2, pageSize: 7) { s, h in
            switch (s, h) {
            case (0, 0): return (Array(0..<n), (0..<n).map { Self.tiers[($0 / 5) % Self.tiers.count] })
            case (0, 1): return ([0, 33, 69], [Self.tiers[0], Self.tiers[3], Self.tiers[1]])
            case (1, 0): return ([17], [(.bitmap, .f16)])
            default: return (Array(stride(from: 1, to: n, by: 3)), (0..<23).map { Self.tiers[$0 % 4] })
            }
        }
        for split in [1 << 20, 1, 3] {
            // Automatic: one pass per kernel the classes need; then the mixed kernel over all of them.
            try check(fixture, pagesPerSplit: split, portable: portable, label: "mixed/ragged d=\(d) split \(split)")
            if split == 3 { // the one mixed kernel over every class too (each pipeline is a cold compile on lavapipe)
                try check(fixture, pagesPerSplit: split, portable: portable, kernel: .mixed, label: "mixed kernel/ragged d=\(d) split \(split)")
            }
        }
    }

    @Test("a kernel asked to read encodings it does not cover is refused")
    func wrongKernel() throws {
        let context = try #require(SharedContext.context)
        let fixture = try DecodeFixture(qHeads: 2, kvHeads: 1, d: 64, tokens: 20, sequences: 1) { _, _ in
            (Array(0..<20), Array(repeating: (.bitmap, .bitmap), count: 20))
        }
        _ = try fixture.refusal(context, options: .init(kernel: .f16))
    }
}
