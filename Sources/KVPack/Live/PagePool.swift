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
        /// have room (which is why it is not the default). What it buys on a GPU is recorded in
        /// `Tools/bench/README.md` ("Sessions sharing their banks in groups").
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
    let state: Locked<State>
    let metrics: LiveMetrics

    struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, Never>
    }

    struct ArenaKey: Hashable {
        var slotClass: SlotClass
        var bank: Int
    }

    struct State {
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
    func publishGauges() {
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
}
