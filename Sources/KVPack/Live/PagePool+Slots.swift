extension PagePool {
    /// Places chunks of `slotClass` now, so that at least `bytesPerBank` of its slots exist in
    /// each bank before any is asked for. A server reserves its decode pages at start (as
    /// inference servers allocate their KV cache up front): appends then take slots whose memory
    /// is already mapped and zeroed, instead of placing a chunk (megabytes zeroed and faulted in,
    /// under the pool's lock) in the middle of a decode step. Reserved slots are free: the budget
    /// still bounds what the sessions hold, and a device mirror attached later uploads them whole.
    /// - Throws: `PoolError.invalidConfiguration` for negative bytes; `.neverFits` when the
    ///   reservation over all banks exceeds the budget; `.bankFull` where a bank has no room for
    ///   another chunk (chunks placed before it stay placed, free).
    public func reserve(_ slotClass: SlotClass = .f16, bytesPerBank: Int) throws(PoolError) {
        guard bytesPerBank >= 0 else { throw .invalidConfiguration("reserved bytes must be 0 or more; got \(bytesPerBank)") }
        let banks = configuration.banks, budget = configuration.budgetBytes
        let (total, overflow) = bytesPerBank.multipliedReportingOverflow(by: banks)
        guard !overflow, total <= budget else { throw .neverFits(requestedBytes: overflow ? .max : total, budgetBytes: budget) }
        let slotBytes = slotBytes(slotClass), perChunk = configuration.slotsPerChunk, bankLimit = configuration.bankBytes
        try state.withLock { (s: inout State) throws(PoolError) in
            for bank in 0..<banks {
                let ci = s.arenaIndex(for: slotClass, bank: bank, slotBytes: slotBytes, slotsPerChunk: perChunk)
                while s.arenas[ci].capacityBytes < bytesPerBank { try s.placeChunk(arena: ci, bank: bank, bankLimit: bankLimit) }
            }
        }
    }

    /// One slot for each element of `classes`, all or none, in `bank` (or `banks[i]` for the
    /// i-th when given).
    /// - Throws: `PoolError.neverFits` / `.exhausted` when they do not fit in the budget,
    ///   `.bankFull` when a bank has no room for a chunk they need.
    func allocate(_ classes: [SlotClass], bank: Int = 0, banks: [Int]? = nil) throws(PoolError) -> [PageSlot] {
        guard !classes.isEmpty else { return [] }
        do {
            let slots = try take(classes, banks: banks ?? Array(repeating: bank, count: classes.count))
            publishGauges()
            return slots
        } catch {
            metrics.rejected.increment()
            LiveMetrics.poolLogger.debug("page pool refused a request", metadata: ["error": "\(error)"])
            throw error
        }
    }

    private func take(_ classes: [SlotClass], banks: [Int]) throws(PoolError) -> [PageSlot] {
        let bytes = classes.reduce(0) { $0 + slotBytes($1) }
        let budget = configuration.budgetBytes
        guard bytes <= budget else { throw .neverFits(requestedBytes: bytes, budgetBytes: budget) }
        return try state.withLock { (s: inout State) throws(PoolError) -> [PageSlot] in
            guard s.inUse + bytes <= budget else {
                throw .exhausted(requestedBytes: bytes, inUseBytes: s.inUse, budgetBytes: budget)
            }
            var out: [PageSlot] = []
            out.reserveCapacity(classes.count)
            for (c, bank) in zip(classes, banks) {
                let ci = s.arenaIndex(for: c, bank: bank, slotBytes: slotBytes(c), slotsPerChunk: configuration.slotsPerChunk)
                if s.arenas[ci].free.isEmpty {
                    do throws(PoolError) { try s.placeChunk(arena: ci, bank: bank, bankLimit: configuration.bankBytes) } catch {
                        // Undo this request's slots (all or none).
                        for slot in out {
                            s.arenas[Int(slot.classIndex)].refcounts[Int(slot.index)] = 0
                            s.arenas[Int(slot.classIndex)].free.append(slot.index)
                        }
                        throw error
                    }
                }
                let index = s.arenas[ci].free.removeLast()
                s.arenas[ci].refcounts[Int(index)] = 1
                out.append(s.arenas[ci].slot(index, arena: ci))
            }
            s.inUse += bytes
            s.peak = max(s.peak, s.inUse)
            return out
        }
    }

    /// How many releases have freed slots so far (read before a request that may have to wait).
    var releaseGeneration: UInt64 { state.withLock { $0.releases } }

    /// Suspends (without blocking a thread) until pages are given back after `generation`
    /// (`releaseGeneration` read before the request that failed), or the task is cancelled.
    func waitForRelease(after generation: UInt64) async {
        let id = state.withLock { s -> UInt64 in
            s.nextWaiter += 1
            return s.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.cancelledWaiters.remove(id) != nil || s.releases != generation { return true }
                    s.waiters.append(Waiter(id: id, continuation: c))
                    return false
                }
                if resumeNow { c.resume() }
            }
        } onCancel: {
            let waiter = state.withLock { s -> Waiter? in
                if let i = s.waiters.firstIndex(where: { $0.id == id }) { return s.waiters.remove(at: i) }
                s.cancelledWaiters.insert(id)
                return nil
            }
            waiter?.continuation.resume()
        }
    }

    /// Adds a reference to each slot (a fork sharing them).
    func retain(_ slots: some Sequence<PageSlot>) {
        state.withLock { s in
            for slot in slots { s.arenas[Int(slot.classIndex)].refcounts[Int(slot.index)] += 1 }
        }
    }

    /// Drops a reference to each slot; slots no one holds go back to their free list and waiting
    /// requests retry. `evicted`: count them as evicted pages in the statistics.
    func release(_ slots: some Sequence<PageSlot>, evicted: Bool = false) {
        let (woken, freed) = state.withLock { s -> ([Waiter], Int) in
            var freed = 0
            for slot in slots {
                let c = Int(slot.classIndex), i = Int(slot.index)
                s.arenas[c].refcounts[i] -= 1
                if s.arenas[c].refcounts[i] == 0 {
                    s.arenas[c].free.append(slot.index)
                    s.inUse -= s.arenas[c].slotBytes
                    freed += 1
                }
            }
            if evicted { s.evictedPages += freed }
            guard freed > 0 else { return ([], 0) }
            s.releases &+= 1
            let w = s.waiters
            s.waiters.removeAll()
            return (w, freed)
        }
        if evicted && freed > 0 { metrics.evictedPages.increment(by: freed) }
        if freed > 0 { publishGauges() }
        for w in woken { w.continuation.resume() }
    }

    /// References held on `slot` (1: one session holds it alone).
    func referenceCount(_ slot: PageSlot) -> Int {
        state.withLock { Int($0.arenas[Int(slot.classIndex)].refcounts[Int(slot.index)]) }
    }

    /// References held on each of `slots`, in one lock.
    func referenceCounts(_ slots: [PageSlot]) -> [Int] {
        state.withLock { s in slots.map { Int(s.arenas[Int($0.classIndex)].refcounts[Int($0.index)]) } }
    }
}
