import CVulkan

/// What one submission of the session pool reuses call after call: a command pool and buffer, a
/// fence, a host-visible staging buffer (uploads) and a readback buffer (outputs), grown when a
/// call needs more.
final class SubmissionFrame {
    let context: VulkanContext
    private let commandPool: VkCommandPool
    let commands: VkCommandBuffer
    let fence: VkFence
    /// The queue (index into `VulkanContext.queues`) the frame submits to.
    let queueIndex: Int
    /// With `chained`, a call's uploads go in this command buffer, submitted as a batch of their
    /// own ahead of `commands` (`submit(after:)`), signalling `uploaded`.
    private let uploadCommands: VkCommandBuffer?
    let uploaded: VkSemaphore?
    /// Where `barrier`, `stamp` and `copy` record: `commands`, or `uploadCommands` from
    /// `beginUploads()` until `endUploads()` when chained.
    private(set) var recording: VkCommandBuffer
    /// Submissions are two batches, uploads then the rest, the uploads chained to the previous
    /// submission's across queues (`VulkanSessionPool` with several queues).
    var chained: Bool { uploadCommands != nil }
    /// A call's own data (directories, queries, query words), staged before its turn to submit.
    private(set) var staging: DeviceBuffer
    /// What a call stages in its turn: written slot bytes, table entries, scatter records.
    private(set) var uploadStaging: DeviceBuffer
    private(set) var readback: DeviceBuffer
    /// `commands` is being recorded (begun, not yet submitted).
    private var mainOpen = false
    /// `uploadCommands` is being recorded.
    private var uploadsOpen = false
    /// Four timestamps per submission (start, uploads done, decodes done, end), where the queue
    /// has timestamps.
    let timestamps: VkQueryPool?

    /// Where staging buffers are made (`.host` or `.upload`): `.upload` until one cannot be
    /// allocated there (a device whose host-visible device-local heap is small or full, e.g. a
    /// 256 MiB BAR), then `.host` for the frame's life.
    private(set) var stagingLocation: DeviceBuffer.Location

    /// - Parameters:
    ///   - queue: the queue it submits to (`VulkanContext.queues`).
    ///   - chained: two command buffers and a semaphore for chained submissions (`chained`).
    init(_ context: VulkanContext, staging stagingLocation: DeviceBuffer.Location = .host, queue: Int = 0,
         chained: Bool = false) throws(VulkanError) {
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
        allocate.commandBufferCount = chained ? 2 : 1
        var buffers: [VkCommandBuffer?] = [nil, nil]
        let allocated = vk.allocateCommandBuffers(device, &allocate, &buffers)
        var fenceInfo = VkFenceCreateInfo()
        fenceInfo.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO
        var fence: VkFence? = nil
        let created = allocated == VK_SUCCESS ? vk.createFence(device, &fenceInfo, nil, &fence) : allocated
        guard created == VK_SUCCESS, let buffer = buffers[0], let fence else {
            vk.destroyCommandPool(device, pool, nil)
            throw .call(allocated == VK_SUCCESS ? "vkCreateFence" : "vkAllocateCommandBuffers", code: created.rawValue)
        }
        var uploaded: VkSemaphore? = nil
        if chained {
            do throws(VulkanError) { uploaded = try context.makeSemaphore() } catch {
                vk.destroyFence(device, fence, nil)
                vk.destroyCommandPool(device, pool, nil)
                throw error
            }
        }
        self.context = context
        commandPool = pool!
        commands = buffer
        recording = buffer
        uploadCommands = chained ? buffers[1] : nil
        self.uploaded = uploaded
        queueIndex = queue
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
            uploadStaging = try Self.stagingBuffer(context, size: 1 << 18, location: &location)
            self.stagingLocation = location
            readback = try DeviceBuffer(context, size: 1 << 16, location: .readback)
        } catch {
            if let queries { vk.destroyQueryPool(device, queries, nil) }
            if let uploaded { vk.destroySemaphore(device, uploaded, nil) }
            vk.destroyFence(device, fence, nil)
            vk.destroyCommandPool(device, pool, nil)
            throw error
        }
    }

    /// Writes timestamp `index` (0 ..< 4) after the commands recorded so far (`bottom`) or before
    /// those that follow.
    func stamp(_ index: Int, bottom: Bool) {
        guard let timestamps else { return }
        if index == 0 { context.vk.cmdResetQueryPool(recording, timestamps, 0, 4) }
        context.vk.cmdWriteTimestamp(recording, bottom ? VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT : VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT,
                                     timestamps, UInt32(index))
    }

    /// The submission's timestamps, read once after it finished: `seconds` between them
    /// ([uploads, decodes, whole], from the ticks' differences) and `clock`, the four instants
    /// (start, uploads done, decodes done, end) in seconds on the device's clock since the
    /// context's first timestamp read (`DeviceClockOrigin`), comparable with other submissions'
    /// on the same device, not with host time.
    struct Stamps {
        var seconds: [Double]
        var clock: [Double]
    }

    func stamped() -> Stamps? {
        guard let timestamps, let period = context.capabilities.timestampPeriod else { return nil }
        var ticks = [UInt64](repeating: 0, count: 4)
        let r = ticks.withUnsafeMutableBytes { raw in
            context.vk.getQueryPoolResults(context.handle, timestamps, 0, 4, raw.count, raw.baseAddress, 8, UInt32(VK_QUERY_RESULT_64_BIT.rawValue))
        }
        guard r == VK_SUCCESS else { return nil }
        let s = { (a: Int, b: Int) in Double(ticks[b] &- ticks[a]) * period * 1e-9 }
        return Stamps(seconds: [s(0, 1), s(1, 2), s(0, 3)], clock: context.deviceClock.seconds(ticks, period: period))
    }

    deinit {
        _ = context.vk.deviceWaitIdle(context.handle)
        if let timestamps { context.vk.destroyQueryPool(context.handle, timestamps, nil) }
        if let uploaded { context.vk.destroySemaphore(context.handle, uploaded, nil) }
        context.vk.destroyFence(context.handle, fence, nil)
        context.vk.destroyCommandPool(context.handle, commandPool, nil)
    }

    /// Grows the staging and readback buffers to at least these bytes (contents not kept).
    func reserve(staging s: Int, readback r: Int) throws(VulkanError) {
        if staging.size < s { staging = try Self.stagingBuffer(context, size: max(s, 2 * staging.size), location: &stagingLocation) }
        if readback.size < r { readback = try DeviceBuffer(context, size: max(r, 2 * readback.size), location: .readback) }
    }

    /// Grows the upload staging buffer to at least `bytes` (contents not kept).
    func reserve(uploads bytes: Int) throws(VulkanError) {
        if uploadStaging.size < bytes {
            uploadStaging = try Self.stagingBuffer(context, size: max(bytes, 2 * uploadStaging.size), location: &stagingLocation)
        }
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

    /// Starts recording the decodes' batch (`commands`); `barrier`, `stamp` and `copy` record there.
    func beginMain() throws(VulkanError) {
        try begin(commands)
        mainOpen = true
        recording = commands
    }

    /// Starts recording a call's uploads: chained, in a batch of their own (`uploadCommands`,
    /// until `endUploads()`); otherwise at the start of `commands` (as `beginMain()`).
    func beginUploads() throws(VulkanError) {
        guard let uploadCommands else { return try beginMain() }
        try begin(uploadCommands)
        uploadsOpen = true
        recording = uploadCommands
    }

    private func begin(_ buffer: VkCommandBuffer) throws(VulkanError) {
        var begin = VkCommandBufferBeginInfo()
        begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO
        begin.flags = UInt32(VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT.rawValue)
        try context.vk.beginCommandBuffer(buffer, &begin).check("vkBeginCommandBuffer")
    }

    /// Chained: what is recorded from here on goes in the decodes' batch (`commands`).
    func endUploads() { recording = commands }

    /// Ends what is being recorded and submits it, the fence (reset first) signalling completion.
    /// Chained, the uploads' batch (recorded or not) first waits for `previous` (the semaphore of
    /// the submission before, on any queue, if any) and signals `uploaded`; the decodes' batch
    /// follows where it was begun.
    /// `uploadsOnly` (chained): the decodes' batch, if begun, stays open for a later submission.
    func submit(after previous: VkSemaphore? = nil, uploadsOnly: Bool = false) throws(VulkanError) {
        var f: VkFence? = fence
        if let uploadCommands, let uploaded {
            if !uploadsOpen { try begin(uploadCommands) }
            uploadsOpen = false
            try context.vk.endCommandBuffer(uploadCommands).check("vkEndCommandBuffer")
            let main = mainOpen && !uploadsOnly
            if main {
                mainOpen = false
                try context.vk.endCommandBuffer(commands).check("vkEndCommandBuffer")
            }
            try context.vk.resetFences(context.handle, 1, &f).check("vkResetFences")
            try context.submit(uploadCommands, wait: previous, signal: uploaded, then: main ? commands : nil, fence: fence, queue: queueIndex)
            recording = commands
            return
        }
        mainOpen = false
        try context.vk.endCommandBuffer(commands).check("vkEndCommandBuffer")
        try context.vk.resetFences(context.handle, 1, &f).check("vkResetFences")
        try context.submit(commands, fence: fence)
    }

    /// Ends whatever is being recorded without submitting it (a call that stopped before its
    /// submission), so that the next call can begin again.
    func abandon() {
        if mainOpen { _ = context.vk.endCommandBuffer(commands) }
        if uploadsOpen, let uploadCommands { _ = context.vk.endCommandBuffer(uploadCommands) }
        mainOpen = false
        uploadsOpen = false
        recording = commands
    }

    /// A barrier from every earlier command's writes (`src` stages) to `dst` stages' reads and writes.
    func barrier(from src: VkPipelineStageFlagBits, _ src2: VkPipelineStageFlagBits? = nil, to dst: VkPipelineStageFlagBits,
                 _ dst2: VkPipelineStageFlagBits? = nil) {
        let s = src.rawValue | (src2?.rawValue ?? 0), d = dst.rawValue | (dst2?.rawValue ?? 0)
        var b = VkMemoryBarrier()
        b.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER
        b.srcAccessMask = Self.accesses(of: s, host: VK_ACCESS_HOST_WRITE_BIT)
        b.dstAccessMask = Self.accesses(of: d, host: VK_ACCESS_HOST_READ_BIT)
        context.vk.cmdPipelineBarrier(recording, UInt32(s), UInt32(d), 0, 1, &b, 0, nil, 0, nil)
    }

    /// The reads and writes of the compute, transfer and host stages in `stages` (`host`: the
    /// host's access), as a barrier's access mask may name only those of its stages.
    private static func accesses(of stages: UInt32, host: VkAccessFlagBits) -> VkAccessFlags {
        var mask: UInt32 = 0
        if stages & VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT.rawValue != 0 { mask |= VK_ACCESS_SHADER_READ_BIT.rawValue | VK_ACCESS_SHADER_WRITE_BIT.rawValue }
        if stages & VK_PIPELINE_STAGE_TRANSFER_BIT.rawValue != 0 { mask |= VK_ACCESS_TRANSFER_READ_BIT.rawValue | VK_ACCESS_TRANSFER_WRITE_BIT.rawValue }
        if stages & VK_PIPELINE_STAGE_HOST_BIT.rawValue != 0 { mask |= host.rawValue }
        return mask
    }

    /// Records copies from the staging buffer into `destination`.
    func copy(into destination: DeviceBuffer, _ regions: [VkBufferCopy]) {
        guard !regions.isEmpty else { return }
        regions.withUnsafeBufferPointer { r in
            context.vk.cmdCopyBuffer(recording, staging.handle, destination.handle, UInt32(r.count), r.baseAddress)
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
