import KVPack

/// What a pipeline of stages decides, before pages are built: for each sequence, layer and KV
/// head, the kept token indices (increasing) and each kept token's key and value encoding.
/// Eviction stages shrink `kept`; encoding stages rewrite `encodings`.
public struct CompressionPlan: Sendable {
    public struct Head: Sendable, Hashable {
        public var kept: [Int]
        public var keyEncodings: [PageEncoding]
        public var valueEncodings: [PageEncoding]

        /// Keeps the tokens at `positionsInKept` (indices into `kept`), in order.
        mutating func restrict(to positionsInKept: [Int]) {
            let sorted = positionsInKept.sorted()
            kept = sorted.map { kept[$0] }
            keyEncodings = sorted.map { keyEncodings[$0] }
            valueEncodings = sorted.map { valueEncodings[$0] }
        }
    }

    /// `[sequence][layer][kvHead]`.
    public var heads: [[[Head]]]
    public var keySparsity = 0.5
    public var valueSparsity = 0.5

    /// Every token kept, in f16.
    public init(capture: Capture) {
        heads = capture.sequences.map { seq in
            seq.layers.map { layer in
                Array(repeating: Head(kept: Array(0..<layer.tokenCount),
                                      keyEncodings: Array(repeating: .f16, count: layer.tokenCount),
                                      valueEncodings: Array(repeating: .f16, count: layer.tokenCount)),
                      count: capture.model.kvHeads)
            }
        }
    }

    /// Packs the plan's kept tokens into pages.
    public func build(_ capture: Capture, policy: String, pageSize: Int = 16) throws(PolicyError) -> CompressedCache {
        do {
            var sequences: [CompressedSequence] = []
            for (s, seq) in capture.sequences.enumerated() {
                var layers: [[HeadPages]] = []
                for (l, layer) in seq.layers.enumerated() {
                    var out: [HeadPages] = []
                    for (h, head) in heads[s][l].enumerated() {
                        out.append(try HeadPages.pack(keys: layer.keys, values: layer.values, head: h, kept: head.kept,
                                                      positions: seq.positions.tokens,
                                                      encodings: Array(zip(head.keyEncodings, head.valueEncodings)),
                                                      pageSize: pageSize, keySparsity: keySparsity, valueSparsity: valueSparsity))
                    }
                    layers.append(out)
                }
                sequences.append(CompressedSequence(id: seq.id, originalTokens: seq.positions.tokens.count, layers: layers))
            }
            return try CompressedCache(model: capture.model, pageSize: pageSize, policy: policy, sequences: sequences)
        } catch {
            throw .layout(error)
        }
    }
}

/// Indices of the `count` highest scores; equal scores go to the lower index (scores tie often in
/// half precision, and the result must not depend on sort stability). NaN scores rank lowest.
public func topIndices(_ scores: [Float], count: Int) -> [Int] {
    let order = scores.indices.sorted { a, b in
        let x = scores[a].isNaN ? -Float.infinity : scores[a], y = scores[b].isNaN ? -Float.infinity : scores[b]
        return x != y ? x > y : a < b
    }
    return Array(order.prefix(max(0, count)))
}
