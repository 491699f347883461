import KVPack
import KVPackModel
import KVPackTestSupport
import Testing
@testable import KVPackVulkan

/// `LanguageModel.decode` with its attention on the device (`VulkanBatchAttend`, one submission
/// per layer for the whole batch) against the same steps on the CPU (`CPUBatchAttend`), on a tiny
/// random model of head dim 64.
@Suite(.vulkanDevice)
struct BatchedModelDecodeTests {
    @Test("a batched decode step attending on the device gives the CPU's logits")
    func deviceMatchesCPU() async throws {
        let context = try #require(SharedContext.context)
        let model = try LanguageModel(file: try GGUFFile(bytes: TinyModelFile.llama(width: 128, heads: 2, kvHeads: 1, ffn: 64).bytes()))
        #expect(model.hyperparameters.headDim == 64)
        let devicePool = try PagePool(.init(budgetBytes: 1 << 24, headDim: 64, pageSize: 16, slotsPerChunk: 8, banks: 2, bankBytes: 1 << 22))
        let hostPool = try PagePool(.init(budgetBytes: 1 << 24, headDim: 64))
        let attend = VulkanBatchAttend(pool: try VulkanSessionPool(context: context, pool: devicePool), options: DecodeOptions(f16Arithmetic: false))
        let lengths = [5, 23, 40]
        var onDevice: [CacheSession] = [], onHost: [CacheSession] = [], next: [Int] = [], position = lengths
        defer { for s in onDevice + onHost { s.close() } }
        for (i, n) in lengths.enumerated() {
            let prompt = (0..<n).map { (i * 37 + $0 * 11) % 256 }
            let d = try model.makeSession(pool: devicePool), h = try model.makeSession(pool: hostPool)
            let hidden = try model.prefill(prompt, session: d)
            _ = try model.prefill(prompt, session: h)
            onDevice.append(d)
            onHost.append(h)
            next.append(try model.logits(hidden, rows: n - 1..<n).argmax(row: 0))
        }
        var worst: Float = 0
        for _ in 0..<4 {
            let device = await model.decode(lengths.indices.map { DecodeRequest(session: onDevice[$0], tokens: [next[$0]], start: position[$0]) },
                                            attend: attend)
            let host = await model.decode(lengths.indices.map { DecodeRequest(session: onHost[$0], tokens: [next[$0]], start: position[$0]) })
            for i in lengths.indices {
                let a = try device[i].get(), b = try host[i].get()
                worst = max(worst, zip(a.values, b.values).map { abs($0 - $1) }.max()!)
                next[i] = b.argmax(row: 0)
                position[i] += 1
            }
        }
        print("device batched decode: largest logit difference from the CPU \(worst)")
        // fp32 kernels against the CPU: summation order only.
        #expect(worst < 1e-3, "largest logit difference \(worst)")

        // More than one token per sequence is refused before anything is appended.
        let refused = await model.decode([DecodeRequest(session: onDevice[0], tokens: [1, 2], start: position[0])], attend: attend)
        guard case .failure(.invalidPositions) = refused[0] else { Issue.record("\(refused[0])"); return }
        #expect(try onDevice[0].tokenCounts(layer: 0).allSatisfy { $0 == position[0] })
    }
}
