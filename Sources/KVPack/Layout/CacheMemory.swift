/// The memory ratio of a compressed cache, one definition for a cache in memory
/// (`CompressedCache`) and a `.kvp` file's summary (`KVPSummary`): exact compressed bytes over the
/// model's own dense f16 cache of the same tokens (`ModelFacts.denseKVBytes` with the model's KV
/// heads, whatever heads the policy stored).
public protocol CacheMemory {
    /// Stored shape (`kvHeads` counts stored heads).
    var model: ModelFacts { get }
    /// The model's KV heads.
    var denseKVHeads: Int { get }
    /// Tokens of the dense cache each sequence came from.
    var originalTokenCounts: [Int] { get }
    /// Exact bytes of the compressed cache, metadata included.
    var byteCount: Int { get }
}

extension CacheMemory {
    /// Bytes of the model's dense f16 cache of every original token (K and V, all layers and the
    /// model's `denseKVHeads`).
    public var denseByteCount: Int {
        var dense = model
        dense.kvHeads = denseKVHeads
        return originalTokenCounts.reduce(0) { $0 + dense.denseKVBytes(tokens: $1) }
    }

    /// `byteCount / denseByteCount`: the share of the dense cache's memory this cache needs (the
    /// one memory ratio of compress, inspect and eval).
    public var ratio: Double { Double(byteCount) / Double(max(1, denseByteCount)) }
}
