import CKVPackHalf
extension CacheSession {
    /// Appends decode tokens to every head of `layer`: each token's key and value go, in f16, into
    /// the head's open page (a new page from the pool when it is full); closed pages are never
    /// touched. Several tokens at once (speculative decoding, chunked prefill) work the same way.
    /// - Parameters:
    ///   - l: the layer.
    ///   - keys: `[kvHeads, tokens, headDim]`.
    ///   - values: `[kvHeads, tokens, headDim]`.
    ///   - positions: `[tokens]`, strictly increasing and after the layer's last position.
    /// - Throws: `SessionError` for wrong shapes, positions, NaN / infinity, a closed session or a
    ///   pool without room; the session is then unchanged.
    public func append(layer l: Int, keys: HeadTensor<Float16>, values: HeadTensor<Float16>, positions: [Int]) throws(SessionError) {
        let t = positions.count, d = headDim
        try Self.checkAppended(keys, what: "appended keys", heads: model.kvHeads, tokens: t, dim: d)
        try Self.checkAppended(values, what: "appended values", heads: model.kvHeads, tokens: t, dim: d)
        try state.withLock { (s: inout State) throws(SessionError) in
            try s.checkWritable()
            guard s.layers.indices.contains(l) else { throw .layerOutOfRange(layer: l, layers: s.layers.count) }
            var last = s.lastPosition[l]
            for p in positions {
                guard p > last else { throw .positionsNotIncreasing(layer: l, position: p, after: last) }
                last = p
            }
            let pageSize = self.pageSize, heads = s.layers[l].count
            // Slots needed: per head, a copy of a shared open page, then new pages for the rest.
            var copies: [Int] = [], newPages = 0
            var openHeads: [Int] = [], openSlots: [PageSlot] = []
            openHeads.reserveCapacity(heads)
            openSlots.reserveCapacity(heads)
            // Each head's page list ends on a cold line, behind its own cold header: the ends asked
            // for first, every head's at once, so that the loop below does not wait a head at a time.
            for h in 0..<heads {
                s.layers[l][h].pages.withUnsafeBufferPointer { pages in
                    if let base = pages.baseAddress, pages.count > 0 { kvp_prefetch(base + (pages.count - 1), MemoryLayout<LivePage>.stride) }
                }
            }
            for h in 0..<heads {
                var room = 0
                if let open = s.layers[l][h].pages.last, open.slotClass == .f16, open.tokens < pageSize {
                    room = pageSize - open.tokens
                    openHeads.append(h)
                    openSlots.append(open.slot)
                    // The rows about to be written lie on cold lines of the slot: asked for here,
                    // every head's at once, their misses overlap instead of coming a head at a time.
                    kvp_prefetch_write(open.slot.base + 4 * open.tokens, 4)
                    kvp_prefetch_write(open.slot.base + open.keyOffset + 2 * d * open.tokens, 2 * d)
                    kvp_prefetch_write(open.slot.base + open.valueOffset + 2 * d * open.tokens, 2 * d)
                }
                newPages += (max(0, t - room) + pageSize - 1) / pageSize
            }
            if s.mayShare[l] {
                for (h, references) in zip(openHeads, pool.referenceCounts(openSlots)) where references > 1 { copies.append(h) }
            }
            let slots: [PageSlot]
            do throws(PoolError) {
                slots = try pool.allocate(Array(repeating: .f16, count: copies.count + newPages), bank: banks[l])
            } catch { throw .pool(error) }
            var next = 0, shared: [PageSlot] = []
            var written = SlotWrites(capacity: 3 * heads * t + copies.count)
            let slotBytes = pool.slotBytes(.f16)
            for h in copies {
                let open = s.layers[l][h].pages.removeLast()
                shared.append(open.slot)
                s.layers[l][h].pages.append(open.copy(to: slots[next], slotBytes: slotBytes))
                written.add(slots[next], 0..<slotBytes)
                next += 1
            }
            keys.withUnsafeBufferPointer { k in
                values.withUnsafeBufferPointer { v in
                    for h in 0..<heads {
                        let source = h / s.repeatFactor
                        let open = s.layers[l][h].pages.last
                        let hasRoom = open.map { $0.slotClass == .f16 && $0.tokens < pageSize } ?? false
                        s.markDirty(layer: l, head: h, from: s.layers[l][h].pages.count - (hasRoom ? 1 : 0))
                        for i in 0..<t {
                            let open = s.layers[l][h].pages.last
                            if open == nil || open!.slotClass != .f16 || open!.tokens == pageSize {
                                s.layers[l][h].pages.append(.openF16(slots[next], pageSize: pageSize, dim: d))
                                next += 1
                            }
                            let row = (source * t + i) * d, last = s.layers[l][h].pages.count - 1
                            s.layers[l][h].pages[last].appendRow(
                                position: Int32(positions[i]), key: k.baseAddress! + row, value: v.baseAddress! + row, dim: d)
                            let page = s.layers[l][h].pages[last]
                            written.addRow(page.tokens - 1, of: page, dim: d)
                        }
                    }
                }
            }
            s.mayShare[l] = false
            pool.noteWrites(written)
            s.lastPosition[l] = last
            s.originalTokens[l] += t
            if !shared.isEmpty { pool.release(shared) }
        }
    }

    /// Checks an appended tensor: `[heads, tokens, dim]` with `tokens > 0`, every element finite.
    private static func checkAppended(_ x: HeadTensor<Float16>, what: String, heads: Int, tokens: Int, dim: Int) throws(SessionError) {
        guard x.heads == heads, x.tokens == tokens, x.headDim == dim, tokens > 0 else {
            throw .wrongShape(what: what, expected: [heads, max(1, tokens), dim], found: x.shape)
        }
        if let bad = x.firstNonFinite() { throw .nonFinite(what: what, token: bad.token) }
    }

    /// `append`, waiting for room when the pool's admission is `.wait`.
    public func appendAwaitingRoom(layer: Int, keys: HeadTensor<Float16>, values: HeadTensor<Float16>, positions: [Int]) async throws(SessionError) {
        try await waitingForRoom { () throws(SessionError) in try append(layer: layer, keys: keys, values: values, positions: positions) }
    }

    /// `prefill`, waiting for room when the pool's admission is `.wait`.
    public func prefillAwaitingRoom(_ prompt: SessionPrompt) async throws(SessionError) {
        try await waitingForRoom { () throws(SessionError) in try prefill(prompt) }
    }

    /// Runs `body` until it does not fail for want of room, waiting for pages to be given back in
    /// between (pool admission `.wait`; with `.reject` the first failure is thrown).
    func waitingForRoom<R>(_ body: () throws(SessionError) -> R) async throws(SessionError) -> R {
        while true {
            let generation = pool.releaseGeneration
            do {
                return try body()
            } catch .pool(.exhausted(let req, let used, let budget)) {
                guard pool.configuration.admission == .wait else {
                    throw .pool(.exhausted(requestedBytes: req, inUseBytes: used, budgetBytes: budget))
                }
                if Task.isCancelled { throw .pool(.cancelled) }
                await pool.waitForRelease(after: generation)
                if Task.isCancelled { throw .pool(.cancelled) }
            }
        }
    }
}
