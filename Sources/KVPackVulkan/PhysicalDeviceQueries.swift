import CVulkan

/// What a physical device is and offers, asked before and while `VulkanContext` opens it:
/// devices, properties, optional features, queue families and memory heaps.
extension VulkanContext {
    static func physicalDevices(_ loader: VulkanLoader, _ instance: VkInstance) throws(VulkanError) -> [VkPhysicalDevice] {
        let enumerate = try loader.function("vkEnumeratePhysicalDevices", instance: instance, as: PFN_vkEnumeratePhysicalDevices.self)
        var count: UInt32 = 0
        try enumerate(instance, &count, nil).check("vkEnumeratePhysicalDevices")
        var devices = [VkPhysicalDevice?](repeating: nil, count: Int(count))
        let r = enumerate(instance, &count, &devices)
        guard r == VK_SUCCESS || r == VK_INCOMPLETE else { throw .call("vkEnumeratePhysicalDevices", code: r.rawValue) }
        return devices.prefix(Int(count)).compactMap { $0 }
    }

    static func info(_ loader: VulkanLoader, _ instance: VkInstance, _ device: VkPhysicalDevice) throws(VulkanError) -> VulkanDeviceInfo {
        let properties = try loader.function("vkGetPhysicalDeviceProperties", instance: instance, as: PFN_vkGetPhysicalDeviceProperties.self)
        var p = VkPhysicalDeviceProperties()
        properties(device, &p)
        return VulkanDeviceInfo(p)
    }

    struct Properties {
        var limits: VkPhysicalDeviceLimits
        var subgroup: VkPhysicalDeviceSubgroupProperties
    }

    static func properties(_ loader: VulkanLoader, _ instance: VkInstance, _ device: VkPhysicalDevice) throws(VulkanError) -> Properties {
        var subgroup = VkPhysicalDeviceSubgroupProperties()
        subgroup.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES
        let limits = try properties2(loader, instance, device, chaining: &subgroup).limits
        return Properties(limits: limits, subgroup: subgroup)
    }

    /// vkGetPhysicalDeviceProperties2 with `extra` (a properties struct, its sType set) chained.
    static func properties2<Extra>(_ loader: VulkanLoader, _ instance: VkInstance, _ device: VkPhysicalDevice,
                                   chaining extra: inout Extra) throws(VulkanError) -> VkPhysicalDeviceProperties {
        let get = try loader.function("vkGetPhysicalDeviceProperties2", instance: instance, as: PFN_vkGetPhysicalDeviceProperties2.self)
        var p = VkPhysicalDeviceProperties2()
        p.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2
        withUnsafeMutablePointer(to: &extra) { e in
            p.pNext = UnsafeMutableRawPointer(e)
            get(device, &p)
            p.pNext = nil
        }
        return p.properties
    }

    static let statisticsExtension = "VK_KHR_pipeline_executable_properties"
    static let integerDotExtension = "VK_KHR_shader_integer_dot_product"

    /// The optional features a device offers (`VulkanContext.init` enables each one offered).
    struct OptionalFeatures {
        /// Kernel statistics (VK_KHR_pipeline_executable_properties).
        var statistics = false
        /// f16 arithmetic in shaders (shaderFloat16).
        var float16 = false
        /// Indexing arrays of storage buffers (the decode kernels need it for pool windows).
        var dynamicIndexing = false
        /// Packed 8-bit dot products in shaders (VK_KHR_shader_integer_dot_product).
        var integerDot = false
        /// ... of signed by unsigned bytes, done by a dot-product instruction rather than emulated.
        var integerDotAccelerated = false
    }

    /// The names of the device extensions the driver offers.
    static func deviceExtensions(_ loader: VulkanLoader, _ instance: VkInstance, _ device: VkPhysicalDevice) throws(VulkanError) -> [String] {
        let enumerate = try loader.function("vkEnumerateDeviceExtensionProperties", instance: instance,
                                            as: PFN_vkEnumerateDeviceExtensionProperties.self)
        var count: UInt32 = 0
        guard enumerate(device, nil, &count, nil) == VK_SUCCESS, count > 0 else { return [] }
        var list = [VkExtensionProperties](repeating: VkExtensionProperties(), count: Int(count))
        guard enumerate(device, nil, &count, &list) == VK_SUCCESS else { return [] }
        return list.prefix(Int(count)).map { p in
            withUnsafeBytes(of: p.extensionName) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        }
    }

    /// `names`: the device's extensions (`deviceExtensions`).
    static func optionalFeatures(_ loader: VulkanLoader, _ instance: VkInstance, _ device: VkPhysicalDevice,
                                 extensions names: [String]) throws(VulkanError) -> OptionalFeatures {
        let features2 = try loader.function("vkGetPhysicalDeviceFeatures2", instance: instance, as: PFN_vkGetPhysicalDeviceFeatures2.self)
        var statistics = VkPhysicalDevicePipelineExecutablePropertiesFeaturesKHR()
        statistics.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PIPELINE_EXECUTABLE_PROPERTIES_FEATURES_KHR
        var half = VkPhysicalDeviceShaderFloat16Int8Features()
        half.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES
        var dot = VkPhysicalDeviceShaderIntegerDotProductFeatures()
        dot.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES
        let hasStatistics = names.contains(statisticsExtension), hasDot = names.contains(integerDotExtension)
        // An extension's struct is chained only when the device has the extension.
        let chain = PNextChain()
        defer { withExtendedLifetime(chain) {} } // its structs are read after the call
        let st = hasStatistics ? chain.link(statistics) : nil
        let h = chain.link(half)
        let d = hasDot ? chain.link(dot) : nil
        var all = VkPhysicalDeviceFeatures2()
        all.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2
        all.pNext = chain.head
        features2(device, &all)
        all.pNext = nil
        if let st { statistics = st.pointee }
        half = h.pointee
        if let d { dot = d.pointee }
        var found = OptionalFeatures()
        found.statistics = hasStatistics && statistics.pipelineExecutableInfo != 0
        found.float16 = half.shaderFloat16 != 0
        found.dynamicIndexing = all.features.shaderStorageBufferArrayDynamicIndexing != 0
        found.integerDot = hasDot && dot.shaderIntegerDotProduct != 0
        if found.integerDot {
            var dotProperties = VkPhysicalDeviceShaderIntegerDotProductProperties()
            dotProperties.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_PROPERTIES
            _ = try properties2(loader, instance, device, chaining: &dotProperties)
            found.integerDotAccelerated = dotProperties.integerDotProduct4x8BitPackedMixedSignednessAccelerated != 0
        }
        return found
    }

    static func queueFamilies(_ loader: VulkanLoader, _ instance: VkInstance, _ device: VkPhysicalDevice) throws(VulkanError) -> [VkQueueFamilyProperties] {
        let get = try loader.function("vkGetPhysicalDeviceQueueFamilyProperties", instance: instance,
                                      as: PFN_vkGetPhysicalDeviceQueueFamilyProperties.self)
        var count: UInt32 = 0
        get(device, &count, nil)
        var families = [VkQueueFamilyProperties](repeating: VkQueueFamilyProperties(), count: Int(count))
        get(device, &count, &families)
        return families
    }

    static func largestDeviceLocalHeap(_ memory: VkPhysicalDeviceMemoryProperties) -> Int {
        var m = memory
        return withUnsafeBytes(of: &m.memoryHeaps) { raw in
            let heaps = raw.bindMemory(to: VkMemoryHeap.self)
            return (0..<Int(m.memoryHeapCount))
                .filter { heaps[$0].flags & UInt32(VK_MEMORY_HEAP_DEVICE_LOCAL_BIT.rawValue) != 0 }
                .map { Int(heaps[$0].size) }.max() ?? 0
        }
    }

    static func hasUnifiedMemory(_ memory: VkPhysicalDeviceMemoryProperties) -> Bool {
        hasMemoryType(memory, with: UInt32(VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT.rawValue | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT.rawValue))
    }

    /// Whether a memory type has all of `flags`.
    static func hasMemoryType(_ memory: VkPhysicalDeviceMemoryProperties, with flags: UInt32) -> Bool {
        memoryTypeFlags(memory).contains { $0 & flags == flags }
    }
}
