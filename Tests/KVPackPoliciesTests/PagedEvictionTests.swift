import KVPack
import KVPackTestSupport
import Testing
@testable import KVPackPolicies

@Suite("PagedEviction")
struct PagedEvictionTests {
    /// ‖K‖ = 1 for every token; ‖V‖ = score(t), so ‖V‖/‖K‖ = score(t).
    func capture(tokens: Int, probes: Int = 0, kvHeads: Int = 1, score: @escaping (Int) -> Float) throws -> Capture {
        try syntheticCapture(tokens: tokens, probes: probes, qHeads: kvHeads, kvHeads: kvHeads, d: 4,
                             key: { _, _, c in c == 0 ? 1 : 0 }, value: { _, t, c in c == 1 ? score(t) : 0 })
    }

    @Test("prefill: first block, last slice, and the top C − 2B middle tokens; C + L mod B remain")
    func prefill() throws {
        // L = 50, B = 4, C = 16: r = 2; first block 0..3, last slice 44..49, middle 4..<44 keeps 8.
        // Middle scores: token t scores 1 + (t % 10) except tokens 10, 20, 30, 40 which score 100.
        let cap = try capture(tokens: 50) { t in t % 10 == 0 && t > 0 ? 100 : 1 + Float(t % 10) }
        let c = try PolicyPipeline(parsing: "paged(keep=16,block=4)").compress(cap, pageSize: 4)
        // Top 8 of the middle: 10, 20, 30, 40 (100), then score 10 (t % 10 == 9): 9, 19, 29, 39.
        #expect(kept(c) == [0, 1, 2, 3, 9, 10, 19, 20, 29, 30, 39, 40, 44, 45, 46, 47, 48, 49])
        #expect(kept(c).count == 16 + 50 % 4)
        // Equal scores: the lowest middle positions stay (ties by position).
        let flat = try PolicyPipeline(parsing: "paged(keep=16,block=4)").compress(try capture(tokens: 50) { _ in 1 })
        #expect(kept(flat) == Array(0..<12) + Array(44..<50))
        // A prompt within the budget is left alone.
        #expect(kept(try PolicyPipeline(parsing: "paged(keep=64,block=4)").compress(cap)) == Array(0..<50))
    }

    @Test("a budget under three blocks is refused")
    func tooSmall() throws {
        let cap = try capture(tokens: 50) { _ in 1 }
        let r = Result { () throws(PolicyError) in try PolicyPipeline(parsing: "paged(keep=11,block=4)").compress(cap) }
        guard case .failure(.budgetOutOfRange(let policy, _)) = r else { Issue.record("expected budgetOutOfRange, got \(r)"); return }
        #expect(policy == "paged")
    }

    @Test("decode: evicts the lowest-scoring block only when the newest block fills past C; never the first or newest")
    func decode() throws {
        // 40 prompt tokens, C = 16, B = 4, then 24 decoded tokens. Decoded token 46 scores 0.
        let score: (Int) -> Float = { t in t == 46 ? 0.01 : 1 + Float(t % 7) }
        let cap = try capture(tokens: 40, probes: 24, score: score)
        let sim = try DecodeSimulation.run(try PolicyPipeline(parsing: "paged(keep=16,block=4)"), capture: cap, pageSize: 4)
        let lengths = sim.keptCounts[0].map { $0[0] }
        // After prefill: 16 tokens (40 % 4 = 0); each probe appends one, evictions at multiples of 4 above 16.
        var expected: [Int] = []
        var n = 16
        for _ in 0..<24 {
            n += 1
            expected.append(n) // the probe attends before the step's eviction
            if n > 16 && n % 4 == 0 { n -= 4 }
        }
        #expect(lengths == expected)
        #expect(lengths.allSatisfy { (17...20).contains($0) })
        let final = sim.finalHeads[0][0].kept
        #expect(Array(final.prefix(4)) == [0, 1, 2, 3], "the sink block stays")
        #expect(!final.contains(46), "the block holding the lowest score was evicted")
        #expect(final.contains(63), "the newest token stays")
    }

    @Test("heads holding the same tokens share one index set (score averaged over heads)")
    func sharedAcrossHeads() throws {
        let cap = try syntheticCapture(tokens: 40, qHeads: 2, kvHeads: 2, d: 4, key: { _, _, c in c == 0 ? 1 : 0 },
                                       value: { h, t, c in c == 1 ? (h == 0 ? Float(t % 5) : Float(4 - t % 5)) + Float(t == 17 ? 9 : 0) : 0 })
        let c = try PolicyPipeline(parsing: "paged(keep=12,block=4)").compress(cap, pageSize: 4)
        #expect(kept(c, head: 0) == kept(c, head: 1))
        #expect(kept(c, head: 0).contains(17))
    }
}
