import Foundation
import KVPack
import KVPackTestSupport
import Testing
@testable import KVPackPolicies

@Suite("ARKV")
struct ARKVTests {
    /// Three layers whose window attention differs: sharp (one key), moderate, flat.
    func capture(tokens: Int = 48, window: Int = 8, probes: Int = 0) throws -> Capture {
        try syntheticCapture(tokens: tokens, probes: probes, qHeads: 2, kvHeads: 1, d: 8, window: window,
                             layers: [.global, .global, .global],
                             key: { _, t, c in noise(t, c, 7) * 2 }, value: { _, t, c in noise(t, c, 9) },
                             query: { h, i, c in noise(h * 100 + i, c, 11) * 3 })
    }

    @Test("layer statistics equal a float64 reference")
    func statistics() throws {
        let cap = try capture()
        let plan = CompressionPlan(capture: cap)
        let w = ObservationWindow.score(cap, plan, 0, 0, 0, window: 8)!
        let past = 40
        var stats = ARKV.LayerStatistics()
        for g in 0..<w.group { stats.add(ARKV.ColumnMoments(w, group: g, past: past)) }
        // Independent float64 reference from the probabilities.
        var h = 0.0, v = 0.0, k = 0.0
        for g in 0..<w.group {
            for j in 0..<past {
                let col = (0..<w.window).map { Double(w.p(g, $0, j)) }
                let mean = col.reduce(0, +) / Double(col.count)
                h += col.reduce(0) { $0 - $1 * log($1 + 1e-10) }
                v += col.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(col.count - 1)
                let m2 = max(col.reduce(0) { $0 + pow($1 - mean, 2) } / Double(col.count), 1e-8)
                let m4 = col.reduce(0) { $0 + pow($1 - mean, 4) } / Double(col.count)
                k += m4 / (m2 * m2)
            }
        }
        #expect(abs(stats.entropy - h) <= 1e-5 * abs(h)) // fp32 terms, as the reference sums
        #expect(abs(stats.variance - v) <= 1e-4 * abs(v)) // fp32 per column, as the reference
        #expect(abs(stats.kurtosis - k) <= 1e-4 * abs(k))
    }

    @Test("prefill keeps exactly C: top C − W past plus the window; window f16; |O| = round(r·(C − W)), r = 1 on the top layer")
    func prefill() throws {
        let cap = try capture()
        let plan = try PolicyPipeline(parsing: "arkv(keep=24,window=8)").plan(cap)
        var originCounts: [Int] = []
        for l in 0..<3 {
            let head = plan.heads[0][l][0]
            #expect(head.kept.count == 24)
            #expect(Array(head.kept.suffix(8)) == Array(40..<48), "the window is kept")
            #expect(head.keyEncodings.suffix(8).allSatisfy { $0 == .f16 })
            let origin = head.keyEncodings.prefix(16).filter { $0 == .f16 }.count
            #expect(head.keyEncodings.prefix(16).allSatisfy { $0 == .f16 || $0.kind == .int8 })
            #expect(head.keyEncodings == head.valueEncodings)
            #expect(origin == plan.stageState["arkv"]![0][l])
            originCounts.append(origin)
        }
        #expect(originCounts.max() == 16, "the layer with the highest preference keeps every kept past token in f16")
        #expect(originCounts.allSatisfy { (0...16).contains($0) })
    }

    @Test("decode: past C, a head keeps ⌊0.75·(T − W)⌋ past tokens plus the window; quantized tokens never return to f16")
    func decode() throws {
        let cap = try capture(tokens: 48, window: 8, probes: 6)
        let sim = try DecodeSimulation.run(try PolicyPipeline(parsing: "arkv(keep=24,window=8)"), capture: cap)
        // Prefill 24; probe 1 makes 25 > 24: keep ⌊0.75·17⌋ = 12 + 8 = 20; then 21, 22, 23, 24, 25 -> 20 ...
        let lengths = sim.keptCounts[0].map { $0[0] }
        #expect(lengths == [25, 21, 22, 23, 24, 25])
        #expect(sim.finalHeads[0][0].kept.count == 20)
        let head = sim.finalHeads[0][0]
        #expect(head.keyEncodings.suffix(8).allSatisfy { $0 == .f16 })
    }
}
