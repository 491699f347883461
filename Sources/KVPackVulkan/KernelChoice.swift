import KVPack

/// Which decode kernel a layer runs and how many elements of a row each lane handles: a pure
/// function of the layer's encodings, the head dim, the device and the options, so that the GPU
/// defaults can be checked on a machine without a GPU.
struct KernelChoice: Equatable {
    var kernel: DecodeKernel
    /// Elements of a row per lane; `headDim / elementsPerLane` lanes share a token (1 on the portable path).
    var elementsPerLane: Int

    init(kernel: DecodeKernel, elementsPerLane: Int) {
        self.kernel = kernel
        self.elementsPerLane = elementsPerLane
    }

    /// The choice for `layer` of `cache` on `context`'s device: the subgroup path where the device
    /// has subgroup shuffles and `options` does not ask for the portable one.
    init(_ context: VulkanContext, cache: DeviceKVCache, layer: Int, options: DecodeOptions) throws(VulkanError) {
        let facts = cache.layers[layer]
        try self.init(context, kinds: facts.kinds, groupings: facts.groupings, headDim: cache.model.headDim,
                      queryGroup: cache.model.groupSize, options: options)
    }

    /// The choice for pages of `kinds` and `groupings` on `context`'s device (as above);
    /// `wholeLayer` false for one class of a layer of several (one pass of a mixed layer).
    init(_ context: VulkanContext, kinds: Set<PageEncodingKind>, groupings: Set<QuantizationGrouping>, headDim: Int,
         queryGroup: Int, options: DecodeOptions, wholeLayer: Bool = true) throws(VulkanError) {
        var caps = context.capabilities
        let coopmatName = KernelLibrary.coopmatKind(of: kinds).map(KernelLibrary.coopmatName)
        if caps.cooperativeMatrix, let coopmatName, !KernelLibrary.embeds(coopmatName) {
            caps.cooperativeMatrix = false
            caps.cooperativeMatrixMissing = ["the \(coopmatName) kernel in this kvpack build (built without a glslangValidator that has GL_KHR_cooperative_matrix; Kernels/README.md)"]
        }
        try self.init(kinds: kinds, groupings: groupings, headDim: headDim, queryGroup: queryGroup,
                      subgroupSize: Self.subgroupPath(caps, options) ? caps.subgroupSize : nil,
                      gpu: context.device.kind != .cpu, options: options, capabilities: caps, wholeLayer: wholeLayer)
    }

    /// Whether a call runs the subgroup kernels (else the portable ones).
    static func subgroupPath(_ caps: VulkanCapabilities, _ options: DecodeOptions) -> Bool {
        caps.subgroupShuffle && !options.portable && caps.subgroupSize >= 2
    }

    /// Whether `.automatic` picks the cooperative-matrix kernels where they can run, by GQA group:
    /// from 8 query heads per KV head on. Checked against the CPU on an NVIDIA H100 (f16, int8/g32
    /// and int4/g32 pages, 36 cases each, relative L2 at most 2.6e-3) and timed there against the
    /// portable kernels of the same pages: at GQA 8 f16 was 1.04-1.15x faster, int8 1.25-1.42x and
    /// int4 1.31-1.52x (B=1 N=32K / 128K, B=8 N=32K); at GQA 4 f16 up to 3.6% slower and int8 /
    /// int4 up to 20% slower, so GQA 4 keeps the portable kernels (`Tools/bench/README.md`,
    /// "Cooperative matrices on the H100").
    static func coopmatChosenAutomatically(queryGroup: Int) -> Bool { queryGroup >= 8 }

    /// - Parameters:
    ///   - kinds / groupings: the encodings and int8 / int4 groupings of the layer's pages.
    ///   - queryGroup: query heads per KV head (each lane holds `queryGroup x elements` query and
    ///     accumulator values).
    ///   - subgroupSize: lanes of the subgroup path, or nil for the portable path (one lane per token).
    ///   - gpu: a GPU (not a CPU implementation such as lavapipe): defaults to 16 elements per lane.
    ///   - capabilities: the device's, for the cooperative-matrix kernel (nil: not considered).
    ///   - wholeLayer: the pages are the whole layer's (false for one pass of a mixed layer, which
    ///     keeps the portable / subgroup kernels: `.coopmat` is chosen for whole layers only).
    ///   - coopmatAutomatically: whether `.automatic` may pick `.coopmat` (nil:
    ///     `coopmatChosenAutomatically(queryGroup:)`).
    /// - Throws: `VulkanError.unsupported` for an elements-per-lane option the kernels cannot take,
    ///   a kernel option that does not cover the layer's encodings, or `.coopmat` asked for where
    ///   it cannot run (naming what is missing).
    init(kinds: Set<PageEncodingKind>, groupings: Set<QuantizationGrouping>, headDim d: Int, queryGroup: Int = 4,
         subgroupSize: Int?, gpu: Bool, options: DecodeOptions, capabilities: VulkanCapabilities? = nil,
         wholeLayer: Bool = true, coopmatAutomatically: Bool? = nil) throws(VulkanError) {
        // The raw-code int8 / int4 kernels need token groups of a power of two that cover a lane's
        // slice of a row (so one (scale, zero) per row and lane).
        func rawCodes(_ elements: Int) -> Bool {
            groupings.allSatisfy { g in g.axis == .token && g.groupSize & (g.groupSize - 1) == 0 && g.groupSize % elements == 0 }
        }
        // Elements per lane: the option, else on GPUs 16 for GQA groups up to 4 and 8 for larger
        // groups (a lane holds group x elements query and accumulator values: 8 x 16 spills; see
        // Kernels/README.md, "Defaults"), else the fewest a subgroup allows (8 at head dims up
        // to 8 x subgroup size).
        let fewest = subgroupSize.map { max(8, d / $0) } ?? d
        let gpuElements = queryGroup <= 4 ? 16 : 8
        if subgroupSize != nil, let e = options.elementsPerLane {
            guard [8, 16, 32].contains(e), e >= fewest, e <= d else {
                throw .unsupported("\(e) elements per lane: the kernels take 8, 16 or 32, at least headDim / subgroupSize = \(fewest) and at most headDim = \(d)")
            }
        }
        let wide = subgroupSize == nil ? d : options.elementsPerLane ?? (gpu ? min(d, max(gpuElements, fewest)) : fewest)
        var kernel = options.kernel
        // The cooperative-matrix kernel: on request, or automatically for a layer of f16, int8 or
        // int4 pages it reads where it can run and the options ask nothing only the other kernels
        // do (a lane width, a step other than its 16 tokens, fp32 arithmetic).
        let refusal = Self.cooperativeRefusal(capabilities, subgroupSize: subgroupSize, headDim: d, queryGroup: queryGroup, options: options)
        if kernel == .coopmat, let why = refusal ?? Self.coopmatPagesRefusal(kinds: kinds, groupings: groupings) {
            throw .unsupported("the coopmat kernel (cooperative matrices) cannot run: \(why)")
        }
        if kernel == .automatic, coopmatAutomatically ?? Self.coopmatChosenAutomatically(queryGroup: queryGroup),
           Self.coopmatPagesRefusal(kinds: kinds, groupings: groupings) == nil, wholeLayer, refusal == nil, options.elementsPerLane == nil,
           options.f16Arithmetic != false {
            kernel = .coopmat
        }
        if kernel == .automatic {
            kernel = DecodeKernel.choose(for: kinds)
            if kernel == .quant, kinds.count == 1, rawCodes(wide) || (options.elementsPerLane == nil && rawCodes(fewest)) {
                kernel = kinds == [.int8] ? .int8 : .int4
            }
        }
        var elements = wide
        // Token groups smaller than the default slice: the raw-code kernels at the fewest elements.
        if kernel == .int8 || kernel == .int4, !rawCodes(elements), options.elementsPerLane == nil { elements = fewest }
        guard kernel.covers(kinds), rawCodes(elements) || (kernel != .int8 && kernel != .int4) else {
            throw .unsupported("the \(kernel) kernel cannot read pages encoded \(kinds.map(\.description).sorted()) grouped \(groupings.map(\.description).sorted()) with \(elements) elements per lane")
        }
        self.kernel = kernel
        // The cooperative-matrix kernel: one 32-lane subgroup a token, E = D / 32 (decode_merge's layout).
        self.elementsPerLane = kernel == .coopmat ? d / 32 : elements
    }

    /// Why the cooperative-matrix kernels cannot read a layer's pages (nil when one can): all f16,
    /// or all int8 or all int4 (keys and values) in token groups of a power of two that cover a
    /// 16-byte code word, 16 int8 or 32 int4 channels (`Kernels/include/coopmat_codes.glsl`: each
    /// lane dequantizes whole words with one (scale, zero)); anything else keeps the other kernels.
    static func coopmatPagesRefusal(kinds: Set<PageEncodingKind>, groupings: Set<QuantizationGrouping>) -> String? {
        guard let kind = KernelLibrary.coopmatKind(of: kinds) else {
            return "it reads layers whose pages are all f16, all int8 or all int4; this layer: \(kinds.map(\.description).sorted().joined(separator: ", "))"
        }
        guard kind != .f16 else { return nil }
        let word = kind == .int8 ? 16 : 32 // channels of one 16-byte code word
        let unread = groupings.filter { g in g.axis != .token || g.groupSize < word || g.groupSize & (g.groupSize - 1) != 0 }
        guard unread.isEmpty else {
            return "its \(kind) pages need token groups of a power of two, at least \(word) channels (one scale and zero per 16-byte code word); this layer: \(unread.map(\.description).sorted().joined(separator: ", "))"
        }
        return nil
    }

    /// Why the cooperative-matrix kernel cannot run a call (nil when it can): the device must have
    /// it (`VulkanCapabilities.cooperativeMatrix`), the call run on the subgroup path with
    /// subgroups of 32 lanes (one token group a subgroup), the GQA group be at most 8 (rows 0 ..< 8
    /// of a 16-row tile), the head dim 64, 128 or 256, a step 16 tokens (one tile), and a
    /// workgroup's shared memory fit the device's (`DecodeCall.coopmatWorkgroup`).
    static func cooperativeRefusal(_ caps: VulkanCapabilities?, subgroupSize: Int?, headDim d: Int, queryGroup: Int,
                                   options: DecodeOptions) -> String? {
        guard let caps, caps.cooperativeMatrix else {
            let missing = caps?.cooperativeMatrixMissing ?? []
            return "lacking \(missing.isEmpty ? "cooperative matrices on this device" : missing.joined(separator: ", "))"
        }
        guard subgroupSize == 32 else {
            return "it needs subgroups of 32 lanes on the subgroup path; this call: \(subgroupSize.map { "subgroups of \($0)" } ?? "the portable path")"
        }
        guard (1...8).contains(queryGroup) else { return "it takes GQA groups of 1 to 8 query heads per KV head; this layer: \(queryGroup)" }
        guard [64, 128, 256].contains(d) else { return "it takes head dims 64, 128 and 256; this layer: \(d)" }
        if let step = options.tokensPerStep, step != 16 { return "its steps are 16 tokens (one tile); asked: \(step)" }
        if let e = options.elementsPerLane, e != d / 32 { return "it runs \(d / 32) elements per lane at head dim \(d); asked: \(e)" }
        guard DecodeCall.coopmatWorkgroup(headDim: d, queryGroup: queryGroup, sharedMemory: caps.maxSharedMemory,
                                          maxWorkgroup: caps.maxWorkgroupSize, asked: options.workgroupSize) != nil else {
            let invocations = options.workgroupSize ?? 32
            let least = DecodeCall.coopmatSharedBytes(headDim: d, queryGroup: queryGroup, subgroups: max(1, invocations / 32),
                                                      mergeSlots: DecodeCall.leastMergeSlots(tokenGroups: max(1, invocations / 32), headDim: d),
                                                      pageCacheEntries: 0)
            return "a workgroup of \(invocations) invocations (a multiple of 32, at most \(caps.maxWorkgroupSize)) needs \(least) bytes of shared memory at head dim \(d), GQA \(queryGroup); the device has \(caps.maxSharedMemory)"
        }
        return nil
    }
}
