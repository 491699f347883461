import Foundation
import KVPack
import Testing
@testable import KVPackDatasets

/// The real captures shipped in Datasets/samples load, carry the documented provenance, and
/// their stored perplexity matches a recomputation from the stored log-probabilities.
@Suite("Shipped samples")
struct SampleTests {
    static let directory = Python.repository.appendingPathComponent("Datasets/samples").path
    static let samples: [String] = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [])
        .filter { $0.hasSuffix(".h5") }.sorted()

    @Test("there are samples of both models")
    func bothModels() {
        #expect(Self.samples.contains { $0.hasPrefix("smollm2") })
        #expect(Self.samples.contains { $0.hasPrefix("gemma3") })
    }

    @Test("each sample loads with its documented attributes", arguments: samples)
    func loads(name: String) throws {
        let file = try CaptureFile.open(Self.directory + "/" + name)
        for key in ["tool", "model_file", "model_architecture", "model_layers", "quantization", "tokenizer",
                    "text_source", "text_sha256", "token_range", "layers_captured", "perplexity"] {
            #expect(file.provenance[key] != nil, "\(name): provenance \(key) missing")
        }
        let capture = try file.readCapture()
        let seq = capture.sequences[0]
        #expect(seq.hasProbes && seq.positions.tokens.count >= 2048 && seq.positions.window.count == 32)
        #expect(capture.model.sourceLayers.map(String.init).joined(separator: ",") == file.provenance["layers_captured"])
        let reference = try #require(try file.denseModelReference(of: seq.id))
        let stored = try #require(reference.storedPerplexity)
        #expect(abs(reference.perplexity - stored) < 1e-4 * stored, "\(name): stored \(stored), recomputed \(reference.perplexity)")
        #expect(stored < 50, "\(name): perplexity \(stored) is not sensible for real text")
        // The logsumexp and top log-probs are consistent: the top-1 probability is at most 1.
        #expect(reference.probeTopLogProbs.allSatisfy { $0 <= 1e-6 })
    }
}
