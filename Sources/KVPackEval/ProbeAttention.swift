import KVPack

/// Where the probe queries attend over a compressed cache: the CPU reference, or a GPU backend
/// the caller provides (the `kvpack` CLI plugs in the Vulkan kernels).
public protocol ProbeAttentionBackend: Sendable {
    /// A short name for reports and log lines.
    var name: String { get }
    /// Readies one compressed cache (a GPU backend uploads it once for all layers).
    func prepare(_ cache: CompressedCache) throws -> any PreparedProbeAttention
}

/// Attention over one prepared cache.
public protocol PreparedProbeAttention {
    /// softmax(q kᵀ) v of `queries` `[queryHeads, probes, headDim]` over layer `layer` of sequence
    /// `sequence`, probes at `positions`, with the layer's sliding `window`; `[queryHeads,
    /// probes, headDim]`.
    func attend(sequence: Int, layer: Int, queries: HeadTensor<Float>, positions: [Int], window: Int?) throws -> HeadTensor<Float>
}

/// The CPU reference: attention straight from the pages.
public struct CPUProbeAttention: ProbeAttentionBackend, PreparedProbeAttention {
    let cache: CompressedCache?

    public init() { cache = nil }
    init(_ cache: CompressedCache) { self.cache = cache }

    public var name: String { "cpu" }
    public func prepare(_ cache: CompressedCache) throws -> any PreparedProbeAttention { CPUProbeAttention(cache) }

    public func attend(sequence: Int, layer: Int, queries: HeadTensor<Float>, positions: [Int], window: Int?) throws -> HeadTensor<Float> {
        try CompressedAttention.attend(queries: queries, heads: cache!.sequences[sequence].layers[layer], queryPositions: positions, window: window)
    }
}
