import CVulkan
import Testing
@testable import KVPackVulkan

/// Which memory type each kind of buffer takes, on memory-type lists written by hand.
@Suite struct MemoryTypeChoiceTests {
    static let local = UInt32(VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT.rawValue)
    static let visible = UInt32(VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT.rawValue | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT.rawValue)
    static let cached = UInt32(VK_MEMORY_PROPERTY_HOST_CACHED_BIT.rawValue)

    /// A discrete GPU's list as NVIDIA's drivers order it: device-local, then host-visible
    /// write-combined, then host-visible cached, then device-local host-visible (resizable BAR).
    static let discrete = [local, local, visible, visible | cached, local | visible]

    @Test func stagingTakesTheFirstHostVisibleTypeAndReadbackTheCachedOne() {
        #expect(VulkanContext.memoryType(flags: Self.discrete, bits: ~0, required: Self.visible) == 2)
        #expect(VulkanContext.memoryType(flags: Self.discrete, bits: ~0, required: Self.visible, preferred: Self.cached) == 3)
        // A buffer that cannot use the cached type falls back to any host-visible one.
        #expect(VulkanContext.memoryType(flags: Self.discrete, bits: 0b10111, required: Self.visible, preferred: Self.cached) == 2)
        // None allowed: nil, not a wrong type.
        #expect(VulkanContext.memoryType(flags: Self.discrete, bits: 0b00011, required: Self.visible) == nil)
        // Only cached host memory (lavapipe's kind): both take it.
        let unified = [Self.local | Self.visible | Self.cached]
        #expect(VulkanContext.memoryType(flags: unified, bits: ~0, required: Self.visible) == 0)
        #expect(VulkanContext.memoryType(flags: unified, bits: ~0, required: Self.visible, preferred: Self.cached) == 0)
    }
}
