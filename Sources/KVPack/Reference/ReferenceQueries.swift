/// Which captured queries to attend with.
public enum ReferenceQueries: String, Sendable, CaseIterable {
    /// The observation window `queries` (what a policy sees).
    case window
    /// The `probe_queries` after the prompt (what accuracy is measured on).
    case probes
}

extension SequenceCapture {
    /// Dense reference attention of layer `layer`'s window or probe queries over its cache.
    ///
    /// Masking follows positions: a query sees keys at or before its position, and only the last
    /// `size` positions on sliding-window layers. Probe queries also see the probe tokens' own
    /// keys and values, causally, when the capture has them (a probe then attends to the
    /// probes before it and itself, as in the model's decode).
    ///
    /// - Returns: the attention result; its keys are the cached tokens followed, for probes with
    ///   probe KV, by the probe tokens.
    /// - Throws: `AttentionError.noVisibleKeys` when the sequence has no probes, or a query sees no key.
    public func referenceAttention(layer: Int, kind: AttentionKind, queries which: ReferenceQueries,
                                   keepProbabilities: Bool = false) throws(AttentionError) -> AttentionResult {
        let l = layers[layer]
        var keys = l.keys, values = l.values
        var keyPositions = positions.tokens
        let queryPositions: [Int]
        let queries: HeadTensor<Float16>
        switch which {
        case .window:
            queries = l.queries
            queryPositions = positions.window
        case .probes:
            guard let pq = l.probeQueries, !positions.probes.isEmpty else {
                throw .invalidMask("this capture has no probe queries")
            }
            queries = pq
            queryPositions = positions.probes
            if let pk = l.probeKeys, let pv = l.probeValues {
                let expected = [keys.heads, pk.tokens, keys.headDim]
                for (name, probe) in [("probe keys", pk), ("probe values", pv)] where probe.shape != expected {
                    throw .wrongShape(name: name, expected: expected, found: probe.shape)
                }
                keys = try! keys.appendingTokens(of: pk) // shapes checked above
                values = try! values.appendingTokens(of: pv)
                keyPositions += positions.probes
            }
        }
        let mask = try AttentionMask(keyPositions: keyPositions, queryPositions: queryPositions, window: kind.windowSize)
        return try DenseAttention.attend(queries: queries.floats(), keys: keys, values: values, mask: mask,
                                         keepProbabilities: keepProbabilities)
    }
}
