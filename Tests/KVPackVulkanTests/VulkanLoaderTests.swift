import KVPackTestSupport
import Testing
@testable import KVPackVulkan

@Suite("Vulkan loader")
struct VulkanLoaderTests {
    @Test("lists at least one device (lavapipe on CPU-only machines)")
    func listsDevices() throws {
        let loader: VulkanLoader
        do { loader = try VulkanLoader() } catch { try TestEnvironment.deviceMissing("Vulkan", why: error.description) }
        let version = try loader.instanceVersion()
        #expect(version.split(separator: ".").count == 3)
        let devices: [VulkanDeviceInfo]
        do { devices = try loader.physicalDevices() } catch { try TestEnvironment.deviceMissing("Vulkan", why: error.description) }
        if devices.isEmpty { try TestEnvironment.deviceMissing("Vulkan", why: "the loader (Vulkan \(version)) lists no physical device") }
        #expect(devices.allSatisfy { !$0.name.isEmpty })
    }

    @Test("a missing loader is a typed error, not a crash")
    func missingLoader() {
        #expect(throws: VulkanError.loaderNotFound(tried: ["/nonexistent/libvulkan.so.1"])) {
            try VulkanLoader(candidates: ["/nonexistent/libvulkan.so.1"])
        }
    }

    @Test("version numbers decode as major.minor.patch")
    func versions() {
        #expect(VulkanLoader.versionString((1 << 22) | (3 << 12) | 239) == "1.3.239")
    }
}
