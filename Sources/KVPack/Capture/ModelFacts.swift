/// What KVPack needs to know about the model a capture came from.
public struct ModelFacts: Sendable, Hashable, Codable {
    /// Model name as the capture tool recorded it (e.g. "SmolLM2-135M-Instruct").
    public var name: String
    /// Query heads per layer.
    public var queryHeads: Int
    /// Key/value heads per layer; `queryHeads` is a multiple of it (GQA; equal for MHA).
    public var kvHeads: Int
    /// Elements per head row.
    public var headDim: Int
    /// RoPE base frequency, when known.
    public var ropeTheta: Double?
    /// One entry per layer: global or sliding-window attention.
    public var layerKinds: [AttentionKind]
    /// For each captured layer, its index in the model (captures may hold a subset of the
    /// model's layers); `0..<layerCount` when every layer is captured.
    public var sourceLayers: [Int]

    /// Validates the facts.
    /// - Throws: `CaptureError` when a count is not positive, `queryHeads` is not a multiple
    ///   of `kvHeads`, there are no layers, a sliding window is not positive, or `sourceLayers`
    ///   does not give one strictly increasing, non-negative index per layer.
    public init(name: String, queryHeads: Int, kvHeads: Int, headDim: Int, ropeTheta: Double? = nil,
                layerKinds: [AttentionKind], sourceLayers: [Int]? = nil) throws(CaptureError) {
        for (field, value) in [("queryHeads", queryHeads), ("kvHeads", kvHeads), ("headDim", headDim)]
        where value <= 0 {
            throw .nonPositive(field: field, value: value)
        }
        guard queryHeads % kvHeads == 0 else {
            throw .headsNotGrouped(queryHeads: queryHeads, kvHeads: kvHeads)
        }
        guard !layerKinds.isEmpty else { throw .nonPositive(field: "layers", value: 0) }
        for (layer, kind) in layerKinds.enumerated() {
            if let size = kind.windowSize, size <= 0 { throw .invalidSlidingWindow(layer: layer, size: size) }
        }
        if let theta = ropeTheta, !(theta.isFinite && theta > 0) {
            throw .invalidRopeTheta(theta)
        }
        let sources = sourceLayers ?? Array(layerKinds.indices)
        guard sources.count == layerKinds.count else {
            throw .positionCountMismatch(name: "layer_indices", expected: layerKinds.count, found: sources.count)
        }
        for i in sources.indices where sources[i] < 0 || (i > 0 && sources[i] <= sources[i - 1]) {
            throw .positionsNotIncreasing(name: "layer_indices", index: i)
        }
        self.sourceLayers = sources
        self.name = name
        self.queryHeads = queryHeads
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.ropeTheta = ropeTheta
        self.layerKinds = layerKinds
    }

    /// Number of layers.
    public var layerCount: Int { layerKinds.count }
    /// Query heads that share one KV head (1 for MHA).
    public var groupSize: Int { queryHeads / kvHeads }

    /// Bytes of the dense f16 cache of `tokens` tokens: keys and values of every layer and KV
    /// head. The denominator of every memory ratio KVPack reports.
    public func denseKVBytes(tokens: Int) -> Int { 2 * 2 * tokens * kvHeads * headDim * layerCount }
}
