/// Page slots shared by every `CacheSession` of one device: one arena of fixed-size slots per
/// `SlotClass` (a page's key and value encodings), grown in chunks, with free lists, reference
/// counts (pages shared by forked sessions) and a byte budget with admission control.
///
/// The budget bounds the slot bytes in use: a request that does not fit is refused with
/// `PoolError.exhausted` (admission `.reject`), or waits until pages are given back (`.wait`,
/// through the `async` session calls). The pool never over-commits. Chunk capacity beyond the
/// budget (at most one partly used chunk per class) is allocated but never handed out past it.
///
/// Thread-safe: every bookkeeping change happens under one lock; slot bytes are written only by
/// the session that holds the slot alone.
public final class PagePool: Sendable {
    public enum Admission: String, Sendable, Hashable, CaseIterable {
        /// A request that does not fit fails at once with `PoolError.exhausted`.
        case reject
        /// An `async` request that does not fit waits until enough pages are given back.
        case wait
    }

    public struct Configuration: Sendable, Hashable {
        /// Most slot bytes in use at once.
        public var budgetBytes: Int
        /// Elements per key / value row of every page.
        public var headDim: Int
        /// Most tokens per page.
        public var pageSize: Int
        /// Slots allocated at once when a class runs out.
        public var slotsPerChunk: Int
        public var admission: Admission
        /// The `pool` dimension of the pool's metrics.
        public var name: String
        /// Banks the slot chunks are placed in. All pages of one layer of one session lie in one
        /// bank (`CacheSession` spreads its layers over the banks), so a device mirror can bind a
        /// bank as one buffer (`maxStorageBufferRange` bounds one: 4 GiB on NVIDIA, 128 MiB on
        /// lavapipe) and a decode reads each head's pages from one binding.
        public var banks: Int
        /// Most bytes of chunks one bank holds (nil: no limit, for host-only pools). A request
        /// whose bank has no room for another chunk fails with `PoolError.bankFull`.
        public var bankBytes: Int?
        /// Sessions opened one after another that share their banks (1, the default: none). With
        /// 1, each session starts at a bank of its own (the k-th session opened puts its layer l in
        /// bank (k + l) mod `banks`), which spreads a batch's sessions over every bank, and a
        /// device attend runs one decode per bank its sessions' layer lies in. With n, the k-th
        /// session opened belongs to group g = (k - 1) / n and puts its layer l in bank
        /// (g x layers + l) mod `banks`: n sessions opened together keep each layer in one bank,
        /// so a batched attend over them runs one decode a layer. A bank then holds n sessions'
        /// layer (and those of other groups whose layers wrap onto it): choose n so that it fits
        /// `bankBytes`, or the group's appends fail with `PoolError.bankFull` while other banks
        /// have room. Measured on an NVIDIA H100 (`Tools/bench/README.md`, "A decode per bank"):
        /// 32 SnapKV sessions of 32K tokens in groups of 32 took 2.33 ms a decode step against
        /// 3.15 with the default; 32 dense ones in groups of 16 took longer (9.96 against 7.28 ms,
        /// the kernels 7.06 against 4.14), so it is a setting to measure, not a default.
        public var sessionsPerBankGroup: Int

        public init(budgetBytes: Int, headDim: Int, pageSize: Int = 16, slotsPerChunk: Int = 256, admission: Admission = .reject,
                    name: String = "default", banks: Int = 1, bankBytes: Int? = nil, sessionsPerBankGroup: Int = 1) {
            self.sessionsPerBankGroup = sessionsPerBankGroup
            self.name = name
            self.banks = banks
            self.bankBytes = bankBytes
            self.budgetBytes = budgetBytes
            self.headDim = headDim
            self.pageSize = pageSize
            self.slotsPerChunk = slotsPerChunk
            self.admission = admission
        }
    }

    public let configuration: Configuration
    private let state: Locked<State>
    let metrics: LiveMetrics

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, Never>
    }

    private struct ArenaKey: Hashable {
        var slotClass: SlotClass
        var bank: Int
    }

    private struct State {
        var arenas: [SlotArena] = []
        var arenaIndex: [ArenaKey: Int] = [:]
        /// Bytes of chunks placed in each bank.
        var bankPlaced: [Int]
        var nextSessionID: UInt64 = 0
        var mirror: WeakMirror?
        var inUse = 0
        var peak = 0
        var sessions = 0
        var evictedPages = 0
        var waiters: [Waiter] = []
        var nextWaiter: UInt64 = 0
        var cancelledWaiters: Set<UInt64> = []
        /// Counts the releases that freed a slot.
        var releases: UInt64 = 0

        /// The arena of `slotClass` in `bank`, made (empty) if there is none yet.
        mutating func arenaIndex(for slotClass: SlotClass, bank: Int, slotBytes: Int, slotsPerChunk: Int) -> Int {
            let key = ArenaKey(slotClass: slotClass, bank: bank)
            if let i = arenaIndex[key] { return i }
            arenas.append(SlotArena(slotClass, bank: bank, slotBytes: slotBytes, slotsPerChunk: slotsPerChunk))
            arenaIndex[key] = arenas.count - 1
            return arenas.count - 1
        }

        /// Places one more chunk of arena `ci` at the end of `bank`'s chunks.
        /// - Throws: `PoolError.bankFull` when the chunk would pass `bankLimit` (nothing placed).
        mutating func placeChunk(arena ci: Int, bank: Int, bankLimit: Int?) throws(PoolError) {
            let chunk = arenas[ci].chunkBytes
            if let limit = bankLimit, bankPlaced[bank] + chunk > limit {
                throw .bankFull(bank: bank, placedBytes: bankPlaced[bank], chunkBytes: chunk, bankBytes: limit)
            }
            arenas[ci].grow(bankOffset: bankPlaced[bank])
            bankPlaced[bank] += chunk
        }
    }

    /// - Throws: `PoolError.invalidConfiguration` for a non-positive budget, an odd or
    ///   non-positive head dim, a page size outside 1...65535 or a chunk of no slots.
    public init(_ configuration: Configuration) throws(PoolError) {
        guard configuration.budgetBytes > 0 else { throw .invalidConfiguration("budget must be positive bytes") }
        guard configuration.headDim > 0, configuration.headDim % 2 == 0 else {
            throw .invalidConfiguration("head dim must be positive and even; got \(configuration.headDim)")
        }
        guard (1...65535).contains(configuration.pageSize) else {
            throw .invalidConfiguration("page size must be in 1...65535; got \(configuration.pageSize)")
        }
        guard configuration.slotsPerChunk > 0 else { throw .invalidConfiguration("slots per chunk must be positive") }
        guard configuration.banks > 0 else { throw .invalidConfiguration("banks must be positive; got \(configuration.banks)") }
        guard configuration.sessionsPerBankGroup > 0 else {
            throw .invalidConfiguration("sessions per bank group must be positive; got \(configuration.sessionsPerBankGroup)")
        }
        if let b = configuration.bankBytes, b <= 0 { throw .invalidConfiguration("bank bytes must be positive; got \(b)") }
        self.configuration = configuration
        metrics = LiveMetrics(pool: configuration.name)
        state = Locked(State(bankPlaced: Array(repeating: 0, count: configuration.banks)))
    }

    deinit { state.withLock { s in for a in s.arenas { a.deallocateAll() } } }

    public var pageSize: Int { configuration.pageSize }
    public var headDim: Int { configuration.headDim }

    /// Bytes of one slot of `slotClass`.
    public func slotBytes(_ slotClass: SlotClass) -> Int { slotClass.slotBytes(pageSize: pageSize, dim: headDim) }

    public var statistics: PoolStatistics {
        state.withLock { s in
            var byKind: [PageEncodingKind: Int] = [:], byClass: [String: Int] = [:]
            var pages = 0
            for a in s.arenas where a.slotsInUse > 0 {
                let used = a.slotsInUse
                pages += used
                byClass[a.slotClass.description, default: 0] += used
                let valueStart = a.slotClass.valueOffset(pageSize: pageSize, dim: headDim)
                byKind[a.slotClass.keyEncoding.kind, default: 0] += used * valueStart
                byKind[a.slotClass.valueEncoding.kind, default: 0] += used * (a.slotBytes - valueStart)
            }
            return PoolStatistics(budgetBytes: configuration.budgetBytes, inUseBytes: s.inUse, peakInUseBytes: s.peak,
                                  capacityBytes: s.arenas.reduce(0) { $0 + $1.capacityBytes }, pagesInUse: pages,
                                  sessions: s.sessions, evictedPages: s.evictedPages,
                                  inUseBytesByEncoding: byKind, pagesByClass: byClass)
        }
    }

    /// Publishes the gauges (`LiveMetrics`): bytes by encoding, pages, sessions. Cheaper than
    /// `statistics` (no per-class names), as it runs on every allocation and release.
    private func publishGauges() {
        let (bytes, pages, sessions) = state.withLock { s -> ([Int], Int, Int) in
            var bytes = Array(repeating: 0, count: PageEncodingKind.allCases.count), pages = 0
            for a in s.arenas where a.slotsInUse > 0 {
                let used = a.slotsInUse, valueStart = a.slotClass.valueOffset(pageSize: pageSize, dim: headDim)
                pages += used
                bytes[Int(a.slotClass.keyEncoding.kind.rawValue)] += used * valueStart
                bytes[Int(a.slotClass.valueEncoding.kind.rawValue)] += used * (a.slotBytes - valueStart)
            }
            return (bytes, pages, s.sessions)
        }
        metrics.publish(bytesByEncoding: bytes, pages: pages, sessions: sessions)
    }

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

    /// Opens a session: its id and the bank of each of its `layers` layers (spread round-robin,
    /// each session starting one bank further).
    func sessionOpened(layers: Int) -> (id: UInt64, banks: [Int]) {
        let out = state.withLock { s -> (UInt64, [Int]) in
            s.sessions += 1
            s.nextSessionID += 1
            let banks = configuration.banks, n = configuration.sessionsPerBankGroup
            let first = n == 1 ? Int(s.nextSessionID % UInt64(banks)) : Int((s.nextSessionID - 1) / UInt64(n) % UInt64(banks)) * layers % banks
            return (s.nextSessionID, (0..<layers).map { (first + $0) % banks })
        }
        publishGauges()
        return out
    }

    /// Opens a fork of a session (same banks): its id.
    func forkOpened() -> UInt64 {
        let id = state.withLock { s -> UInt64 in
            s.sessions += 1
            s.nextSessionID += 1
            return s.nextSessionID
        }
        publishGauges()
        return id
    }

    func sessionClosed(id: UInt64) {
        let mirror = state.withLock { s -> (any PagePoolMirror)? in
            s.sessions -= 1
            return s.mirror?.mirror
        }
        mirror?.sessionClosed(id)
        publishGauges()
    }

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

    /// References held on each of `slots`, in one lock.
    func referenceCounts(_ slots: [PageSlot]) -> [Int] {
        state.withLock { s in slots.map { Int(s.arenas[Int($0.classIndex)].refcounts[Int($0.index)]) } }
    }
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

private struct WeakMirror {
    weak var mirror: (any PagePoolMirror)?
}
