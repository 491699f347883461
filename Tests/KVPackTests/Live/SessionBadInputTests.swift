import Testing
@testable import KVPack

@Suite("Live sessions: bad input is a typed error and changes nothing")
struct SessionBadInputTests {
    /// A session of 2 layers (KV heads 2, d 16, pages of 4) holding 6 prompt tokens.
    static func fixture(budget: Int = 1 << 24, policy: any SessionPolicy = DenseSessionPolicy()) throws -> (CacheSession, PagePool, LiveSequence) {
        let model = liveModel(q: 4, kv: 2, d: 16, layers: 2)
        let seq = LiveSequence(model, tokens: 12)
        let pool = livePool(pageSize: 4, budget: budget)
        let s = try CacheSession(pool: pool, model: model, policy: policy)
        try s.prefill(seq.prompt(0..<6))
        return (s, pool, seq)
    }

    /// Runs `call`, expects `expected`, and checks the session and pool are as before.
    static func expectUnchanged(_ s: CacheSession, _ pool: PagePool, _ expected: SessionError,
                                _ call: () throws(SessionError) -> Void, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let snap = try s.snapshot(), bytes = s.byteCount, stats = pool.statistics
        let r = Result { () throws(SessionError) in try call() }
        guard case .failure(let e) = r else { Issue.record("expected \(expected), the call succeeded", sourceLocation: sourceLocation); return }
        #expect(e == expected, sourceLocation: sourceLocation)
        #expect(!e.description.isEmpty)
        #expect(try s.snapshot() == snap, "pages unchanged", sourceLocation: sourceLocation)
        #expect(s.byteCount == bytes && pool.statistics == stats, sourceLocation: sourceLocation)
    }

    @Test("append: wrong heads, head dim, token count, layer; positions not increasing; NaN")
    func appendErrors() throws {
        let (s, pool, seq) = try Self.fixture()
        let k = try seq.keys[0].slicingTokens(6..<7), v = try seq.values[0].slicingTokens(6..<7)
        let oneHead = try k.slicingHeads(0..<1), twoKeys = try seq.keys[0].slicingTokens(6..<8)
        try Self.expectUnchanged(s, pool, .wrongShape(what: "appended keys", expected: [2, 1, 16], found: [1, 1, 16])) { () throws(SessionError) in
            try s.append(layer: 0, keys: oneHead, values: v, positions: [6])
        }
        try Self.expectUnchanged(s, pool, .wrongShape(what: "appended values", expected: [2, 2, 16], found: [2, 1, 16])) { () throws(SessionError) in
            try s.append(layer: 0, keys: twoKeys, values: v, positions: [6, 7])
        }
        let d8 = try HeadTensor<Float16>(heads: 2, tokens: 1, headDim: 8, storage: Array(repeating: 0, count: 16))
        try Self.expectUnchanged(s, pool, .wrongShape(what: "appended keys", expected: [2, 1, 16], found: [2, 1, 8])) { () throws(SessionError) in
            try s.append(layer: 0, keys: d8, values: d8, positions: [6])
        }
        try Self.expectUnchanged(s, pool, .layerOutOfRange(layer: 2, layers: 2)) { () throws(SessionError) in
            try s.append(layer: 2, keys: k, values: v, positions: [6])
        }
        try Self.expectUnchanged(s, pool, .positionsNotIncreasing(layer: 0, position: 5, after: 5)) { () throws(SessionError) in
            try s.append(layer: 0, keys: k, values: v, positions: [5])
        }
        let k1 = try seq.keys[1].slicingTokens(6..<8), v1 = try seq.values[1].slicingTokens(6..<8)
        try Self.expectUnchanged(s, pool, .positionsNotIncreasing(layer: 1, position: 7, after: 7)) { () throws(SessionError) in
            try s.append(layer: 1, keys: k1, values: v1, positions: [7, 7])
        }
        var bad = k.storage
        bad[20] = .nan
        let nanKeys = try HeadTensor(heads: 2, tokens: 1, headDim: 16, storage: bad)
        try Self.expectUnchanged(s, pool, .nonFinite(what: "appended keys", token: 0)) { () throws(SessionError) in
            try s.append(layer: 0, keys: nanKeys, values: v, positions: [6])
        }
    }

    @Test("attend: wrong query shape, positions count, NaN, empty layer")
    func attendErrors() throws {
        let (s, pool, seq) = try Self.fixture()
        let q = try seq.query(layer: 0, 5)
        let twoHeads = try q.slicingHeads(0..<2)
        try Self.expectUnchanged(s, pool, .wrongShape(what: "queries", expected: [4, 1, 16], found: [2, 1, 16])) { () throws(SessionError) in
            _ = try s.attend(layer: 0, queries: twoHeads, positions: [5])
        }
        try Self.expectUnchanged(s, pool, .wrongShape(what: "queries", expected: [4, 2, 16], found: [4, 1, 16])) { () throws(SessionError) in
            _ = try s.attend(layer: 0, queries: q, positions: [5, 6])
        }
        var bad = q.storage
        bad[3] = .infinity
        let infQueries = try HeadTensor(heads: 4, tokens: 1, headDim: 16, storage: bad)
        try Self.expectUnchanged(s, pool, .nonFinite(what: "queries", token: 0)) { () throws(SessionError) in
            _ = try s.attend(layer: 0, queries: infQueries, positions: [5])
        }
        try Self.expectUnchanged(s, pool, .attention(.noVisibleKeys(query: 0, position: -1))) { () throws(SessionError) in
            _ = try s.attend(layer: 0, queries: q, positions: [-1])
        }
        let empty = try CacheSession(pool: pool, model: s.model)
        try Self.expectUnchanged(empty, pool, .empty(layer: 0)) { () throws(SessionError) in
            _ = try empty.attend(layer: 0, queries: q, positions: [5])
        }
    }

    @Test("prefill twice, a prompt of the wrong shape, a policy's impossible selection")
    func prefillErrors() throws {
        let (s, pool, seq) = try Self.fixture()
        let second = try seq.prompt(6..<8)
        try Self.expectUnchanged(s, pool, .alreadyPrefilled(layer: 0)) { () throws(SessionError) in try s.prefill(second) }
        let fresh = try CacheSession(pool: pool, model: s.model)
        var prompt = try seq.prompt(0..<4)
        prompt.layers.removeLast()
        try Self.expectUnchanged(fresh, pool, .wrongShape(what: "prompt layers", expected: [2], found: [1])) { () throws(SessionError) in
            try fresh.prefill(prompt)
        }
        let liar = try CacheSession(pool: pool, model: s.model, policy: ScriptedPolicy(keep: { _, _, n in [0, n] }))
        let first4 = try seq.prompt(0..<4)
        let r = Result { () throws(SessionError) in try liar.prefill(first4) }
        guard case .failure(.policy(let why)) = r else { Issue.record("expected a policy error, got \(r)"); return }
        #expect(why.description.contains("kept token 4 is out of 0..<4"))
        #expect(try liar.tokenCounts(layer: 0) == [0, 0])
    }

    @Test("a full pool: append and prefill fail whole")
    func poolExhausted() throws {
        let slot = livePool().slotBytes(.f16)
        // 2 layers x 2 heads x 2 pages (6 tokens in pages of 4) = 8 slots; the budget is 9.
        let (s, pool, seq) = try Self.fixture(budget: 9 * slot)
        // Layer 0's open pages have 2 free rows each; 3 tokens need a new page per head: 2 > 1 free.
        let k3 = try seq.keys[0].slicingTokens(6..<9), v3 = try seq.values[0].slicingTokens(6..<9)
        try Self.expectUnchanged(s, pool, .pool(.exhausted(requestedBytes: 2 * slot, inUseBytes: 8 * slot, budgetBytes: 9 * slot))) {
            () throws(SessionError) in
            try s.append(layer: 0, keys: k3, values: v3, positions: [6, 7, 8])
        }
        let other = try CacheSession(pool: pool, model: s.model), first6 = try seq.prompt(0..<6)
        try Self.expectUnchanged(other, pool, .pool(.exhausted(requestedBytes: 8 * slot, inUseBytes: 8 * slot, budgetBytes: 9 * slot))) {
            () throws(SessionError) in try other.prefill(first6)
        }
    }

    @Test("calls after close are refused; close is idempotent; a model whose head dim differs from the pool's is refused")
    func closed() throws {
        let (s, pool, seq) = try Self.fixture()
        s.close()
        s.close()
        #expect(pool.statistics.pagesInUse == 0 && pool.statistics.sessions == 0)
        #expect(throws: SessionError.closed) {
            try s.append(layer: 0, keys: seq.keys[0].slicingTokens(6..<7), values: seq.values[0].slicingTokens(6..<7), positions: [6])
        }
        #expect(throws: SessionError.closed) { _ = try s.attend(layer: 0, queries: seq.query(layer: 0, 6), positions: [6]) }
        #expect(throws: SessionError.closed) { _ = try s.fork() }
        #expect(throws: SessionError.closed) { try s.prefill(seq.prompt(0..<2)) }
        #expect(throws: SessionError.self) { _ = try CacheSession(pool: pool, model: liveModel(d: 8)) }
    }
}
