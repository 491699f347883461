import KVPack

/// The shape and numerical constants of a decoder, as its GGUF metadata gives them.
public struct ModelHyperparameters: Sendable, Hashable {
    public let architecture: ModelArchitecture
    /// `general.name`.
    public let name: String
    /// Decoder blocks.
    public let layerCount: Int
    /// Width of the residual stream (`d_model`).
    public let embeddingLength: Int
    public let queryHeads: Int
    public let kvHeads: Int
    /// Elements per query / key / value head row.
    public let headDim: Int
    /// Hidden width of the gated MLP.
    public let feedForwardLength: Int
    /// Rows of the embedding table (and of the output head).
    public let vocabularySize: Int
    /// RMSNorm epsilon.
    public let rmsEpsilon: Float
    /// RoPE base of global layers.
    public let ropeBase: Double
    /// RoPE base of sliding-window layers (Gemma-3's `rope.freq_base_swa`); nil when none.
    public let ropeBaseSliding: Double?
    /// Per layer: global or sliding-window attention.
    public let layerKinds: [AttentionKind]
    /// Attention logit scale (`1 / sqrt(headDim)` for both families).
    public let attentionScale: Float
    /// Factor applied to embeddings before the first layer (`sqrt(d_model)` for Gemma-3, else 1).
    public let embeddingScale: Float
    /// Final logits become `c · tanh(logit / c)` when set (Gemma-2 style soft-capping).
    public let finalLogitSoftcap: Float?

    /// Query rows of one token: `queryHeads × headDim`.
    public var queryWidth: Int { queryHeads * headDim }
    /// Key (or value) rows of one token: `kvHeads × headDim`.
    public var kvWidth: Int { kvHeads * headDim }

    /// The RoPE base of `layer`.
    public func ropeBase(layer: Int) -> Double {
        if layerKinds[layer].windowSize != nil, let sliding = ropeBaseSliding { return sliding }
        return ropeBase
    }

    /// The facts a KV-cache session of this model needs: every layer, its heads and windows.
    public var facts: ModelFacts {
        // Validated when the hyperparameters were read (counts positive, heads grouped).
        try! ModelFacts(name: name, queryHeads: queryHeads, kvHeads: kvHeads, headDim: headDim, ropeTheta: ropeBase,
                        layerKinds: layerKinds)
    }
}
