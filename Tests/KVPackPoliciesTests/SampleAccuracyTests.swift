import Foundation
import KVPack
import KVPackDatasets
import Testing
@testable import KVPackPolicies

/// Policies on the shipped SmolLM2 sample: attention-output error on the probe queries (over the
/// prompt's cache, compressed vs dense) never grows with the budget, in aggregate.
@Suite("Policies on the shipped sample", .serialized)
struct SampleAccuracyTests {
    static let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Datasets/samples/smollm2-135m-gpl3-2k.h5").path

    /// Mean relative L2 of the probe attention outputs over every layer, head and probe.
    static func meanError(_ spec: String, capture: Capture) throws -> Double {
        let cache = try PolicyPipeline(parsing: spec).compress(capture)
        let seq = capture.sequences[0]
        var errors: [Double] = []
        for (l, layer) in seq.layers.enumerated() {
            let q = layer.probeQueries!.floats()
            let dense = try DenseAttention.attend(queries: q, keys: layer.keys, values: layer.values).output
            let mine = try CompressedAttention.attend(queries: q, heads: cache.sequences[0].layers[l])
            let d = q.headDim
            for row in 0..<q.heads * q.tokens {
                errors.append(AttentionMetrics.relativeL2(reference: dense.storage[row * d..<(row + 1) * d],
                                                          approximation: mine.storage[row * d..<(row + 1) * d]))
            }
        }
        return errors.reduce(0, +) / Double(errors.count)
    }

    @Test("error shrinks as the budget grows", arguments: ["snapkv", "streaming", "knorm", "random"])
    func monotone(policy: String) throws {
        let capture = try Capture.read(from: Self.sample)
        let errors = try [0.1, 0.25, 0.5].map { try Self.meanError("\(policy)(keep=\($0))", capture: capture) }
        #expect(errors[0] >= errors[1] && errors[1] >= errors[2], "\(policy): \(errors)")
        print("SAMPLE \(policy) keep 0.1/0.25/0.5 mean rel-L2: \(errors.map { String(format: "%.4f", $0) })")
        #expect(try Self.meanError("dense", capture: capture) < 1e-3)
    }
}
