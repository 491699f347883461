import Foundation
import KVPack
import KVPackModel
import KVPackPolicies
import Testing
@testable import KVPackEval

/// Next-token fidelity on the shipped SmolLM2 model over the GPL-3 text: the dense policy
/// reproduces the dense run exactly, a compressing one diverges, and each position's figures are
/// what an independent pair of runs gives by hand.
@Suite("Next-token fidelity (SmolLM2)", .serialized)
struct FidelityModelTests {
    @Test("dense policy: KL divergence 0 and the same top-1 everywhere; snapkv(keep=0.25): KLD > 0 in under half the memory")
    func denseAndCompressing() throws {
        let fidelity = try NextTokenFidelity(model: try FidelityFixtures.smollm2.get(),
                                             settings: try FidelitySettings(context: 128, continuation: 16))
        let chunks = try fidelity.chunks(of: try FidelityFixtures.text())
        let plan = try SweepPlan(captures: 1, templates: ["dense", "snapkv(keep=0.25)"], budgets: [])
        let results = try fidelity.evaluate(plan.runs, chunks: chunks)
        #expect(results.map(\.run.policy) == plan.runs.map(\.policy))
        let dense = try #require(results[0].summary), snap = try #require(results[1].summary)
        print("dense: \(dense)\nsnapkv: \(snap), memory \(results[1].memoryRatio)")
        #expect(dense.positions == 16 && snap.positions == 16)
        #expect(dense.maxKLD == 0, "the dense policy's session holds the same f16 pages as the dense run")
        #expect(dense.sameTop1 == 1 && dense.perplexityRatio == 1 && dense.meanDeltaProbability == 0)
        #expect(abs(results[0].memoryRatio - 1) < 0.05, "every token in f16, plus page metadata: \(results[0].memoryRatio)")
        #expect(snap.meanKLD > 0 && snap.maxKLD > 0)
        #expect(results[1].memoryRatio < 0.5, "memory ratio \(results[1].memoryRatio)")
        #expect(snap.densePerplexity == dense.densePerplexity, "one dense run per chunk serves every policy")
    }

    @Test("each position's KL divergence, top-1 and reference log-probability are those of two independent runs, by hand")
    func handComputation() throws {
        let loaded = try FidelityFixtures.smollm2.get(), model = loaded.model
        let context = 128, steps = 6
        let settings = try FidelitySettings(context: context, continuation: steps)
        let fidelity = try NextTokenFidelity(model: loaded, settings: settings)
        let tokens = try fidelity.chunks(of: try FidelityFixtures.text()).chunks[0]
        let pool = try PagePool(.init(budgetBytes: 1 << 34, headDim: model.hyperparameters.headDim))
        let reference = try ChunkReference(model: model, tokens: tokens, settings: settings, pool: pool)
        let measured = try fidelity.measure("snapkv(keep=0.25)", against: reference, pool: pool).comparisons
        #expect(measured.count == steps)

        // Independently: the prompt forwarded into a plain session, and prefilled by the model into a SnapKV one.
        let plain = try model.makeSession(pool: pool)
        let snap = try model.makeSession(pool: pool, policy: try PolicyPipeline(parsing: "snapkv(keep=0.25)"))
        defer { plain.close(); snap.close() }
        _ = try model.forward(Array(tokens[0..<context]), startingAt: 0, session: plain)
        _ = try model.prefill(Array(tokens[0..<context]), session: snap)
        for i in 0..<steps {
            let p = context + i
            let d = try model.logits(try model.forward([tokens[p]], startingAt: p, session: plain), rows: 0..<1)
            let c = try model.logits(try model.forward([tokens[p]], startingAt: p, session: snap), rows: 0..<1)
            let lpD = d.logProbabilities(row: 0), lpC = c.logProbabilities(row: 0)
            var kld = 0.0
            for v in lpD.indices { kld += exp(lpD[v]) * (lpD[v] - lpC[v]) }
            #expect(abs(measured[i].klDivergence - kld) <= 1e-6 + 1e-4 * kld, "step \(i): \(measured[i].klDivergence) vs \(kld)")
            #expect(measured[i].denseTop1 == d.argmax(row: 0) && measured[i].compressedTop1 == c.argmax(row: 0), "step \(i)")
            #expect(abs(measured[i].denseLogProbability - d.logProbability(of: tokens[p + 1], row: 0)) < 1e-5, "step \(i)")
            #expect(abs(measured[i].compressedLogProbability - c.logProbability(of: tokens[p + 1], row: 0)) < 1e-5, "step \(i)")
        }
        #expect(measured.contains { $0.klDivergence > 0 })
    }

    @Test("a policy that refuses the prompt reports why, and the other runs go on")
    func refusedRun() throws {
        let fidelity = try NextTokenFidelity(model: try FidelityFixtures.smollm2.get(),
                                             settings: try FidelitySettings(context: 48, continuation: 2))
        let plan = try SweepPlan(captures: 1, templates: ["snapkv(keep=0.5)", "quant(bits=8)"], budgets: [])
        let results = try fidelity.evaluate(plan.runs, chunks: try fidelity.chunks(of: try FidelityFixtures.text()))
        #expect(results[0].summary == nil && results[0].error?.contains("fewer than window=32") == true, "\(results[0])")
        #expect(results[1].error == nil && results[1].summary?.positions == 2)
    }

    @Test("a context beyond the trained 8192 tokens is refused unless forced; a short text says how many tokens it has")
    func badInput() throws {
        let loaded = try FidelityFixtures.smollm2.get()
        #expect(loaded.trainedContext == 8192) // llama.context_length, read with the gguf package
        let long = try FidelitySettings(context: 8192, continuation: 1)
        #expect {
            try NextTokenFidelity(model: loaded, settings: long)
        } throws: { "\($0)".contains("8193 positions, beyond the 8192 tokens") && "\($0)".contains("--force") }
        _ = try NextTokenFidelity(model: loaded, settings: long, force: true)

        let fidelity = try NextTokenFidelity(model: loaded, settings: try FidelitySettings(context: 128, continuation: 16, chunks: 2))
        let tokens = try loaded.tokenize("The quick brown fox jumps over the lazy dog.")
        #expect {
            try fidelity.chunks(of: "The quick brown fox jumps over the lazy dog.")
        } throws: { "\($0)".contains("the text has \(tokens.count) tokens; 2 chunks of 128 context + 16 continuation tokens need 289") }
    }
}

@Suite("Next-token fidelity: settings, chunks, statistics")
struct FidelityUnitTests {
    @Test("non-positive counts are refused, naming the option")
    func nonPositive() {
        #expect { try FidelitySettings(context: 0, continuation: 8) } throws: { "\($0)" == "--context must be positive; got 0" }
        #expect { try FidelitySettings(context: 8, continuation: -1) } throws: { "\($0)" == "--continuation must be positive; got -1" }
        #expect { try FidelitySettings(context: 8, continuation: 8, chunks: 0) } throws: { "\($0)" == "--chunks must be positive; got 0" }
    }

    @Test("a model of an unsupported architecture is refused by the loader, naming it")
    func unsupportedArchitecture() throws {
        var bytes = Array("GGUF".utf8)
        func u32(_ x: UInt32) { withUnsafeBytes(of: x.littleEndian) { bytes += $0 } }
        func u64(_ x: UInt64) { withUnsafeBytes(of: x.littleEndian) { bytes += $0 } }
        func string(_ s: String) { u64(UInt64(s.utf8.count)); bytes += Array(s.utf8) }
        u32(3); u64(0); u64(1) // version 3, no tensors, one metadata entry
        string("general.architecture"); u32(8); string("mamba")
        let file = try GGUFFile(bytes: bytes)
        #expect { try FidelityModel(file: file) } throws: { "\($0)".contains("architecture 'mamba' is not supported") }
    }

    @Test("chunks are cut end to end, each with the token after it, starting with BOS when given")
    func chunks() throws {
        let settings = try FidelitySettings(context: 8, continuation: 2, chunks: 3)
        let tokens = Array(100..<131)
        let cut = try TextChunks(tokens: tokens, settings: settings, bos: 1)
        #expect(cut.chunks == [[1] + Array(101...110), [1] + Array(111...120), [1] + Array(121...130)])
        #expect(try TextChunks(tokens: tokens, settings: settings, bos: nil).chunks[1] == Array(110...120))
        #expect { try TextChunks(tokens: Array(tokens.dropLast()), settings: settings, bos: nil) } throws: {
            "\($0)".hasPrefix("the text has 30 tokens; 3 chunks of 8 context + 2 continuation tokens need 31")
        }
    }

    @Test("summary statistics: mean ± standard error, interpolated median and p99, top-1 share, perplexity ratio")
    func summary() {
        let c = [0.0, 1, 2, 3, 4].enumerated().map { i, kld in
            TokenComparison(klDivergence: kld, denseTop1: 7, compressedTop1: i < 4 ? 7 : 9,
                            denseLogProbability: log(0.5), compressedLogProbability: log(i == 0 ? 0.5 : 0.25))
        }
        let s = FidelitySummary(c)
        #expect(s.positions == 5)
        #expect(s.meanKLD == 2 && abs(s.meanKLDStandardError - (2.5 / 5).squareRoot()) < 1e-12)
        #expect(s.medianKLD == 2 && abs(s.p99KLD - 3.96) < 1e-12 && s.maxKLD == 4)
        #expect(s.sameTop1 == 0.8 && abs(s.sameTop1StandardError - (0.2 / 5).squareRoot()) < 1e-12)
        #expect(abs(s.meanDeltaProbability - (-0.2)) < 1e-12)
        // Dense perplexity 2; compressed exp(-(log 0.5 + 4 log 0.25) / 5) = 2^(9/5).
        #expect(abs(s.densePerplexity - 2) < 1e-12 && abs(s.compressedPerplexity - pow(2, 1.8)) < 1e-9)
        #expect(abs(s.perplexityRatio - pow(2, 0.8)) < 1e-9)
    }

    @Test("identical logit rows give exactly 0; a hand-sized pair gives its KL divergence")
    func comparison() {
        let a: [Float] = [1, 2, 3, 0.5], b: [Float] = [2, 1, 3, 0.5]
        a.withUnsafeBufferPointer { pa in
            #expect(TokenComparison(dense: pa, compressed: pa, reference: 2).klDivergence == 0)
            b.withUnsafeBufferPointer { pb in
                let t = TokenComparison(dense: pa, compressed: pb, reference: 0)
                let za = a.reduce(0.0) { $0 + exp(Double($1)) }, zb = b.reduce(0.0) { $0 + exp(Double($1)) }
                let expected = zip(a, b).reduce(0.0) { sum, x in
                    let p = exp(Double(x.0)) / za, q = exp(Double(x.1)) / zb
                    return sum + p * log(p / q)
                }
                #expect(abs(t.klDivergence - expected) < 1e-12)
                #expect(t.denseTop1 == 2 && t.compressedTop1 == 2)
                #expect(abs(t.denseLogProbability - log(exp(1) / za)) < 1e-12)
            }
        }
    }
}
