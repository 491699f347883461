/// One captured sequence: its positions and one `LayerCapture` per model layer.
public struct SequenceCapture: Sendable, Equatable {
    /// A name unique within the capture (the HDF5 group name).
    public var id: String
    public var positions: SequencePositions
    public var layers: [LayerCapture]

    /// Validates every layer against `facts` and `positions`.
    /// - Throws: `CaptureError` naming the layer and tensor at fault.
    public init(id: String, facts: ModelFacts, positions: SequencePositions, layers: [LayerCapture]) throws(CaptureError) {
        guard layers.count == facts.layerCount else {
            throw .layerCountMismatch(expected: facts.layerCount, found: layers.count)
        }
        guard !positions.tokens.isEmpty else { throw .zeroTokens(layer: 0) }
        for (i, layer) in layers.enumerated() { try layer.validate(layer: i, against: facts, positions: positions) }
        self.id = id
        self.positions = positions
        self.layers = layers
    }

    /// Whether the sequence carries probe queries (needed for accuracy evaluation).
    public var hasProbes: Bool { !positions.probes.isEmpty && layers.allSatisfy { $0.probeQueries != nil } }
}
