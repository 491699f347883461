import KVPack

/// What one run's compressed cache gives for one layer of one sequence: the probes' attention over
/// it, which prompt tokens each stored head kept, and its exact bytes. Small (no pages), so a
/// sweep can drop each layer's compressed heads as soon as this is taken.
struct RunLayer: Sendable {
    /// The probes' attention over the compressed layer, `[queryHeads, probes, headDim]`.
    var outputs: HeadTensor<Float>
    /// Per stored head, over the prompt's token indices: whether the head kept the token.
    var kept: [[Bool]]
    var bytes: Int
    /// Tokens kept, summed over the stored heads.
    var keptTokens: Int

    /// - Parameter tokenPositions: the prompt's positions, increasing (a head's positions map to
    ///   token indices through them).
    init(heads: [HeadPages], outputs: HeadTensor<Float>, tokenPositions: [Int]) {
        self.outputs = outputs
        bytes = heads.reduce(0) { $0 + $1.byteCount }
        keptTokens = heads.reduce(0) { $0 + $1.tokenCount }
        kept = heads.map { head in
            var mask = [Bool](repeating: false, count: tokenPositions.count)
            tokenPositions.withUnsafeBufferPointer { tokens in
                for page in head.pages {
                    for p in page.positions {
                        if let t = Self.index(of: Int(p), in: tokens) { mask[t] = true }
                    }
                }
            }
            return mask
        }
    }

    /// Index of `position` in increasing `positions`, by binary search.
    static func index(of position: Int, in positions: UnsafeBufferPointer<Int>) -> Int? {
        var lo = 0, hi = positions.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if positions[mid] < position { lo = mid + 1 } else { hi = mid }
        }
        return lo < positions.count && positions[lo] == position ? lo : nil
    }

    /// Attends the probes over `heads` (layer `layer` of sequence `sequence` of the cache
    /// `prepared` was made from); the error text is what the run's report says.
    static func measure(heads: [HeadPages], prepared: any PreparedProbeAttention, sequence: Int, layer: Int, reportedLayer: Int,
                        probes: HeadTensor<Float>, probePositions: [Int], window: Int?, tokenPositions: [Int]) -> Result<RunLayer, RunFailure> {
        do {
            let out = try prepared.attend(sequence: sequence, layer: layer, queries: probes, positions: probePositions, window: window)
            return .success(RunLayer(heads: heads, outputs: out, tokenPositions: tokenPositions))
        } catch {
            return .failure(RunFailure("attention over the compressed cache failed in layer \(reportedLayer): \(error)"))
        }
    }
}

/// Why a run has no metrics: the text its report row shows.
struct RunFailure: Error, Sendable, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
