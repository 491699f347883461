import CVulkan

/// What one submission of the session pool reuses call after call: a command pool and buffer, a
/// fence, a host-visible staging buffer (uploads) and a readback buffer (outputs), grown when a
/// call needs more.
final class SubmissionFrame {
    let context: VulkanContext
    private let commandPool: VkCommandPool
    let commands: VkCommandBuffer
    let fence: VkFence
    private(set) var staging: DeviceBuffer
    private(set) var readback: DeviceBuffer
    /// Four timestamps per submission (start, uploads done, decodes done, end), where the queue
    /// has timestamps.
    let timestamps: VkQueryPool?

    /// Where staging buffers are made (`.host` or `.upload`): `.upload` until one cannot be
    /// allocated there (a device whose host-visible device-local heap is small or full, e.g. a
    /// 256 MiB BAR), then `.host` for the frame's life.
    private(set) var stagingLocation: DeviceBuffer.Location

    init(_ context: VulkanContext, staging stagingLocation: DeviceBuffer.Location = .host) throws(VulkanError) {
        let vk = context.vk, device = context.handle
        self.stagingLocation = stagingLocation
        var poolInfo = VkCommandPoolCreateInfo()
        poolInfo.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO
        poolInfo.flags = UInt32(VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT.rawValue)
        poolInfo.queueFamilyIndex = context.queueFamily
        var pool: VkCommandPool? = nil
        try vk.createCommandPool(device, &poolInfo, nil, &pool).check("vkCreateCommandPool")
        var allocate = VkCommandBufferAllocateInfo()
        allocate.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO
        allocate.commandPool = pool
        allocate.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY
        allocate.commandBufferCount = 1
        var buffer: VkCommandBuffer? = nil
        let allocated = vk.allocateCommandBuffers(device, &allocate, &buffer)
        var fenceInfo = VkFenceCreateInfo()
        fenceInfo.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO
        var fence: VkFence? = nil
        let created = allocated == VK_SUCCESS ? vk.createFence(device, &fenceInfo, nil, &fence) : allocated
        guard created == VK_SUCCESS, let buffer, let fence else {
            vk.destroyCommandPool(device, pool, nil)
            throw .call(allocated == VK_SUCCESS ? "vkCreateFence" : "vkAllocateCommandBuffers", code: created.rawValue)
        }
        self.context = context
        commandPool = pool!
        commands = buffer
        self.fence = fence
        var queries: VkQueryPool? = nil
        if context.capabilities.timestampPeriod != nil {
            var info = VkQueryPoolCreateInfo()
            info.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO
            info.queryType = VK_QUERY_TYPE_TIMESTAMP
            info.queryCount = 4
            if vk.createQueryPool(device, &info, nil, &queries) != VK_SUCCESS { queries = nil }
        }
        timestamps = queries
        do {
            var location = stagingLocation
            staging = try Self.stagingBuffer(context, size: 1 << 20, location: &location)
            self.stagingLocation = location
            readback = try DeviceBuffer(context, size: 1 << 16, location: .readback)
        } catch {
            if let queries { vk.destroyQueryPool(device, queries, nil) }
            vk.destroyFence(device, fence, nil)
            vk.destroyCommandPool(device, pool, nil)
            throw error
        }
    }

    /// Writes timestamp `index` (0 ..< 4) after the commands recorded so far (`bottom`) or before
    /// those that follow.
    func stamp(_ index: Int, bottom: Bool) {
        guard let timestamps else { return }
        if index == 0 { context.vk.cmdResetQueryPool(commands, timestamps, 0, 4) }
        context.vk.cmdWriteTimestamp(commands, bottom ? VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT : VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT,
                                     timestamps, UInt32(index))
    }

    /// Seconds between the submission's timestamps (after it finished): [uploads, decodes, whole].
    func stampedSeconds() -> [Double]? {
        guard let timestamps, let period = context.capabilities.timestampPeriod else { return nil }
        var ticks = [UInt64](repeating: 0, count: 4)
        let r = ticks.withUnsafeMutableBytes { raw in
            context.vk.getQueryPoolResults(context.handle, timestamps, 0, 4, raw.count, raw.baseAddress, 8, UInt32(VK_QUERY_RESULT_64_BIT.rawValue))
        }
        guard r == VK_SUCCESS else { return nil }
        let s = { (a: Int, b: Int) in Double(ticks[b] &- ticks[a]) * period * 1e-9 }
        return [s(0, 1), s(1, 2), s(0, 3)]
    }

    deinit {
        _ = context.vk.deviceWaitIdle(context.handle)
        if let timestamps { context.vk.destroyQueryPool(context.handle, timestamps, nil) }
        context.vk.destroyFence(context.handle, fence, nil)
        context.vk.destroyCommandPool(context.handle, commandPool, nil)
    }

    /// Grows the staging and readback buffers to at least these bytes (contents not kept).
    func reserve(staging s: Int, readback r: Int) throws(VulkanError) {
        if staging.size < s { staging = try Self.stagingBuffer(context, size: max(s, 2 * staging.size), location: &stagingLocation) }
        if readback.size < r { readback = try DeviceBuffer(context, size: max(r, 2 * readback.size), location: .readback) }
    }

    /// A staging buffer at `location`; where an `.upload` one cannot be allocated, a `.host` one,
    /// and `location` becomes `.host`.
    private static func stagingBuffer(_ context: VulkanContext, size: Int, location: inout DeviceBuffer.Location) throws(VulkanError) -> DeviceBuffer {
        if location == .upload {
            do throws(VulkanError) {
                return try DeviceBuffer(context, size: size, location: .upload)
            } catch {
                location = .host
            }
        }
        return try DeviceBuffer(context, size: size, location: location)
    }

    /// Resets the fence and starts recording.
    func begin() throws(VulkanError) {
        var f: VkFence? = fence
        try context.vk.resetFences(context.handle, 1, &f).check("vkResetFences")
        var begin = VkCommandBufferBeginInfo()
        begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO
        begin.flags = UInt32(VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT.rawValue)
        try context.vk.beginCommandBuffer(commands, &begin).check("vkBeginCommandBuffer")
    }

    /// Ends recording and submits, the fence signalling completion.
    func submit() throws(VulkanError) {
        try context.vk.endCommandBuffer(commands).check("vkEndCommandBuffer")
        try context.submit(commands, fence: fence)
    }

    /// A barrier from every earlier command's writes (`src` stages) to `dst` stages' reads and writes.
    func barrier(from src: VkPipelineStageFlagBits, _ src2: VkPipelineStageFlagBits? = nil, to dst: VkPipelineStageFlagBits,
                 _ dst2: VkPipelineStageFlagBits? = nil) {
        var b = VkMemoryBarrier()
        b.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER
        b.srcAccessMask = UInt32(VK_ACCESS_SHADER_WRITE_BIT.rawValue | VK_ACCESS_TRANSFER_WRITE_BIT.rawValue
                                 | VK_ACCESS_SHADER_READ_BIT.rawValue | VK_ACCESS_TRANSFER_READ_BIT.rawValue)
        b.dstAccessMask = UInt32(VK_ACCESS_SHADER_READ_BIT.rawValue | VK_ACCESS_SHADER_WRITE_BIT.rawValue
                                 | VK_ACCESS_TRANSFER_READ_BIT.rawValue | VK_ACCESS_TRANSFER_WRITE_BIT.rawValue
                                 | VK_ACCESS_HOST_READ_BIT.rawValue)
        let s = src.rawValue | (src2?.rawValue ?? 0), d = dst.rawValue | (dst2?.rawValue ?? 0)
        context.vk.cmdPipelineBarrier(commands, UInt32(s), UInt32(d), 0, 1, &b, 0, nil, 0, nil)
    }

    /// Records copies from the staging buffer into `destination`.
    func copy(into destination: DeviceBuffer, _ regions: [VkBufferCopy]) {
        guard !regions.isEmpty else { return }
        regions.withUnsafeBufferPointer { r in
            context.vk.cmdCopyBuffer(commands, staging.handle, destination.handle, UInt32(r.count), r.baseAddress)
        }
    }
}

/// The reused buffers of one bank's decode: per-call buffers with their descriptor set, and the
/// head directory.
final class BankCall {
    let buffers: DecodeCallBuffers
    private(set) var directory: DeviceBuffer
    /// Plans of earlier calls over these buffers, by what each was made from: a call with the
    /// same makings records one again (`DecodeCall.rebind` first: the descriptor set is shared).
    /// At most `planLimit`; all are dropped when one more would pass it.
    private(set) var plans: [CallPlanKey: DecodeCall] = [:]
    static let planLimit = 32

    func keep(_ call: DecodeCall, for key: CallPlanKey) {
        if plans.count >= Self.planLimit { plans.removeAll(keepingCapacity: true) }
        plans[key] = call
    }

    init(_ context: VulkanContext) throws(VulkanError) {
        buffers = try DecodeCallBuffers(context)
        directory = try DeviceBuffer(context, size: 4096)
    }

    func reserve(directoryBytes: Int) throws(VulkanError) {
        if directory.size < directoryBytes {
            directory = try DeviceBuffer(buffers.context, size: max(directoryBytes, 2 * directory.size))
        }
    }
}

/// What a batched attend's decode plan over one bank depends on besides the bank's buffers: the
/// sequences, the most pages of a head, the mask, the pages' classes and the options, and the
/// directory buffer the plan bound (a grown one is a new buffer).
struct CallPlanKey: Hashable {
    var sequences: Int
    var maxPages: Int
    var masked: Bool
    var window: Int?
    var classes: [EncodingClass]
    var options: DecodeOptions
    var directory: ObjectIdentifier
}
