import Testing
@testable import KVPack

@Suite("Page pool: slots, budget, admission")
struct PagePoolTests {
    @Test("slot bytes: positions, then keys and values of a full page, each 16-byte aligned")
    func slotLayout() throws {
        let pool = livePool(d: 16, pageSize: 4)
        // 4 positions (16 B), f16 keys 4x16x2 = 128 B, values 128 B.
        #expect(pool.slotBytes(.f16) == 16 + 128 + 128)
        // int8 token groups of 8: codes 64 B + 4 rows x 2 groups x 4 B = 96 B each.
        let i8 = PageEncoding.int8(.init(groupSize: 8))
        #expect(pool.slotBytes(SlotClass(keyEncoding: i8, valueEncoding: i8)) == 16 + 96 + 96)
        // bitmap keeping 8 of 16 per row: masks 4x8, offsets 4x4, values 4x8x2 = 112 B.
        #expect(pool.slotBytes(SlotClass(keyEncoding: .bitmap, valueEncoding: .f16, keyNonzerosPerRow: 8)) == 16 + 112 + 128)
    }

    @Test("the budget is never exceeded: a request that does not fit is refused whole, and fits after a release")
    func budget() throws {
        let slot = livePool().slotBytes(.f16)
        let pool = livePool(budget: 5 * slot, slotsPerChunk: 2)
        let a = try pool.allocate(Array(repeating: .f16, count: 3))
        #expect(throws: PoolError.exhausted(requestedBytes: 3 * slot, inUseBytes: 3 * slot, budgetBytes: 5 * slot)) {
            try pool.allocate(Array(repeating: .f16, count: 3))
        }
        #expect(pool.statistics.inUseBytes == 3 * slot, "nothing of the refused request was taken")
        #expect(throws: PoolError.neverFits(requestedBytes: 6 * slot, budgetBytes: 5 * slot)) {
            try pool.allocate(Array(repeating: .f16, count: 6))
        }
        pool.release(a.prefix(2))
        let b = try pool.allocate(Array(repeating: .f16, count: 3))
        #expect(Set(b.map(\.index)).isSuperset(of: a.prefix(2).map(\.index)), "freed slots are reused")
        let stats = pool.statistics
        #expect(stats.inUseBytes == 4 * slot && stats.peakInUseBytes == 4 * slot && stats.pagesInUse == 4)
        #expect(stats.capacityBytes == 4 * slot, "chunks of 2 slots, grown on demand")
        #expect(stats.inUseBytesByEncoding[.f16] == 4 * slot)
    }

    @Test("banks: chunks placed back to back in their bank, offsets 16-aligned; a full bank refuses the whole request")
    func banks() throws {
        let slot = livePool().slotBytes(.f16)
        let pool = try PagePool(.init(budgetBytes: 100 * slot, headDim: 16, pageSize: 4, slotsPerChunk: 2, banks: 2, bankBytes: 4 * slot))
        let a = try pool.allocate(Array(repeating: .f16, count: 3), bank: 1)
        #expect(a.map(\.bank) == [1, 1, 1])
        #expect(a.map(\.bankOffset) == [0, slot, 2 * slot], "two chunks of two slots, back to back in bank 1")
        #expect(a.allSatisfy { $0.bankOffset % 16 == 0 })
        let b = try pool.allocate([.f16], bank: 0)
        #expect(b[0].bank == 0 && b[0].bankOffset == 0)
        #expect(pool.bankPlacedBytes == [2 * slot, 4 * slot])
        // Bank 1 has one free slot and no room for another chunk: two slots are refused whole.
        #expect(throws: PoolError.bankFull(bank: 1, placedBytes: 4 * slot, chunkBytes: 2 * slot, bankBytes: 4 * slot)) {
            try pool.allocate(Array(repeating: .f16, count: 2), bank: 1)
        }
        #expect(pool.statistics.pagesInUse == 4, "nothing of the refused request was taken")
        _ = try pool.allocate([.f16], bank: 1)
        // Sessions spread their layers over the banks, each starting one bank further.
        let model = liveModel(d: 16, layers: 3)
        let s1 = try CacheSession(pool: pool, model: model), s2 = try CacheSession(pool: pool, model: model)
        #expect(s1.banks.count == 3 && Set(s1.banks) == [0, 1] && s2.banks[0] == (s1.banks[0] + 1) % 2)
        #expect(try s1.fork().banks == s1.banks)
    }

    @Test("reserve places a class's chunks in every bank up front: allocations within it place none; past the budget or a bank, typed errors")
    func reserve() throws {
        let slot = livePool().slotBytes(.f16)
        let pool = try PagePool(.init(budgetBytes: 100 * slot, headDim: 16, pageSize: 4, slotsPerChunk: 2, banks: 2, bankBytes: 10 * slot))
        // 3 slots a bank: two chunks of 2 each.
        try pool.reserve(bytesPerBank: 3 * slot)
        #expect(pool.bankPlacedBytes == [4 * slot, 4 * slot])
        #expect(pool.statistics.capacityBytes == 8 * slot && pool.statistics.inUseBytes == 0, "reserved slots are free")
        _ = try pool.allocate(Array(repeating: .f16, count: 4), bank: 1)
        #expect(pool.bankPlacedBytes == [4 * slot, 4 * slot], "the reserved slots served them")
        _ = try pool.allocate([.f16], bank: 1)
        #expect(pool.bankPlacedBytes == [4 * slot, 6 * slot], "past the reservation a chunk is placed")
        try pool.reserve(bytesPerBank: 3 * slot)
        #expect(pool.bankPlacedBytes == [4 * slot, 6 * slot], "reserved already: nothing placed")
        #expect(throws: PoolError.neverFits(requestedBytes: 120 * slot, budgetBytes: 100 * slot)) { try pool.reserve(bytesPerBank: 60 * slot) }
        // 12 slots a bank do not fit bank 0's 10: its chunks up to the limit stay placed.
        #expect(throws: PoolError.bankFull(bank: 0, placedBytes: 10 * slot, chunkBytes: 2 * slot, bankBytes: 10 * slot)) {
            try pool.reserve(bytesPerBank: 12 * slot)
        }
        #expect(pool.bankPlacedBytes == [10 * slot, 6 * slot])
        #expect(throws: PoolError.self) { try pool.reserve(bytesPerBank: -1) }
    }

    @Test("bank groups: sessions opened together keep each layer in one bank; one a group is each session a bank of its own, as before")
    func bankGroups() throws {
        let model = liveModel(layers: 2)
        func banks(_ n: Int, sessions: Int) throws -> [[Int]] {
            let pool = try PagePool(.init(budgetBytes: 1 << 24, headDim: 16, pageSize: 4, banks: 5, bankBytes: 1 << 20, sessionsPerBankGroup: n))
            let opened = try (0..<sessions).map { _ in try CacheSession(pool: pool, model: model) }
            defer { for s in opened { s.close() } }
            return opened.map(\.banks)
        }
        // Groups of 3 over 5 banks, 2 layers: group g starts at bank 2g mod 5.
        #expect(try banks(3, sessions: 7) == [[0, 1], [0, 1], [0, 1], [2, 3], [2, 3], [2, 3], [4, 0]])
        // One a group: the k-th session (k from 1) starts at bank k mod 5.
        #expect(try banks(1, sessions: 6) == [[1, 2], [2, 3], [3, 4], [4, 0], [0, 1], [1, 2]])
        #expect(throws: PoolError.self) {
            try PagePool(.init(budgetBytes: 1 << 24, headDim: 16, pageSize: 4, banks: 5, bankBytes: 1 << 20, sessionsPerBankGroup: 0))
        }
    }

    @Test("bad configurations are typed errors", arguments: [(0, 16, 16, 8), (100, 15, 16, 8), (100, 16, 0, 8), (100, 16, 16, 0)])
    func badConfiguration(budget: Int, d: Int, page: Int, chunk: Int) {
        #expect(throws: PoolError.self) {
            try PagePool(.init(budgetBytes: budget, headDim: d, pageSize: page, slotsPerChunk: chunk))
        }
    }

    @Test("admission .wait: an append that does not fit waits until another session gives pages back")
    func waitForRoom() async throws {
        let model = liveModel(q: 2, kv: 1, d: 16, layers: 1)
        let seq = LiveSequence(model, tokens: 12)
        let pool = livePool(pageSize: 4, budget: 2 * livePool().slotBytes(.f16), admission: .wait)
        let holder = try CacheSession(pool: pool, model: model)
        try holder.prefill(seq.prompt(0..<8))
        let waiter = try CacheSession(pool: pool, model: model)
        let task = Task {
            try await waiter.appendAwaitingRoom(layer: 0, keys: seq.keys[0].slicingTokens(0..<1), values: seq.values[0].slicingTokens(0..<1), positions: [0])
            return try waiter.tokenCounts(layer: 0)
        }
        try await Task.sleep(for: .milliseconds(50))
        #expect(try waiter.tokenCounts(layer: 0) == [0], "still waiting")
        holder.close()
        #expect(try await task.value == [1])
        // With .reject the same call fails at once.
        let strict = livePool(pageSize: 4, budget: livePool().slotBytes(.f16))
        let a = try CacheSession(pool: strict, model: model)
        try a.prefill(seq.prompt(0..<4))
        let b = try CacheSession(pool: strict, model: model)
        await #expect(throws: SessionError.self) {
            try await b.appendAwaitingRoom(layer: 0, keys: seq.keys[0].slicingTokens(0..<1), values: seq.values[0].slicingTokens(0..<1), positions: [0])
        }
    }

    @Test("a cancelled waiter stops waiting with a typed error")
    func cancelledWait() async throws {
        let model = liveModel(q: 2, kv: 1, d: 16, layers: 1)
        let seq = LiveSequence(model, tokens: 5)
        let pool = livePool(pageSize: 4, budget: livePool().slotBytes(.f16), admission: .wait)
        let holder = try CacheSession(pool: pool, model: model)
        try holder.prefill(seq.prompt(0..<4))
        let waiter = try CacheSession(pool: pool, model: model)
        let task = Task {
            try await waiter.appendAwaitingRoom(layer: 0, keys: seq.keys[0].slicingTokens(4..<5), values: seq.values[0].slicingTokens(4..<5), positions: [4])
        }
        try await Task.sleep(for: .milliseconds(30))
        task.cancel()
        await #expect(throws: SessionError.pool(.cancelled)) { try await task.value }
        #expect(try waiter.tokenCounts(layer: 0) == [0])
        holder.close()
    }
}
