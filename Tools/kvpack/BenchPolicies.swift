import ArgumentParser
import Dispatch
import Foundation
import KVPack
import KVPackDatasets
import KVPackPolicies

extension Bench {
    struct Policies: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Time each policy's compression of a synthetic prefill, beside a plain pass over the same bytes.",
            discussion: """
                Builds a synthetic capture in memory (default: Llama-3-8B's shape, 32 layers, 32 query heads over 8 KV heads, head dim 128, 32K tokens: 4 GiB of f16 K+V), then for each policy times the plan (scoring and selection) and the packing into pages, and one plain multithreaded read of all K/V bytes for comparison.
                """)

        @OptionGroup var shape: ShapeOptions
        @Option(name: .customLong("policy"), help: "Policy specs (repeat); default: every policy at keep=0.25.")
        var policies: [String] = []
        @Flag(help: "Print JSON.") var json = false
        @Option(help: "Also write the JSON to this file.") var out: String?

        static let defaults = ["snapkv(keep=0.25)", "h2o(keep=0.25)", "streaming(keep=0.25)", "knorm(keep=0.25)", "random(keep=0.25)",
                               "paged(keep=0.25)", "arkv(keep=0.25)", "taskkv(keep=0.25)", "mustafar", "quant(bits=4)",
                               "snapkv(keep=0.25) | mustafar"]

        struct Row: Codable {
            var policy: String
            var planSeconds: Double
            var packSeconds: Double
            var totalSeconds: Double
            var timesPlainPass: Double
            var memoryRatio: Double
        }

        struct Result: Codable {
            var backend = "cpu"
            var layers: Int, queryHeads: Int, kvHeads: Int, headDim: Int, tokens: Int, window: Int
            var kvBytes: Int
            var plainPassSeconds: Double
            var threads: Int
            var kernelLevel: String
            var policies: [Row]
        }

        func run() throws {
            AllocatorTuning.keepLargeBuffersInHeap()
            try failing {
                let spec = shape.spec(default: SyntheticCaptureSpec.llama3_8B())
                let pipelines = try (policies.isEmpty ? Self.defaults : policies).map { try PolicyPipeline(parsing: $0) }
                if !json { FileHandle.standardError.write(Data("building the synthetic capture (\(spec.layers) layers x \(spec.tokens) tokens)...\n".utf8)) }
                let capture = try SyntheticCapture.make(spec)
                let plain = PlainRead.seconds(capture.sequences.flatMap { $0.layers.flatMap { [$0.keys, $0.values] } }, iterations: 3)
                var rows: [Row] = []
                var progress = Progress("bench policies", total: pipelines.count)
                for (i, p) in pipelines.enumerated() {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    let plan = try p.plan(capture)
                    let t1 = DispatchTime.now().uptimeNanoseconds
                    let cache = try plan.build(capture, policy: p.description)
                    let t2 = DispatchTime.now().uptimeNanoseconds
                    let planS = Double(t1 - t0) / 1e9, packS = Double(t2 - t1) / 1e9
                    rows.append(Row(policy: p.description, planSeconds: planS, packSeconds: packS, totalSeconds: planS + packS,
                                    timesPlainPass: (planS + packS) / plain, memoryRatio: Double(cache.byteCount) / Double(capture.denseKVBytes)))
                    progress.update(i + 1)
                }
                progress.finish()
                let m = capture.model
                let result = Result(layers: m.layerCount, queryHeads: m.queryHeads, kvHeads: m.kvHeads, headDim: m.headDim, tokens: spec.tokens,
                                    window: spec.window, kvBytes: capture.denseKVBytes, plainPassSeconds: plain,
                                    threads: ProcessInfo.processInfo.activeProcessorCount, kernelLevel: HalfConversion.kernelLevel, policies: rows)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                let data = try encoder.encode(result)
                if let out { try data.write(to: URL(fileURLWithPath: out), options: .atomic) }
                if json { print(String(decoding: data, as: UTF8.self)); return }
                print("policy compression, \(m.layerCount) layers, \(m.queryHeads) query heads over \(m.kvHeads) KV heads, head dim \(m.headDim), \(spec.tokens) tokens (\(capture.denseKVBytes >> 20) MiB f16 K+V), \(result.threads) threads")
                print(String(format: "  plain pass over the K/V bytes: %.3f s", plain))
                let width = max(6, rows.map(\.policy.count).max() ?? 6)
                print("  " + "policy".padding(toLength: width, withPad: " ", startingAt: 0) + "   plan s   pack s  total s  x plain  memory")
                for r in rows {
                    print("  " + r.policy.padding(toLength: width, withPad: " ", startingAt: 0)
                          + String(format: " %8.3f %8.3f %8.3f %8.1f %7.3f", r.planSeconds, r.packSeconds, r.totalSeconds, r.timesPlainPass, r.memoryRatio))
                }
            }
        }
    }
}
