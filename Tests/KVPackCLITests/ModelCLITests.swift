import Foundation
import Testing

/// `kvpack model-check` and `kvpack bench model` on the shipped SmolLM2 model (installed by
/// Tools/scripts/setup.sh --tests; a missing model fails the run with how to install it).
@Suite("kvpack model-check / bench model", .serialized)
struct ModelCLITests {
    static let sample = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Datasets/samples/smollm2-135m-gpl3-2k.h5").path

    @Test("model-check reproduces the capture's log-probabilities on its first tokens")
    func modelCheck() throws {
        let run = try KVPackRun("model-check", "--model", "smollm2", Self.sample, "--tokens", "48", "--chunk", "20", "--json")
        #expect(run.status == 0, "\(run.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(json["tokens"] as? Int == 48)
        // The f16 K/V cache moves log-probs by up to 0.023 over the first 256 tokens (ForwardCaptureTests).
        #expect((json["maxLogProbDifference"] as? Double ?? 1) < 0.05)
        let ppl = try #require(json["perplexity"] as? Double), stored = try #require(json["capturePerplexity"] as? Double)
        #expect(abs(ppl / stored - 1) < 0.01, "perplexity \(ppl), capture's \(stored)")
        #expect(json["probes"] as? Int == 0)
    }

    @Test("an unknown model or a capture without log-probabilities is refused with what to do")
    func badInput() throws {
        let unknown = try KVPackRun("model-check", "--model", "llama-70b", Self.sample)
        #expect(unknown.status == 66)
        #expect(unknown.stderr.contains("unknown model 'llama-70b' (known: smollm2, gemma3-270m; or pass a GGUF file)"), "\(unknown.stderr)")
        let bench = try KVPackRun("bench", "model", "--model", "llama-70b")
        #expect(bench.status == 66, "\(bench.stderr)")
        let zero = try KVPackRun("bench", "model", "--model", "smollm2", "--prompt", "0")
        #expect(zero.status == 64 && zero.stderr.contains("--prompt must be positive; got 0"), "\(zero.stderr)")

        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let synthetic = dir.appendingPathComponent("s.h5").path
        #expect(try KVPackRun("synth", "-o", synthetic, "--layers", "1", "--tokens", "20", "--window", "4").status == 0)
        let noReference = try KVPackRun("model-check", "--model", "smollm2", synthetic)
        #expect(noReference.status == 64 && noReference.stderr.contains("stores no token ids"), "\(noReference.stderr)")
    }
}
