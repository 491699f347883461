import CVulkan
import Foundation

/// An opened Vulkan device with its compute queues (one family, up to `maxQueues`): the instance,
/// the logical device, a command pool, and the cache of compute pipelines. Everything it creates
/// is destroyed in `deinit`.
///
/// Submissions are serialized by a lock, so one context may be shared across threads.
public final class VulkanContext: @unchecked Sendable {
    /// The opened device.
    public let device: VulkanDeviceInfo
    public let capabilities: VulkanCapabilities

    let loader: VulkanLoader
    let instance: VkInstance
    let physicalDevice: VkPhysicalDevice
    let handle: VkDevice
    /// The compute family's queues this context opened (1 to `maxQueues`); the first is the one
    /// every call but the session pool's lanes submits to.
    let queues: [VkQueue]
    var queue: VkQueue { queues[0] }
    let queueFamily: UInt32
    /// Queues of the compute family opened, at most (where the family has that many).
    public static let maxQueues = 4
    /// Queues the device was opened with (`VulkanSessionPool`'s lanes may spread over them).
    public var queueCount: Int { queues.count }
    let vk: DeviceFunctions
    let memoryProperties: VkPhysicalDeviceMemoryProperties
    private let commandPool: VkCommandPool
    private let destroyInstance: PFN_vkDestroyInstance
    private let destroyDevice: PFN_vkDestroyDevice
    let lock = NSLock()
    /// Compute pipelines, created on first use and kept for the context's life.
    let kernels: KernelLibrary
    /// Compute pipelines this context has created so far (a driver compile each: a decode whose
    /// specialization is new compiles one on its call).
    package var pipelinesCreated: Int { kernels.pipelinesCreated }
    /// Buffers and descriptor pools alive (tests check failed calls release theirs).
    let live = LiveResources()
    /// The memory blocks small device buffers are placed in (`DeviceBuffer`).
    let smallBuffers = SmallBufferMemory()
    /// The tick this context's timestamps are counted from (`SubmissionFrame.stamped`).
    let deviceClock = DeviceClockOrigin()
    /// Buffers this context has created so far (calls grow their reused buffers by replacing
    /// them; a buffer above `SmallBufferMemory.largestPlaced` is a memory allocation too).
    package var buffersCreated: Int { live.buffersCreated }
    /// Host seconds spent creating those buffers (on a discrete GPU mostly the driver's memory
    /// allocations: the large buffers' own and the small buffers' blocks).
    package var bufferCreationSeconds: Double { live.bufferCreationSeconds }
    /// Tests: the result the next submission's wait reports instead of the fence's (e.g.
    /// VK_ERROR_DEVICE_LOST, which no CPU driver can be made to produce on demand). Guarded by `lock`.
    private var injectedWaitResult: VkResult?

    /// Tests: `.upload` buffers fail to allocate as on a device whose host-visible device-local
    /// heap is full (a 256 MiB BAR without resizable BAR). Guarded by `lock`.
    private var refusingUploadMemory = false

    /// Tests: whether `.upload` buffers fail to allocate (`refuseUploadMemory`).
    var refusesUploadMemory: Bool {
        lock.lock()
        defer { lock.unlock() }
        return refusingUploadMemory
    }

    /// Tests: makes every later `.upload` buffer fail to allocate.
    func refuseUploadMemory() {
        lock.lock()
        refusingUploadMemory = true
        lock.unlock()
    }

    /// Tests: makes the next submission fail as if waiting for it returned `result`.
    func injectWaitResult(_ result: VkResult) {
        lock.lock()
        injectedWaitResult = result
        lock.unlock()
    }

    /// Opens the device `selector` picks (default: `KVPACK_VULKAN_DEVICE`, else the best).
    /// - Parameter loader: the Vulkan loader; default opens `VulkanLoader.candidates`.
    /// - Throws: `VulkanError` when there is no loader, no device, no match, or a call fails.
    public init(selector: VulkanDeviceSelector = .environment, loader given: VulkanLoader? = nil) throws(VulkanError) {
        let loader: VulkanLoader
        if let given { loader = given } else { loader = try VulkanLoader() }
        self.loader = loader
        let instance = try loader.createInstance()
        let destroyInstance = try loader.function("vkDestroyInstance", instance: instance, as: PFN_vkDestroyInstance.self)
        var ownsInstance = true
        defer { if ownsInstance { destroyInstance(instance, nil) } }

        let physical = try Self.physicalDevices(loader, instance)
        guard !physical.isEmpty else { throw .noDevice }
        let infos = try physical.map { d throws(VulkanError) in try Self.info(loader, instance, d) }
        guard let chosen = selector.choose(from: infos) else {
            throw .deviceNotFound(selector: selector.description, available: infos.map(\.name))
        }
        let physicalDevice = physical[chosen]
        let props = try Self.properties(loader, instance, physicalDevice)

        // Queue: a compute family (prefer compute-only, the async compute queue on discrete GPUs).
        let families = try Self.queueFamilies(loader, instance, physicalDevice)
        let computeFamilies = families.indices.filter { families[$0].queueFlags & UInt32(VK_QUEUE_COMPUTE_BIT.rawValue) != 0 }
        guard let family = computeFamilies.first(where: { families[$0].queueFlags & UInt32(VK_QUEUE_GRAPHICS_BIT.rawValue) == 0 && families[$0].timestampValidBits > 0 })
            ?? computeFamilies.first else { throw .noComputeQueue(device: infos[chosen].name) }

        // Optional features, each enabled where the driver offers it: kernel statistics (registers,
        // instructions: VK_KHR_pipeline_executable_properties), f16 arithmetic (shaderFloat16) for
        // the `_f16math` kernels, packed 8-bit dot products (VK_KHR_shader_integer_dot_product) for
        // the `_intdot` kernels.
        let offered = try Self.deviceExtensions(loader, instance, physicalDevice)
        let optional = try Self.optionalFeatures(loader, instance, physicalDevice, extensions: offered)
        // Cooperative matrices (the `coopmat` kernel): VK_KHR_cooperative_matrix with its
        // `cooperativeMatrix` feature and the Vulkan memory model, enabled only where the device
        // has all the kernel needs (CooperativeMatrixSupport); other devices are created as before.
        let cooperative = try Self.cooperativeMatrixSupport(loader, instance, physicalDevice, extensions: offered, shaderFloat16: optional.float16)
        // Pool windows are arrays of buffers indexed per workgroup (shaderStorageBufferArrayDynamicIndexing).
        var coreFeatures = VkPhysicalDeviceFeatures()
        coreFeatures.shaderStorageBufferArrayDynamicIndexing = VkBool32(optional.dynamicIndexing ? VK_TRUE : VK_FALSE)
        var float16Feature = VkPhysicalDeviceShaderFloat16Int8Features()
        float16Feature.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES
        float16Feature.shaderFloat16 = VkBool32(VK_TRUE)
        var statisticsFeature = VkPhysicalDevicePipelineExecutablePropertiesFeaturesKHR()
        statisticsFeature.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PIPELINE_EXECUTABLE_PROPERTIES_FEATURES_KHR
        statisticsFeature.pipelineExecutableInfo = VkBool32(VK_TRUE)
        var dotFeature = VkPhysicalDeviceShaderIntegerDotProductFeatures()
        dotFeature.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES
        dotFeature.shaderIntegerDotProduct = VkBool32(VK_TRUE)
        // Chain only what is enabled: [cooperative matrices, memory model] -> [dot products] -> [shaderFloat16] -> [statistics].
        let chain = PNextChain()
        defer { withExtendedLifetime(chain) {} } // read by vkCreateDevice below
        if optional.statistics { chain.link(statisticsFeature) }
        if optional.float16 { chain.link(float16Feature) }
        if optional.integerDot { chain.link(dotFeature) }
        if cooperative.usable { Self.enableCooperativeMatrix(cooperative, in: chain) }
        let extensionNames = (optional.statistics ? [Self.statisticsExtension] : []) + (optional.integerDot ? [Self.integerDotExtension] : [])
            + (cooperative.usable ? [Self.cooperativeMatrixExtension] : [])
        let ownedNames = extensionNames.map { strdup($0) }
        defer { ownedNames.forEach { free($0) } }
        var extensions: [UnsafePointer<CChar>?] = ownedNames.map { UnsafePointer($0) }

        let queueCount = max(1, min(Int(families[family].queueCount), Self.maxQueues))
        var priorities = [Float](repeating: 1, count: queueCount)
        var queueInfo = VkDeviceQueueCreateInfo()
        queueInfo.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO
        queueInfo.queueFamilyIndex = UInt32(family)
        queueInfo.queueCount = UInt32(queueCount)
        let createDevice = try loader.function("vkCreateDevice", instance: instance, as: PFN_vkCreateDevice.self)
        var deviceHandle: VkDevice? = nil
        let deviceResult = priorities.withUnsafeMutableBufferPointer { p in
            queueInfo.pQueuePriorities = UnsafePointer(p.baseAddress)
            return withUnsafePointer(to: &queueInfo) { q in
                var deviceInfo = VkDeviceCreateInfo()
                deviceInfo.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO
                deviceInfo.queueCreateInfoCount = 1
                deviceInfo.pQueueCreateInfos = q
                return extensions.withUnsafeMutableBufferPointer { names in
                    deviceInfo.enabledExtensionCount = UInt32(names.count)
                    deviceInfo.ppEnabledExtensionNames = names.isEmpty ? nil : UnsafePointer(names.baseAddress)
                    deviceInfo.pNext = UnsafeRawPointer(chain.head)
                    return withUnsafePointer(to: &coreFeatures) { core in
                        deviceInfo.pEnabledFeatures = core
                        return createDevice(physicalDevice, &deviceInfo, nil, &deviceHandle)
                    }
                }
            }
        }
        try deviceResult.check("vkCreateDevice")
        guard let device = deviceHandle else { throw .call("vkCreateDevice", code: deviceResult.rawValue) }
        let getDeviceProcAddr = try loader.function("vkGetDeviceProcAddr", instance: instance, as: PFN_vkGetDeviceProcAddr.self)
        let destroyDevice = try loader.function("vkDestroyDevice", instance: instance, as: PFN_vkDestroyDevice.self)
        var ownsDevice = true
        defer { if ownsDevice { destroyDevice(device, nil) } }
        let vk = try DeviceFunctions(device: device, getDeviceProcAddr: getDeviceProcAddr)
        var queues: [VkQueue] = []
        for i in 0..<queueCount {
            var queue: VkQueue? = nil
            vk.getDeviceQueue(device, UInt32(family), UInt32(i), &queue)
            guard let queue else { throw .noComputeQueue(device: infos[chosen].name) }
            queues.append(queue)
        }

        var poolInfo = VkCommandPoolCreateInfo()
        poolInfo.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO
        poolInfo.flags = UInt32(VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT.rawValue)
        poolInfo.queueFamilyIndex = UInt32(family)
        var pool: VkCommandPool? = nil
        try vk.createCommandPool(device, &poolInfo, nil, &pool).check("vkCreateCommandPool")

        var memory = VkPhysicalDeviceMemoryProperties()
        let getMemory = try loader.function("vkGetPhysicalDeviceMemoryProperties", instance: instance,
                                            as: PFN_vkGetPhysicalDeviceMemoryProperties.self)
        getMemory(physicalDevice, &memory)

        self.device = infos[chosen]
        self.instance = instance
        self.physicalDevice = physicalDevice
        self.handle = device
        self.queues = queues
        self.queueFamily = UInt32(family)
        self.vk = vk
        self.memoryProperties = memory
        self.commandPool = pool!
        self.destroyInstance = destroyInstance
        self.destroyDevice = destroyDevice
        let timestampBits = families[family].timestampValidBits
        /// Whether compute shaders have the subgroup operations of `feature`.
        func computeSubgroup(_ feature: VkSubgroupFeatureFlagBits) -> Bool {
            props.subgroup.supportedStages & UInt32(VK_SHADER_STAGE_COMPUTE_BIT.rawValue) != 0
                && props.subgroup.supportedOperations & UInt32(feature.rawValue) != 0
        }
        self.capabilities = VulkanCapabilities(
            subgroupSize: Int(props.subgroup.subgroupSize),
            subgroupShuffle: computeSubgroup(VK_SUBGROUP_FEATURE_SHUFFLE_BIT),
            maxStorageBufferRange: Int(props.limits.maxStorageBufferRange),
            deviceLocalBytes: Self.largestDeviceLocalHeap(memory),
            unifiedMemory: Self.hasUnifiedMemory(memory),
            timestampPeriod: timestampBits > 0 ? Double(props.limits.timestampPeriod) : nil,
            maxSharedMemory: Int(props.limits.maxComputeSharedMemorySize),
            pipelineStatistics: optional.statistics && vk.getPipelineExecutableStatistics != nil,
            shaderFloat16: optional.float16,
            poolWindowIndexing: optional.dynamicIndexing,
            maxStorageBuffersPerStage: Int(props.limits.maxPerStageDescriptorStorageBuffers),
            integerDotProduct: optional.integerDot,
            integerDotProductAccelerated: optional.integerDotAccelerated,
            subgroupVote: computeSubgroup(VK_SUBGROUP_FEATURE_VOTE_BIT),
            maxWorkgroupSize: Int(min(props.limits.maxComputeWorkGroupSize.0, props.limits.maxComputeWorkGroupInvocations)),
            cooperativeMatrix: cooperative.usable,
            cooperativeMatrixMissing: cooperative.missing,
            cooperativeMatrixShapes: cooperative.shapes,
            cachedReadback: Self.hasMemoryType(memory, with: UInt32(VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT.rawValue
                                                                    | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT.rawValue
                                                                    | VK_MEMORY_PROPERTY_HOST_CACHED_BIT.rawValue)))
        self.kernels = KernelLibrary()
        ownsDevice = false
        ownsInstance = false
    }

    deinit {
        _ = vk.deviceWaitIdle(handle)
        smallBuffers.freeAll(vk, device: handle)
        kernels.destroy(self)
        vk.destroyCommandPool(handle, commandPool, nil)
        destroyDevice(handle, nil)
        destroyInstance(instance, nil)
    }

    /// Records commands with `record`, submits them, and waits for them to finish.
    func submit(_ record: (VkCommandBuffer) throws(VulkanError) -> Void) throws(VulkanError) {
        lock.lock()
        defer { lock.unlock() }
        var allocate = VkCommandBufferAllocateInfo()
        allocate.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO
        allocate.commandPool = commandPool
        allocate.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY
        allocate.commandBufferCount = 1
        var buffer: VkCommandBuffer? = nil
        try vk.allocateCommandBuffers(handle, &allocate, &buffer).check("vkAllocateCommandBuffers")
        guard let commands = buffer else { throw .call("vkAllocateCommandBuffers", code: 0) }
        defer { vk.freeCommandBuffers(handle, commandPool, 1, &buffer) }
        var begin = VkCommandBufferBeginInfo()
        begin.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO
        begin.flags = UInt32(VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT.rawValue)
        try vk.beginCommandBuffer(commands, &begin).check("vkBeginCommandBuffer")
        try record(commands)
        try vk.endCommandBuffer(commands).check("vkEndCommandBuffer")

        var fenceInfo = VkFenceCreateInfo()
        fenceInfo.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO
        var fence: VkFence? = nil
        try vk.createFence(handle, &fenceInfo, nil, &fence).check("vkCreateFence")
        defer { vk.destroyFence(handle, fence, nil) }
        try queueSubmit(commands, fence: fence!)
        var waited = vk.waitForFences(handle, 1, &fence, VkBool32(VK_TRUE), UInt64.max)
        if let injected = injectedWaitResult {
            injectedWaitResult = nil
            waited = injected
        }
        if waited != VK_SUCCESS {
            _ = vk.deviceWaitIdle(handle) // never free a command buffer the device may still run
            try waited.check("vkWaitForFences")
        }
    }

    /// Submits recorded `commands` to the queue, signalling `fence` when they finish.
    func submit(_ commands: VkCommandBuffer, fence: VkFence) throws(VulkanError) {
        lock.lock()
        defer { lock.unlock() }
        try queueSubmit(commands, fence: fence)
    }

    /// Submits `first` then `second` to queue `index` in one `vkQueueSubmit`: `first` waits for
    /// `wait` (a binary semaphore signalled by an earlier submission, if any) before its compute
    /// and transfer work, and signals `signal` when done; `second` waits for nothing and signals
    /// `fence`. (`first` is a call's uploads, `second` its decodes: calls on other queues wait
    /// for each other's uploads only.)
    func submit(_ first: VkCommandBuffer, wait: VkSemaphore?, signal: VkSemaphore, then second: VkCommandBuffer?, fence: VkFence,
                queue index: Int) throws(VulkanError) {
        lock.lock()
        defer { lock.unlock() }
        var buffers: [VkCommandBuffer?] = [first, second]
        var waits: [VkSemaphore?] = [wait], signals: [VkSemaphore?] = [signal]
        var stages: [VkPipelineStageFlags] = [UInt32(VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT.rawValue | VK_PIPELINE_STAGE_TRANSFER_BIT.rawValue)]
        let submitted = buffers.withUnsafeMutableBufferPointer { b in
            waits.withUnsafeMutableBufferPointer { w in
                signals.withUnsafeMutableBufferPointer { s in
                    stages.withUnsafeMutableBufferPointer { st in
                        var batches = [VkSubmitInfo](repeating: VkSubmitInfo(), count: second == nil ? 1 : 2)
                        batches[0].sType = VK_STRUCTURE_TYPE_SUBMIT_INFO
                        batches[0].waitSemaphoreCount = wait == nil ? 0 : 1
                        batches[0].pWaitSemaphores = wait == nil ? nil : UnsafePointer(w.baseAddress)
                        batches[0].pWaitDstStageMask = wait == nil ? nil : UnsafePointer(st.baseAddress)
                        batches[0].commandBufferCount = 1
                        batches[0].pCommandBuffers = UnsafePointer(b.baseAddress)
                        batches[0].signalSemaphoreCount = 1
                        batches[0].pSignalSemaphores = UnsafePointer(s.baseAddress)
                        if second != nil {
                            batches[1].sType = VK_STRUCTURE_TYPE_SUBMIT_INFO
                            batches[1].commandBufferCount = 1
                            batches[1].pCommandBuffers = UnsafePointer(b.baseAddress! + 1)
                        }
                        return vk.queueSubmit(queues[index], UInt32(batches.count), batches, fence)
                    }
                }
            }
        }
        try submitted.check("vkQueueSubmit")
    }

    /// A binary semaphore (the caller destroys it with `vk.destroySemaphore`).
    func makeSemaphore() throws(VulkanError) -> VkSemaphore {
        var info = VkSemaphoreCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO
        var semaphore: VkSemaphore? = nil
        try vk.createSemaphore(handle, &info, nil, &semaphore).check("vkCreateSemaphore")
        guard let semaphore else { throw .call("vkCreateSemaphore", code: 0) }
        return semaphore
    }

    /// `vkQueueSubmit` of one command buffer (the caller holds `lock`).
    private func queueSubmit(_ commands: VkCommandBuffer, fence: VkFence) throws(VulkanError) {
        var buffer: VkCommandBuffer? = commands
        var submit = VkSubmitInfo()
        submit.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO
        submit.commandBufferCount = 1
        let submitted = withUnsafePointer(to: &buffer) { p in
            submit.pCommandBuffers = p
            return vk.queueSubmit(queue, 1, &submit, fence)
        }
        try submitted.check("vkQueueSubmit")
    }

    /// Tests: takes the result injected for the next wait (`injectWaitResult`), if any.
    func takeInjectedWaitResult() -> VkResult? {
        lock.lock()
        defer { lock.unlock() }
        defer { injectedWaitResult = nil }
        return injectedWaitResult
    }

    /// A memory type index allowed by `bits` with all of `required`, preferring `preferred`.
    func memoryType(bits: UInt32, required: UInt32, preferred: UInt32 = 0) -> UInt32? {
        Self.memoryType(flags: memoryTypeFlags, bits: bits, required: required, preferred: preferred)
    }

    /// Each memory type's property flags, in index order.
    var memoryTypeFlags: [UInt32] { Self.memoryTypeFlags(memoryProperties) }

    /// Each of `memory`'s types' property flags, in index order.
    static func memoryTypeFlags(_ memory: VkPhysicalDeviceMemoryProperties) -> [UInt32] {
        var props = memory
        return withUnsafeBytes(of: &props.memoryTypes) { raw in
            raw.bindMemory(to: VkMemoryType.self).prefix(Int(props.memoryTypeCount)).map(\.propertyFlags)
        }
    }

    /// The first of the types `flags` allowed by `bits` that has all of `required` and all of
    /// `preferred`, else the first with `required`.
    static func memoryType(flags: [UInt32], bits: UInt32, required: UInt32, preferred: UInt32 = 0) -> UInt32? {
        let candidates = flags.indices.filter { $0 < 32 && bits & (1 << UInt32($0)) != 0 && flags[$0] & required == required }
        let best = candidates.first { flags[$0] & preferred == preferred } ?? candidates.first
        return best.map(UInt32.init)
    }

    func memoryFlags(_ type: UInt32) -> UInt32 { memoryTypeFlags[Int(type)] }
}
