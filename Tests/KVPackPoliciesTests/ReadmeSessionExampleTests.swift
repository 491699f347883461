import Foundation
import KVPack
import KVPackPolicies
import KVPackTestSupport
import Testing

/// The README's server decode loop ("As a library"), compiled and run: the code between the
/// markers is the README's, verbatim; the functions below stand in for a model's forward pass.
@Suite("README: the session decode loop")
struct ReadmeSessionExampleTests {
    @Test("the README's decode loop runs and compresses")
    func decodeLoop() throws {
        let promptLength = readmePromptLength
        // DOC BEGIN
        // One pool per device; every session draws its pages from it. Llama-3-8B's shapes.
        let model = try ModelFacts(name: "llama-3-8b", queryHeads: 32, kvHeads: 8, headDim: 128,
                                   layerKinds: Array(repeating: .global, count: 32))
        let pool = try PagePool(.init(budgetBytes: 8 << 30, headDim: 128))
        let policy = try PolicyPipeline(parsing: "snapkv(keep=0.25)")

        // Prefill: the forward pass over the prompt gives each layer's post-RoPE keys and values
        // [kvHeads, tokens, headDim] and its last 32 queries; the session keeps what the policy chooses.
        let session = try CacheSession(pool: pool, model: model, policy: policy)
        try session.prefill(SessionPrompt(positions: Array(0..<promptLength), layers: (0..<model.layerCount).map { l in
            .init(keys: promptKeys(l), values: promptValues(l), windowQueries: windowQueries(l))
        }))

        // Decode: each new token's K/V go into every layer's open page; attention reads the pages.
        for position in promptLength..<promptLength + 16 {
            for layer in 0..<model.layerCount {
                let (q, k, v) = projections(layer, position)  // [32, 1, 128] f32; [8, 1, 128] f16 twice
                try session.append(layer: layer, keys: k, values: v, positions: [position])
                let attention = try session.attend(layer: layer, queries: q, positions: [position])
                feedForward(layer, attention)                  // [32, 1, 128] f32
            }
        }
        print(session.byteCount, session.ratio, pool.statistics.inUseBytes)
        let reply = try session.fork()  // shares every page copy-on-write (a second reply to one prompt)
        session.close()                 // its own pages go back to the pool
        // DOC END
        #expect(try reply.tokenCounts(layer: 0) == Array(repeating: 64 + 16, count: 8), "a quarter of the prompt, then 16 decoded")
        #expect(reply.ratio < 0.6)
        reply.close()
        #expect(pool.statistics.inUseBytes == 0)
    }

    @Test("the README shows this test's code verbatim")
    func readmeHasTheCode() throws {
        #expect(try DocumentSnippet.document("README.md", containsSnippetOf: #filePath), "README.md's decode loop differs from the code this test runs")
    }
}

private func tensor16(_ heads: Int, _ tokens: Int, seed: Int) -> HeadTensor<Float16> {
    try! HeadTensor(heads: heads, tokens: tokens, headDim: 128,
                    storage: (0..<heads * tokens * 128).map { Float16(noise($0, seed, 0)) })
}

private let readmePromptLength = 256
private func promptKeys(_ l: Int) -> HeadTensor<Float16> { tensor16(8, readmePromptLength, seed: 2 * l) }
private func promptValues(_ l: Int) -> HeadTensor<Float16> { tensor16(8, readmePromptLength, seed: 2 * l + 1) }
private func windowQueries(_ l: Int) -> HeadTensor<Float16> { tensor16(32, 32, seed: 1000 + l) }

private func projections(_ layer: Int, _ position: Int) -> (HeadTensor<Float>, HeadTensor<Float16>, HeadTensor<Float16>) {
    (tensor16(32, 1, seed: 7 * position + layer).floats(), tensor16(8, 1, seed: 11 * position + layer),
     tensor16(8, 1, seed: 13 * position + layer))
}

private func feedForward(_ layer: Int, _ attention: HeadTensor<Float>) {
    #expect(attention.shape == [32, 1, 128] && attention.storage.allSatisfy(\.isFinite))
}
