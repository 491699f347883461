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
        let d = model.headDim, source = plan.sourceHead(h)
        var rows: [Float16] = []
        rows.reserveCapacity(kept.count * d)
        for t in kept {
            let o = keys.rowOffset(head: source, token: t)
            rows.append(contentsOf: keys.storage[o..<o + d])
        }
        let kt = try! HeadTensor(heads: 1, tokens: kept.count, headDim: d, storage: rows)
        let queryHeads = plan.queryHeads(of: h, model: model)
        do {
            let mask = try AttentionMask(keyPositions: kept.map { positions[$0] }, queryPositions: [positions[newest]],
                                         window: model.layerKinds[layer].windowSize)
            let r = try DenseAttention.attend(queries: query.slicingHeads(queryHeads).floats(), keys: kt, values: kt,
                                              mask: mask, keepProbabilities: true)
            return (0..<queryHeads.count).map { Array(r.probabilityRow(head: $0, query: 0)!) }
        } catch {
            return nil
        }
    }
}
