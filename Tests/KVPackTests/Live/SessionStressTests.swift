import Testing
@testable import KVPack

@Suite("Live sessions under concurrency")
struct SessionStressTests {
    /// Many tasks create, fork, append to, attend over and close sessions on one small pool. When
    /// the pool is full a task gives its session back and retries the round later, as a server
    /// answers 429 (waiting while holding pages could deadlock: admission `.wait` is tested alone). Every session must hold exactly
    /// the tokens it was given (dense) or its policy's cap (evicting), attention over it must
    /// match dense attention over those tokens, and the pool must end empty. Run it under the
    /// thread sanitizer: `swift test --sanitize=thread --filter SessionStressTests`.
    ///
    /// The time limit is there to stop a deadlock, not to time the test: alone it takes a few
    /// seconds, but in the whole suite on two cores it waits for the other tests' threads, and
    /// full runs have taken it 150-240 s from its start.
    @Test("16 tasks x 6 rounds of create / fork / append / attend / close on one pool lose no token", .timeLimit(.minutes(8)))
    func stress() async throws {
        let model = liveModel(q: 4, kv: 2, d: 16, layers: 2)
        let seq = LiveSequence(model, tokens: 40)
        let slot = livePool().slotBytes(.f16)
        // A session of 8 + 12 tokens holds 2 layers x 2 heads x 5 pages: 20 slots. 3 fit at once.
        let pool = livePool(pageSize: 4, budget: 70 * slot, slotsPerChunk: 16)
        let gate = RoundGate(4) // 4 rounds at once: the pool holds 3.5 sessions, so some rounds find it full
        let base = try CacheSession(pool: pool, model: model)
        try base.prefill(seq.prompt(0..<8))
        let basePages = pool.statistics.pagesInUse
        let checked = try await withThrowingTaskGroup(of: (checks: Int, retries: Int).self) { group in
            for task in 0..<16 {
                group.addTask {
                    var checks = 0, retries = 0
                    var round = 0
                    while round < 6 {
                      var roundChecks = 0
                      await gate.enter()
                      do {
                        let evicting = (task + round) % 3 == 2
                        let s: CacheSession
                        if (task + round) % 2 == 0 && !evicting {
                            s = try base.fork()
                        } else {
                            s = try CacheSession(pool: pool, model: model, policy: ScriptedPolicy(cap: evicting ? 10 : nil))
                            try s.prefill(seq.prompt(0..<8))
                        }
                        var kept = Array(0..<8)
                        for i in 8..<20 {
                            for l in 0..<2 {
                                do {
                                    try s.append(layer: l, keys: try seq.keys[l].slicingTokens(i..<i + 1),
                                                 values: try seq.values[l].slicingTokens(i..<i + 1), positions: [i])
                                } catch {
                                    s.close() // give the pages back, retry the round later
                                    throw error
                                }
                            }
                            kept.append(i)
                            if evicting { // the policy acts at each layer's attend
                                _ = try s.attend(layer: 0, queries: seq.query(layer: 0, i), positions: [i])
                            }
                            if evicting || i % 4 == task % 4 {
                                let out = try s.attend(layer: 1, queries: seq.query(layer: 1, i), positions: [i])
                                if i % 4 == task % 4 {
                                    let expected = try seq.reference(layer: 1, query: i) { [kept] _ in kept }
                                    guard try maxRelativeError(expected, out.storage) < 1e-5 else { throw StressFailure.attention(task, round, i) }
                                    roundChecks += 1
                                }
                            }
                            if evicting && kept.count > 10 { kept = [0] + kept.suffix(9) }
                            guard try s.positions(layer: 1) == [kept, kept] else { throw StressFailure.tokens(task, round, i) }
                            await Task.yield() // let the other tasks interleave

                        }
                        s.close()
                        await gate.leave()
                        round += 1
                        checks += roundChecks
                      } catch SessionError.pool(.exhausted) {
                        retries += 1
                        await gate.leave()
                        guard retries < 10_000 else { throw StressFailure.starved(task) }
                        await Task.yield()
                      }
                    }
                    return (checks, retries)
                }
            }
            return try await group.reduce((checks: 0, retries: 0)) { ($0.checks + $1.checks, $0.retries + $1.retries) }
        }
        #expect(checked.checks == 16 * 6 * 3)
        print("stress: \(checked.retries) rounds retried on a full pool")
        #expect(checked.retries > 0, "the pool was full at times")
        let stats = pool.statistics
        #expect(stats.pagesInUse == basePages && stats.sessions == 1, "every closed session gave its pages back")
        #expect(stats.peakInUseBytes <= stats.budgetBytes)
        base.close()
        #expect(pool.statistics.inUseBytes == 0)
    }

    enum StressFailure: Error {
        case attention(Int, Int, Int)
        case tokens(Int, Int, Int)
        case starved(Int)
    }
}

/// At most `n` rounds in flight; the others wait their turn.
actor RoundGate {
    private var free: Int
    private var waiters: [CheckedContinuation<Void, Never>] = []

    init(_ n: Int) { free = n }

    func enter() async {
        if free > 0 {
            free -= 1
            return
        }
        await withCheckedContinuation { waiters.append($0) }
    }

    func leave() {
        if waiters.isEmpty { free += 1 } else { waiters.removeFirst().resume() }
    }
}
