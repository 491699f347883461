import KVPack
import KVPackTestSupport
import Testing
@testable import KVPackPolicies

@Suite("Budgets, determinism and the no-op check")
struct BudgetTests {
    @Test("byte budgets parse with units", arguments: [("4MiB", 4_194_304), ("1.5MB", 1_500_000), ("300000B", 300_000), ("2KiB", 2048)])
    func parse(text: String, bytes: Int) { #expect(Budget(text) == .bytes(bytes)) }

    @Test("a byte budget is filled as far as it goes, exactly by the layout's accounting",
          arguments: ["streaming", "knorm", "random", "h2o", "snapkv(window=1)"])
    func bytes(policy: String) throws {
        let cap = try syntheticCapture(tokens: 100, qHeads: 4, kvHeads: 2, d: 8, window: 1, layers: [.global, .global],
                                       key: { h, t, c in noise(h * 1000 + t, c) }, value: { h, t, c in noise(h * 1000 + t, c, 2) },
                                       query: { h, i, c in noise(h, i * 10 + c, 3) })
        for limit in [3_000, 10_000, 25_000] {
            let base = policy.contains("(") ? String(policy.dropLast()) + ",keep=\(limit)B)" : "\(policy)(keep=\(limit)B)"
            let cache = try PolicyPipeline(parsing: base).compress(cap)
            #expect(cache.byteCount <= limit, "\(base): \(cache.byteCount)")
            // One more token in any head that is not full would not fit.
            let left = limit - cache.byteCount
            for layer in cache.sequences[0].layers { for head in layer where head.tokenCount < 100 {
                let t = head.tokenCount
                let more = CompressionPlan.f16HeadBytes(tokens: t + 1, headDim: 8, pageSize: 16) - CompressionPlan.f16HeadBytes(tokens: t, headDim: 8, pageSize: 16)
                #expect(more > left, "\(base): \(left) B left, one more token costs \(more)")
            } }
        }
        let tooSmall = Result { () throws(PolicyError) in try PolicyPipeline(parsing: "streaming(keep=100B)").compress(cap) }
        guard case .failure(.budgetTooSmall(100, _)) = tooSmall else { Issue.record("\(tooSmall)"); return }
    }

    @Test("same input, same output", arguments: ["snapkv(keep=0.3)", "h2o(keep=0.3)", "paged(keep=0.5,block=4)", "arkv(keep=0.5,window=4)",
                                                 "mustafar", "taskkv(keep=0.5,recent=8,sinks=2)", "random(keep=0.3)", "knorm(keep=0.3)"])
    func determinism(spec: String) throws {
        let cap = try syntheticCapture(tokens: 64, qHeads: 4, kvHeads: 2, d: 8, window: 4,
                                       key: { h, t, c in Float(Float16(noise(h * 1000 + t, c) * 0.01)) },
                                       value: { h, t, c in noise(h * 1000 + t, c, 2) }, query: { h, i, c in noise(h, i * 10 + c, 3) })
        let a = try PolicyPipeline(parsing: spec).compress(cap), b = try PolicyPipeline(parsing: spec).compress(cap)
        #expect(a == b)
    }

    @Test("NaN scores rank lowest; ties go to the lower index")
    func topIndicesOrder() {
        #expect(topIndices([1, .nan, 3, 3, .nan, 2], count: 3) == [2, 3, 5])
        #expect(topIndices([.nan, .nan, .nan], count: 2) == [0, 1])
        #expect(topIndices([1, 1, 1, 1], count: 2) == [0, 1])
        #expect(topIndices([1, 2], count: 0) == [])
        #expect(topIndices([1, 2], count: 5) == [1, 0])
    }

    @Test("top indices equal a full comparator sort (score down, index up, NaN last) on random scores with ties",
          arguments: [1, 2, 17, 500, 4095, 4096, 5000])
    func topIndicesProperty(count: Int) {
        var rng = TestRandom(state: UInt64(count) &* 0x9E3779B97F4A7C15)
        func next() -> UInt64 { rng.bits() >> 33 }
        // Few distinct values (many ties), some NaN, signed zeros and infinities.
        let palette: [Float] = [0, -0.0, 1, -1, 0.5, 2, .infinity, -.infinity, .nan, 3.25, -7]
        let scores = (0..<4096).map { _ in palette[Int(next() % UInt64(palette.count))] + (next() % 4 == 0 ? Float(next() % 100) / 8 : 0) }
        let reference = scores.indices.sorted { a, b in
            let x = scores[a], y = scores[b]
            if x.isNaN != y.isNaN { return !x.isNaN }
            if !x.isNaN && x != y { return x > y }
            return a < b
        }
        #expect(topIndices(scores, count: count) == Array(reference.prefix(count)))
    }

    /// A stage that claims a budget but evicts nothing: the failure the pipeline must catch.
    struct SilentNoOp: KVPolicy {
        var spec: PolicySpec.Stage { PolicySpec.stage("noop", [("keep", "0.5")]) }
        var budget: Budget? { .fraction(0.5) }
        func apply(to plan: inout CompressionPlan, capture: Capture) throws(PolicyError) {}
    }

    @Test("a stage that silently did not compress is an error")
    func noOpCaught() throws {
        let cap = try syntheticCapture(tokens: 10, key: { _, t, c in Float(t + c) }, value: { _, t, c in Float(t - c) })
        var plan = CompressionPlan(capture: cap)
        let before = plan
        try SilentNoOp().apply(to: &plan, capture: cap)
        let r = Result { () throws(PolicyError) in try PolicyPipeline.check(SilentNoOp(), before: before, after: plan, capture: cap) }
        guard case .failure(.budgetNotMet(_, 0, 0, 0, 10, let expected)) = r else { Issue.record("\(r)"); return }
        #expect(expected == 5...5)
    }

    @Test("edge budgets: keep >= length leaves everything; one token keeps one; GQA 8 and MHA",
          arguments: ["streaming", "knorm", "h2o", "snapkv(window=2)", "random", "arkv(window=2)", "taskkv(sinks=1,recent=2)"],
          [(8, 1), (2, 2)])
    func edges(policy: String, heads: (Int, Int)) throws {
        let cap = try syntheticCapture(tokens: 12, qHeads: heads.0, kvHeads: heads.1, d: 4, window: 2, key: { h, t, c in noise(h * 100 + t, c) },
                                       value: { h, t, c in noise(h * 100 + t, c, 2) }, query: { h, i, c in noise(h, i * 4 + c, 3) })
        func spec(_ keep: String) -> String {
            policy.contains("(") ? String(policy.dropLast()) + ",keep=\(keep))" : "\(policy)(keep=\(keep))"
        }
        #expect(kept(try PolicyPipeline(parsing: spec("100")).compress(cap)) == Array(0..<12))
        #expect(kept(try PolicyPipeline(parsing: spec("1.0")).compress(cap)) == Array(0..<12))
        // SnapKV and ARKV always keep the window: a budget below it is refused (it used to keep the window silently).
        let one = Result { () throws(PolicyError) in kept(try PolicyPipeline(parsing: spec("1")).compress(cap)).count }
        if policy.hasPrefix("snapkv") || policy.hasPrefix("arkv") {
            guard case .failure(.budgetBelowArgument(_, "1", 1, "window", 2)) = one else { Issue.record("\(policy): \(one)"); return }
        } else {
            #expect(try one.get() == 1, "\(policy)")
        }
    }

    @Test("a prompt shorter than the budget is left whole", arguments: ["snapkv(keep=100,window=3)", "h2o(keep=100,window=3)",
                                                                        "arkv(keep=100,window=3)", "paged(keep=64)", "taskkv(keep=100)"])
    func shortPrompt(spec: String) throws {
        let cap = try syntheticCapture(tokens: 12, qHeads: 4, kvHeads: 2, d: 4, window: 3, key: { h, t, c in noise(h * 100 + t, c) },
                                       value: { h, t, c in noise(h * 100 + t, c, 2) }, query: { h, i, c in noise(h, i * 4 + c, 3) })
        let c = try PolicyPipeline(parsing: spec).compress(cap)
        #expect(c.sequences[0].layers[0].allSatisfy { $0.tokenCount == 12 }, "\(spec)")
    }
}
