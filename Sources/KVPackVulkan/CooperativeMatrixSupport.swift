import CVulkan

/// What the cooperative-matrix decode kernel (`Kernels/decode_f16_coopmat.comp`) needs of a
/// device, as the device reports it: the SPIR-V declares `CooperativeMatrixKHR`, the Vulkan memory
/// model (glslang emits it for every cooperative-matrix shader) and `Float16`, and multiplies
/// 16x16x16 f16 tiles into f32 over a subgroup.
struct CooperativeMatrixSupport: Equatable {
    /// The device offers VK_KHR_cooperative_matrix.
    var hasExtension = false
    /// ... with its `cooperativeMatrix` feature.
    var cooperativeMatrix = false
    /// ... in compute shaders (`cooperativeMatrixSupportedStages`).
    var computeStage = false
    /// `vulkanMemoryModel` (Vulkan 1.2; the device reports Vulkan 1.2 or later).
    var vulkanMemoryModel = false
    /// `vulkanMemoryModelDeviceScope`: enabled with the memory model where offered (the kernel
    /// itself uses workgroup and queue-family scopes only).
    var vulkanMemoryModelDeviceScope = false
    /// shaderFloat16.
    var shaderFloat16 = false
    /// The shapes the device reports.
    var shapes: [CooperativeMatrixShape] = []

    /// What the kernel needs that the device lacks, in the order a user would fix it; empty when
    /// the device can be created with all of it enabled.
    var missing: [String] {
        guard hasExtension else { return ["VK_KHR_cooperative_matrix"] }
        var lacks: [String] = []
        if !cooperativeMatrix { lacks.append("the cooperativeMatrix feature") }
        if !computeStage { lacks.append("cooperative matrices in compute shaders") }
        if !vulkanMemoryModel { lacks.append("the vulkanMemoryModel feature") }
        if !shaderFloat16 { lacks.append("shaderFloat16") }
        if !shapes.contains(where: \.isDecodeTile) { lacks.append("the 16x16x16 f16·f16+f32->f32 subgroup shape") }
        return lacks
    }

    /// The device can run the kernel once these are enabled.
    var usable: Bool { missing.isEmpty }
}

extension VulkanContext {
    /// What `device` offers of the cooperative-matrix kernel's needs (`shaderFloat16` as
    /// `optionalFeatures` found it). Structs of VK_KHR_cooperative_matrix and the Vulkan 1.2
    /// memory model are chained into the queries only where the device has the extension and
    /// reports Vulkan 1.2, so other devices (lavapipe) are asked exactly what they were before.
    static func cooperativeMatrixSupport(_ loader: VulkanLoader, _ instance: VkInstance, _ device: VkPhysicalDevice, extensions: [String],
                                         shaderFloat16: Bool) throws(VulkanError) -> CooperativeMatrixSupport {
        var support = CooperativeMatrixSupport(shaderFloat16: shaderFloat16)
        guard extensions.contains(cooperativeMatrixExtension) else { return support }
        support.hasExtension = true
        var stages = KVPCooperativeMatrixDeviceProperties()
        stages.sType = KVP_STRUCTURE_TYPE_COOPERATIVE_MATRIX_DEVICE_PROPERTIES
        let version = try properties2(loader, instance, device, chaining: &stages).apiVersion
        support.computeStage = stages.cooperativeMatrixSupportedStages & UInt32(VK_SHADER_STAGE_COMPUTE_BIT.rawValue) != 0

        let features2 = try loader.function("vkGetPhysicalDeviceFeatures2", instance: instance, as: PFN_vkGetPhysicalDeviceFeatures2.self)
        let chain = PNextChain()
        defer { withExtendedLifetime(chain) {} } // its structs are read after the call
        var asked = KVPCooperativeMatrixFeatures()
        asked.sType = KVP_STRUCTURE_TYPE_COOPERATIVE_MATRIX_FEATURES
        let cooperative = chain.link(asked)
        var model = VkPhysicalDeviceVulkanMemoryModelFeatures()
        model.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_MEMORY_MODEL_FEATURES
        let memoryModel = version >= Self.vulkan12 ? chain.link(model) : nil
        var all = VkPhysicalDeviceFeatures2()
        all.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2
        all.pNext = chain.head
        features2(device, &all)
        support.cooperativeMatrix = cooperative.pointee.cooperativeMatrix != 0
        support.vulkanMemoryModel = memoryModel.map { $0.pointee.vulkanMemoryModel != 0 } ?? false
        support.vulkanMemoryModelDeviceScope = memoryModel.map { $0.pointee.vulkanMemoryModelDeviceScope != 0 } ?? false
        support.shapes = cooperativeMatrixShapes(loader, instance, device, extensions: extensions)
        return support
    }

    /// VK_API_VERSION_1_2 (variant 0, 1.2.0).
    static let vulkan12: UInt32 = (1 << 22) | (2 << 12)

    /// The structs that enable the kernel's features at device creation, linked into `chain`:
    /// `cooperativeMatrix`, and the Vulkan memory model (with device scope where offered).
    static func enableCooperativeMatrix(_ support: CooperativeMatrixSupport, in chain: PNextChain) {
        var cooperative = KVPCooperativeMatrixFeatures()
        cooperative.sType = KVP_STRUCTURE_TYPE_COOPERATIVE_MATRIX_FEATURES
        cooperative.cooperativeMatrix = VkBool32(VK_TRUE)
        chain.link(cooperative)
        var model = VkPhysicalDeviceVulkanMemoryModelFeatures()
        model.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_MEMORY_MODEL_FEATURES
        model.vulkanMemoryModel = VkBool32(VK_TRUE)
        model.vulkanMemoryModelDeviceScope = VkBool32(support.vulkanMemoryModelDeviceScope ? VK_TRUE : VK_FALSE)
        chain.link(model)
    }
}
