import ArgumentParser
import Dispatch
import Foundation
import KVPack

extension Bench {
    struct Compressed: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "CPU attention straight from compressed pages, per encoding, beside the dense reference.",
            discussion: """
                One Llama-3-8B-shaped layer by default (32 query heads over 8 KV heads, head dim 128, 32K tokens), every token kept, one decode query per head. For each encoding: time per call (median), the compressed bytes it reads (payloads, positions and page table), and GB/s of those bytes; the dense reference on the same K/V and a plain read of its bytes are the yardsticks.
                """)

        @Option(help: "Cached tokens.") var tokens = 32_768
        @Option(name: .customLong("query-heads")) var queryHeads = 32
        @Option(name: .customLong("kv-heads")) var kvHeads = 8
        @Option(name: .customLong("head-dim")) var headDim = 128
        @Option(name: .customLong("page-size")) var pageSize = 16
        @Option(help: "Timed repetitions (the median is reported).") var iterations = 10
        @Option(parsing: .upToNextOption, help: "Encodings (key=value pairs use the same encoding for both).")
        var encodings: [PageEncoding] = [.f16, .int8(.init(groupSize: 32)), .int4(.init(groupSize: 32)), .bitmap]
        @Option(help: "Share of each row a bitmap encoding prunes.") var sparsity = 0.7
        @Flag(help: "Print JSON.") var json = false
        @Option(help: "Also write the JSON to this file.") var out: String?

        struct Row: Codable {
            var encoding: String
            var bytes: Int
            var ratio: Double
            var medianSeconds: Double
            var gigabytesPerSecond: Double
            var speedupOverDenseReference: Double
        }

        struct Result: Codable {
            var backend = "cpu"
            var tokens: Int, queryHeads: Int, kvHeads: Int, headDim: Int, pageSize: Int, iterations: Int
            var denseBytes: Int
            var denseReferenceSeconds: Double
            var denseReferenceGigabytesPerSecond: Double
            var kernelLevel: String
            var threads: Int
            var encodings: [Row]
        }

        func validate() throws {
            for (name, v) in [("--tokens", tokens), ("--query-heads", queryHeads), ("--kv-heads", kvHeads),
                              ("--head-dim", headDim), ("--iterations", iterations), ("--page-size", pageSize)] where v <= 0 {
                throw ValidationError("\(name) must be positive; got \(v)")
            }
            if queryHeads % kvHeads != 0 { throw ValidationError("--query-heads must be a multiple of --kv-heads") }
            if !(0..<1).contains(sparsity) { throw ValidationError("--sparsity must be in [0, 1); got \(sparsity)") }
        }

        func median(_ body: () throws -> Void) rethrows -> Double {
            try body()
            var times: [Double] = []
            for _ in 0..<iterations {
                let t0 = DispatchTime.now().uptimeNanoseconds
                try body()
                times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
            }
            return times.sorted()[times.count / 2]
        }

        func run() throws {
            try failing {
                var state: UInt64 = 7
                func random(_ n: Int) -> [Float16] {
                    (0..<n).map { _ in
                        state = state &* 6364136223846793005 &+ 1442695040888963407
                        return Float16(Float(Int64(bitPattern: state) >> 40) / Float(1 << 21))
                    }
                }
                let keys = try HeadTensor(heads: kvHeads, tokens: tokens, headDim: headDim, storage: random(kvHeads * tokens * headDim))
                let values = try HeadTensor(heads: kvHeads, tokens: tokens, headDim: headDim, storage: random(kvHeads * tokens * headDim))
                let q = try HeadTensor(heads: queryHeads, tokens: 1, headDim: headDim, storage: random(queryHeads * headDim)).floats()
                let denseBytes = 2 * keys.storage.count * 2
                let denseTime = try median { _ = try DenseAttention.attend(queries: q, keys: keys, values: values) }
                var rows: [Row] = []
                let all = Array(0..<tokens)
                for encoding in encodings {
                    var heads: [HeadPages] = []
                    for h in 0..<kvHeads {
                        heads.append(try HeadPages.pack(keys: keys, values: values, head: h, kept: all, positions: all,
                                                        encodings: Array(repeating: (encoding, encoding), count: tokens),
                                                        pageSize: pageSize, keySparsity: sparsity, valueSparsity: sparsity))
                    }
                    let bytes = heads.reduce(0) { $0 + $1.byteCount }
                    let time = try median { _ = try CompressedAttention.attend(queries: q, heads: heads) }
                    rows.append(Row(encoding: encoding == .bitmap ? "bitmap(\(sparsity))" : encoding.description, bytes: bytes,
                                    ratio: Double(bytes) / Double(denseBytes), medianSeconds: time,
                                    gigabytesPerSecond: Double(bytes) / time / 1e9, speedupOverDenseReference: denseTime / time))
                }
                let result = Result(tokens: tokens, queryHeads: queryHeads, kvHeads: kvHeads, headDim: headDim, pageSize: pageSize,
                                    iterations: iterations, denseBytes: denseBytes, denseReferenceSeconds: denseTime,
                                    denseReferenceGigabytesPerSecond: Double(denseBytes) / denseTime / 1e9,
                                    kernelLevel: HalfConversion.kernelLevel, threads: ProcessInfo.processInfo.activeProcessorCount,
                                    encodings: rows)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                let data = try encoder.encode(result)
                if let out { try data.write(to: URL(fileURLWithPath: out), options: .atomic) }
                if json { print(String(decoding: data, as: UTF8.self)); return }
                print("CPU attention, \(queryHeads) query heads over \(kvHeads) KV heads, head dim \(headDim), \(tokens) tokens, pages of \(pageSize), 1 decode query")
                print(String(format: "  dense reference: %.3f ms, %.2f GB/s of %d bytes", denseTime * 1e3, result.denseReferenceGigabytesPerSecond, denseBytes))
                for r in rows {
                    print(String(format: "  %-12@ %8.3f ms  %6.2f GB/s  bytes %.3f of dense  speed-up %.2fx",
                                 r.encoding as NSString, r.medianSeconds * 1e3, r.gigabytesPerSecond, r.ratio, r.speedupOverDenseReference))
                }
            }
        }
    }
}
