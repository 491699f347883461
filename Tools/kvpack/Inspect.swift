import ArgumentParser
import Foundation
import KVPack

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show what a .kvp file holds: policy, shape, tokens kept per head, bytes per encoding, ratio.")

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
            let cache = try KVPFile.read(from: file)
            var heads: [HeadReport] = []
            for seq in cache.sequences {
                for (l, layer) in seq.layers.enumerated() {
                    for (h, head) in layer.enumerated() {
                        var r = HeadReport(layer: cache.model.sourceLayers[l], head: h, tokens: head.tokenCount,
                                           pages: head.pages.count, bytes: head.byteCount)
                        if positions {
                            r.positions = head.positions
                            r.keyEncodings = head.pages.flatMap { p in Array(repeating: p.keys.encoding.description, count: p.tokenCount) }
                            r.valueEncodings = head.pages.flatMap { p in Array(repeating: p.values.encoding.description, count: p.tokenCount) }
                        }
                        heads.append(r)
                    }
                }
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
            print("model:    \(m.name): \(m.layerCount) layers, \(m.queryHeads) query heads over \(m.kvHeads) KV heads, head dim \(m.headDim)")
            print("pages:    up to \(cache.pageSize) tokens; sequences \(report.sequences.joined(separator: ", ")) of \(report.originalTokens.map(String.init).joined(separator: ", ")) tokens")
            print(String(format: "bytes:    %d (dense f16: %d) -> ratio %.4f", report.bytes, report.denseBytes, report.ratio))
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
