import ArgumentParser
import CBLAS
import Foundation
import KVPack
import KVPackModel

extension Bench {
    struct Model: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Prefill and decode tokens/s of the model runtime, and its matrix products against OpenBLAS alone.",
            discussion: """
                Loads the GGUF model, prefills a prompt of --prompt tokens through a dense session in \
                one forward call, then decodes --decode tokens greedily (one forward call and the \
                output head per token). Reports tokens/s, where the time went (weight-matrix products, \
                session attention, the rest), and the products' throughput inside the forward pass \
                against the same OpenBLAS calls on the same shapes run alone (random weights), \
                which the issue's target puts at 70% or more. Token ids are random (the speed does \
                not depend on them); OpenBLAS uses every core unless OPENBLAS_NUM_THREADS says otherwise.
                  kvpack bench model --model smollm2 --prompt 512 --decode 32
                """)

        @Option(help: "smollm2, gemma3-270m, or a GGUF file.") var model: String
        @Option(help: "Prompt tokens (one forward call).") var prompt = 512
        @Option(help: "Decode steps.") var decode = 32
        @Flag(help: "Print JSON.") var json = false

        func validate() throws {
            for (name, v) in [("--prompt", prompt), ("--decode", decode)] where v <= 0 {
                throw ValidationError("\(name) must be positive; got \(v)")
            }
        }

        struct Phase: Codable {
            var tokens: Int
            var seconds: Double
            var tokensPerSecond: Double
            var productSeconds: Double
            var attentionSeconds: Double
            var otherSeconds: Double
            /// Output-head products (decode: one per token; prefill: the last row only).
            var headSeconds: Double
            var productGigaflops: Double
            var aloneGigaflops: Double
            /// Products' throughput in the pass over the same calls alone.
            var productEfficiency: Double
        }

        struct Result: Codable {
            var model: String
            var threads: Int
            var loadSeconds: Double
            var prefill: Phase
            var decode: Phase
        }

        func run() throws {
            try failing {
                let loadStart = ContinuousClock.now
                let lm = try LanguageModel(contentsOf: try ModelArgument.path(model))
                let loadSeconds = (ContinuousClock.now - loadStart).seconds
                let hp = lm.hyperparameters
                var rng = BenchRandom(seed: 11)
                let ids = rng.halves(prompt, shift: 0).map { abs(Int($0)) % hp.vocabularySize }
                let pool = try PagePool(.init(budgetBytes: 1 << 40, headDim: hp.headDim))
                do { // warm-up: threads started, pages allocated
                    let s = try lm.makeSession(pool: pool)
                    _ = try lm.forward(Array(ids.prefix(16)), startingAt: 0, session: s)
                    s.close()
                }
                let session = try lm.makeSession(pool: pool)
                defer { session.close() }
                let start = ContinuousClock.now
                let hidden = try lm.forward(ids, startingAt: 0, session: session)
                let headStart = ContinuousClock.now
                var logits = try lm.logits(hidden, rows: hidden.tokens - 1..<hidden.tokens)
                let prefillHead = ContinuousClock.now - headStart
                let prefillTime = ContinuousClock.now - start
                var decodeProfile = ForwardProfile(), decodeHead = Duration.zero
                let decodeStart = ContinuousClock.now
                for step in 0..<decode {
                    let h = try lm.forward([logits.argmax(row: 0)], startingAt: prompt + step, session: session)
                    decodeProfile.matrixProducts += h.profile.matrixProducts
                    decodeProfile.matrixProductOperations += h.profile.matrixProductOperations
                    decodeProfile.attention += h.profile.attention
                    decodeProfile.total += h.profile.total
                    let t0 = ContinuousClock.now
                    logits = try lm.logits(h, rows: 0..<1)
                    decodeHead += ContinuousClock.now - t0
                }
                let decodeTime = ContinuousClock.now - decodeStart
                let prefillAlone = Self.productsAlone(hp, rows: prompt, repeats: 1)
                let decodeAlone = Self.productsAlone(hp, rows: 1, repeats: decode)
                func phase(_ tokens: Int, _ total: Duration, _ p: ForwardProfile, head: Duration, headRows: Int, repeats: Int,
                           alone: Double) -> Phase {
                    let headFlops = 2 * Double(headRows) * Double(hp.vocabularySize * hp.embeddingLength) * Double(repeats)
                    let flops = p.matrixProductOperations + headFlops
                    let inPass = p.matrixProducts.seconds + head.seconds
                    return Phase(tokens: tokens, seconds: total.seconds, tokensPerSecond: Double(tokens) / total.seconds,
                                 productSeconds: p.matrixProducts.seconds, attentionSeconds: p.attention.seconds,
                                 otherSeconds: total.seconds - p.matrixProducts.seconds - p.attention.seconds - head.seconds,
                                 headSeconds: head.seconds, productGigaflops: flops / inPass / 1e9, aloneGigaflops: flops / alone / 1e9,
                                 productEfficiency: alone / inPass)
                }
                let result = Result(
                    model: hp.name, threads: Int(openblas_get_num_threads()), loadSeconds: loadSeconds,
                    prefill: phase(prompt, prefillTime, hidden.profile, head: prefillHead, headRows: 1, repeats: 1,
                                   alone: prefillAlone.layers + Self.productsAlone(hp, rows: 1, repeats: 1).head),
                    decode: phase(decode, decodeTime, decodeProfile, head: decodeHead, headRows: 1, repeats: decode,
                                  alone: decodeAlone.layers + decodeAlone.head))
                if json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                    print(String(decoding: try encoder.encode(result), as: UTF8.self))
                } else {
                    print("\(hp.name) (\(hp.architecture), \(hp.layerCount) layers, d \(hp.embeddingLength)), OpenBLAS threads \(result.threads), load \(String(format: "%.2f", loadSeconds)) s")
                    for (name, p) in [("prefill", result.prefill), ("decode", result.decode)] {
                        print(String(format: "  %@ %d tokens: %.2f s, %.1f tokens/s; products %.2f s, attention %.2f s, head %.2f s, other %.2f s; products %.1f GFLOP/s in the pass vs %.1f alone (%.0f%%)",
                                     name, p.tokens, p.seconds, p.tokensPerSecond, p.productSeconds, p.attentionSeconds, p.headSeconds,
                                     p.otherSeconds, p.productGigaflops, p.aloneGigaflops, 100 * p.productEfficiency))
                    }
                }
            }
        }

        /// Seconds OpenBLAS alone takes for the forward pass's products at `rows` rows, in the
        /// pass's order (every layer's QKV, output, gate/up and down, each layer its own random
        /// matrices, as the pass reads distinct weights; `repeats` times), and for the output head.
        static func productsAlone(_ hp: ModelHyperparameters, rows: Int, repeats: Int) -> (layers: Double, head: Double) {
            let d = hp.embeddingLength
            let shapes = [(hp.queryWidth + 2 * hp.kvWidth, d), (d, hp.queryWidth), (2 * hp.feedForwardLength, d), (d, hp.feedForwardLength)]
            var rng = BenchRandom(seed: 5)
            func random(_ n: Int) -> [Float] { rng.halves(n).map(Float.init) }
            let x = random(rows * max(d, hp.queryWidth, hp.feedForwardLength))
            var y = [Float](repeating: 0, count: rows * max(hp.vocabularySize, 2 * hp.feedForwardLength, hp.queryWidth + 2 * hp.kvWidth))
            func call(_ w: [Float], _ outputs: Int, _ inputs: Int) {
                if rows == 1 {
                    cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(outputs), Int32(inputs), 1, w, Int32(inputs), x, 1, 0, &y, 1)
                } else {
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outputs), Int32(inputs), 1,
                                x, Int32(inputs), w, Int32(inputs), 0, &y, Int32(outputs))
                }
            }
            let weights = (0..<hp.layerCount).map { _ in shapes.map { random($0.0 * $0.1) } }
            let head = random(hp.vocabularySize * d)
            for (j, (o, i)) in shapes.enumerated() { call(weights[0][j], o, i) } // warm-up
            call(head, hp.vocabularySize, d)
            let start = ContinuousClock.now
            for _ in 0..<repeats {
                for l in 0..<hp.layerCount {
                    for (j, (o, i)) in shapes.enumerated() { call(weights[l][j], o, i) }
                }
            }
            let layers = (ContinuousClock.now - start).seconds
            let headStart = ContinuousClock.now
            for _ in 0..<repeats { call(head, hp.vocabularySize, d) }
            return (layers, (ContinuousClock.now - headStart).seconds)
        }
    }
}
