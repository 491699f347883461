import KVPack
import KVPackPolicies
import KVPackTestSupport
import Foundation
import Testing

/// H2O at decode: the head keeps its budget, evicting the lowest accumulated attention older
/// than the recent window, step by step (checked against the test's own accumulation).
@Suite("H2O: accumulated attention at decode")
struct HeavyHittersDecodeTests {
    @Test("each step adds the new query's attention to the running scores and evicts the lowest older token")
    func evictsTheLowestAccumulatedScore() throws {
        let d = 64, prompt = 24, budget = 12, recent = 6, steps = 10
        let model = try ModelFacts(name: "h2o", queryHeads: 2, kvHeads: 1, headDim: d, layerKinds: [.global])
        let pool = try PagePool(.init(budgetBytes: 1 << 22, headDim: d, pageSize: 4))
        let session = try CacheSession(pool: pool, model: model, policy: try PolicyPipeline(parsing: "h2o(keep=\(budget),recent=0.5,window=8)"))
        var rng = TestRandom(21)
        var keys = rng.halves(1, prompt + steps, d).storage
        let values = rng.halves(1, prompt + steps, d).storage
        // Zero window queries (positions 16..<24) attend uniformly to the keys at or before them: the
        // older tokens tie, so the lowest positions are the heavy hitters, then the recent six.
        try session.prefill(SessionPrompt(positions: Array(0..<prompt), layers: [.init(
            keys: try HeadTensor(heads: 1, tokens: prompt, headDim: d, storage: Array(keys[0..<prompt * d])),
            values: try HeadTensor(heads: 1, tokens: prompt, headDim: d, storage: Array(values[0..<prompt * d])),
            windowQueries: try HeadTensor(zeros: 2, 8, d))]))
        var kept = Array(0..<6) + Array(18..<24)
        #expect(try session.positions(layer: 0) == [kept])
        // Their running scores: each window query's uniform attention over the kept keys it sees, two query heads.
        var scores = kept.map { j in (16..<24).reduce(Float(0)) { sum, p in
            j <= p ? sum + 2 / Float(kept.filter { $0 <= p }.count) : sum
        } }
        for t in prompt..<prompt + steps {
            // Queries exact in f16 (the session scores with the f16 query).
            let q = rng.halves(2, 1, d, scale: 2).storage.map { Float($0) }
            try session.append(layer: 0, keys: try HeadTensor(heads: 1, tokens: 1, headDim: d, storage: Array(keys[t * d..<(t + 1) * d])),
                               values: try HeadTensor(heads: 1, tokens: 1, headDim: d, storage: Array(values[t * d..<(t + 1) * d])),
                               positions: [t])
            _ = try session.attend(layer: 0, queries: try HeadTensor(heads: 2, tokens: 1, headDim: d, storage: q), positions: [t])
            // The expected step: scores += softmax(q·k / sqrt(d)) summed over the two query heads.
            kept.append(t)
            scores.append(0)
            for g in 0..<2 {
                let logits = kept.map { j in (0..<d).reduce(Float(0)) { $0 + q[g * d + $1] * Float(keys[j * d + $1]) } / Float(d).squareRoot() }
                let top = logits.max()!, e = logits.map { Float(Foundation.exp(Double($0 - top))) }, sum = e.reduce(0, +)
                for j in kept.indices { scores[j] += e[j] / sum }
            }
            while kept.count > budget {
                let older = kept.count - recent
                let victim = (0..<older).min { scores[$0] < scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }!
                kept.remove(at: victim)
                scores.remove(at: victim)
            }
            #expect(try session.tokenCounts(layer: 0) == [budget], "step \(t)")
            #expect(try session.positions(layer: 0) == [kept], "step \(t)")
        }
        keys.removeAll()
    }
}
