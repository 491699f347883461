import CVulkan

/// Vulkan structs linked through their `pNext` for one call (the features a device is asked for
/// or created with), each copied into memory the chain owns until the chain is released.
final class PNextChain {
    private var releases: [() -> Void] = []
    /// The first struct, for the caller's `pNext` (nil while the chain is empty).
    private(set) var head: UnsafeMutableRawPointer?

    /// Links a copy of `value`, a Vulkan struct with its `sType` set, in front of the chain; the
    /// returned pointer reads what a call wrote into it, while the chain lives.
    @discardableResult
    func link<T>(_ value: T) -> UnsafeMutablePointer<T> {
        let p = UnsafeMutablePointer<T>.allocate(capacity: 1)
        p.initialize(to: value)
        // Every chained Vulkan struct starts as VkBaseOutStructure: sType, then pNext.
        UnsafeMutableRawPointer(p).storeBytes(of: head, toByteOffset: Self.nextOffset, as: UnsafeMutableRawPointer?.self)
        head = UnsafeMutableRawPointer(p)
        releases.append {
            p.deinitialize(count: 1)
            p.deallocate()
        }
        return p
    }

    private static let nextOffset = MemoryLayout<VkBaseOutStructure>.offset(of: \VkBaseOutStructure.pNext)!

    deinit { releases.forEach { $0() } }
}
