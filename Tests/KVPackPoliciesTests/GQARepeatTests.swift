import KVPack
import KVPackTestSupport
import Testing
@testable import KVPackPolicies

@Suite("SnapKV gqa=repeat and H2O")
struct GQARepeatTests {
    @Test("gqa=repeat: one stored head per query head, each kept set voted by its own query head")
    func repeatPerQueryHead() throws {
        // One KV head, two query heads: query head 0 matches token 3, query head 1 matches token 6.
        let cap = try syntheticCapture(tokens: 10, qHeads: 2, kvHeads: 1, d: 2, window: 2,
                                       key: { _, t, c in t == 3 && c == 0 || t == 6 && c == 1 ? 10 : 0 }, value: { _, t, _ in Float(t) },
                                       query: { h, _, c in h == c ? 1 : 0 })
        let c = try PolicyPipeline(parsing: "snapkv(keep=3,window=2,kernel=1,gqa=repeat)").compress(cap)
        #expect(c.model.kvHeads == 2)
        #expect(kept(c, head: 0) == [3, 8, 9])
        #expect(kept(c, head: 1) == [6, 8, 9])
        // The default averages the two query heads' votes: one set for the KV head.
        let mean = try PolicyPipeline(parsing: "snapkv(keep=3,window=2,kernel=1)").compress(cap)
        #expect(mean.model.kvHeads == 1)
        #expect(kept(mean) == [3, 8, 9]) // equal votes: the lower position
        // Attention over the repeated cache works per query head.
        let q = cap.sequences[0].layers[0].queries.floats()
        let out = try CompressedAttention.attend(queries: q, heads: c.sequences[0].layers[0])
        #expect(out.heads == 2)
    }

    @Test("h2o: recent half plus the most-attended older tokens")
    func heavyHitters() throws {
        let cap = try syntheticCapture(tokens: 12, qHeads: 1, kvHeads: 1, d: 2, window: 2,
                                       key: { _, t, c in t == 2 && c == 0 || t == 5 && c == 1 ? 10 : 0 }, value: { _, t, _ in Float(t) },
                                       query: { _, i, c in i == c ? 1 : 0 })
        let c = try PolicyPipeline(parsing: "h2o(keep=4,window=2)").compress(cap)
        #expect(kept(c) == [2, 5, 10, 11])
    }
}
