import CVulkan

/// Device-level entry points, resolved once through `vkGetDeviceProcAddr`.
struct DeviceFunctions {
    let destroyDevice: PFN_vkDestroyDevice
    let getDeviceQueue: PFN_vkGetDeviceQueue
    let createBuffer: PFN_vkCreateBuffer
    let destroyBuffer: PFN_vkDestroyBuffer
    let getBufferMemoryRequirements: PFN_vkGetBufferMemoryRequirements
    let allocateMemory: PFN_vkAllocateMemory
    let freeMemory: PFN_vkFreeMemory
    let bindBufferMemory: PFN_vkBindBufferMemory
    let mapMemory: PFN_vkMapMemory
    let unmapMemory: PFN_vkUnmapMemory
    let createShaderModule: PFN_vkCreateShaderModule
    let destroyShaderModule: PFN_vkDestroyShaderModule
    let createDescriptorSetLayout: PFN_vkCreateDescriptorSetLayout
    let destroyDescriptorSetLayout: PFN_vkDestroyDescriptorSetLayout
    let createPipelineLayout: PFN_vkCreatePipelineLayout
    let destroyPipelineLayout: PFN_vkDestroyPipelineLayout
    let createComputePipelines: PFN_vkCreateComputePipelines
    let destroyPipeline: PFN_vkDestroyPipeline
    let createDescriptorPool: PFN_vkCreateDescriptorPool
    let destroyDescriptorPool: PFN_vkDestroyDescriptorPool
    let allocateDescriptorSets: PFN_vkAllocateDescriptorSets
    let updateDescriptorSets: PFN_vkUpdateDescriptorSets
    let createCommandPool: PFN_vkCreateCommandPool
    let destroyCommandPool: PFN_vkDestroyCommandPool
    let allocateCommandBuffers: PFN_vkAllocateCommandBuffers
    let freeCommandBuffers: PFN_vkFreeCommandBuffers
    let beginCommandBuffer: PFN_vkBeginCommandBuffer
    let endCommandBuffer: PFN_vkEndCommandBuffer
    let cmdBindPipeline: PFN_vkCmdBindPipeline
    let cmdBindDescriptorSets: PFN_vkCmdBindDescriptorSets
    let cmdPushConstants: PFN_vkCmdPushConstants
    let cmdDispatch: PFN_vkCmdDispatch
    let cmdPipelineBarrier: PFN_vkCmdPipelineBarrier
    let cmdCopyBuffer: PFN_vkCmdCopyBuffer
    let cmdFillBuffer: PFN_vkCmdFillBuffer
    let cmdResetQueryPool: PFN_vkCmdResetQueryPool
    let cmdWriteTimestamp: PFN_vkCmdWriteTimestamp
    let queueSubmit: PFN_vkQueueSubmit
    let queueWaitIdle: PFN_vkQueueWaitIdle
    let deviceWaitIdle: PFN_vkDeviceWaitIdle
    let createFence: PFN_vkCreateFence
    let destroyFence: PFN_vkDestroyFence
    let createSemaphore: PFN_vkCreateSemaphore
    let destroySemaphore: PFN_vkDestroySemaphore
    let waitForFences: PFN_vkWaitForFences
    let resetFences: PFN_vkResetFences
    let createQueryPool: PFN_vkCreateQueryPool
    let destroyQueryPool: PFN_vkDestroyQueryPool
    let getQueryPoolResults: PFN_vkGetQueryPoolResults
    /// VK_KHR_pipeline_executable_properties, when the device was created with it.
    let getPipelineExecutableProperties: PFN_vkGetPipelineExecutablePropertiesKHR?
    let getPipelineExecutableStatistics: PFN_vkGetPipelineExecutableStatisticsKHR?

    init(device: VkDevice, getDeviceProcAddr: PFN_vkGetDeviceProcAddr) throws(VulkanError) {
        func load<T>(_ name: String, _ type: T.Type) throws(VulkanError) -> T {
            guard let f = getDeviceProcAddr(device, name) else { throw .missingEntryPoint(name) }
            return unsafeBitCast(f, to: T.self)
        }
        destroyDevice = try load("vkDestroyDevice", PFN_vkDestroyDevice.self)
        getDeviceQueue = try load("vkGetDeviceQueue", PFN_vkGetDeviceQueue.self)
        createBuffer = try load("vkCreateBuffer", PFN_vkCreateBuffer.self)
        destroyBuffer = try load("vkDestroyBuffer", PFN_vkDestroyBuffer.self)
        getBufferMemoryRequirements = try load("vkGetBufferMemoryRequirements", PFN_vkGetBufferMemoryRequirements.self)
        allocateMemory = try load("vkAllocateMemory", PFN_vkAllocateMemory.self)
        freeMemory = try load("vkFreeMemory", PFN_vkFreeMemory.self)
        bindBufferMemory = try load("vkBindBufferMemory", PFN_vkBindBufferMemory.self)
        mapMemory = try load("vkMapMemory", PFN_vkMapMemory.self)
        unmapMemory = try load("vkUnmapMemory", PFN_vkUnmapMemory.self)
        createShaderModule = try load("vkCreateShaderModule", PFN_vkCreateShaderModule.self)
        destroyShaderModule = try load("vkDestroyShaderModule", PFN_vkDestroyShaderModule.self)
        createDescriptorSetLayout = try load("vkCreateDescriptorSetLayout", PFN_vkCreateDescriptorSetLayout.self)
        destroyDescriptorSetLayout = try load("vkDestroyDescriptorSetLayout", PFN_vkDestroyDescriptorSetLayout.self)
        createPipelineLayout = try load("vkCreatePipelineLayout", PFN_vkCreatePipelineLayout.self)
        destroyPipelineLayout = try load("vkDestroyPipelineLayout", PFN_vkDestroyPipelineLayout.self)
        createComputePipelines = try load("vkCreateComputePipelines", PFN_vkCreateComputePipelines.self)
        destroyPipeline = try load("vkDestroyPipeline", PFN_vkDestroyPipeline.self)
        createDescriptorPool = try load("vkCreateDescriptorPool", PFN_vkCreateDescriptorPool.self)
        destroyDescriptorPool = try load("vkDestroyDescriptorPool", PFN_vkDestroyDescriptorPool.self)
        allocateDescriptorSets = try load("vkAllocateDescriptorSets", PFN_vkAllocateDescriptorSets.self)
        updateDescriptorSets = try load("vkUpdateDescriptorSets", PFN_vkUpdateDescriptorSets.self)
        createCommandPool = try load("vkCreateCommandPool", PFN_vkCreateCommandPool.self)
        destroyCommandPool = try load("vkDestroyCommandPool", PFN_vkDestroyCommandPool.self)
        allocateCommandBuffers = try load("vkAllocateCommandBuffers", PFN_vkAllocateCommandBuffers.self)
        freeCommandBuffers = try load("vkFreeCommandBuffers", PFN_vkFreeCommandBuffers.self)
        beginCommandBuffer = try load("vkBeginCommandBuffer", PFN_vkBeginCommandBuffer.self)
        endCommandBuffer = try load("vkEndCommandBuffer", PFN_vkEndCommandBuffer.self)
        cmdBindPipeline = try load("vkCmdBindPipeline", PFN_vkCmdBindPipeline.self)
        cmdBindDescriptorSets = try load("vkCmdBindDescriptorSets", PFN_vkCmdBindDescriptorSets.self)
        cmdPushConstants = try load("vkCmdPushConstants", PFN_vkCmdPushConstants.self)
        cmdDispatch = try load("vkCmdDispatch", PFN_vkCmdDispatch.self)
        cmdPipelineBarrier = try load("vkCmdPipelineBarrier", PFN_vkCmdPipelineBarrier.self)
        cmdCopyBuffer = try load("vkCmdCopyBuffer", PFN_vkCmdCopyBuffer.self)
        cmdFillBuffer = try load("vkCmdFillBuffer", PFN_vkCmdFillBuffer.self)
        cmdResetQueryPool = try load("vkCmdResetQueryPool", PFN_vkCmdResetQueryPool.self)
        cmdWriteTimestamp = try load("vkCmdWriteTimestamp", PFN_vkCmdWriteTimestamp.self)
        queueSubmit = try load("vkQueueSubmit", PFN_vkQueueSubmit.self)
        queueWaitIdle = try load("vkQueueWaitIdle", PFN_vkQueueWaitIdle.self)
        deviceWaitIdle = try load("vkDeviceWaitIdle", PFN_vkDeviceWaitIdle.self)
        createFence = try load("vkCreateFence", PFN_vkCreateFence.self)
        createSemaphore = try load("vkCreateSemaphore", PFN_vkCreateSemaphore.self)
        destroySemaphore = try load("vkDestroySemaphore", PFN_vkDestroySemaphore.self)
        destroyFence = try load("vkDestroyFence", PFN_vkDestroyFence.self)
        waitForFences = try load("vkWaitForFences", PFN_vkWaitForFences.self)
        resetFences = try load("vkResetFences", PFN_vkResetFences.self)
        createQueryPool = try load("vkCreateQueryPool", PFN_vkCreateQueryPool.self)
        destroyQueryPool = try load("vkDestroyQueryPool", PFN_vkDestroyQueryPool.self)
        getQueryPoolResults = try load("vkGetQueryPoolResults", PFN_vkGetQueryPoolResults.self)
        getPipelineExecutableProperties = getDeviceProcAddr(device, "vkGetPipelineExecutablePropertiesKHR")
            .map { unsafeBitCast($0, to: PFN_vkGetPipelineExecutablePropertiesKHR.self) }
        getPipelineExecutableStatistics = getDeviceProcAddr(device, "vkGetPipelineExecutableStatisticsKHR")
            .map { unsafeBitCast($0, to: PFN_vkGetPipelineExecutableStatisticsKHR.self) }
    }
}
