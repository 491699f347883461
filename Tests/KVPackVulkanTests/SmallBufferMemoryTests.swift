import Testing
@testable import KVPackVulkan

/// Small device buffers share blocks of device memory: each reads back what was written to it
/// (its own range of the block, not another's), a freed range is reused, and large buffers keep
/// memory of their own.
@Suite(.vulkanDevice)
struct SmallBufferMemoryTests {
    @Test func smallBuffersShareBlocksAndKeepTheirOwnBytes() throws {
        let context = try VulkanContext()
        #expect(context.smallBuffers.blockCount == 0)
        let sizes = [16, 100, 4096, 65_536, 1 << 20, 24, SmallBufferMemory.largestPlaced]
        var buffers: [DeviceBuffer] = []
        for (i, n) in sizes.enumerated() {
            let words = (0..<(n + 3) / 4).map { UInt32(i) << 24 | UInt32($0 & 0xFFFFFF) }
            buffers.append(try DeviceBuffer(context, contents: words))
        }
        #expect(context.smallBuffers.blockCount == 1)
        for (i, b) in buffers.enumerated() {
            var out = [UInt32](repeating: 0, count: (sizes[i] + 3) / 4)
            try out.withUnsafeMutableBytes { raw in try Result { () throws(VulkanError) in try b.download(into: raw) }.get() }
            let wrong = out.indices.filter { out[$0] != UInt32(i) << 24 | UInt32($0 & 0xFFFFFF) }
            #expect(wrong.isEmpty, "buffer \(i) of \(sizes[i]) bytes: \(wrong.count) words wrong, first at \(wrong.first ?? 0)")
        }
        // A larger buffer has memory of its own; freed ranges are placed again.
        let large = try DeviceBuffer(context, size: SmallBufferMemory.largestPlaced + 1)
        #expect(large.memory != buffers[0].memory && buffers[1].memory == buffers[0].memory)
        buffers.removeAll()
        for _ in 0..<40 { buffers.append(try DeviceBuffer(context, size: 512 << 10)) }
        #expect(context.smallBuffers.blockCount == 1, "20 MiB of buffers in the freed 32 MiB block")
        for _ in 0..<40 { buffers.append(try DeviceBuffer(context, size: 512 << 10)) }
        #expect(context.smallBuffers.blockCount == 2)
    }
}
