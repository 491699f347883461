import Foundation
import KVPack
import KVPackDatasets
@testable import KVPackEval
import KVPackPolicies
import Synchronization
import Testing

/// Two sequences of three layers (the first and last sliding), 4 query heads over 2 KV heads.
func sweepCapture() throws -> Capture { try smallCapture(sliding: 48, layers: 3, sequences: 2, globalEvery: 2) }

@Suite("A sweep one layer at a time")
struct StreamedSweepTests {
    /// Results as the report's JSON (NaN spelled out, so failed runs compare equal).
    func json(_ results: [RunResult]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try! encoder.encode(results), as: UTF8.self)
    }

    /// Layer-local pipelines (read one layer at a time; two share a first stage) and ones that need
    /// the whole capture, side by side in one sweep.
    static let templates = ["dense", "streaming(sinks=2,keep=0.3)", "knorm(keep=0.3)", "snapkv(keep=0.3,window=8)",
                            "snapkv(keep=0.3,window=8) | quant(bits=4,group=16)", "h2o(keep=0.3,window=8)", "paged(keep=64,block=16)",
                            "mustafar(k=0.5,v=0.5,recent=8)", "random(keep=0.3)", "arkv(keep=0.5,window=8)", "taskkv(keep=0.5,window=8)",
                            "streaming(keep=20KiB)", "snapkv(keep=1,window=8)"]

    @Test("each run's numbers equal those of the whole-capture evaluation, from memory and from an HDF5 file, streamed or not")
    func equalsWholeCapture() throws {
        let cap = try sweepCapture()
        let runs = try SweepPlan(captures: 1, templates: Self.templates, budgets: []).runs
        let reference = try DenseReference(cap, name: "c", topK: 4)
        let expected = runs.map { RunEvaluation.evaluate($0, capture: cap, reference: reference, pageSize: 16, detail: .heads) }
        #expect(expected.last!.error?.contains("keep=1 leaves a head 1 token") == true) // a failing run among them
        #expect(expected.dropLast().allSatisfy { $0.error == nil }, "\(expected.compactMap(\.error))")
        let streamed = SweepEvaluation(topK: 4, pageSize: 16, detail: .heads)
        #expect(json(try streamed.evaluate(runs, source: cap, name: "c")) == json(expected))
        #expect(json(try SweepEvaluation(topK: 4, pageSize: 16, detail: .heads, wholeCapture: true).evaluate(runs, source: cap, name: "c"))
                == json(expected))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sweep-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try cap.write(to: dir + "/c.h5")
        #expect(json(try streamed.evaluate(runs, source: try CaptureFile.open(dir + "/c.h5"), name: "c")) == json(expected))
    }

    @Test("which pipelines are read one layer at a time", arguments: [
        ("snapkv(keep=0.3) | mustafar", true), ("quant(bits=4)", true), ("paged(keep=64)", true), ("streaming(keep=4MiB)", false),
        ("random(keep=0.3)", false), ("arkv(keep=0.3)", false), ("taskkv(keep=0.3)", false), ("knorm(keep=0.3) | random(keep=0.5)", false),
    ])
    func locality(spec: String, alone: Bool) throws {
        #expect(try PolicyPipeline(parsing: spec).decidesLayersAlone == alone)
    }

    @Test("progress reaches every layer of every sequence, in order")
    func progress() throws {
        let cap = try sweepCapture()
        let runs = try SweepPlan(captures: 1, templates: ["snapkv(keep=0.5,window=8)"], budgets: []).runs
        let seen = Mutex<[Int]>([])
        _ = try SweepEvaluation(topK: 4).evaluate(runs, source: cap, name: "c") { p in
            seen.withLock { $0.append(p.done) }
            #expect(p.total == 6)
        }
        #expect(seen.withLock { $0 } == Array(0...6))
    }

    @Test("the reference's top-k rows equal a full sort of each probability row (score down, index up)", arguments: [1, 3, 8, 200])
    func referenceTopK(k: Int) throws {
        // Repeated key rows make tied probabilities.
        var cap = try sweepCapture()
        var keys = cap.sequences[0].layers[0].keys
        for h in 0..<keys.heads { for t in stride(from: 0, to: keys.tokens, by: 3) { for c in 0..<keys.headDim { keys[h, t, c] = keys[h, 0, c] } } }
        cap.sequences[0].layers[0].keys = keys
        let reference = try DenseReference(cap, name: "c", topK: k)
        for (s, seq) in cap.sequences.enumerated() {
            for layer in reference.layers[s] {
                let n = seq.positions.tokens.count
                for (row, top) in layer.top.enumerated() {
                    let p = Array(layer.probabilities[row * n..<(row + 1) * n])
                    let sorted = p.indices.sorted { p[$0] != p[$1] ? p[$0] > p[$1] : $0 < $1 }
                    #expect(top == Array(sorted.prefix(k)))
                }
            }
        }
    }
}
