import KVPack
import KVPackTestSupport
import Testing
@testable import KVPackPolicies

@Suite("Task-KV")
struct TaskKVTests {
    @Test("f(r) decays linearly from nβ to m")
    func heterogeneousCount() {
        let p = TaskKV(keep: .fraction(0.4), beta: 0.25, m: 4)
        #expect(p.heterogeneousCount(layer: 0, depth: 32, heads: 32) == 8)
        #expect(p.heterogeneousCount(layer: 31, depth: 32, heads: 32) == 4)
        #expect(p.heterogeneousCount(layer: 0, depth: 1, heads: 32) == 8)
    }

    /// Four KV heads; head 2's values point elsewhere (far from the semantic center).
    func capture() throws -> Capture {
        try syntheticCapture(tokens: 64, qHeads: 4, kvHeads: 4, d: 8, window: 4, layers: [.global, .global],
                             key: { h, t, c in noise(h * 1000 + t, c, 3) }, value: { h, t, c in h == 2 ? 5 + noise(t, c) : noise(h * 1000 + t, c, 4) * 0.1 },
                             query: { h, i, c in noise(h * 10 + i, c, 8) })
    }

    @Test("heterogeneous heads keep everything; the others keep sinks + recent + middle within the layer budget")
    func split() throws {
        let cap = try capture()
        // n = 4, β = 0.5, m = 1: f(0) = 2, f(1) = 1. Layer budget 0.5 · 4 · 64 = 128 tokens.
        let plan = try PolicyPipeline(parsing: "taskkv(keep=0.5,sinks=2,recent=8,window=4,kernel=3,top=16,beta=0.5,m=1)").plan(cap)
        for l in 0..<2 {
            let counts = plan.heads[0][l].map(\.kept.count)
            #expect(counts.reduce(0, +) <= 128, "layer \(l): \(counts)")
            #expect(counts[2] == 64, "the far head is heterogeneous and keeps all")
            let full = counts.filter { $0 == 64 }.count
            #expect(full == 1, "one heterogeneous head fits: 2 would leave 0 for the others")
            for h in 0..<4 where counts[h] < 64 {
                let kept = plan.heads[0][l][h].kept
                #expect(counts[h] == (128 - 64) / 3)
                #expect(Array(kept.prefix(2)) == [0, 1], "sinks")
                #expect(Array(kept.suffix(8)) == Array(56..<64), "recent")
                #expect(Set(kept).count == kept.count)
            }
        }
    }

    @Test("the split does not depend on head order")
    func permutation() throws {
        let cap = try capture()
        let plan = try PolicyPipeline(parsing: "taskkv(keep=0.5,sinks=2,recent=8,window=4,top=16,beta=0.5,m=1)").plan(cap)
        // Swap heads 0 and 2 in keys, values and queries: the far head moves to 0.
        var swapped = cap
        var layer = cap.sequences[0].layers[0]
        func swap(_ t: HeadTensor<Float16>) throws -> HeadTensor<Float16> {
            let order = [2, 1, 0, 3]
            return try order.map { try t.slicingHeads($0..<$0 + 1) }.dropFirst().reduce(try t.slicingHeads(2..<3)) { acc, x in
                try! HeadTensor(heads: acc.heads + 1, tokens: acc.tokens, headDim: acc.headDim, storage: acc.storage + x.storage)
            }
        }
        layer.keys = try swap(layer.keys); layer.values = try swap(layer.values); layer.queries = try swap(layer.queries)
        swapped.sequences[0].layers = [layer, layer]
        let plan2 = try PolicyPipeline(parsing: "taskkv(keep=0.5,sinks=2,recent=8,window=4,top=16,beta=0.5,m=1)").plan(swapped)
        #expect(plan2.heads[0][0][0].kept == plan.heads[0][0][2].kept)
        #expect(plan2.heads[0][0][2].kept == plan.heads[0][0][0].kept)
    }
}
