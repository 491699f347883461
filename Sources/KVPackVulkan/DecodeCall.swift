import CVulkan
import KVPack

/// One prepared decode: the launch geometry, the per-call buffers (queries, output, split
/// partials) and a descriptor set over them and the cache. Released when it goes out of scope.
final class DecodeCall {
    let context: VulkanContext
    let cache: DeviceKVCache
    let launch: DecodeLaunch
    private let decode: VkPipeline
    private let merge: VkPipeline?
    private let layout: VkPipelineLayout
    private let queries: DeviceBuffer
    private let queryPositions: DeviceBuffer
    private let outputBuffer: DeviceBuffer
    private let partials: DeviceBuffer
    private let descriptorPool: VkDescriptorPool
    private let set: VkDescriptorSet
    private let push: [UInt32]
    private let mergePush: [UInt32]
    private let kvHeads, group, sequences, headDim: Int

    init(_ context: VulkanContext, cache: DeviceKVCache, layer: Int, queries q: [Float], mask: DecodeMask?,
         options: DecodeOptions) throws(VulkanError) {
        let m = cache.model, d = m.headDim
        precondition((0..<m.layerCount).contains(layer), "layer \(layer) outside 0..<\(m.layerCount)")
        precondition(q.count == cache.sequenceCount * m.queryHeads * d,
                     "queries must be [sequences, queryHeads, headDim] = [\(cache.sequenceCount), \(m.queryHeads), \(d)]")
        if let mask {
            precondition(mask.queryPositions.count == cache.sequenceCount, "one query position per sequence")
            if let w = mask.window, w <= 0 { throw .unsupported("a sliding window must be positive; got \(w)") }
            for (s, position) in mask.queryPositions.enumerated() {
                for h in 0..<m.kvHeads where !cache.hasVisibleKey(sequence: s, layer: layer, kvHead: h, query: position, window: mask.window) {
                    throw .noVisibleKeys(sequence: s, layer: layer, kvHead: h, queryPosition: position, window: mask.window)
                }
            }
        }
        let facts = cache.layers[layer]
        let group = m.queryHeads / m.kvHeads
        let caps = context.capabilities
        guard group * (d + 2) * 4 <= caps.maxSharedMemory else {
            throw .unsupported("GQA group \(group) at head dim \(d) needs \(group * (d + 2) * 4) bytes of shared memory")
        }
        guard caps.poolWindowIndexing else {
            throw .unsupported("the device lacks shaderStorageBufferArrayDynamicIndexing (the kernels index pool windows)")
        }
        guard caps.maxStorageBuffersPerStage >= KernelLibrary.descriptors else {
            throw .unsupported("the kernels bind \(KernelLibrary.descriptors) storage buffers; the device allows \(caps.maxStorageBuffersPerStage) per stage")
        }
        let subgroup = KernelChoice.subgroupPath(caps, options)
        let gpu = context.device.kind != .cpu
        let choice = try KernelChoice(context, cache: cache, layer: layer, options: options)
        let kernel = choice.kernel, elements = choice.elementsPerLane
        let lanes = d / elements
        let workgroup = subgroup ? max(128, caps.subgroupSize) : 32
        let groups = workgroup / lanes
        let base = max(1, cache.sequenceCount * m.kvHeads)
        let pagesPerSplit: Int
        if let p = options.pagesPerSplit {
            pagesPerSplit = max(1, p)
        } else {
            // At most 16 pages per token group (longer splits leave a tail of few long workgroups),
            // and enough workgroups to fill the device while each token group keeps at least 4 pages.
            let byLength = (facts.maxPages + 16 * groups - 1) / (16 * groups)
            let byOccupancy = min((options.targetWorkgroups + base - 1) / base, facts.maxPages / (4 * groups))
            let splits = max(1, byLength, byOccupancy)
            pagesPerSplit = (facts.maxPages + splits - 1) / splits
        }
        let splits = max(1, (facts.maxPages + pagesPerSplit - 1) / pagesPerSplit)
        let f16Arithmetic = options.f16Arithmetic ?? (kernel.hasF16Arithmetic && subgroup && caps.shaderFloat16 && gpu)
        if f16Arithmetic {
            guard kernel.hasF16Arithmetic, subgroup, caps.shaderFloat16 else {
                throw .unsupported("f16 arithmetic needs the f16 or raw-code int8 / int4 kernel on the subgroup path and a device with shaderFloat16 (this call: \(kernel) kernel, subgroup path \(subgroup), shaderFloat16 \(caps.shaderFloat16))")
            }
        }
        let accelerated = caps.integerDotProduct && caps.integerDotProductAccelerated
        let integerDot = options.integerDot ?? (kernel.hasIntegerDot && f16Arithmetic && accelerated && gpu)
        if integerDot {
            guard kernel.hasIntegerDot, f16Arithmetic, caps.integerDotProduct else {
                throw .unsupported("integer dot products need the raw-code int8 / int4 kernel with f16 arithmetic and a device with VK_KHR_shader_integer_dot_product (this call: \(kernel) kernel, f16 arithmetic \(f16Arithmetic), integer dot products \(caps.integerDotProduct))")
            }
        }
        let name = "decode_\(kernel.rawValue)_\(subgroup ? "subgroup" : "portable")" + (f16Arithmetic ? "_f16math" : "")
            + (integerDot ? "_intdot" : "")
        let step = max(1, min(16, options.tokensPerStep ?? Self.defaultStep(kernel, subgroup: subgroup, device: context.device.kind)))
        let pipelined = Self.rawSteps.contains(kernel) && (options.pipelined ?? gpu)
        let f16ValueSums = kernel == .f16 && f16Arithmetic && (options.f16ValueSums ?? true)
        // Raw-code kernels load a lane's codes of a row in words of 4, 8 or 16 bytes, as wide as
        // the slice (elements × bits / 8 bytes) and the page offsets' alignment allow.
        let codeLoadBytes = kernel == .int8 || kernel == .int4
            ? min(16, (d / lanes) * (kernel == .int8 ? 8 : 4) / 8, facts.codeAlignment) : 0
        let slotBytes = group * (d + 2) * 4
        let mergeSlots = max(1, min(groups - 1, caps.maxSharedMemory / slotBytes, options.mergeSlotLimit ?? .max))
        self.launch = DecodeLaunch(kernel: name, splits: splits, pagesPerSplit: pagesPerSplit, workgroupSize: workgroup,
                                   lanesPerToken: lanes, tokensPerStep: step, pipelined: pipelined, mergeSlots: mergeSlots,
                                   f16Arithmetic: f16Arithmetic, f16ValueSums: f16ValueSums, codeLoadBytes: codeLoadBytes,
                                   integerDot: integerDot)
        self.context = context
        self.cache = cache
        self.kvHeads = m.kvHeads
        self.group = group
        self.sequences = cache.sequenceCount
        self.headDim = d
        self.decode = try context.kernels.pipeline(
            KernelKey(name: name, constants: [UInt32(workgroup), UInt32(d), UInt32(d / lanes), UInt32(group), UInt32(step),
                                              pipelined ? 1 : 0, UInt32(mergeSlots), mask == nil ? 0 : 1, f16ValueSums ? 1 : 0,
                                              UInt32(max(1, codeLoadBytes / 4))]), context)
        self.merge = splits > 1
            ? try context.kernels.pipeline(KernelKey(name: "split_merge", constants: [0, UInt32(d)]), context) : nil
        let (setLayout, layout) = try context.kernels.layouts(context)
        self.layout = layout
        let scale = options.scale ?? 1 / Float(d).squareRoot()
        self.push = [UInt32(m.layerCount), UInt32(layer), UInt32(m.kvHeads), UInt32(pagesPerSplit), UInt32(splits), scale.bitPattern,
                     UInt32(mask?.window ?? 0)]
        self.mergePush = [UInt32(m.queryHeads), UInt32(splits)]

        self.queries = try DeviceBuffer(context, contents: q)
        // Positions fit Int32 (FlatCache stores them so); clamped so that a far query stays far.
        let positionsOfQueries = (mask?.queryPositions ?? []).map { Int32(clamping: $0) }
        self.queryPositions = try DeviceBuffer(context, contents: positionsOfQueries, minimumSize: 16)
        self.outputBuffer = try DeviceBuffer(context, size: 4 * q.count)
        self.partials = try DeviceBuffer(context, size: splits > 1 ? 4 * cache.sequenceCount * m.queryHeads * splits * (d + 2) : 16)

        let vk = context.vk, device = context.handle
        var size = VkDescriptorPoolSize(type: VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, descriptorCount: UInt32(KernelLibrary.descriptors))
        var poolInfo = VkDescriptorPoolCreateInfo()
        poolInfo.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO
        poolInfo.maxSets = 1
        poolInfo.poolSizeCount = 1
        var pool: VkDescriptorPool? = nil
        let r = withUnsafePointer(to: &size) { s in
            poolInfo.pPoolSizes = s
            return vk.createDescriptorPool(device, &poolInfo, nil, &pool)
        }
        try r.check("vkCreateDescriptorPool")
        var set: VkDescriptorSet? = nil
        var layouts: VkDescriptorSetLayout? = setLayout
        let r2 = withUnsafePointer(to: &layouts) { l in
            var allocate = VkDescriptorSetAllocateInfo()
            allocate.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO
            allocate.descriptorPool = pool
            allocate.descriptorSetCount = 1
            allocate.pSetLayouts = l
            return vk.allocateDescriptorSets(device, &allocate, &set)
        }
        guard r2 == VK_SUCCESS, let set else {
            vk.destroyDescriptorPool(device, pool, nil)
            throw .call("vkAllocateDescriptorSets", code: r2.rawValue)
        }
        self.descriptorPool = pool!
        self.set = set
        context.live.change(descriptorPools: 1)
        // One array per binding; a pool's unused windows repeat its first (never read: no head names them).
        var perBinding: [[DeviceBuffer]] = [[cache.directory], [cache.table]]
        for windows in cache.pools {
            perBinding.append((0..<PoolWindows.maximum).map { (i: Int) -> DeviceBuffer in windows[i < windows.count ? i : 0] })
        }
        let perCall: [DeviceBuffer] = [queries, outputBuffer, partials, cache.positions, queryPositions]
        perBinding += perCall.map { [$0] }
        let infos = perBinding.flatMap { $0.map { VkDescriptorBufferInfo(buffer: $0.handle, offset: 0, range: VkDeviceSize($0.size)) } }
        infos.withUnsafeBufferPointer { infoPointer in
            var first = 0
            var writes: [VkWriteDescriptorSet] = []
            for (binding, buffers) in perBinding.enumerated() {
                var w = VkWriteDescriptorSet()
                w.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET
                w.dstSet = set
                w.dstBinding = UInt32(binding)
                w.descriptorCount = UInt32(buffers.count)
                w.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER
                w.pBufferInfo = infoPointer.baseAddress! + first
                writes.append(w)
                first += buffers.count
            }
            vk.updateDescriptorSets(device, UInt32(writes.count), &writes, 0, nil)
        }
    }

    /// Kernels whose steps are raw words (`TAKE_STEP` in `Kernels/include/decode_main.glsl`): they
    /// can load the next step while using this one, and have an f16-arithmetic build.
    static let rawSteps: Set<DecodeKernel> = [.f16, .int8, .int4]

    /// Tokens per step, the best of the H200 sweeps (`Tools/bench/results/h200-lanes`, B=1 N=128K
    /// and B=8 N=32K): 4 for the f16 and raw-code int8 / int4 kernels (16 elements per lane,
    /// pipelined, f16 arithmetic); 2 for the kernels that expand rows to floats; 1 on the portable
    /// path and on CPU devices (lavapipe), where it buys nothing and unrolled code compiles slowly.
    static func defaultStep(_ kernel: DecodeKernel, subgroup: Bool, device: VulkanDeviceInfo.Kind) -> Int {
        guard subgroup, device != .cpu else { return 1 }
        return rawSteps.contains(kernel) ? 4 : 2
    }

    deinit {
        context.live.change(descriptorPools: -1)
        context.vk.destroyDescriptorPool(context.handle, descriptorPool, nil)
    }

    /// The driver's statistics of the decode kernel this call runs.
    var statistics: [KernelStatistic] { context.kernels.statistics(decode, context) }

    /// Records the decode dispatch and, with split-K, the merge pass.
    func record(_ commands: VkCommandBuffer) {
        let vk = context.vk
        var set: VkDescriptorSet? = self.set
        vk.cmdBindPipeline(commands, VK_PIPELINE_BIND_POINT_COMPUTE, decode)
        vk.cmdBindDescriptorSets(commands, VK_PIPELINE_BIND_POINT_COMPUTE, layout, 0, 1, &set, 0, nil)
        push.withUnsafeBytes { vk.cmdPushConstants(commands, layout, UInt32(VK_SHADER_STAGE_COMPUTE_BIT.rawValue), 0, UInt32($0.count), $0.baseAddress) }
        vk.cmdDispatch(commands, UInt32(launch.splits), UInt32(kvHeads), UInt32(sequences))
        if let merge {
            barrier(commands)
            vk.cmdBindPipeline(commands, VK_PIPELINE_BIND_POINT_COMPUTE, merge)
            mergePush.withUnsafeBytes { vk.cmdPushConstants(commands, layout, UInt32(VK_SHADER_STAGE_COMPUTE_BIT.rawValue), 0, UInt32($0.count), $0.baseAddress) }
            vk.cmdDispatch(commands, UInt32(kvHeads * group), UInt32(sequences), 1)
        }
    }

    /// Compute writes before later compute and transfer reads.
    func barrier(_ commands: VkCommandBuffer) {
        var b = VkMemoryBarrier()
        b.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER
        b.srcAccessMask = UInt32(VK_ACCESS_SHADER_WRITE_BIT.rawValue)
        b.dstAccessMask = UInt32(VK_ACCESS_SHADER_READ_BIT.rawValue | VK_ACCESS_SHADER_WRITE_BIT.rawValue | VK_ACCESS_TRANSFER_READ_BIT.rawValue)
        context.vk.cmdPipelineBarrier(commands, UInt32(VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT.rawValue),
                                      UInt32(VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT.rawValue | VK_PIPELINE_STAGE_TRANSFER_BIT.rawValue),
                                      0, 1, &b, 0, nil, 0, nil)
    }

    /// The output, `[sequences, queryHeads, headDim]`.
    func output() throws(VulkanError) -> [Float] {
        var out = [Float](repeating: 0, count: sequences * kvHeads * group * headDim)
        let r = out.withUnsafeMutableBytes { raw in Result { () throws(VulkanError) in try outputBuffer.download(into: raw) } }
        try r.get()
        return out
    }
}
