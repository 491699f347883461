import KVPack

/// The dense attention of a capture's probe queries over its prompt cache, computed once for every
/// layer and kept in memory (for `RunEvaluation.evaluate`; a sweep, `SweepEvaluation`, computes
/// each layer's rows as it goes instead): per sequence and layer, outputs `[queryHeads, probes,
/// headDim]` and softmax rows `[queryHeads, probes, tokens]`, with the layer's sliding window.
public struct DenseReference: Sendable {
    public struct Layer: Sendable {
        public var output: HeadTensor<Float>
        public var probabilities: [Float]
        /// Token indices of each row's `topK` largest probabilities (ties to the lower index),
        /// `[queryHeads × probes][topK]`.
        public var top: [[Int]]
    }

    /// The k of `Layer.top`.
    public let topK: Int

    /// `[sequence][layer]`.
    public var layers: [[Layer]]
    /// Token index of each position, per sequence.
    public var tokenIndex: [[Int: Int]]

    public init(_ capture: Capture, name: String, topK: Int) throws(EvalError) {
        self.topK = topK
        var layers: [[Layer]] = []
        for seq in capture.sequences {
            guard seq.hasProbes else { throw .noProbes(capture: name) }
            var out: [Layer] = []
            for (l, layer) in seq.layers.enumerated() {
                do {
                    let mask = try AttentionMask(keyPositions: seq.positions.tokens, queryPositions: seq.positions.probes,
                                                 window: capture.model.layerKinds[l].windowSize)
                    let r = try DenseAttention.attend(queries: layer.probeQueries!.floats(), keys: layer.keys, values: layer.values,
                                                      mask: mask, keepProbabilities: true)
                    let n = seq.positions.tokens.count, rows = r.output.heads * r.output.tokens
                    let probs = r.probabilities!
                    let top = probs.withUnsafeBufferPointer { p in
                        (0..<rows).map { topIndices(UnsafeBufferPointer(rebasing: p[$0 * n..<($0 + 1) * n]), count: topK) }
                    }
                    out.append(Layer(output: r.output, probabilities: probs, top: top))
                } catch {
                    throw .noProbes(capture: "\(name) (layer \(l): \(error))")
                }
            }
            layers.append(out)
        }
        self.layers = layers
        tokenIndex = capture.sequences.map { seq in
            Dictionary(uniqueKeysWithValues: seq.positions.tokens.enumerated().map { ($1, $0) })
        }
    }
}
