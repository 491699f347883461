import KVPack
import KVPackPolicies
import Testing
@testable import KVPackModel

/// The batched decode step (`LanguageModel.decode`) against each sequence's own `forward`: the
/// same sessions' states, the same tokens, the logits within fp tolerance (the batch's products
/// are one GEMM where a lone decode token is a GEMV).
@Suite("Batched decode")
struct BatchedDecodeTests {
    /// Prompt lengths and policies of the batch's sequences.
    static let sequences: [(length: Int, policy: String)] = [
        (37, "dense"), (160, "snapkv(keep=0.25)"), (80, "streaming(sinks=4,keep=0.5) | quant(bits=4)"), (70, "paged(keep=48,block=4)"),
    ]
    static let steps = 4

    static func maxDifference(_ a: Logits, _ b: Logits) -> Float {
        zip(a.values, b.values).map { abs($0 - $1) }.max() ?? .infinity
    }

    @Test("a batched step gives each sequence's own forward logits, for different lengths and policies")
    func matchesForward() async throws {
        let model = try ModelFixtures.model(.smollm2)
        let text = try ModelFixtures.reference(.smollm2).tokenIDs
        let pool = try ModelFixtures.pool(for: model)
        var alone: [CacheSession] = [], batched: [CacheSession] = [], next: [Int] = [], position: [Int] = []
        defer { for s in alone + batched { s.close() } }
        for (i, (length, spec)) in Self.sequences.enumerated() {
            let prompt = Array(text[i * 200..<i * 200 + length])
            let a = try model.makeSession(pool: pool, policy: try PolicyPipeline(parsing: spec))
            let b = try model.makeSession(pool: pool, policy: try PolicyPipeline(parsing: spec))
            let h = try model.prefill(prompt, session: a)
            _ = try model.prefill(prompt, session: b)
            alone.append(a)
            batched.append(b)
            next.append(try model.logits(h, rows: h.tokens - 1..<h.tokens).argmax(row: 0))
            position.append(length)
        }
        var worst: Float = 0
        for step in 0..<Self.steps {
            // The last step gives sequence 1 three tokens at once (a prompt's rest, or drafts).
            let feed = (0..<next.count).map { i in step == Self.steps - 1 && i == 1 ? [next[i], 17, 42] : [next[i]] }
            let results = await model.decode(zip(batched, feed).enumerated().map { i, p in
                DecodeRequest(session: p.0, tokens: p.1, start: position[i])
            })
            for i in 0..<next.count {
                let h = try model.forward(feed[i], startingAt: position[i], session: alone[i])
                let expected = try model.logits(h, rows: h.tokens - 1..<h.tokens)
                let got = try results[i].get()
                let diff = Self.maxDifference(expected, got)
                worst = max(worst, diff)
                // Logits of SmolLM2 run to about ±30. One GEMM against a GEMV rounds differently, and
                // 30 layers carry it (running the same prompt in chunks of 48 rather than whole moves
                // its hidden states by up to 0.019): 1e-2 absolute, a few parts in 10⁴.
                #expect(diff < 1e-2, "step \(step), sequence \(i) (\(Self.sequences[i].policy)): logits differ by \(diff)")
                #expect(try alone[i].positions(layer: 3) == batched[i].positions(layer: 3), "step \(step), sequence \(i): kept positions")
                #expect(got.argmax(row: 0) == expected.argmax(row: 0), "step \(step), sequence \(i): greedy token")
                next[i] = expected.argmax(row: 0)
                position[i] += feed[i].count
            }
        }
        print("batched decode: largest logit difference from forward \(worst)")
    }

    @Test("bad requests fail alone, before anything is appended; the others decode")
    func badRequests() async throws {
        let model = try LanguageModel(reading: SyntheticModelSource.tinyLlama())
        let pool = try PagePool(.init(budgetBytes: 1 << 20, headDim: 4))
        let good = try model.makeSession(pool: pool), other = try model.makeSession(pool: pool)
        let foreign = try CacheSession(pool: pool, model: ModelFacts(name: "other", queryHeads: 2, kvHeads: 2, headDim: 4,
                                                                     layerKinds: [.global, .global]))
        defer { good.close(); other.close(); foreign.close() }
        _ = try model.forward([1, 2, 3], startingAt: 0, session: good)
        _ = try model.forward([4, 5], startingAt: 0, session: other)
        let results = await model.decode([
            DecodeRequest(session: good, tokens: [6], start: 3),
            DecodeRequest(session: other, tokens: [10], start: 2),      // token outside the vocabulary
            DecodeRequest(session: foreign, tokens: [1], start: 0),     // another model's session
            DecodeRequest(session: good, tokens: [7], start: 4),        // the same session twice
            DecodeRequest(session: other, tokens: [], start: 2),        // no tokens
        ])
        #expect((try? results[0].get())?.vocabularySize == 10)
        guard case .failure(.tokenOutOfRange(token: 10, index: 0, vocabulary: 10)) = results[1] else { Issue.record("\(results[1])"); return }
        guard case .failure(.sessionOfAnotherModel) = results[2] else { Issue.record("\(results[2])"); return }
        guard case .failure(.session(.repeatedInBatch)) = results[3] else { Issue.record("\(results[3])"); return }
        guard case .failure(.noTokens) = results[4] else { Issue.record("\(results[4])"); return }
        #expect(try other.tokenCounts(layer: 0) == [2], "refused requests append nothing")
        #expect(try good.tokenCounts(layer: 1) == [4])

        // A position already held fails that sequence at its first layer; the batch's other sequence goes on.
        let results2 = await model.decode([DecodeRequest(session: other, tokens: [1], start: 1), DecodeRequest(session: good, tokens: [7], start: 4)])
        guard case .failure(.session(.positionsNotIncreasing)) = results2[0] else { Issue.record("\(results2[0])"); return }
        #expect(throws: Never.self) { try results2[1].get() }
    }
}
