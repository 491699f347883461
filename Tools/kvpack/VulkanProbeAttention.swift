import Foundation
import KVPack
import KVPackEval
import KVPackVulkan

/// `kvpack eval --backend vulkan`: the probe queries attend on the GPU, through the same decode
/// kernels a server would use. The cache is uploaded once per run; each probe is one decode
/// call (one query token per sequence). Sliding-window layers stay on the CPU: the kernels
/// attend to every kept token of a head and do not mask by position.
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
            let keyPositions = cache.sequences[s].layers[l].map { $0.positions.last ?? 0 }.max() ?? 0
            // Only a query after every kept token needs no mask; otherwise (sliding windows, probes
            // inside the prompt) the CPU attends.
            guard window == nil, positions.allSatisfy({ $0 > keyPositions }) else {
                return try CPUProbeAttention().prepare(cache).attend(sequence: s, layer: l, queries: queries, positions: positions, window: window)
            }
            let heads = queries.heads, d = queries.headDim, sequences = cache.sequences.count
            var out = [Float](repeating: 0, count: heads * queries.tokens * d)
            for p in 0..<queries.tokens {
                var q = [Float](repeating: 0, count: sequences * heads * d)
                for h in 0..<heads {
                    for c in 0..<d { q[(s * heads + h) * d + c] = queries[h, p, c] }
                }
                // fp32 arithmetic: the evaluation measures the policy's error, not the kernel's.
                let (o, _) = try attention.attend(device, layer: l, queries: q, options: .init(f16Arithmetic: false))
                for h in 0..<heads {
                    for c in 0..<d { out[(h * queries.tokens + p) * d + c] = o[(s * heads + h) * d + c] }
                }
            }
            return try HeadTensor(heads: heads, tokens: queries.tokens, headDim: d, storage: out)
        }
    }
}
