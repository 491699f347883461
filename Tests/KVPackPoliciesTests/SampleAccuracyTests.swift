import Foundation
import KVPack
import KVPackDatasets
import Testing
@testable import KVPackPolicies

/// Policies on the shipped real samples: attention-output error on the probe queries (over the
/// prompt's cache, compressed vs dense, with each layer's sliding window) never grows with the
/// budget, in aggregate.
@Suite("Policies on the shipped samples", .serialized)
struct SampleAccuracyTests {
    static let samples = ["smollm2-135m-gpl3-2k.h5", "gemma3-270m-gpl3-2k.h5"]

    static func path(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Datasets/samples/\(name)").path
    }

    /// Mean relative L2 of the probe attention outputs over every layer, head and probe.
    static func meanError(_ spec: String, capture: Capture) throws -> Double {
        let cache = try PolicyPipeline(parsing: spec).compress(capture)
        let seq = capture.sequences[0]
        var errors: [Double] = []
        for (l, layer) in seq.layers.enumerated() {
            let q = layer.probeQueries!.floats()
            let window = capture.model.layerKinds[l].windowSize
            let mask = try AttentionMask(keyPositions: seq.positions.tokens, queryPositions: seq.positions.probes, window: window)
            let dense = try DenseAttention.attend(queries: q, keys: layer.keys, values: layer.values, mask: mask).output
            let mine = try CompressedAttention.attend(queries: q, heads: cache.sequences[0].layers[l],
                                                      queryPositions: seq.positions.probes, window: window)
            let d = q.headDim
            for row in 0..<q.heads * q.tokens {
                errors.append(try AttentionMetrics.relativeL2(reference: dense.storage[row * d..<(row + 1) * d],
                                                          approximation: mine.storage[row * d..<(row + 1) * d]))
            }
        }
        return errors.reduce(0, +) / Double(errors.count)
    }

    @Test("error shrinks as the budget grows, on both real samples",
          arguments: ["snapkv", "h2o", "streaming", "knorm", "random", "paged", "arkv", "taskkv"], samples)
    func monotone(policy: String, sample: String) throws {
        let capture = try Capture.read(from: Self.path(sample))
        let errors = try [0.1, 0.25, 0.5].map { try Self.meanError("\(policy)(keep=\($0))", capture: capture) }
        #expect(errors[0] >= errors[1] && errors[1] >= errors[2], "\(policy) on \(sample): \(errors)")
        print("SAMPLE \(sample) \(policy) keep 0.1/0.25/0.5 mean rel-L2: \(errors.map { String(format: "%.4f", $0) })")
    }

    @Test("dense is exact and the non-evicting stages run, on both real samples", arguments: samples)
    func nonEvicting(sample: String) throws {
        let capture = try Capture.read(from: Self.path(sample))
        #expect(try Self.meanError("dense", capture: capture) < 1e-3)
        let int8 = try Self.meanError("quant(bits=8)", capture: capture), int4 = try Self.meanError("quant(bits=4)", capture: capture)
        #expect(int8 < int4 && int4 < 0.5)
        let m5 = try Self.meanError("mustafar(k=0.5,v=0.5)", capture: capture), m7 = try Self.meanError("mustafar(k=0.7,v=0.7)", capture: capture)
        #expect(m5 < m7 && m7 < 0.5)
    }
}
