import KVPack

/// The shape and statistics of a synthetic capture.
public struct SyntheticCaptureSpec: Sendable, Hashable {
    public var modelName = "synthetic"
    public var layers = 4
    public var queryHeads = 8
    public var kvHeads = 2
    public var headDim = 64
    /// Cached (prompt) tokens per sequence.
    public var tokens = 1024
    /// Observation-window queries: the prompt's last `window` positions.
    public var window = 32
    /// Probe tokens after the prompt (queries, keys and values are generated for them).
    public var probes = 16
    public var sequences = 1
    public var seed: UInt64 = 0
    public var ropeTheta = 10_000.0
    /// When set, every layer but each `globalEvery`-th is sliding-window with this size
    /// (Gemma-3's 5 local : 1 global pattern is `globalEvery = 6`).
    public var slidingWindow: Int? = nil
    public var globalEvery = 6
    /// Attention-sink tokens at the start of each sequence.
    public var sinks = 4
    /// Key channels with a large constant offset, per layer.
    public var outlierChannels = 4
    /// Tokens per retrieval head that queries look back to ("needles").
    public var needles = 8

    public init() {}

    /// A Llama-3-8B-shaped capture: 32 layers, 32 query heads over 8 KV heads, head dim 128,
    /// RoPE theta 500000.
    public static func llama3_8B(tokens: Int = 32_768, layers: Int = 32) -> SyntheticCaptureSpec {
        var spec = SyntheticCaptureSpec()
        spec.modelName = "synthetic-llama-3-8b"
        spec.layers = layers
        spec.queryHeads = 32
        spec.kvHeads = 8
        spec.headDim = 128
        spec.tokens = tokens
        spec.ropeTheta = 500_000
        return spec
    }

    /// The model facts this spec describes.
    /// - Throws: `CaptureError` for an impossible shape (e.g. query heads not a multiple of KV heads).
    public func modelFacts() throws(CaptureError) -> ModelFacts {
        let kinds: [AttentionKind] = (0..<max(layers, 0)).map { layer in
            guard let w = slidingWindow, (layer + 1) % max(globalEvery, 1) != 0 else { return .global }
            return .slidingWindow(size: w)
        }
        guard headDim % 2 == 0 else { throw .nonPositive(field: "headDim (must be even for RoPE)", value: headDim) }
        for (field, value) in [("tokens", tokens), ("sequences", sequences)] where value <= 0 {
            throw .nonPositive(field: field, value: value)
        }
        guard window >= 0, window <= tokens else { throw .nonPositive(field: "tokens - window", value: tokens - window) }
        guard probes >= 0 else { throw .nonPositive(field: "probes", value: probes) }
        return try ModelFacts(name: modelName, queryHeads: queryHeads, kvHeads: kvHeads, headDim: headDim,
                              ropeTheta: ropeTheta, layerKinds: kinds)
    }
}
