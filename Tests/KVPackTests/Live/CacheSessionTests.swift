import Testing
@testable import KVPack

@Suite("Live sessions: prefill, append, attend, evict, fork")
struct CacheSessionTests {
    /// Keys a query at position `i` sees in a layer with `window` among `kept`.
    static func visible(_ kept: [Int], _ i: Int, window: Int?) -> [Int] {
        kept.filter { t in t <= i && (window.map { w in t > i - w } ?? true) }
    }

    @Test("a dense session decodes token by token (and in chunks) exactly as dense attention over every token so far")
    func denseDecode() throws {
        let model = liveModel(q: 4, kv: 2, d: 16, layers: 2, window: 5)
        let seq = LiveSequence(model, tokens: 24)
        let session = try CacheSession(pool: livePool(pageSize: 4), model: model)
        try session.prefill(seq.prompt(0..<10))
        var next = 10
        for chunk in [1, 1, 3, 1, 4, 1] {
            for l in 0..<model.layerCount {
                let r = next..<next + chunk
                try session.append(layer: l, keys: seq.keys[l].slicingTokens(r), values: seq.values[l].slicingTokens(r), positions: Array(r))
                // Every query of the chunk, causal by position (a chunked prefill).
                let out = try session.attend(layer: l, queries: seq.queries[l].slicingTokens(r), positions: Array(r))
                for (j, i) in r.enumerated() {
                    let all = Array(0..<next + chunk), window = model.layerKinds[l].windowSize
                    let expected = try seq.reference(layer: l, query: i) { _ in Self.visible(all, i, window: window) }
                    var mine: [Float] = []
                    for qh in 0..<model.queryHeads {
                        let row = (qh * chunk + j) * 16
                        mine += out.storage[row..<row + 16]
                    }
                    #expect(try maxRelativeError(expected, mine) < 1e-5, "layer \(l) token \(i)")
                }
            }
            next += chunk
        }
        #expect(try session.tokenCounts(layer: 0) == [21, 21])
        let snap = try session.snapshot()
        #expect(snap.layers[1][0].positions == Array(0..<21))
        #expect(session.byteCount == snap.byteCount, "the session's bytes are the layout's accounting")
        #expect(session.denseByteCount == 2 * 2 * 21 * 2 * 16 * 2)
    }

    static let encodingPairs: [(PageEncoding, PageEncoding)] = [
        (.f16, .f16), (.int8(.init(groupSize: 8)), .int8(.init(groupSize: 8))), (.int4(.init(groupSize: 4, axis: .channel)), .int4(.init(groupSize: 16))),
        (.bitmap, .bitmap), (.int8(.init(groupSize: 16)), .bitmap),
    ]

    @Test("prefill stores the policy's tokens in its encodings: attention equals CompressedAttention over the same pages",
          arguments: encodingPairs.indices)
    func prefillEncodings(index: Int) throws {
        let (ke, ve) = Self.encodingPairs[index]
        let model = liveModel(q: 4, kv: 2, d: 16, layers: 1)
        let seq = LiveSequence(model, tokens: 30, seed: UInt64(index))
        let keep: @Sendable (Int, Int, Int) -> [Int] = { _, h, n in h == 0 ? Array(0..<n) : Array(stride(from: 0, to: n, by: 3)) }
        let session = try CacheSession(pool: livePool(pageSize: 4), model: model, policy: ScriptedPolicy(keys: ke, values: ve, keep: keep))
        try session.prefill(seq.prompt(0..<30))
        let heads = try (0..<2).map { h in
            try HeadPages.pack(keys: seq.keys[0], values: seq.values[0], head: h, kept: keep(0, h, 30), positions: Array(0..<30),
                               encodings: Array(repeating: (ke, ve), count: keep(0, h, 30).count), pageSize: 4)
        }
        let q = try seq.query(layer: 0, 29)
        let expected = try CompressedAttention.attend(queries: q, heads: heads, queryPositions: [29])
        let got = try session.attend(layer: 0, queries: q, positions: [29])
        #expect(got.storage == expected.storage, "the same pages through the same kernels")
        #expect(try session.snapshot().layers[0] == heads, "the pages hold the same bytes")
        #expect(try session.tokenCounts(layer: 0) == [30, 10])
    }

    @Test("append writes only the open page: closed pages keep their slots and bytes")
    func appendLeavesClosedPages() throws {
        let model = liveModel(q: 2, kv: 1, d: 16, layers: 1)
        let seq = LiveSequence(model, tokens: 16)
        let pool = livePool(pageSize: 4)
        let session = try CacheSession(pool: pool, model: model)
        try session.prefill(seq.prompt(0..<6))
        let before = session.state.withLock { $0.layers[0][0].pages }
        #expect(before.map(\.tokens) == [4, 2])
        for i in 6..<13 {
            try session.append(layer: 0, keys: seq.keys[0].slicingTokens(i..<i + 1), values: seq.values[0].slicingTokens(i..<i + 1), positions: [i])
        }
        let after = session.state.withLock { $0.layers[0][0].pages }
        #expect(after.map(\.tokens) == [4, 4, 4, 1])
        #expect(after.map(\.firstPosition) == [0, 4, 8, 12] && after.map(\.lastPosition) == [3, 7, 11, 12])
        #expect(after[0].slot == before[0].slot && after[1].slot == before[1].slot, "the open page filled in place")
        #expect(after[0].page(dim: 16) == before[0].page(dim: 16))
        #expect(pool.statistics.pagesInUse == 4)
    }

    @Test("eviction at decode gives pages back to the pool and attention sees only the kept tokens")
    func evictionFreesPages() throws {
        let model = liveModel(q: 4, kv: 2, d: 16, layers: 1)
        let seq = LiveSequence(model, tokens: 40)
        let pool = livePool(pageSize: 4)
        let session = try CacheSession(pool: pool, model: model, policy: ScriptedPolicy(cap: 9))
        try session.prefill(seq.prompt(0..<8))
        var kept = Array(0..<8)
        var peak = 0
        for i in 8..<40 {
            try session.append(layer: 0, keys: seq.keys[0].slicingTokens(i..<i + 1), values: seq.values[0].slicingTokens(i..<i + 1), positions: [i])
            kept.append(i)
            peak = max(peak, pool.statistics.inUseBytes)
            let out = try session.attend(layer: 0, queries: seq.query(layer: 0, i), positions: [i])
            let expected = try seq.reference(layer: 0, query: i) { _ in kept }
            #expect(try maxRelativeError(expected, out.storage) < 1e-5, "token \(i)")
            if kept.count > 9 { kept = [0] + kept.suffix(8) }
            #expect(try session.positions(layer: 0) == [kept, kept])
            // Each page's first and last positions, kept beside its slot, as the slot holds them.
            let pages = session.state.withLock { $0.layers[0].flatMap(\.pages) }
            #expect(pages.allSatisfy { p in p.firstPosition == p.positions[0] && p.lastPosition == p.positions[p.tokens - 1] }, "token \(i)")
        }
        let stats = pool.statistics
        #expect(stats.evictedPages > 0)
        #expect(stats.inUseBytes <= 2 * 4 * pool.slotBytes(.f16), "9 tokens a head fit in at most 4 pages of 4 (sink page, partial pages)")
        #expect(stats.inUseBytes < peak || peak <= 2 * 4 * pool.slotBytes(.f16))
        let snap = try session.snapshot()
        #expect(session.byteCount == snap.byteCount)
        #expect(snap.layers[0].allSatisfy { $0.tokenCount == 9 })
    }

    @Test("fork shares pages copy-on-write; each side sees only its own appends; closing gives back only unshared pages")
    func forkCopyOnWrite() throws {
        let model = liveModel(q: 4, kv: 2, d: 16, layers: 2)
        let seq = LiveSequence(model, tokens: 14)
        let pool = livePool(pageSize: 4)
        let base = try CacheSession(pool: pool, model: model)
        try base.prefill(seq.prompt(0..<10))
        let shared = pool.statistics.pagesInUse
        #expect(shared == 2 * 2 * 3)
        let fork = try base.fork()
        #expect(pool.statistics.pagesInUse == shared, "a fork allocates nothing")
        #expect(pool.statistics.sessions == 2)
        let q = try seq.query(layer: 0, 10)
        let baseBefore = try base.attend(layer: 0, queries: q, positions: [10])
        try fork.append(layer: 0, keys: seq.keys[0].slicingTokens(10..<11), values: seq.values[0].slicingTokens(10..<11), positions: [10])
        #expect(pool.statistics.pagesInUse == shared + 2, "the fork copied its two open pages (one per head) before writing")
        #expect(try base.attend(layer: 0, queries: q, positions: [10]).storage == baseBefore.storage, "the base did not see the fork's token")
        let forkOut = try fork.attend(layer: 0, queries: q, positions: [10])
        #expect(try maxRelativeError(seq.reference(layer: 0, query: 10) { _ in Array(0..<11) }, forkOut.storage) < 1e-5)
        // The base appends its own token 10 (different values) into its own open page.
        try base.append(layer: 0, keys: seq.keys[1].slicingTokens(10..<11), values: seq.values[1].slicingTokens(10..<11), positions: [10])
        #expect(pool.statistics.pagesInUse == shared + 2, "the base was the open pages' only holder now: written in place")
        #expect(try fork.attend(layer: 0, queries: q, positions: [10]).storage == forkOut.storage)
        base.close()
        #expect(pool.statistics.pagesInUse == shared, "the fork's pages stay: the shared 10 plus its two copies, less the base's two open pages")
        fork.close()
        #expect(pool.statistics.pagesInUse == 0 && pool.statistics.inUseBytes == 0 && pool.statistics.sessions == 0)
    }

    @Test("a session dropped without close gives its pages back")
    func deinitReleases() throws {
        let model = liveModel()
        let pool = livePool()
        do {
            let s = try CacheSession(pool: pool, model: model)
            try s.prefill(LiveSequence(model, tokens: 9).prompt(0..<9))
            #expect(pool.statistics.pagesInUse > 0)
        }
        #expect(pool.statistics.pagesInUse == 0 && pool.statistics.sessions == 0)
    }

    @Test("batched attend: one result per session, in order, a failing request leaves the others")
    func batched() async throws {
        let model = liveModel(q: 4, kv: 2, d: 16, layers: 1)
        let pool = livePool(pageSize: 4)
        var requests: [CacheSession.AttendRequest] = [], seqs: [LiveSequence] = []
        for i in 0..<5 {
            let seq = LiveSequence(model, tokens: 12 + i, seed: UInt64(i))
            let s = try CacheSession(pool: pool, model: model)
            try s.prefill(seq.prompt(0..<12 + i))
            requests.append(.init(session: s, queries: try seq.query(layer: 0, 11 + i), positions: [11 + i]))
            seqs.append(seq)
        }
        requests[2].positions = [1, 2]
        let results = await CacheSession.attend(requests, layer: 0)
        for (i, r) in results.enumerated() {
            if i == 2 {
                guard case .failure(.wrongShape) = r else { Issue.record("expected wrongShape, got \(r)"); continue }
            } else {
                let out = try r.get()
                #expect(try maxRelativeError(seqs[i].reference(layer: 0, query: 11 + i) { _ in Array(0..<12 + i) }, out.storage) < 1e-5)
            }
        }
    }
}
