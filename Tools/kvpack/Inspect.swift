import ArgumentParser
import Foundation
import KVPack

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what a .kvp file holds: policy, shape, tokens kept per head, bytes per encoding, ratio.",
        discussion: "Reads the file's tables (metadata, heads, pages, positions), not its pools, so a large file is summarized in little memory; `kvpack decompress` decodes and checks everything.")

    @Argument(help: "A .kvp file.") var file: String
    @Flag(help: "Print JSON.") var json = false
    @Flag(help: "Add each layer/head's kept token positions and their encodings.") var positions = false

    struct HeadReport: Codable {
        var layer: Int, head: Int, tokens: Int, pages: Int, bytes: Int
        var positions: [Int]?
        var keyEncodings: [String]?
        var valueEncodings: [String]?
    }

    struct Report: Codable {
        var file: String
        var policy: String
        var model: ModelFacts
        var pageSize: Int
        var sequences: [String]
        var originalTokens: [Int]
        var bytes: Int
        var denseBytes: Int
        var ratio: Double
        var payloadBytesByEncoding: [String: Int]
        var heads: [HeadReport]
    }

    func run() throws {
        try failing {
            let cache = try KVPFile.summary(from: file)
            let heads = cache.heads.map { head in
                var r = HeadReport(layer: cache.model.sourceLayers[head.layer], head: head.head, tokens: head.tokens,
                                   pages: head.pages, bytes: head.bytes)
                if positions {
                    r.positions = head.positions
                    r.keyEncodings = head.keyEncodings.map(\.description)
                    r.valueEncodings = head.valueEncodings.map(\.description)
                }
                return r
            }
            let report = Report(
                file: file, policy: cache.policy, model: cache.model, pageSize: cache.pageSize,
                sequences: cache.sequences.map(\.id), originalTokens: cache.sequences.map(\.originalTokens),
                bytes: cache.byteCount, denseBytes: cache.denseByteCount, ratio: cache.ratio,
                payloadBytesByEncoding: Dictionary(uniqueKeysWithValues: cache.payloadBytesByEncoding.map { ($0.key.description, $0.value) }),
                heads: heads)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
                return
            }
            let m = cache.model
            print("file:     \(file)")
            print("policy:   \(cache.policy)")
            let stored = m.kvHeads == cache.denseKVHeads ? "" : " (stored as \(m.kvHeads) heads, one per query head)"
            print("model:    \(m.name): \(m.layerCount) layers, \(m.queryHeads) query heads over \(cache.denseKVHeads) KV heads\(stored), head dim \(m.headDim)")
            print("pages:    up to \(cache.pageSize) tokens; sequences \(report.sequences.joined(separator: ", ")) of \(report.originalTokens.map(String.init).joined(separator: ", ")) tokens")
            // Interpolated counts: `%d` reads 32 bits, and a 4 GiB dense cache printed as 0.
            print("bytes:    \(report.bytes) (the model's dense f16 cache: \(report.denseBytes)) -> ratio \(String(format: "%.4f", report.ratio))")
            for (kind, bytes) in report.payloadBytesByEncoding.sorted(by: { $0.key < $1.key }) {
                print("          \(kind) payload: \(bytes) bytes")
            }
            print("tokens kept per head (layer: heads):")
            let perLayer = Dictionary(grouping: heads, by: \.layer)
            for layer in perLayer.keys.sorted() {
                print(String(format: "  %3d: ", layer) + perLayer[layer]!.map { String($0.tokens) }.joined(separator: " "))
            }
            if positions {
                for h in heads {
                    let runs = zip(zip(h.positions ?? [], h.keyEncodings ?? []), h.valueEncodings ?? []).map { "\($0.0)[\($0.1)|\($1)]" }
                    print("  layer \(h.layer) head \(h.head): " + runs.joined(separator: " "))
                }
            }
        }
    }
}
