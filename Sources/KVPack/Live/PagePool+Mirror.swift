extension PagePool {
    /// Attaches `mirror` (at most one, held weakly) and gives it every byte written so far: each
    /// chunk whole, under the pool's lock, so that no write is missed in between.
    /// - Throws: `PoolError.invalidConfiguration` when a mirror is attached already.
    package func attach(_ mirror: any PagePoolMirror) throws(PoolError) {
        try state.withLock { (s: inout State) throws(PoolError) in
            if s.mirror?.mirror != nil { throw .invalidConfiguration("the pool is mirrored already (one device pool per page pool)") }
            s.mirror = WeakMirror(mirror: mirror)
            for a in s.arenas {
                for (chunk, offset) in zip(a.chunks, a.chunkOffsets) {
                    mirror.wrote(bank: a.bank, offset: offset, bytes: UnsafeRawBufferPointer(start: chunk, count: a.chunkBytes))
                }
            }
        }
    }

    /// Bytes placed in each bank so far (chunks are never given back).
    package var bankPlacedBytes: [Int] { state.withLock { $0.bankPlaced } }

    /// Tells the mirror, if any, that `ranges` (byte ranges within the slot) of `slot` were
    /// written (by the session holding it alone, right after the write).
    func noteWrite(_ slot: PageSlot, _ ranges: [Range<Int>]) {
        var writes = SlotWrites()
        for r in ranges { writes.add(slot, r) }
        noteWrites(writes)
    }

    /// Tells the mirror, if any, of `writes`, in one call.
    func noteWrites(_ writes: SlotWrites) {
        guard !writes.parts.isEmpty, let mirror = self.mirror else { return }
        mirror.wrote(writes.parts)
    }

    /// The attached mirror, if any.
    var mirror: (any PagePoolMirror)? { state.withLock { $0.mirror?.mirror } }
}

/// A copy of a `PagePool`'s banks elsewhere (the Vulkan pool's device buffers): told of every
/// byte written into a slot, right after the write.
package protocol PagePoolMirror: AnyObject, Sendable {
    /// `bytes` were written at `offset` of `bank`; copy them now (the slot may be reused later).
    func wrote(bank: Int, offset: Int, bytes: UnsafeRawBufferPointer)
    /// Several writes at once (in order), as `wrote(bank:offset:bytes:)` each.
    func wrote(_ parts: [(bank: Int, offset: Int, bytes: UnsafeRawBufferPointer)])
    /// The session `id` was closed: whatever the mirror keeps for it can go.
    func sessionClosed(_ id: UInt64)
}

struct WeakMirror {
    weak var mirror: (any PagePoolMirror)?
}
