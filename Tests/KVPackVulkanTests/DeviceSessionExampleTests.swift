import Foundation
import KVPack
import KVPackPolicies
import KVPackTestSupport
import Testing
import KVPackVulkan

/// The device decode loop of the DocC article on live sessions (`LiveSessions.md`, "On a GPU"),
/// compiled and run on the machine's device (lavapipe on CI): the code between the markers is the
/// article's, verbatim.
@Suite("Live sessions article: the device decode loop", .vulkanDevice)
struct DeviceSessionExampleTests {
    @Test("the article's device decode loop runs and matches the CPU attend")
    func deviceLoop() async throws {
        let model = try ModelFacts(name: "small", queryHeads: 8, kvHeads: 2, headDim: 128, layerKinds: [.global, .global])
        let policy = try PolicyPipeline(parsing: "snapkv(keep=0.25)")
        let promptLength = 128
        var rng = TestRandom(3)
        let prompt = SessionPrompt(positions: Array(0..<promptLength), layers: (0..<2).map { _ in
            .init(keys: rng.halves(2, 128, 128), values: rng.halves(2, 128, 128), windowQueries: rng.halves(8, 32, 128))
        })
        // Each session's token: its query [8, 1, 128] f32, key and value [2, 1, 128] f16.
        var steps: [String: (HeadTensor<Float>, HeadTensor<Float16>, HeadTensor<Float16>)] = [:]
        for s in 0..<4 { for l in 0..<2 { for p in 128..<132 { steps["\(s) \(l) \(p)"] = (rng.floats(8, 1, 128), rng.halves(2, 1, 128), rng.halves(2, 1, 128)) } } }
        func projections(_ s: Int, _ layer: Int, _ position: Int) -> (HeadTensor<Float>, HeadTensor<Float16>, HeadTensor<Float16>) {
            steps["\(s) \(layer) \(position)"]!
        }
        var outputs: [String: HeadTensor<Float>] = [:]
        func feedForward(_ s: Int, _ layer: Int, _ attention: HeadTensor<Float>) { outputs["\(s) \(layer) \(outputs.count / 8 + 128)"] = attention }
        // DOC BEGIN
        // On a GPU: each bank of the pool is one device buffer (at most one binding), host pages are
        // mirrored there as they are written, and one submission per layer attends every session
        // of the batch; the calling task suspends until it is done.
        let context = try VulkanContext()
        let bankBytes = min(2 << 30, context.capabilities.maxStorageBufferRange - (64 << 10))
        let pool = try PagePool(.init(budgetBytes: 2 * bankBytes, headDim: 128, banks: 2, bankBytes: bankBytes))
        let device = try VulkanSessionPool(context: context, pool: pool)
        let sessions = try (0..<4).map { _ in try CacheSession(pool: pool, model: model, policy: policy) }
        for session in sessions { try session.prefill(prompt) }
        for position in promptLength..<promptLength + 4 {
            for layer in 0..<model.layerCount {
                var requests: [CacheSession.AttendRequest] = []
                for (s, session) in sessions.enumerated() {
                    let (q, k, v) = projections(s, layer, position)
                    try session.append(layer: layer, keys: k, values: v, positions: [position])
                    requests.append(.init(session: session, queries: q, positions: [position]))
                }
                for (s, output) in await device.attend(requests, layer: layer).enumerated() {
                    let attention = try output.get()  // [queryHeads, 1, headDim] f32, or why it failed
                    feedForward(s, layer, attention)
                }
            }
        }
        // DOC END
        // Each output against the CPU attend of the same session over the same pages (no policy
        // stage acts at decode for SnapKV, so attending again changes nothing).
        #expect(outputs.count == 4 * 2 * 4)
        for position in 128..<132 {
            for (s, session) in sessions.enumerated() {
                for layer in 0..<2 where position == 131 {
                    let (q, _, _) = projections(s, layer, position)
                    let cpu = try session.attend(layer: layer, queries: q, positions: [position])
                    let gpu = try #require(outputs["\(s) \(layer) \(position)"])
                    let scale = cpu.storage.map(abs).max()!
                    #expect(zip(gpu.storage, cpu.storage).allSatisfy { abs($0 - $1) <= 1e-2 * scale })
                }
            }
        }
        #expect(sessions.allSatisfy { $0.ratio < 0.4 })
    }

    @Test("the article shows this test's code verbatim")
    func articleHasTheCode() throws {
        #expect(try DocumentSnippet.document("Sources/KVPack/KVPack.docc/LiveSessions.md", containsSnippetOf: #filePath),
                "LiveSessions.md's device decode loop differs from the code this test runs")
    }
}
