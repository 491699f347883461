extension CacheSession {
    /// What a device call reads of one layer of a session: its heads' pages (in the pool's banks,
    /// which a mirror copies), the bank they lie in, and from which page on each head changed
    /// since the last device read (`Int.max`: unchanged).
    package struct DeviceLayerRead: Sendable {
        package let session: UInt64
        package let layer: Int
        package let bank: Int
        /// `[storedHead]`.
        package let heads: [LiveHead]
        package let dirtyFrom: [Int]
        package let repeatFactor: Int
    }

    /// Starts a device read of `layer`: until `endDeviceRead`, calls that would change the pages
    /// throw `SessionError.busy` (and `close` defers giving them back), so the device reads what
    /// this returns. The layer's change marks are cleared (`endDeviceRead(_:failed: true)` puts
    /// them back).
    /// - Throws: `SessionError.closed`, `.layerOutOfRange`, `.empty` (a head without tokens).
    package func beginDeviceRead(layer l: Int) throws(SessionError) -> DeviceLayerRead {
        try state.withLock { (s: inout State) throws(SessionError) -> DeviceLayerRead in
            guard !s.closed else { throw .closed }
            guard s.layers.indices.contains(l) else { throw .layerOutOfRange(layer: l, layers: s.layers.count) }
            guard s.layers[l].allSatisfy({ ($0.pages.first?.tokens ?? 0) > 0 }) else { throw .empty(layer: l) }
            s.deviceReaders += 1
            let read = DeviceLayerRead(session: id, layer: l, bank: banks[l], heads: s.layers[l], dirtyFrom: s.deviceDirtyFrom[l],
                                       repeatFactor: s.repeatFactor)
            s.deviceDirtyFrom[l] = s.deviceDirtyFrom[l].map { _ in .max }
            return read
        }
    }

    /// Ends a device read. `failed`: the device did not take the read's pages (its tables stay
    /// as before), so the change marks go back. A session closed meanwhile gives its pages back
    /// when its last read ends.
    package func endDeviceRead(_ read: DeviceLayerRead, failed: Bool) {
        let slots = state.withLock { s -> [PageSlot]? in
            s.deviceReaders -= 1
            if failed {
                for (h, from) in read.dirtyFrom.enumerated() where h < s.deviceDirtyFrom[read.layer].count {
                    s.markDirty(layer: read.layer, head: h, from: from)
                }
            }
            guard s.releasePending, s.deviceReaders == 0 else { return nil }
            s.releasePending = false
            return s.takeSlots()
        }
        guard let slots else { return }
        pool.release(slots)
        pool.sessionClosed(id: id)
    }

    /// The policy's decode stages on `layer` after a device attend, as `attend(runPolicy: true)`
    /// runs them: `queries` `[queryHeads, tokens, headDim]`, the last token's acting.
    /// - Throws: `SessionError`; the session is unchanged when it throws.
    package func runDecodeStage(layer l: Int, queries: HeadTensor<Float>, positions: [Int]) throws(SessionError) {
        try state.withLock { (s: inout State) throws(SessionError) in
            guard !s.closed else { throw .closed }
            try runDecodeStage(&s, layer: l, queries: queries, positions: positions)
        }
    }
}
