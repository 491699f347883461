import CVulkan

/// Why a Vulkan operation failed. Where Vulkan is unavailable, callers use the CPU backend instead.
public enum VulkanError: Error, Equatable, CustomStringConvertible {
    case loaderNotFound(tried: [String])
    case missingEntryPoint(String)
    case call(String, code: Int32)
    /// The loader found no physical device (no driver installed, or `VK_DRIVER_FILES` points at none).
    case noDevice
    /// `KVPACK_VULKAN_DEVICE` or the selector names no listed device.
    case deviceNotFound(selector: String, available: [String])
    /// The device has no queue family with compute.
    case noComputeQueue(device: String)
    /// A buffer would exceed what the device can bind or hold; nothing was allocated.
    case tooLarge(what: String, bytes: Int, limit: Int, limitName: String)
    /// The shape or cache is outside what the kernels support.
    case unsupported(String)
    /// The device was lost during a submission; the call's resources were released.
    case deviceLost
    /// No memory type with the required properties.
    case noMemoryType(String)
    /// A decode mask hides every kept key of a head from its sequence's query.
    case noVisibleKeys(sequence: Int, layer: Int, kvHead: Int, queryPosition: Int, window: Int?)
    /// An argument's shape does not match the cache (queries, query positions, the layer);
    /// nothing was allocated or submitted.
    case invalidShape(String)

    public var description: String {
        switch self {
        case .loaderNotFound(let tried):
            return "no Vulkan loader found (tried \(tried.joined(separator: ", "))); install libvulkan1 and a driver (mesa-vulkan-drivers gives lavapipe on any CPU)"
        case .missingEntryPoint(let name):
            return "the Vulkan loader lacks \(name)"
        case .call(let name, let code):
            return "\(name) failed with VkResult \(code)"
        case .noDevice:
            return "the Vulkan loader lists no device; install a driver (mesa-vulkan-drivers gives lavapipe) or check VK_DRIVER_FILES / VK_ICD_FILENAMES"
        case .deviceNotFound(let selector, let available):
            return "no Vulkan device matches \"\(selector)\" (KVPACK_VULKAN_DEVICE takes an index or a name substring); devices: \(available.enumerated().map { "\($0.offset): \($0.element)" }.joined(separator: ", "))"
        case .noComputeQueue(let device):
            return "\(device) has no compute queue"
        case .tooLarge(let what, let bytes, let limit, let limitName):
            return "\(what) needs \(bytes) bytes; the device's \(limitName) is \(limit) bytes: use a smaller batch or context, or split the cache"
        case .unsupported(let reason):
            return "not supported by the Vulkan kernels: \(reason)"
        case .deviceLost:
            return "the Vulkan device was lost during a dispatch (driver reset or GPU fault); its resources were released"
        case .noMemoryType(let what):
            return "the device has no memory type for \(what)"
        case .invalidShape(let what):
            return "wrong shape: \(what)"
        case .noVisibleKeys(let s, let l, let h, let q, let w):
            return "sequence \(s), layer \(l), KV head \(h): no kept key at or before position \(q)\(w.map { " within a window of \($0)" } ?? ""); attention there is undefined (check the query positions)"
        }
    }
}

extension VkResult {
    /// Throws `VulkanError` unless the result is `VK_SUCCESS`.
    func check(_ name: String) throws(VulkanError) {
        if self == VK_SUCCESS { return }
        if self == VK_ERROR_DEVICE_LOST { throw .deviceLost }
        throw .call(name, code: rawValue)
    }
}
