/// The live KV cache of one sequence, every layer, in a shared `PagePool`: `prefill` stores the
/// prompt's kept tokens as the policy chose them, `append` writes decode tokens into each head's
/// open f16 page, `attend` computes attention over the pages (and lets the policy evict or
/// re-encode), `fork` shares the pages copy-on-write, `close` gives them back.
///
/// Every call either succeeds or throws `SessionError` leaving the session exactly as before.
/// Calls on one session are serialized (a lock); sessions are used from any number of tasks.
public final class CacheSession: Sendable {
    public let pool: PagePool
    /// The model's facts: layers, query and KV heads, head dim, sliding-window layers.
    public let model: ModelFacts
    public let policy: any SessionPolicy
    let state: Locked<State>
    /// The pool's id of this session (mirrors key what they keep per session by it).
    package let id: UInt64
    /// The pool bank of each layer's pages.
    package let banks: [Int]

    struct State: Sendable {
        /// `[layer][storedHead]`.
        var layers: [[LiveHead]]
        var repeatFactor = 1
        var keySparsity = 0.5
        var valueSparsity = 0.5
        var policyState: (any Sendable)?
        /// Tokens the dense cache of each layer would hold (prompt and appended).
        var originalTokens: [Int]
        var lastPosition: [Int]
        var closed = false
        /// `[layer][storedHead]`: the first page changed since a device mirror last read the
        /// layer's page list (`Int.max`: none).
        var deviceDirtyFrom: [[Int]]
        /// `[layer]`: an open page of the layer may be shared with a fork (false once an append
        /// has checked and copied them; true again at the next fork).
        var mayShare: [Bool]
        /// Device calls reading the pages now; while any runs, calls that would change them throw
        /// `SessionError.busy`, and `close` gives the pages back when the last one ends.
        var deviceReaders = 0
        /// `close` came while device calls read the pages: the last to end gives them back.
        var releasePending = false

        var slots: [PageSlot] { layers.flatMap { $0.flatMap { $0.pages.map(\.slot) } } }

        /// Empties every layer, returning the slots it held.
        mutating func takeSlots() -> [PageSlot] {
            let out = slots
            layers = layers.map { $0.map { _ in LiveHead() } }
            return out
        }

        /// Throws `SessionError.closed`, or `.busy` while a device call reads the pages.
        func checkWritable() throws(SessionError) {
            guard !closed else { throw .closed }
            guard deviceReaders == 0 else { throw .busy }
        }

        /// Marks `layer`'s head `head` changed from page `page` on.
        mutating func markDirty(layer: Int, head: Int, from page: Int) {
            deviceDirtyFrom[layer][head] = min(deviceDirtyFrom[layer][head], page)
        }
    }

    /// An empty session (no tokens) on `pool`.
    /// - Throws: `SessionError.wrongShape` when the model's head dim differs from the pool's, or
    ///   its query heads are not a multiple of its KV heads.
    public init(pool: PagePool, model: ModelFacts, policy: any SessionPolicy = DenseSessionPolicy()) throws(SessionError) {
        guard model.headDim == pool.headDim else {
            throw .wrongShape(what: "the model's head dim (the pool's)", expected: [pool.headDim], found: [model.headDim])
        }
        guard model.kvHeads > 0, model.queryHeads % model.kvHeads == 0, model.layerCount > 0 else {
            throw .wrongShape(what: "query heads (a multiple of KV heads)", expected: [model.kvHeads], found: [model.queryHeads])
        }
        self.pool = pool
        self.model = model
        self.policy = policy
        state = Locked(State(layers: Array(repeating: Array(repeating: LiveHead(), count: model.kvHeads), count: model.layerCount),
                            originalTokens: Array(repeating: 0, count: model.layerCount),
                            lastPosition: Array(repeating: -1, count: model.layerCount),
                            deviceDirtyFrom: Array(repeating: Array(repeating: 0, count: model.kvHeads), count: model.layerCount),
                            mayShare: Array(repeating: true, count: model.layerCount)))
        (id, banks) = pool.sessionOpened(layers: model.layerCount)
    }

    private init(copying s: State, of other: CacheSession) {
        pool = other.pool
        model = other.model
        policy = other.policy
        var s = s
        s.deviceReaders = 0
        s.releasePending = false
        s.deviceDirtyFrom = s.layers.map { $0.map { _ in 0 } }
        state = Locked(s)
        banks = other.banks
        id = pool.forkOpened()
    }

    deinit { close() }

    var headDim: Int { model.headDim }
    var pageSize: Int { pool.pageSize }

    /// Gives every page back to the pool; later calls throw `SessionError.closed`. Idempotent.
    public func close() {
        let slots = state.withLock { s -> [PageSlot]? in
            guard !s.closed else { return nil }
            s.closed = true
            // A device call still reading the pages gives them back when it ends.
            guard s.deviceReaders == 0 else {
                s.releasePending = true
                return nil
            }
            return s.takeSlots()
        }
        guard let slots else { return }
        pool.release(slots)
        pool.sessionClosed(id: id)
    }

    public var isClosed: Bool { state.withLock { $0.closed } }

    /// A new session sharing every page of this one (copy-on-write: a page is copied only when
    /// one of them writes it). The system-prompt case: prefill once, fork per request.
    /// - Throws: `SessionError.closed`.
    public func fork() throws(SessionError) -> CacheSession {
        let copy = try state.withLock { (s: inout State) throws(SessionError) -> State in
            guard !s.closed else { throw .closed }
            pool.retain(s.slots)
            s.mayShare = s.mayShare.map { _ in true }
            return s
        }
        return CacheSession(copying: copy, of: self)
    }

    /// Exact bytes of the cache in the layout's accounting (`CompressedCache.byteCount`: head
    /// directory entries, page-table entries, positions, payloads), all layers.
    public var byteCount: Int {
        state.withLock { s in s.layers.reduce(0) { $0 + $1.reduce(0) { $0 + $1.byteCount(dim: headDim) } } }
    }

    /// Bytes of the dense f16 cache of every token the sequence has had (K and V, all layers and
    /// KV heads): the denominator of `ratio`.
    public var denseByteCount: Int {
        state.withLock { s in s.originalTokens.reduce(0) { $0 + 2 * 2 * $1 * model.kvHeads * headDim } }
    }

    /// `byteCount / denseByteCount`.
    public var ratio: Double { Double(byteCount) / Double(max(1, denseByteCount)) }

    /// Tokens each stored head of `layer` holds, `[storedHead]`.
    public func tokenCounts(layer: Int) throws(SessionError) -> [Int] {
        try state.withLock { (s: inout State) throws(SessionError) -> [Int] in
            guard s.layers.indices.contains(layer) else { throw .layerOutOfRange(layer: layer, layers: s.layers.count) }
            return s.layers[layer].map(\.tokenCount)
        }
    }

    /// Positions each stored head of `layer` holds, `[storedHead][tokens]`.
    public func positions(layer: Int) throws(SessionError) -> [[Int]] {
        try state.withLock { (s: inout State) throws(SessionError) -> [[Int]] in
            guard s.layers.indices.contains(layer) else { throw .layerOutOfRange(layer: layer, layers: s.layers.count) }
            return s.layers[layer].map(\.positions)
        }
    }

    /// Stored heads per KV head (1 unless the policy keeps a cache per query head).
    public var repeatFactor: Int { state.withLock { $0.repeatFactor } }

    /// The pages now, copied out as a `CompressedSequence` (for `.kvp` files and evaluation).
    public func snapshot(id: String = "0") throws(SessionError) -> CompressedSequence {
        try state.withLock { (s: inout State) throws(SessionError) -> CompressedSequence in
            guard !s.closed else { throw .closed }
            let layers = s.layers.map { heads in
                heads.map { h in try! HeadPages(pages: h.pages.map { $0.page(dim: headDim) }) }
            }
            return CompressedSequence(id: id, originalTokens: s.originalTokens.max() ?? 0, layers: layers)
        }
    }
}
