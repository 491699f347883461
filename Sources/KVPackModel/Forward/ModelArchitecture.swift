/// The decoder families the forward pass runs, by their GGUF `general.architecture` name.
public enum ModelArchitecture: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Llama family (SmolLM2): RMSNorm before attention and MLP, SiLU-gated MLP, one RoPE base,
    /// Q/K rows stored permuted for interleaved RoPE (undone at load).
    case llama
    /// Gemma-3: embeddings scaled by sqrt(d_model), QK-norm, norms before and after attention and
    /// MLP, GELU(tanh)-gated MLP, sliding-window layers with their own RoPE base.
    case gemma3

    public var description: String { rawValue }
}
