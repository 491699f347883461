@testable import KVPack
import KVPackTestSupport
import Testing
@testable import KVPackPolicies

@Suite("Mustafar")
struct MustafarTests {
    @Test("the reference's kept count: D − max(1, ⌊s·D⌋) + 1", arguments: [(0.5, 128, 65), (0.7, 128, 40), (0.5, 64, 33), (0.01, 64, 64)])
    func keptCount(s: Double, d: Int, kept: Int) {
        #expect(Mustafar.keptElements(s, dim: d) == kept)
        #expect(BitmapRows.kept(dim: d, sparsity: Mustafar.layoutSparsity(s, dim: d)) == kept)
    }

    @Test("old tokens keep their largest magnitudes per token; the recent window stays dense and exact")
    func pruning() throws {
        let d = 16, n = 40
        let cap = try syntheticCapture(tokens: n, d: d, key: { _, t, c in noise(t, c, 1) * 4 }, value: { _, t, c in noise(t, c, 2) * 4 })
        let cache = try PolicyPipeline(parsing: "mustafar(k=0.7,v=0.5,recent=8)").compress(cap)
        let head = cache.sequences[0].layers[0][0]
        let decoded = head.decoded()
        let layer = cap.sequences[0].layers[0]
        for t in 0..<n {
            let original = (0..<d).map { Float(layer.keys[0, t, $0]) }
            let row = Array(decoded.keys[t * d..<(t + 1) * d]).map { Float($0) }
            if t >= n - 8 {
                #expect(row == original, "recent token \(t) is dense")
                continue
            }
            let keep = Mustafar.keptElements(0.7, dim: d)
            #expect(row.filter { $0 != 0 }.count == keep)
            // Every kept magnitude is >= every pruned one.
            let keptMags = zip(row, original).filter { $0.0 != 0 }.map { abs($0.1) }
            let prunedMags = zip(row, original).filter { $0.0 == 0 }.map { abs($0.1) }
            #expect(keptMags.min()! >= prunedMags.max()!)
            for (a, b) in zip(row, original) where a != 0 { #expect(a == b, "kept values are exact") }
        }
        #expect(cache.byteCount < cap.denseKVBytes, "compression happened")
    }

    @Test("decode: the token leaving the dense window is pruned")
    func decode() throws {
        let cap = try syntheticCapture(tokens: 20, probes: 5, d: 8, window: 1, key: { _, t, c in noise(t, c) }, value: { _, t, c in noise(t, c, 3) },
                                       query: { _, i, c in noise(i, c, 5) })
        let sim = try DecodeSimulation.run(try PolicyPipeline(parsing: "mustafar(recent=4)"), capture: cap)
        let head = sim.finalHeads[0][0]
        #expect(head.kept.count == 25)
        #expect(head.keyEncodings.filter { $0 == .f16 }.count == 4)
        #expect(head.keyEncodings.prefix(21).allSatisfy { $0 == .bitmap })
    }
}
