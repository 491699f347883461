import Foundation
import KVPack
import KVPackTestSupport
import Testing
@testable import KVPackPolicies

@Suite("SnapKV")
struct SnapKVTests {
    /// A capture with chosen keys (the values equal them) and window queries.
    func capture(tokens: Int, qHeads: Int, kvHeads: Int, d: Int, window: Int,
                 key: (Int, Int, Int) -> Float, query: (Int, Int, Int) -> Float) throws -> Capture {
        try syntheticCapture(tokens: tokens, qHeads: qHeads, kvHeads: kvHeads, d: d, window: window, key: key, value: key, query: query)
    }

    @Test("hand-worked: each window query votes for the key it matches")
    func handWorked() throws {
        // Token 3's key is (10, 0), token 6's is (0, 10); window queries (1, 0) and (0, 1).
        let cap = try capture(tokens: 10, qHeads: 1, kvHeads: 1, d: 2, window: 2,
                              key: { _, t, c in t == 3 && c == 0 || t == 6 && c == 1 ? 10 : 0 },
                              query: { _, i, c in i == c ? 1 : 0 })
        let c = try PolicyPipeline(parsing: "snapkv(keep=4,window=2,kernel=1)").compress(cap)
        #expect(c.sequences[0].layers[0][0].positions == [3, 6, 8, 9])
        // A budget at or above the length leaves the head alone.
        let all = try PolicyPipeline(parsing: "snapkv(keep=10,window=2,kernel=1)").compress(cap)
        #expect(all.sequences[0].layers[0][0].positions == Array(0..<10))
    }

    /// Float64 reference of SnapKV steps 2-6 (GQA-mean), independent of the implementation.
    func reference(_ cap: Capture, head h: Int, keep: Int, window w: Int, kernel: Int, maxPool: Bool) -> Set<Int> {
        let m = cap.model, layer = cap.sequences[0].layers[0]
        let n = layer.keys.tokens, prefix = n - w, group = m.groupSize
        var mean = [Double](repeating: 0, count: prefix)
        for g in 0..<group {
            let qh = h * group + g
            var votes = [Double](repeating: 0, count: prefix)
            for i in 0..<w {
                let qpos = n - w + i
                var logits = [Double](repeating: -.infinity, count: n)
                for t in 0...qpos {
                    var dot = 0.0
                    for c in 0..<m.headDim { dot += Double(layer.queries[qh, i, c]) * Double(layer.keys[h, t, c]) }
                    logits[t] = dot / Double(m.headDim).squareRoot()
                }
                let mx = logits.max()!
                let e = logits.map { $0 == -.infinity ? 0 : exp($0 - mx) }
                let z = e.reduce(0, +)
                for j in 0..<prefix { votes[j] += e[j] / z }
            }
            for j in 0..<prefix {
                var acc = maxPool ? -Double.infinity : 0
                for o in -(kernel / 2)...(kernel / 2) {
                    let v = (0..<prefix).contains(j + o) ? votes[j + o] : (maxPool ? -.infinity : 0)
                    acc = maxPool ? max(acc, v) : acc + v
                }
                mean[j] += (maxPool ? acc : acc / Double(kernel)) / Double(group)
            }
        }
        let order = mean.indices.sorted { mean[$0] != mean[$1] ? mean[$0] > mean[$1] : $0 < $1 }
        return Set(order.prefix(keep - w)).union(prefix..<n)
    }

    @Test("kept sets equal a float64 reference (GQA-mean), avg and max pooling", arguments: [false, true])
    func matchesReference(maxPool: Bool) throws {
        // Keys, then window queries, uniform in [-2, 2).
        var rng = TestRandom(state: maxPool ? 11 : 5)
        let keys = rng.signedFloats(2 * 120 * 16, scale: 2), queries = rng.signedFloats(8 * 8 * 16, scale: 2)
        let cap = try capture(tokens: 120, qHeads: 8, kvHeads: 2, d: 16, window: 8, key: { h, t, c in keys[(h * 120 + t) * 16 + c] },
                              query: { h, i, c in queries[(h * 8 + i) * 16 + c] })
        let c = try PolicyPipeline(parsing: "snapkv(keep=40,window=8,kernel=5,pool=\(maxPool ? "max" : "avg"))").compress(cap)
        for h in 0..<2 {
            let got = Set(c.sequences[0].layers[0][h].positions)
            let expected = reference(cap, head: h, keep: 40, window: 8, kernel: 5, maxPool: maxPool)
            // fp32 vs fp64 may swap a near-tie at the boundary: allow one token of difference.
            #expect(got.count == 40 && got.symmetricDifference(expected).count <= 2, "head \(h)")
            #expect(Set(112..<120).isSubset(of: got)) // the window is always kept
        }
    }

    @Test("bad arguments")
    func arguments() {
        #expect(throws: PolicyError.self) { try PolicyPipeline(parsing: "snapkv(keep=0.5,kernel=4)") }
        #expect(throws: PolicyError.self) { try PolicyPipeline(parsing: "snapkv(keep=0.5,pool=mean)") }
        #expect(throws: PolicyError.self) { try PolicyPipeline(parsing: "snapkv") }
        // Even pooling kernels name the policy and ask for an odd number (SnapKV and Task-KV alike).
        for (spec, name) in [("snapkv(keep=0.5,kernel=4)", "snapkv"), ("taskkv(keep=0.5,kernel=6)", "taskkv")] {
            let r = Result { () throws(PolicyError) in try PolicyPipeline(parsing: spec) }
            guard case .failure(.badValue(let policy, "kernel", _, "an odd number", _)) = r else { Issue.record("\(spec): \(r)"); continue }
            #expect(policy == name)
        }
    }
}
