import CVulkan

/// One descriptor set of the decode kernels' layout with its own descriptor pool, rewritten only
/// when the buffers bound to it change: a call made afresh owns one; the live sessions' batched
/// attend keeps one per pool bank and reuses it call after call.
final class DecodeBindings {
    let context: VulkanContext
    private let pool: VkDescriptorPool
    let set: VkDescriptorSet
    /// The buffers last written, per binding, held so that none is freed while bound (compared by
    /// identity, a buffer made later at a freed one's address would otherwise pass for it).
    private var bound: [[DeviceBuffer]] = []

    init(_ context: VulkanContext) throws(VulkanError) {
        let vk = context.vk, device = context.handle
        let (setLayout, _) = try context.kernels.layouts(context)
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
        self.context = context
        self.pool = pool!
        self.set = set
        context.live.change(descriptorPools: 1)
    }

    deinit {
        context.live.change(descriptorPools: -1)
        context.vk.destroyDescriptorPool(context.handle, pool, nil)
    }

    /// Binds `perBinding[b]` (an array of buffers for the pools' windows, one buffer otherwise)
    /// to binding `b`, writing the set only where it differs from what is bound.
    func bind(_ perBinding: [[DeviceBuffer]]) {
        let same = perBinding.count == bound.count && zip(perBinding, bound).allSatisfy { new, old in
            new.count == old.count && zip(new, old).allSatisfy { $0 === $1 }
        }
        guard !same else { return }
        bound = perBinding
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
            context.vk.updateDescriptorSets(context.handle, UInt32(writes.count), &writes, 0, nil)
        }
    }
}

/// The per-call buffers of a decode (queries, output, split partials, query positions with the
/// fused merge's counters), kept and grown across calls by a caller that makes many.
///
/// Each buffer is made by the first `reserve` at the size it asks (a device memory allocation
/// each: on an H100 a session pool lane's first call over a bank spent milliseconds making them
/// at 16 bytes and again at their size), so the buffers are read only after a `reserve`.
final class DecodeCallBuffers {
    let context: VulkanContext
    let bindings: DecodeBindings
    private var made: (queries: DeviceBuffer, output: DeviceBuffer, partials: DeviceBuffer, queryPositions: DeviceBuffer)?
    private var madePassDirectory: DeviceBuffer?

    var queries: DeviceBuffer { made!.queries }
    var output: DeviceBuffer { made!.output }
    var partials: DeviceBuffer { made!.partials }
    var queryPositions: DeviceBuffer { made!.queryPositions }
    /// The kernel passes' directories of a call with several passes (after `reserve(passDirectory:)`).
    var passDirectory: DeviceBuffer { madePassDirectory! }

    init(_ context: VulkanContext) throws(VulkanError) {
        self.context = context
        bindings = try DecodeBindings(context)
    }

    /// Makes or grows the buffers to hold a call's bytes (the contents are not kept).
    func reserve(queries q: Int, partials p: Int, queryPositions qp: Int) throws(VulkanError) {
        func grown(_ b: DeviceBuffer?, _ bytes: Int) throws(VulkanError) -> DeviceBuffer {
            guard let b else { return try DeviceBuffer(context, size: bytes) }
            return b.size >= bytes ? b : try DeviceBuffer(context, size: max(bytes, 2 * b.size))
        }
        made = (try grown(made?.queries, q), try grown(made?.output, q), try grown(made?.partials, p),
                try grown(made?.queryPositions, qp))
    }

    /// Makes or grows the pass-directory buffer to `bytes` (the contents are not kept).
    func reserve(passDirectory bytes: Int) throws(VulkanError) {
        if let b = madePassDirectory, b.size >= bytes { return }
        madePassDirectory = try DeviceBuffer(context, size: max(bytes, 2 * (madePassDirectory?.size ?? 0)))
    }
}
