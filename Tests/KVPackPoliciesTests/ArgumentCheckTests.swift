import KVPack
import KVPackTestSupport
import Testing
@testable import KVPackPolicies

/// Every clamp or ignored argument is an error or a warning, and the spec a cache records is the
/// one that ran.
@Suite("Argument checks against the capture")
struct ArgumentCheckTests {
    /// 256 prompt tokens, `window` window queries, 4 query heads over 2 KV heads, head dim 8.
    func capture(window: Int) throws -> Capture {
        try syntheticCapture(tokens: 256, qHeads: 4, kvHeads: 2, d: 8, window: window,
                             key: { h, t, c in noise(h * 1000 + t, c) }, value: { h, t, c in noise(h * 1000 + t, c, 2) },
                             query: { h, i, c in noise(h, i * 10 + c, 3) })
    }

    static let refused: [(spec: String, expected: PolicyError)] = [
        ("snapkv(keep=1)", .budgetBelowArgument(policy: "snapkv", keep: "1", kept: 1, argument: "window", value: 32)),
        ("arkv(keep=8,window=16)", .budgetBelowArgument(policy: "arkv", keep: "8", kept: 8, argument: "window", value: 16)),
        ("streaming(keep=0.25,sinks=5000)", .budgetBelowArgument(policy: "streaming", keep: "0.25", kept: 64, argument: "sinks", value: 5000)),
        ("snapkv(keep=0.25,window=4096)", .windowBeyondCapture(policy: "snapkv", window: 4096, available: 32)),
        ("h2o(keep=0.25,window=64)", .windowBeyondCapture(policy: "h2o", window: 64, available: 32)),
        ("arkv(keep=0.5,window=64)", .windowBeyondCapture(policy: "arkv", window: 64, available: 32)),
        ("taskkv(keep=0.5,window=64)", .windowBeyondCapture(policy: "taskkv", window: 64, available: 32)),
    ]

    @Test("a budget below what a stage always keeps, or a window beyond the capture's queries, is an error", arguments: refused)
    func budgetAndWindow(spec: String, expected: PolicyError) throws {
        let cap = try capture(window: 32)
        #expect(throws: expected) { try PolicyPipeline(parsing: spec).compress(cap) }
    }

    static let unused: [(spec: String, argument: String)] = [
        ("quant(bits=4,keys=int8,values=int8)", "bits"), ("quant(group=64,keys=int8,values=int8)", "group"),
        ("quant(bits=4,key_sparsity=0.7)", "key_sparsity"), ("quant(keys=bitmap,value_sparsity=0.3)", "value_sparsity"),
        ("paged(keep=64,candidates=3)", "candidates"),
    ]

    @Test("an argument the stage would ignore is an error naming it", arguments: unused)
    func ignoredArgument(spec: String, argument: String) throws {
        let r = Result { () throws(PolicyError) in try PolicyPipeline(parsing: spec) }
        guard case .failure(.argumentUnused(_, argument, let reason)) = r else { Issue.record("\(spec): \(r)"); return }
        #expect(!reason.isEmpty)
    }

    @Test("the default window adapts to a capture with fewer window queries, with a warning, and the cache records the window that ran",
          arguments: ["snapkv(keep=0.25)", "h2o(keep=0.25)", "arkv(keep=0.5)", "taskkv(keep=0.5)"])
    func defaultWindow(spec: String) throws {
        let cap = try capture(window: 16)
        let resolved = try PolicyPipeline(parsing: spec).resolved(for: cap.model, sequences: cap.sequences.map(\.positions))
        #expect(resolved.warnings.count == 1 && resolved.warnings[0].contains("16 window queries"))
        let cache = try PolicyPipeline(parsing: spec).compress(cap)
        #expect((cache.policy.contains("window=16,") || cache.policy.contains("window=16)")) && cache.policy == resolved.description,
                "\(cache.policy)")
        // Given explicitly as 16, the same cache and no warning.
        let explicit = try PolicyPipeline(parsing: spec.replacingOccurrences(of: ")", with: ",window=16)"))
        #expect(try explicit.compress(cap) == cache)
        #expect(try explicit.resolved(for: cap.model, sequences: cap.sequences.map(\.positions)).warnings.isEmpty)
    }

    @Test("cuts a stage makes to fit a head are warned once", arguments: [
        ("streaming(keep=2)", "sinks=4"), ("taskkv(keep=0.1,window=8)", "cut to fit"), ("mustafar(recent=300)", "recent=300"),
    ])
    func warnings(spec: String, phrase: String) throws {
        let plan = try PolicyPipeline(parsing: spec).plan(try capture(window: 8))
        #expect(plan.warnings.count == 1 && plan.warnings[0].contains(phrase), "\(plan.warnings)")
    }

    @Test("the default sinks shrink to a smaller budget: every kept token is a sink")
    func streamingDefaultSinks() throws {
        let cache = try PolicyPipeline(parsing: "streaming(keep=2)").compress(try capture(window: 8))
        #expect(cache.sequences[0].layers[0].allSatisfy { $0.positions == [0, 1] })
    }

    @Test("ARKV's temperatures are part of its spec when they are not the defaults")
    func arkvTemperatures() throws {
        #expect(try PolicyPipeline(parsing: "arkv(keep=0.5,tau1=2)").description.hasSuffix(",tau1=2.0)"))
        #expect(!(try PolicyPipeline(parsing: "arkv(keep=0.5)").description.contains("tau")))
    }

    @Test("a stage that scores with window queries, on a capture without them, is a typed error; stages that need none still run",
          arguments: ["snapkv(keep=0.5)", "h2o(keep=0.5)", "arkv(keep=0.5)", "taskkv(keep=0.5)", "streaming(keep=0.5) | snapkv(keep=0.5)"])
    func missingQueries(spec: String) throws {
        let cap = try capture(window: 0)
        let r = Result { () throws(PolicyError) in try PolicyPipeline(parsing: spec).compress(cap) }
        guard case .failure(.noWindowQueries(let policy)) = r else { Issue.record("\(spec): \(r)"); return }
        #expect(spec.hasPrefix(policy) || spec.contains("| \(policy)"))
        #expect(try PolicyPipeline(parsing: "knorm(keep=0.5) | quant(bits=8,group=8)").compress(cap).ratio < 0.5)
    }
}
