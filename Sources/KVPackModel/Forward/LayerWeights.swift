/// One decoder block's weights, dequantized to Float, with the products fused that read the same
/// input: Q, K and V as one `[queryWidth + 2 kvWidth, d]` matrix (Llama's Q and K rows already
/// un-permuted to the rotate-half order), gate and up as one `[2 ffn, d]` matrix.
struct LayerWeights: Sendable {
    let attentionNorm: RMSNorm
    /// `[queryWidth + 2 × kvWidth, d]`: Q rows, then K, then V.
    let queryKeyValue: WeightMatrix
    /// Gemma-3's per-head RMSNorm of queries and keys (`[headDim]` weights); nil for Llama.
    let queryNorm: RMSNorm?
    let keyNorm: RMSNorm?
    /// `[d, queryWidth]`.
    let attentionOutput: WeightMatrix
    /// Gemma-3's norm of the attention output before the residual add.
    let postAttentionNorm: RMSNorm?
    let feedForwardNorm: RMSNorm
    /// `[2 × ffn, d]`: gate rows, then up rows.
    let gateUp: WeightMatrix
    /// `[d, ffn]`.
    let down: WeightMatrix
    /// Gemma-3's norm of the MLP output before the residual add.
    let postFeedForwardNorm: RMSNorm?
}

/// Every weight of a decoder, dequantized once at load.
struct ModelWeights: Sendable {
    /// `[vocabulary, d]`: row `i` is token `i`'s embedding.
    let embedding: WeightMatrix
    let layers: [LayerWeights]
    let outputNorm: RMSNorm
    /// `[vocabulary, d]`: the output head (the embedding itself when the model ties them).
    let output: WeightMatrix
}
