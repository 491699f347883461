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

    /// The choice for pages of `kinds` and `groupings` on `context`'s device (as above).
    init(_ context: VulkanContext, kinds: Set<PageEncodingKind>, groupings: Set<QuantizationGrouping>, headDim: Int,
         queryGroup: Int, options: DecodeOptions) throws(VulkanError) {
        let caps = context.capabilities
        try self.init(kinds: kinds, groupings: groupings, headDim: headDim, queryGroup: queryGroup,
                      subgroupSize: Self.subgroupPath(caps, options) ? caps.subgroupSize : nil,
                      gpu: context.device.kind != .cpu, options: options)
    }

    /// Whether a call runs the subgroup kernels (else the portable ones).
    static func subgroupPath(_ caps: VulkanCapabilities, _ options: DecodeOptions) -> Bool {
        caps.subgroupShuffle && !options.portable && caps.subgroupSize >= 2
    }

    /// - Parameters:
    ///   - kinds / groupings: the encodings and int8 / int4 groupings of the layer's pages.
    ///   - queryGroup: query heads per KV head (each lane holds `queryGroup x elements` query and
    ///     accumulator values).
    ///   - subgroupSize: lanes of the subgroup path, or nil for the portable path (one lane per token).
    ///   - gpu: a GPU (not a CPU implementation such as lavapipe): defaults to 16 elements per lane.
    /// - Throws: `VulkanError.unsupported` for an elements-per-lane option the kernels cannot take,
    ///   or a kernel option that does not cover the layer's encodings.
    init(kinds: Set<PageEncodingKind>, groupings: Set<QuantizationGrouping>, headDim d: Int, queryGroup: Int = 4,
         subgroupSize: Int?, gpu: Bool, options: DecodeOptions) throws(VulkanError) {
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
        self.elementsPerLane = elements
    }
}
