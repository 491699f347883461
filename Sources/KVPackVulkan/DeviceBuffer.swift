import CVulkan
import Foundation

/// A storage buffer and its memory. Device-local; on a device whose device-local memory is not
/// host-visible (a discrete GPU), contents move through a host-visible staging buffer.
final class DeviceBuffer: @unchecked Sendable {
    let context: VulkanContext
    let handle: VkBuffer
    let memory: VkDeviceMemory
    /// Where a small device buffer lies in the context's shared blocks (`SmallBufferMemory`); nil
    /// where the buffer has memory of its own.
    private let placement: SmallBufferMemory.Placement?
    /// Bytes (at least the requested size; never 0).
    let size: Int
    /// Mapped pointer when the memory is host-visible.
    let mapped: UnsafeMutableRawPointer?
    /// The memory is the device's own (device-local).
    let deviceLocal: Bool

    /// Where a buffer's memory lies: `.device` for data the kernels read or write; `.host` for
    /// staging the host writes (any host-visible, coherent type: on discrete GPUs the first is
    /// write-combined, fast to write and slow to read); `.readback` for what the host reads
    /// back, in a host-cached type where the device has one (NVIDIA lists it after the
    /// write-combined one, whose every read goes uncached over the bus); `.upload` for staging
    /// the device reads where it lies: a device-local, host-visible type where the device has
    /// one (a window of its memory the host writes over the bus), else as `.host`.
    enum Location { case device, host, readback, upload }

    /// - Parameter location: where the memory lies (`Location`).
    init(_ context: VulkanContext, size requested: Int, location: Location = .device) throws(VulkanError) {
        let size = max(16, (requested + 15) / 16 * 16)
        let started = ContinuousClock.now
        if location == .upload, context.refusesUploadMemory {
            throw .call("vkAllocateMemory (\(size) bytes, refused by a test)", code: VK_ERROR_OUT_OF_DEVICE_MEMORY.rawValue)
        }
        let vk = context.vk, device = context.handle
        var info = VkBufferCreateInfo()
        info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO
        info.size = VkDeviceSize(size)
        info.usage = UInt32(VK_BUFFER_USAGE_STORAGE_BUFFER_BIT.rawValue | VK_BUFFER_USAGE_TRANSFER_SRC_BIT.rawValue
                            | VK_BUFFER_USAGE_TRANSFER_DST_BIT.rawValue)
        info.sharingMode = VK_SHARING_MODE_EXCLUSIVE
        var buffer: VkBuffer? = nil
        try vk.createBuffer(device, &info, nil, &buffer).check("vkCreateBuffer")
        guard let buffer else { throw .call("vkCreateBuffer", code: 0) }
        var requirements = VkMemoryRequirements()
        vk.getBufferMemoryRequirements(device, buffer, &requirements)
        let local = UInt32(VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT.rawValue)
        let visible = UInt32(VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT.rawValue | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT.rawValue)
        let type: UInt32?
        switch location {
        case .device where context.device.kind == .discrete:
            type = context.memoryType(bits: requirements.memoryTypeBits, required: local)
        case .device:
            type = context.memoryType(bits: requirements.memoryTypeBits, required: local | visible)
                ?? context.memoryType(bits: requirements.memoryTypeBits, required: local)
        case .host:
            type = context.memoryType(bits: requirements.memoryTypeBits, required: visible)
        case .readback:
            type = context.memoryType(bits: requirements.memoryTypeBits, required: visible,
                                      preferred: UInt32(VK_MEMORY_PROPERTY_HOST_CACHED_BIT.rawValue))
        case .upload:
            type = context.memoryType(bits: requirements.memoryTypeBits, required: visible, preferred: local)
        }
        guard let type else {
            vk.destroyBuffer(device, buffer, nil)
            throw .noMemoryType(location == .device ? "device buffers" : "staging buffers")
        }
        let hostVisible = context.memoryFlags(type) & UInt32(VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT.rawValue) != 0
        // Small device buffers lie in a shared block (no allocation of their own); others get theirs.
        let memory: VkDeviceMemory, placement: SmallBufferMemory.Placement?, pointer: UnsafeMutableRawPointer?
        do throws(VulkanError) {
            if location == .device, Int(requirements.size) <= SmallBufferMemory.largestPlaced {
                let placed = try context.smallBuffers.place(requirements, type: type, hostVisible: hostVisible, context)
                (memory, placement) = (placed.block.memory, placed)
                pointer = placed.block.base.map { $0 + placed.range.lowerBound }
            } else {
                (memory, pointer) = try Self.allocateMemory(context, bytes: Int(requirements.size), type: type, map: hostVisible,
                                                             what: "\(size) bytes")
                placement = nil
            }
        } catch {
            vk.destroyBuffer(device, buffer, nil)
            throw error
        }
        let bound = vk.bindBufferMemory(device, buffer, memory, VkDeviceSize(placement?.range.lowerBound ?? 0))
        guard bound == VK_SUCCESS else {
            vk.destroyBuffer(device, buffer, nil)
            Self.giveBack(memory, placement: placement, mapped: pointer != nil, context)
            throw .call("vkBindBufferMemory", code: bound.rawValue)
        }
        self.context = context
        self.handle = buffer
        self.memory = memory
        self.placement = placement
        self.size = size
        self.mapped = pointer
        deviceLocal = context.memoryFlags(type) & local != 0
        context.live.change(buffers: 1, creationSeconds: (ContinuousClock.now - started).seconds)
    }

    deinit {
        context.live.change(buffers: -1)
        context.vk.destroyBuffer(context.handle, handle, nil)
        Self.giveBack(memory, placement: placement, mapped: mapped != nil, context)
    }

    /// Allocates `bytes` of memory type `type`, mapped where `map` (the whole allocation); `what`
    /// names it in errors. A buffer's own memory, or a block of `SmallBufferMemory`.
    static func allocateMemory(_ context: VulkanContext, bytes: Int, type: UInt32, map: Bool,
                               what: String) throws(VulkanError) -> (VkDeviceMemory, UnsafeMutableRawPointer?) {
        let vk = context.vk, device = context.handle
        var allocate = VkMemoryAllocateInfo()
        allocate.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO
        allocate.allocationSize = VkDeviceSize(bytes)
        allocate.memoryTypeIndex = type
        var memory: VkDeviceMemory? = nil
        let allocated = vk.allocateMemory(device, &allocate, nil, &memory)
        guard allocated == VK_SUCCESS, let memory else { throw .call("vkAllocateMemory (\(what))", code: allocated.rawValue) }
        var pointer: UnsafeMutableRawPointer? = nil
        if map {
            let mapped = vk.mapMemory(device, memory, 0, VkDeviceSize(VK_WHOLE_SIZE), 0, &pointer)
            guard mapped == VK_SUCCESS else {
                vk.freeMemory(device, memory, nil)
                throw .call("vkMapMemory (\(what))", code: mapped.rawValue)
            }
        }
        return (memory, pointer)
    }

    /// Returns a buffer's memory: its range to its block, or its own memory to the device.
    private static func giveBack(_ memory: VkDeviceMemory, placement: SmallBufferMemory.Placement?,
                                 mapped: Bool, _ context: VulkanContext) {
        if let placement {
            context.smallBuffers.release(placement.range, in: placement.block)
            return
        }
        if mapped { context.vk.unmapMemory(context.handle, memory) }
        context.vk.freeMemory(context.handle, memory, nil)
    }

    /// Bytes per staging copy.
    static let stagingChunk = 64 << 20

    /// Copies `bytes` to the buffer's start.
    func upload(_ bytes: UnsafeRawBufferPointer) throws(VulkanError) {
        precondition(bytes.count <= size)
        guard bytes.count > 0 else { return }
        if let mapped {
            mapped.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
            return
        }
        let staging = try DeviceBuffer(context, size: min(bytes.count, Self.stagingChunk), location: .host)
        var done = 0
        while done < bytes.count {
            let n = min(Self.stagingChunk, bytes.count - done)
            staging.mapped!.copyMemory(from: bytes.baseAddress! + done, byteCount: n)
            try context.submit { (commands) throws(VulkanError) in
                var region = VkBufferCopy(srcOffset: 0, dstOffset: VkDeviceSize(done), size: VkDeviceSize(n))
                context.vk.cmdCopyBuffer(commands, staging.handle, handle, 1, &region)
            }
            done += n
        }
    }

    /// Copies `count` bytes from the buffer's start into `out`.
    func download(into out: UnsafeMutableRawBufferPointer) throws(VulkanError) {
        precondition(out.count <= size)
        guard out.count > 0 else { return }
        if let mapped {
            out.baseAddress!.copyMemory(from: mapped, byteCount: out.count)
            return
        }
        let staging = try DeviceBuffer(context, size: min(out.count, Self.stagingChunk), location: .readback)
        var done = 0
        while done < out.count {
            let n = min(Self.stagingChunk, out.count - done)
            try context.submit { (commands) throws(VulkanError) in
                var region = VkBufferCopy(srcOffset: VkDeviceSize(done), dstOffset: 0, size: VkDeviceSize(n))
                context.vk.cmdCopyBuffer(commands, handle, staging.handle, 1, &region)
            }
            (out.baseAddress! + done).copyMemory(from: staging.mapped!, byteCount: n)
            done += n
        }
    }
}

extension DeviceBuffer {
    /// A device buffer holding `array`'s bytes.
    convenience init<T>(_ context: VulkanContext, contents array: [T], minimumSize: Int = 0) throws(VulkanError) {
        let bytes = array.count * MemoryLayout<T>.stride
        try self.init(context, size: max(bytes, minimumSize))
        let copied = array.withUnsafeBytes { raw in Result { () throws(VulkanError) in try self.upload(raw) } }
        try copied.get()
    }
}
