import ArgumentParser
import Foundation
import KVPack
import KVPackDatasets

struct Summarize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a capture's shape and its dense reference attention statistics per layer.",
        discussion: """
            With no capture, summarizes every bundled sample in Datasets/samples/, or, when none is there, a synthetic capture made on the fly. Statistics are over the probe queries (the window queries when the capture has no probes), averaged over heads: entropy (nats), attention on the first 4 tokens (sinks), on the last 64 positions (recent), and on each row's top 1% of keys.
            """)

    @Argument(help: "An HDF5 capture (see Datasets/SCHEMA.md).") var capture: String?
    @Option(help: "Sequence to summarize (default: the first).") var sequence: String?
    @Flag(help: "Print JSON instead of a table.") var json = false

    struct LayerRow: Codable {
        var layer: Int
        var kind: String
        var tokens: Int
        var profile: AttentionProfile
        var keyNorm: Double
        var outlierChannelRatio: Double
    }

    struct Report: Codable {
        var source: String
        var model: ModelFacts
        var provenance: [String: String]
        var densePerplexity: Double?
        var sequence: String
        var tokens: Int
        var windowQueries: Int
        var probes: Int
        var queriesProfiled: String
        var kvBytesF16: Int
        var referenceSeconds: Double
        var layers: [LayerRow]
    }

    func run() throws {
        try failing {
            let reports = try load().map { try summarize(source: $0.0, capture: $0.1, reference: $0.2) }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                let data = reports.count == 1 ? try encoder.encode(reports[0]) : try encoder.encode(reports)
                print(String(decoding: data, as: UTF8.self))
            } else {
                for (i, report) in reports.enumerated() {
                    if i > 0 { print("") }
                    printTable(report)
                }
            }
        }
    }

    private func summarize(source: String, capture: Capture, reference: DenseModelReference?) throws -> Report {
        do {
            let seqID = sequence ?? capture.sequences[0].id
            guard let seq = capture.sequences.first(where: { $0.id == seqID }) else {
                throw CaptureFileError.missing(file: source, path: "/sequences/\(seqID)")
            }
            let which: ReferenceQueries = seq.hasProbes ? .probes : .window
            var rows: [LayerRow] = []
            var progress = Progress("summarize", total: seq.layers.count)
            let start = Date()
            for (l, layer) in seq.layers.enumerated() {
                let kind = capture.model.layerKinds[l]
                let result = try seq.referenceAttention(layer: l, kind: kind, queries: which, keepProbabilities: true)
                var keyPositions = seq.positions.tokens
                if which == .probes, layer.probeKeys != nil { keyPositions += seq.positions.probes }
                let profile = try AttentionProfile(result, keyPositions: keyPositions,
                                               queryPositions: which == .probes ? seq.positions.probes : seq.positions.window)
                let (norm, ratio) = keyStatistics(layer.keys)
                rows.append(LayerRow(layer: capture.model.sourceLayers[l], kind: kind.description, tokens: layer.tokenCount, profile: profile,
                                     keyNorm: norm, outlierChannelRatio: ratio))
                progress.update(l + 1)
            }
            progress.finish()
            let report = Report(
                source: source, model: capture.model, provenance: capture.provenance,
                densePerplexity: reference?.perplexity, sequence: seqID, tokens: seq.positions.tokens.count,
                windowQueries: seq.positions.window.count, probes: seq.positions.probes.count,
                queriesProfiled: which.rawValue,
                kvBytesF16: seq.layers.reduce(0) { $0 + 4 * $1.keys.storage.count },
                referenceSeconds: Date().timeIntervalSince(start), layers: rows)
            return report
        }
    }

    private func load() throws -> [(String, Capture, DenseModelReference?)] {
        func open(_ path: String) throws -> (String, Capture, DenseModelReference?) {
            let file = try CaptureFile.open(path)
            let capture = try file.readCapture()
            return (path, capture, try file.denseModelReference(of: sequence ?? capture.sequences[0].id))
        }
        if let capture { return [try open(capture)] }
        let samples = "Datasets/samples"
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: samples)) ?? []).filter { $0.hasSuffix(".h5") }
        if !files.isEmpty { return try files.sorted().map { try open(samples + "/" + $0) } }
        var spec = SyntheticCaptureSpec()
        spec.modelName = "synthetic (SmolLM2-135M shape, 8 of 30 layers)"
        spec.layers = 8
        spec.queryHeads = 9
        spec.kvHeads = 3
        spec.headDim = 64
        spec.tokens = 2048
        spec.probes = 32
        return [("synthetic, made on the fly (no sample in \(samples))", try SyntheticCapture.make(spec), nil)]
    }

    /// Mean key-row L2 norm, and the largest per-channel mean |k| over the median channel's.
    private func keyStatistics(_ keys: HeadTensor<Float16>) -> (Double, Double) {
        let f = keys.floats()
        var channel = [Double](repeating: 0, count: keys.headDim)
        var norms = 0.0
        f.withUnsafeBufferPointer { b in
            for r in 0..<keys.heads * keys.tokens {
                var n = 0.0
                for c in 0..<keys.headDim {
                    let x = Double(b[r * keys.headDim + c])
                    n += x * x
                    channel[c] += abs(x)
                }
                norms += n.squareRoot()
            }
        }
        let sorted = channel.sorted()
        let median = sorted[sorted.count / 2]
        return (norms / Double(max(1, keys.heads * keys.tokens)), median > 0 ? sorted.last! / median : 0)
    }

    private func printTable(_ r: Report) {
        let m = r.model
        print("capture: \(r.source)")
        let captured = m.sourceLayers == Array(0..<m.layerCount) ? "\(m.layerCount) layers"
            : "\(m.layerCount) captured layers (\(r.provenance["model_layers"].map { "of \($0)" } ?? "a subset"))"
        print("model:   \(m.name): \(captured), \(m.queryHeads) query heads over \(m.kvHeads) KV heads, head dim \(m.headDim)\(m.ropeTheta.map { ", RoPE theta \(Int($0))" } ?? "")")
        if let text = r.provenance["text_source"] { print("text:    \(text)") }
        print("sequence \(r.sequence): \(r.tokens) cached tokens, \(r.windowQueries) window queries, \(r.probes) probes; KV \(String(format: "%.1f", Double(r.kvBytesF16) / 1_048_576)) MiB in f16")
        if let ppl = r.densePerplexity { print(String(format: "dense model perplexity on the captured text: %.2f", ppl)) }
        print("dense reference attention of the \(r.queriesProfiled == "probes" ? "probe" : "window") queries, mean over heads and queries:")
        print("")
        let header = ["layer", "kind", "tokens", "entropy", "sinks(4)", "recent(64)", "top 1%", "|k|", "outlier ch."]
        let widths = [5, 13, 7, 8, 9, 10, 7, 7, 11]
        func line(_ cells: [String]) -> String {
            zip(cells, widths).enumerated().map { i, cw in
                i == 1 ? cw.0.padding(toLength: cw.1, withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: max(0, cw.1 - cw.0.count)) + cw.0
            }.joined(separator: "  ")
        }
        if r.layers.allSatisfy({ $0.profile.rows == 0 }) {
            print("(no window or probe queries in this capture: attention statistics need queries; decompressed caches have none)")
            return
        }
        print(line(header))
        for row in r.layers {
            let p = row.profile
            print(line([String(row.layer), row.kind, String(row.tokens), String(format: "%.2f", p.entropy),
                        String(format: "%.3f", p.sinkMass), String(format: "%.3f", p.recentMass),
                        String(format: "%.3f", p.top1PercentMass), String(format: "%.1f", row.keyNorm),
                        String(format: "%.1fx", row.outlierChannelRatio)]))
        }
        print("")
        print(String(format: "reference attention for %d layers took %.2f s", r.layers.count, r.referenceSeconds))
    }
}
