import KVPack

/// One decode step of one layer, as a stage sees it: every token of the sequence so far
/// (prompt, then decoded tokens), the plan's heads index into it, and the new token's query.
public struct DecodeStep: Sendable {
    public var sequence: Int
    public var layer: Int
    /// `[kvHeads, tokens, headDim]`: prompt tokens, then decoded tokens, the newest last.
    public var keys: HeadTensor<Float16>
    public var values: HeadTensor<Float16>
    /// Position of every token, `[tokens]`.
    public var positions: [Int]
    /// The newest token's query, `[queryHeads, 1, headDim]`.
    public var query: HeadTensor<Float16>
    public var model: ModelFacts

    /// Index of the newest token.
    public var newest: Int { keys.tokens - 1 }

    /// Softmax of the new query (the query heads of stored head `h`) over the head's kept keys,
    /// `[group][kept]`, with the layer's sliding window.
    func probabilities(_ plan: CompressionPlan, head h: Int) -> [[Float]]? {
        let kept = plan.heads[sequence][layer][h].kept
        let queryHeads = plan.queryHeads(of: h, model: model)
        guard !kept.isEmpty,
              let p = WindowProbabilities.compute(keys: keys.gatheringRows(head: plan.sourceHead(h), tokens: kept),
                                                  queries: query.slicingHeads(queryHeads).floats(),
                                                  keyPositions: kept.map { positions[$0] }, queryPositions: [positions[newest]],
                                                  window: model.layerKinds[layer].windowSize) else { return nil }
        return (0..<queryHeads.count).map { Array(p[$0 * kept.count..<($0 + 1) * kept.count]) }
    }
}
