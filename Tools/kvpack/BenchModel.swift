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
        @Option(help: "Trials; each figure is the best of them.") var repeats = 3
        @Flag(help: "Print JSON.") var json = false

        func validate() throws {
            for (name, v) in [("--prompt", prompt), ("--decode", decode), ("--repeats", repeats)] where v <= 0 {
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
            /// Products' throughput in the pass over the same calls alone (best trial of each).
            var productEfficiency: Double
            /// The same ratio within each trial (the pass and the products alone run back to back),
            /// and its median: steadier than the ratio of bests on a shared machine.
            var productEfficiencyPerTrial: [Double]
            var medianProductEfficiency: Double
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
                var state: UInt64 = 11
                let ids = (0..<prompt).map { _ in
                    state = state &* 6364136223846793005 &+ 1442695040888963407
                    return Int(state >> 33) % hp.vocabularySize
                }
                let pool = try PagePool(.init(budgetBytes: 1 << 40, headDim: hp.headDim))
                do { // warm-up: threads started, pages allocated
                    let s = try lm.makeSession(pool: pool)
                    _ = try lm.forward(Array(ids.prefix(16)), startingAt: 0, session: s)
                    s.close()
                }
                let alone = AloneProducts(hp)
                // The machine may be shared: each time is the best of --repeats trials, the pass and
                // the products alone interleaved; the efficiency also per trial, with its median.
                var best: (prefill: Trial, decode: Trial)?
                var bestAlone: (prefill: Double, decode: Double) = (.infinity, .infinity)
                var ratios: (prefill: [Double], decode: [Double]) = ([], [])
                for _ in 0..<repeats {
                    let t = try Self.trial(lm, ids: ids, pool: pool, decode: decode)
                    best = best.map { ($0.prefill.total < t.prefill.total ? $0.prefill : t.prefill,
                                       $0.decode.total < t.decode.total ? $0.decode : t.decode) } ?? t
                    let p = alone.seconds(rows: prompt, repeats: 1), d = alone.seconds(rows: 1, repeats: decode)
                    let prefillAlone = p.layers + alone.seconds(rows: 1, repeats: 1).head, decodeAlone = d.layers + d.head
                    bestAlone = (min(bestAlone.prefill, prefillAlone), min(bestAlone.decode, decodeAlone))
                    ratios.prefill.append(prefillAlone / (t.prefill.profile.matrixProducts + t.prefill.head).seconds)
                    ratios.decode.append(decodeAlone / (t.decode.profile.matrixProducts + t.decode.head).seconds)
                }
                func phase(_ tokens: Int, _ t: Trial, repeats: Int, alone: Double, ratios: [Double]) -> Phase {
                    let p = t.profile
                    let headFlops = 2 * Double(hp.vocabularySize * hp.embeddingLength) * Double(repeats)
                    let flops = p.matrixProductOperations + headFlops
                    let inPass = p.matrixProducts.seconds + t.head.seconds
                    return Phase(tokens: tokens, seconds: t.total.seconds, tokensPerSecond: Double(tokens) / t.total.seconds,
                                 productSeconds: p.matrixProducts.seconds, attentionSeconds: p.attention.seconds,
                                 otherSeconds: t.total.seconds - p.matrixProducts.seconds - p.attention.seconds - t.head.seconds,
                                 headSeconds: t.head.seconds, productGigaflops: flops / inPass / 1e9, aloneGigaflops: flops / alone / 1e9,
                                 productEfficiency: alone / inPass, productEfficiencyPerTrial: ratios,
                                 medianProductEfficiency: ratios.sorted()[ratios.count / 2])
                }
                let result = Result(
                    model: hp.name, threads: Int(openblas_get_num_threads()), loadSeconds: loadSeconds,
                    prefill: phase(prompt, best!.prefill, repeats: 1, alone: bestAlone.prefill, ratios: ratios.prefill),
                    decode: phase(decode, best!.decode, repeats: decode, alone: bestAlone.decode, ratios: ratios.decode))
                if json {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                    print(String(decoding: try encoder.encode(result), as: UTF8.self))
                } else {
                    print("\(hp.name) (\(hp.architecture), \(hp.layerCount) layers, d \(hp.embeddingLength)), OpenBLAS threads \(result.threads), load \(String(format: "%.2f", loadSeconds)) s")
                    for (name, p) in [("prefill", result.prefill), ("decode", result.decode)] {
                        print(String(format: "  %@ %d tokens: %.2f s, %.1f tokens/s; products %.2f s, attention %.2f s, head %.2f s, other %.2f s; products %.1f GFLOP/s in the pass vs %.1f alone (%.0f%%; per trial median %.0f%%: %@)",
                                     name, p.tokens, p.seconds, p.tokensPerSecond, p.productSeconds, p.attentionSeconds, p.headSeconds,
                                     p.otherSeconds, p.productGigaflops, p.aloneGigaflops, 100 * p.productEfficiency,
                                     100 * p.medianProductEfficiency,
                                     p.productEfficiencyPerTrial.map { String(format: "%.0f%%", 100 * $0) }.joined(separator: " ")))
                    }
                }
            }
        }

        /// One phase's times: the forward passes' profile (summed), the output-head products, the whole.
        struct Trial {
            var profile = ForwardProfile()
            var head = Duration.zero
            var total = Duration.zero
        }

        /// A prompt of `ids` through a fresh dense session (one forward call, then the head for its
        /// last row), then `decode` greedy steps.
        static func trial(_ lm: LanguageModel, ids: [Int], pool: PagePool, decode: Int) throws -> (prefill: Trial, decode: Trial) {
            let session = try lm.makeSession(pool: pool)
            defer { session.close() }
            var prefill = Trial(), steps = Trial()
            let start = ContinuousClock.now
            let hidden = try lm.forward(ids, startingAt: 0, session: session)
            prefill.profile = hidden.profile
            let headStart = ContinuousClock.now
            var logits = try lm.logits(hidden, rows: hidden.tokens - 1..<hidden.tokens)
            prefill.head = ContinuousClock.now - headStart
            prefill.total = ContinuousClock.now - start
            let decodeStart = ContinuousClock.now
            for step in 0..<decode {
                let h = try lm.forward([logits.argmax(row: 0)], startingAt: ids.count + step, session: session)
                steps.profile.matrixProducts += h.profile.matrixProducts
                steps.profile.matrixProductOperations += h.profile.matrixProductOperations
                steps.profile.attention += h.profile.attention
                steps.profile.total += h.profile.total
                let t0 = ContinuousClock.now
                logits = try lm.logits(h, rows: 0..<1)
                steps.head += ContinuousClock.now - t0
            }
            steps.total = ContinuousClock.now - decodeStart
            return (prefill, steps)
        }
    }
}

/// The forward pass's weight-matrix products run by OpenBLAS alone: every layer's QKV, output,
/// gate/up and down products (each layer its own random matrices, as the pass reads distinct
/// weights, in the pass's order) and the output head, on random data.
struct AloneProducts {
    let hp: ModelHyperparameters
    let shapes: [(outputs: Int, inputs: Int)]
    let layers: [[[Float]]]
    let head: [Float]

    init(_ hp: ModelHyperparameters) {
        self.hp = hp
        let d = hp.embeddingLength
        let shapes = [(hp.queryWidth + 2 * hp.kvWidth, d), (d, hp.queryWidth), (2 * hp.feedForwardLength, d), (d, hp.feedForwardLength)]
        var rng = BenchRandom(seed: 5)
        self.shapes = shapes
        layers = (0..<hp.layerCount).map { _ in shapes.map { rng.halves($0.0 * $0.1).map(Float.init) } }
        head = rng.halves(hp.vocabularySize * d).map(Float.init)
    }

    /// Seconds of `repeats` passes' products at `rows` rows (after one warm-up call of each
    /// shape), and of `repeats` head products.
    func seconds(rows: Int, repeats: Int) -> (layers: Double, head: Double) {
        let width = max(hp.embeddingLength, hp.queryWidth, hp.feedForwardLength)
        let x = [Float](repeating: 0.5, count: rows * width)
        var y = [Float](repeating: 0, count: rows * max(hp.vocabularySize, 2 * hp.feedForwardLength, hp.queryWidth + 2 * hp.kvWidth))
        func call(_ w: [Float], _ outputs: Int, _ inputs: Int) {
            if rows == 1 {
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(outputs), Int32(inputs), 1, w, Int32(inputs), x, 1, 0, &y, 1)
            } else {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outputs), Int32(inputs), 1,
                            x, Int32(inputs), w, Int32(inputs), 0, &y, Int32(outputs))
            }
        }
        for (j, s) in shapes.enumerated() { call(layers[0][j], s.outputs, s.inputs) }
        let start = ContinuousClock.now
        for _ in 0..<repeats {
            for l in 0..<hp.layerCount {
                for (j, s) in shapes.enumerated() { call(layers[l][j], s.outputs, s.inputs) }
            }
        }
        let layerSeconds = (ContinuousClock.now - start).seconds
        call(head, hp.vocabularySize, hp.embeddingLength)
        let headStart = ContinuousClock.now
        for _ in 0..<repeats { call(head, hp.vocabularySize, hp.embeddingLength) }
        return (layerSeconds, (ContinuousClock.now - headStart).seconds)
    }
}
