import CVulkan
import Foundation

/// A Vulkan physical device as the driver describes it.
public struct VulkanDeviceInfo: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Codable {
        case discrete, integrated, virtual, cpu, other
    }
    public var name: String
    public var kind: Kind
    /// Vulkan API version the device supports, as "major.minor.patch".
    public var apiVersion: String
    public var vendorID: UInt32
    public var deviceID: UInt32
}

extension VulkanDeviceInfo {
    /// The device as its properties describe it.
    init(_ p: VkPhysicalDeviceProperties) {
        var p = p
        let name = withUnsafeBytes(of: &p.deviceName) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        let kind: Kind
        switch p.deviceType {
        case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: kind = .discrete
        case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: kind = .integrated
        case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: kind = .virtual
        case VK_PHYSICAL_DEVICE_TYPE_CPU: kind = .cpu
        default: kind = .other
        }
        self.init(name: name, kind: kind, apiVersion: VulkanLoader.versionString(p.apiVersion),
                  vendorID: p.vendorID, deviceID: p.deviceID)
    }
}

/// The Vulkan loader, opened at run time so that machines without Vulkan still run KVPack.
public final class VulkanLoader: @unchecked Sendable {
    /// Library names tried in order; `KVPACK_VULKAN_LOADER` (a path) comes first when set.
    public static var candidates: [String] {
        var names = ["libvulkan.so.1", "libvulkan.so", "libvulkan.1.dylib"]
        if let custom = ProcessInfo.processInfo.environment["KVPACK_VULKAN_LOADER"] { names.insert(custom, at: 0) }
        return names
    }

    private let handle: UnsafeMutableRawPointer
    let getInstanceProcAddr: PFN_vkGetInstanceProcAddr

    /// Opens the first loader of `candidates` (default: `VulkanLoader.candidates`) that exists.
    public init(candidates: [String] = VulkanLoader.candidates) throws(VulkanError) {
        var opened: UnsafeMutableRawPointer? = nil
        for name in candidates {
            if let h = dlopen(name, RTLD_NOW | RTLD_LOCAL) { opened = h; break }
        }
        guard let handle = opened else { throw .loaderNotFound(tried: candidates) }
        guard let symbol = dlsym(handle, "vkGetInstanceProcAddr") else {
            dlclose(handle)
            throw .missingEntryPoint("vkGetInstanceProcAddr")
        }
        self.handle = handle
        self.getInstanceProcAddr = unsafeBitCast(symbol, to: PFN_vkGetInstanceProcAddr.self)
    }

    deinit { dlclose(handle) }

    func function<T>(_ name: String, instance: VkInstance? = nil, as type: T.Type) throws(VulkanError) -> T {
        guard let f = getInstanceProcAddr(instance, name) else { throw .missingEntryPoint(name) }
        return unsafeBitCast(f, to: type)
    }

    /// The loader's instance-level API version, as "major.minor.patch".
    public func instanceVersion() throws(VulkanError) -> String {
        let enumerate = try function("vkEnumerateInstanceVersion", as: PFN_vkEnumerateInstanceVersion.self)
        var version: UInt32 = 0
        let result = enumerate(&version)
        guard result == VK_SUCCESS else { throw .call("vkEnumerateInstanceVersion", code: result.rawValue) }
        return Self.versionString(version)
    }

    /// A Vulkan 1.2 instance without layers or extensions; the caller destroys it.
    /// - Throws: `VulkanError.noDevice` when no driver supports it, `.call` for other failures.
    func createInstance() throws(VulkanError) -> VkInstance {
        let create = try function("vkCreateInstance", as: PFN_vkCreateInstance.self)
        var app = VkApplicationInfo()
        app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO
        app.apiVersion = (1 << 22) | (2 << 12) // Vulkan 1.2
        var info = VkInstanceCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO
        var instance: VkInstance? = nil
        let result = withUnsafePointer(to: &app) { appPointer in
            info.pApplicationInfo = appPointer
            return create(&info, nil, &instance)
        }
        if result == VK_ERROR_INCOMPATIBLE_DRIVER { throw .noDevice }
        try result.check("vkCreateInstance")
        guard let instance else { throw .call("vkCreateInstance", code: result.rawValue) }
        return instance
    }

    /// Every physical device the installed drivers expose.
    public func physicalDevices() throws(VulkanError) -> [VulkanDeviceInfo] {
        try eachDevice { instance, device throws(VulkanError) in try VulkanContext.info(self, instance, device) }
    }

    /// Every physical device with the cooperative-matrix shapes it reports (empty for none: lavapipe),
    /// in `physicalDevices()`' order (`kvpack doctor` prints them).
    public func cooperativeMatrixShapes() throws(VulkanError) -> [(device: VulkanDeviceInfo, shapes: [CooperativeMatrixShape])] {
        try eachDevice { instance, device throws(VulkanError) in
            (device: try VulkanContext.info(self, instance, device),
             shapes: VulkanContext.cooperativeMatrixShapes(self, instance, device, extensions: try VulkanContext.deviceExtensions(self, instance, device)))
        }
    }

    /// `body` of each physical device, in the loader's order, on an instance created for the call.
    private func eachDevice<T>(_ body: (VkInstance, VkPhysicalDevice) throws(VulkanError) -> T) throws(VulkanError) -> [T] {
        let instance = try createInstance()
        let destroy = try function("vkDestroyInstance", instance: instance, as: PFN_vkDestroyInstance.self)
        defer { destroy(instance, nil) }
        var results: [T] = []
        for device in try VulkanContext.physicalDevices(self, instance) { results.append(try body(instance, device)) }
        return results
    }

    static func versionString(_ v: UInt32) -> String {
        "\((v >> 22) & 0x7F).\((v >> 12) & 0x3FF).\(v & 0xFFF)"
    }
}
