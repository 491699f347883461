/// The per-layer tensors of a capture. The raw values are the dataset names of the HDF5 schema
/// (`Datasets/SCHEMA.md`).
public enum CaptureTensor: String, Sendable, CaseIterable, CustomStringConvertible {
    /// `[kvHeads, tokens, headDim]`, post-RoPE.
    case keys
    /// `[kvHeads, tokens, headDim]`.
    case values
    /// Observation-window queries `[qHeads, window, headDim]`, post-RoPE.
    case queries
    /// Queries of tokens after the prompt `[qHeads, probes, headDim]`, post-RoPE.
    case probeQueries = "probe_queries"
    /// Keys of the probe tokens `[kvHeads, probes, headDim]` (optional).
    case probeKeys = "probe_keys"
    /// Values of the probe tokens `[kvHeads, probes, headDim]` (optional).
    case probeValues = "probe_values"

    public var description: String { rawValue }

    /// Whether the first axis counts query heads (else KV heads).
    public var isQuery: Bool { self == .queries || self == .probeQueries }
}
