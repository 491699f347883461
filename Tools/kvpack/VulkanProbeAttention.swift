import Foundation
import KVPack
import KVPackEval
import KVPackVulkan

/// `kvpack eval --backend vulkan`: the probe queries attend on the GPU, through the same decode
/// kernels a server would use. The cache is uploaded once per run; each probe is one decode
/// call (one query token per sequence), masked by position where the layer has a sliding window
/// or a probe lies inside the cached span.
struct VulkanProbeAttention: ProbeAttentionBackend {
    let context: VulkanContext

    var name: String { "vulkan (\(context.device.name))" }

    /// A cache the kernels do not cover (head dim other than 64/128/256, pools over the
    /// device's limits) is attended on the CPU, with a log line.
    func prepare(_ cache: CompressedCache) throws -> any PreparedProbeAttention {
        do {
            return Prepared(cache: cache, device: try DeviceKVCache(context, flat: cache.flattened()), attention: VulkanDecodeAttention(context: context))
        } catch {
            switch error {
            case .unsupported, .tooLarge:
                FileHandle.standardError.write(Data("kvpack: \(cache.policy): \(error); this run attends on the CPU\n".utf8))
            default:
                throw error
            }
        }
        return try CPUProbeAttention().prepare(cache)
    }

    struct Prepared: PreparedProbeAttention {
        let cache: CompressedCache
        let device: DeviceKVCache
        let attention: VulkanDecodeAttention

        func attend(sequence s: Int, layer l: Int, queries: HeadTensor<Float>, positions: [Int], window: Int?) throws -> HeadTensor<Float> {
            let heads = queries.heads, d = queries.headDim, sequences = cache.sequences.count
            // Each sequence's last kept position in this layer: a query after it needs no mask.
            let last = cache.sequences.map { seq in seq.layers[l].map { Int($0.pages.last?.positions.last ?? 0) }.max() ?? 0 }
            let needsMask = window != nil || positions.contains { $0 <= last[s] }
            var out = [Float](repeating: 0, count: heads * queries.tokens * d)
            for p in 0..<queries.tokens {
                var q = [Float](repeating: 0, count: sequences * heads * d)
                for h in 0..<heads {
                    for c in 0..<d { q[(s * heads + h) * d + c] = queries[h, p, c] }
                }
                // The other sequences ride along (one call attends all of them); their outputs are dropped.
                let mask = needsMask ? DecodeMask(queryPositions: (0..<sequences).map { $0 == s ? positions[p] : last[$0] }, window: window) : nil
                // fp32 arithmetic: the evaluation measures the policy's error, not the kernel's.
                let call = Result { () throws(VulkanError) in
                    try attention.attend(device, layer: l, queries: q, mask: mask, options: .init(f16Arithmetic: false))
                }
                let mine = s * heads * d ..< (s + 1) * heads * d // this sequence's part of q and of the output
                var o: [Float]
                switch call {
                case .success(let (output, _)): o = output
                case .failure(.noVisibleKeys):
                    // Attention there is undefined; the CPU path decides what the run reports.
                    let probe = try HeadTensor(heads: heads, tokens: 1, headDim: d, storage: Array(q[mine]))
                    let cpu = try CPUProbeAttention().prepare(cache).attend(sequence: s, layer: l, queries: probe,
                                                                            positions: [positions[p]], window: window)
                    o = [Float](repeating: 0, count: q.count)
                    o.replaceSubrange(mine, with: cpu.storage)
                case .failure(let error): throw error
                }
                for h in 0..<heads {
                    for c in 0..<d { out[(h * queries.tokens + p) * d + c] = o[(s * heads + h) * d + c] }
                }
            }
            return try HeadTensor(heads: heads, tokens: queries.tokens, headDim: d, storage: out)
        }
    }
}
