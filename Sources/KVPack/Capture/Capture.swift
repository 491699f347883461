/// Captured KV tensors of one model over one or more sequences: the input every policy,
/// kernel test and evaluation starts from.
///
/// Storage is half precision; every computation over it accumulates in `Float`.
public struct Capture: Sendable, Equatable {
    public var model: ModelFacts
    public var sequences: [SequenceCapture]
    /// Where the capture came from (tool, text source, tokenizer, quantization...), free-form
    /// key/value text that I/O carries through unchanged.
    public var provenance: [String: String]

    /// - Throws: `CaptureError.noSequences`, or the first sequence error (each sequence is
    ///   validated against `model` by `SequenceCapture.init`).
    public init(model: ModelFacts, sequences: [SequenceCapture], provenance: [String: String] = [:]) throws(CaptureError) {
        guard !sequences.isEmpty else { throw .noSequences }
        for s in sequences where s.layers.count != model.layerCount {
            throw .layerCountMismatch(expected: model.layerCount, found: s.layers.count)
        }
        self.model = model
        self.sequences = sequences
        self.provenance = provenance
    }

    /// Bytes of cached keys and values in f16, over all sequences and layers (probes excluded):
    /// `ModelFacts.denseKVBytes` of every sequence's prompt.
    public var denseKVBytes: Int {
        sequences.reduce(0) { $0 + model.denseKVBytes(tokens: $1.positions.tokens.count) }
    }
}
