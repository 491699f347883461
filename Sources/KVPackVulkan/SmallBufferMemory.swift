import CVulkan
import Foundation

/// Device memory a context's small device buffers share: blocks of `blockBytes` allocated as
/// needed, one memory type each, every buffer bound at a range of one (`BlockRanges`). Creating
/// such a buffer costs no driver allocation: `vkAllocateMemory` took 0.43-0.47 ms a buffer on an
/// H100, most of a session pool lane's first decode plan over a bank. Blocks are kept for the
/// context's life (a freed range is reused) and freed by the context before its device.
final class SmallBufferMemory: @unchecked Sendable {
    /// Bytes of one block.
    static let blockBytes = 32 << 20
    /// Buffers of at most this many bytes are placed in blocks; larger ones get memory of their own.
    static let largestPlaced = 4 << 20

    /// One allocation of device memory and the ranges placed in it.
    final class Block: @unchecked Sendable {
        let memory: VkDeviceMemory
        let type: UInt32
        /// Mapped address of the block's start where its memory is host-visible.
        let base: UnsafeMutableRawPointer?
        /// Guarded by the owning `SmallBufferMemory`'s lock.
        fileprivate var ranges: BlockRanges

        fileprivate init(memory: VkDeviceMemory, type: UInt32, base: UnsafeMutableRawPointer?, bytes: Int) {
            self.memory = memory
            self.type = type
            self.base = base
            ranges = BlockRanges(capacity: bytes)
        }
    }

    /// Where a buffer lies: its block and its byte range there.
    typealias Placement = (block: Block, range: Range<Int>)

    private let lock = NSLock()
    private var blocks: [Block] = []

    /// Blocks allocated so far (tests).
    var blockCount: Int { lock.withLock { blocks.count } }

    /// A range of `requirements.size` bytes at its alignment in a block of memory type `type`,
    /// allocating a block where none has room.
    func place(_ requirements: VkMemoryRequirements, type: UInt32, hostVisible: Bool,
               _ context: VulkanContext) throws(VulkanError) -> Placement {
        let size = Int(requirements.size), alignment = max(1, Int(requirements.alignment))
        lock.lock()
        defer { lock.unlock() }
        for block in blocks where block.type == type {
            if let range = block.ranges.place(size, alignment: alignment) { return (block, range) }
        }
        let (memory, base) = try DeviceBuffer.allocateMemory(context, bytes: Self.blockBytes, type: type, map: hostVisible,
                                                             what: "a block of \(Self.blockBytes) bytes for small buffers")
        let block = Block(memory: memory, type: type, base: base, bytes: Self.blockBytes)
        blocks.append(block)
        // A block holds any placeable buffer: the first fit of an empty one cannot fail.
        return (block, block.ranges.place(size, alignment: alignment)!)
    }

    /// Gives a buffer's range back to its block.
    func release(_ range: Range<Int>, in block: Block) {
        lock.withLock { block.ranges.release(range) }
    }

    /// Frees every block (the context's `deinit`: no buffer is left, each holds the context).
    func freeAll(_ vk: DeviceFunctions, device: VkDevice) {
        lock.withLock {
            for block in blocks {
                if block.base != nil { vk.unmapMemory(device, block.memory) }
                vk.freeMemory(device, block.memory, nil)
            }
            blocks = []
        }
    }
}
