import KVPack
import KVPackTestSupport
import Testing
@testable import KVPackPolicies

/// A one-layer capture whose key rows have chosen norms.
func capture(tokens: Int, kvHeads: Int = 1, d: Int = 8, norms: ((Int, Int) -> Float)? = nil) throws -> Capture {
    try syntheticCapture(tokens: tokens, qHeads: kvHeads, kvHeads: kvHeads, d: d,
                         key: { h, t, c in c == 0 ? norms?(h, t) ?? Float(t % 7 + 1) : 0 }, value: { _, t, c in Float(t) / 8 + Float(c) })
}

func kept(_ cache: CompressedCache, head: Int = 0) -> [Int] { cache.sequences[0].layers[0][head].positions }

@Suite("Baselines, hand-worked")
struct BaselineTests {
    @Test func streaming() throws {
        // 10 tokens, 2 sinks, keep 5: sinks 0, 1 and the 3 most recent.
        let c = try PolicyPipeline(parsing: "streaming(sinks=2,keep=5)").compress(capture(tokens: 10))
        #expect(kept(c) == [0, 1, 7, 8, 9])
        // keep=0.5 of 10 = 5, default 4 sinks: 0...3 and 9.
        #expect(kept(try PolicyPipeline(parsing: "streaming(keep=0.5)").compress(capture(tokens: 10))) == [0, 1, 2, 3, 9])
        // A budget at or above the length keeps everything.
        #expect(kept(try PolicyPipeline(parsing: "streaming(keep=50)").compress(capture(tokens: 10))) == Array(0..<10))
    }

    @Test func keyNormWithTies() throws {
        // Norms by token: 5 1 3 1 9 2 -> the three smallest are 1 (t1), 1 (t3), 2 (t5); the tie
        // at 1 keeps both; a tie at the cut keeps the lower position.
        let norms: [Float] = [5, 1, 3, 1, 9, 2]
        let c = try PolicyPipeline(parsing: "knorm(keep=3)").compress(capture(tokens: 6) { _, t in norms[t] })
        #expect(kept(c) == [1, 3, 5])
        let tie: [Float] = [2, 2, 2, 2]
        #expect(kept(try PolicyPipeline(parsing: "knorm(keep=2)").compress(capture(tokens: 4) { _, t in tie[t] })) == [0, 1])
    }

    @Test func randomIsSeededAndExact() throws {
        let cap = try capture(tokens: 100, kvHeads: 2)
        let a = try PolicyPipeline(parsing: "random(keep=0.25,seed=3)").compress(cap)
        let b = try PolicyPipeline(parsing: "random(keep=0.25,seed=3)").compress(cap)
        let other = try PolicyPipeline(parsing: "random(keep=0.25,seed=4)").compress(cap)
        #expect(a == b && kept(a) != kept(other))
        #expect(kept(a).count == 25 && kept(a, head: 1).count == 25 && kept(a) != kept(a, head: 1))
    }

    @Test func compositionAppliesTheSecondStageToWhatTheFirstKept() throws {
        let cap = try capture(tokens: 40, d: 64)
        let c = try PolicyPipeline(parsing: "streaming(sinks=4,keep=0.5) | quant(bits=4)").compress(cap)
        #expect(kept(c) == Array(0..<4) + Array(24..<40))
        let pages = c.sequences[0].layers[0][0].pages
        #expect(pages.allSatisfy { $0.keys.encoding == .int4(.init(groupSize: 32)) && $0.values.encoding == .int4(.init(groupSize: 32)) })
        #expect(c.policy == "streaming(sinks=4,keep=0.5) | quant(keys=int4/g32,values=int4/g32)")
        // Compression happened, by the exact byte accounting: 20 of 40 tokens at 4 bits.
        let dense = try PolicyPipeline(parsing: "dense").compress(cap)
        #expect(c.byteCount < dense.byteCount / 4 && dense.ratio > 1)
    }

    @Test("every head keeps exactly its budget, on GQA and MHA shapes", arguments: [1, 8])
    func budgetsAreExact(kvHeads: Int) throws {
        let cap = try capture(tokens: 33, kvHeads: kvHeads)
        for spec in ["streaming(keep=0.3)", "knorm(keep=0.3)", "random(keep=0.3)", "knorm(keep=7)"] {
            let c = try PolicyPipeline(parsing: spec).compress(cap)
            let expected = spec.contains("7") ? 7 : 9
            for h in 0..<kvHeads { #expect(kept(c, head: h).count == expected, "\(spec) head \(h)") }
        }
    }
}
