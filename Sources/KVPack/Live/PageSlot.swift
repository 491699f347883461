/// One page slot of a `PagePool`: which arena it belongs to, its index there, the start of its
/// bytes (`SlotClass` layout), and where it lies in its bank (the device buffer a mirror such as
/// the Vulkan pool keeps of the bank). The bytes stay where they are for the pool's life.
///
/// Only the session that holds the slot alone (reference count 1) writes it; shared slots
/// (after `CacheSession.fork`) are read-only and copied before a write.
package struct PageSlot: @unchecked Sendable, Hashable {
    let classIndex: Int32
    let index: Int32
    package let base: UnsafeMutableRawPointer
    /// The bank the slot's chunk was placed in, and the slot's byte offset in that bank (a
    /// multiple of 16).
    package let bank: Int32
    package let bankOffset: Int

    package static func == (a: PageSlot, b: PageSlot) -> Bool { a.classIndex == b.classIndex && a.index == b.index }
    package func hash(into h: inout Hasher) {
        h.combine(classIndex)
        h.combine(index)
    }
}

/// The slots of one `SlotClass` in one bank: chunks of `slotsPerChunk` slots allocated as one
/// block each (never per page or per token), a free list and a reference count per slot.
struct SlotArena {
    let slotClass: SlotClass
    let bank: Int
    let slotBytes: Int
    let slotsPerChunk: Int
    var chunks: [UnsafeMutableRawPointer] = []
    /// Each chunk's byte offset in the bank.
    var chunkOffsets: [Int] = []
    var free: [Int32] = []
    var refcounts: [Int32] = []

    init(_ slotClass: SlotClass, bank: Int, slotBytes: Int, slotsPerChunk: Int) {
        self.slotClass = slotClass
        self.bank = bank
        self.slotBytes = slotBytes
        self.slotsPerChunk = slotsPerChunk
    }

    var capacityBytes: Int { chunks.count * slotsPerChunk * slotBytes }
    var slotsInUse: Int { refcounts.count - free.count }

    var chunkBytes: Int { slotsPerChunk * slotBytes }

    func slot(_ index: Int32, arena: Int) -> PageSlot {
        let i = Int(index)
        return PageSlot(classIndex: Int32(arena), index: index, base: chunks[i / slotsPerChunk] + (i % slotsPerChunk) * slotBytes,
                        bank: Int32(bank), bankOffset: chunkOffsets[i / slotsPerChunk] + (i % slotsPerChunk) * slotBytes)
    }

    /// Adds one chunk of zeroed slots, placed at `bankOffset` of the bank, to the free list
    /// (highest index last, so the lowest index is taken first).
    mutating func grow(bankOffset: Int) {
        let bytes = chunkBytes
        let chunk = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        chunk.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        let first = refcounts.count
        chunks.append(chunk)
        chunkOffsets.append(bankOffset)
        refcounts.append(contentsOf: repeatElement(0, count: slotsPerChunk))
        free.append(contentsOf: (first..<first + slotsPerChunk).reversed().map { Int32($0) })
    }

    func deallocateAll() { for c in chunks { c.deallocate() } }
}
