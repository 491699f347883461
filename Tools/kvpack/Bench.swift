import ArgumentParser
import CKVPackHalf
import Dispatch
import Foundation
import KVPack

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure KVPack's attention backends.",
        subcommands: [Reference.self, Compressed.self, Policies.self, Vulkan.self, Session.self, Model.self, RoundTrip.self])
}

extension Bench {
    struct Reference: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Throughput of the CPU dense reference attention, in GB/s of K/V read.",
            discussion: """
                Runs decode attention (one query token per head by default) over one layer of random f16 K/V of the given shape, and a plain multithreaded read of the same bytes for comparison. Default shape: Llama-3-8B (32 query heads over 8 KV heads, head dim 128), 32K tokens.
                """)

        @Option(help: "Cached tokens.") var tokens = 32_768
        @Option(name: .customLong("query-heads")) var queryHeads = 32
        @Option(name: .customLong("kv-heads")) var kvHeads = 8
        @Option(name: .customLong("head-dim")) var headDim = 128
        @Option(help: "Query tokens per head (1 = decode).") var queries = 1
        @Option(help: "Timed repetitions (the median is reported).") var iterations = 20
        @Flag(help: "Print JSON.") var json = false
        @Option(help: "Also write the JSON to this file.") var out: String?

        func validate() throws {
            for (name, v) in [("--tokens", tokens), ("--query-heads", queryHeads), ("--kv-heads", kvHeads),
                              ("--head-dim", headDim), ("--queries", queries), ("--iterations", iterations)] where v <= 0 {
                throw ValidationError("\(name) must be positive; got \(v)")
            }
            if queryHeads % kvHeads != 0 { throw ValidationError("--query-heads must be a multiple of --kv-heads") }
        }

        struct Result: Codable {
            var backend = "cpu"
            var kernel = "dense-reference"
            var tokens: Int, queryHeads: Int, kvHeads: Int, headDim: Int, queries: Int
            var kvBytes: Int
            var iterations: Int
            var medianSeconds: Double
            var minSeconds: Double
            var gigabytesPerSecond: Double
            var memoryReadGigabytesPerSecond: Double
            var threads: Int
            var kernelLevel: String
        }

        func run() throws {
            try failing {
                let count = kvHeads * tokens * headDim
                func random(_ n: Int, seed: UInt64) -> [Float16] {
                    var rng = BenchRandom(seed: seed)
                    return rng.halves(n, shift: 23)
                }
                let keys = try HeadTensor(heads: kvHeads, tokens: tokens, headDim: headDim, storage: random(count, seed: 1))
                let values = try HeadTensor(heads: kvHeads, tokens: tokens, headDim: headDim, storage: random(count, seed: 2))
                let q = try HeadTensor(heads: queryHeads, tokens: queries, headDim: headDim,
                                       storage: random(queryHeads * queries * headDim, seed: 3)).floats()
                _ = try DenseAttention.attend(queries: q, keys: keys, values: values) // warm-up
                var times: [Double] = []
                for _ in 0..<iterations {
                    let t0 = DispatchTime.now().uptimeNanoseconds
                    _ = try DenseAttention.attend(queries: q, keys: keys, values: values)
                    times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
                }
                times.sort()
                let bytes = 2 * count * 2
                let median = times[times.count / 2]
                let result = Result(
                    tokens: tokens, queryHeads: queryHeads, kvHeads: kvHeads, headDim: headDim, queries: queries,
                    kvBytes: bytes, iterations: iterations, medianSeconds: median, minSeconds: times[0],
                    gigabytesPerSecond: Double(bytes) / median / 1e9,
                    memoryReadGigabytesPerSecond: Double(bytes) / PlainRead.seconds([keys, values], iterations: iterations) / 1e9,
                    threads: ProcessInfo.processInfo.activeProcessorCount,
                    kernelLevel: HalfConversion.kernelLevel)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                let data = try encoder.encode(result)
                if let out { try data.write(to: URL(fileURLWithPath: out), options: .atomic) }
                if json {
                    print(String(decoding: data, as: UTF8.self))
                } else {
                    print("dense reference, \(queryHeads) query heads over \(kvHeads) KV heads, head dim \(headDim), \(tokens) tokens, \(queries) query token(s)")
                    print(String(format: "  %.3f ms per call (median of %d), %.2f GB/s of K/V read", median * 1e3, iterations, result.gigabytesPerSecond))
                    print(String(format: "  plain read of the same bytes: %.2f GB/s (%d threads)", result.memoryReadGigabytesPerSecond, result.threads))
                }
            }
        }
    }
}
