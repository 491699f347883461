/// One page slot of a `PagePool`: which class it belongs to, its index in that class, and the
/// start of its bytes (`SlotClass` layout). The bytes stay where they are for the pool's life.
///
/// Only the session that holds the slot alone (reference count 1) writes it; shared slots
/// (after `CacheSession.fork`) are read-only and copied before a write.
struct PageSlot: @unchecked Sendable, Hashable {
    let classIndex: Int32
    let index: Int32
    let base: UnsafeMutableRawPointer

    static func == (a: PageSlot, b: PageSlot) -> Bool { a.classIndex == b.classIndex && a.index == b.index }
    func hash(into h: inout Hasher) {
        h.combine(classIndex)
        h.combine(index)
    }
}

/// The slots of one `SlotClass`: chunks of `slotsPerChunk` slots allocated as one block each
/// (never per page or per token), a free list and a reference count per slot.
struct SlotArena {
    let slotClass: SlotClass
    let slotBytes: Int
    let slotsPerChunk: Int
    var chunks: [UnsafeMutableRawPointer] = []
    var free: [Int32] = []
    var refcounts: [Int32] = []

    init(_ slotClass: SlotClass, slotBytes: Int, slotsPerChunk: Int) {
        self.slotClass = slotClass
        self.slotBytes = slotBytes
        self.slotsPerChunk = slotsPerChunk
    }

    var capacityBytes: Int { chunks.count * slotsPerChunk * slotBytes }
    var slotsInUse: Int { refcounts.count - free.count }

    func base(of index: Int32) -> UnsafeMutableRawPointer {
        let i = Int(index)
        return chunks[i / slotsPerChunk] + (i % slotsPerChunk) * slotBytes
    }

    /// Adds one chunk of zeroed slots to the free list (highest index last, so the lowest index
    /// is taken first).
    mutating func grow() {
        let bytes = slotsPerChunk * slotBytes
        let chunk = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        chunk.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        let first = refcounts.count
        chunks.append(chunk)
        refcounts.append(contentsOf: repeatElement(0, count: slotsPerChunk))
        free.append(contentsOf: (first..<first + slotsPerChunk).reversed().map { Int32($0) })
    }

    func deallocateAll() { for c in chunks { c.deallocate() } }
}
