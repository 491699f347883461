import KVPack

/// One decode step of one layer of a live session, as a stage sees it: the plan's heads index the
/// tokens each stored head holds now (its live pages), and the newest token's query. Rows come
/// from the pages, decoded on request; nothing dense that the session dropped is kept.
public struct DecodeStep: Sendable {
    public var sequence: Int
    public var layer: Int
    /// The newest token's query, `[queryHeads, 1, headDim]`.
    public var query: HeadTensor<Float16>
    public var queryPosition: Int
    public var model: ModelFacts
    let live: LiveDecodeStep

    init(_ live: LiveDecodeStep) {
        sequence = 0
        layer = live.layer
        query = live.query
        queryPosition = live.queryPosition
        model = live.model
        self.live = live
    }

    /// Keys and values of stored head `h`'s tokens `kept` (indices into its live tokens), each
    /// `[1, kept.count, headDim]`, and their positions.
    func rows(head h: Int, kept: [Int]) -> (keys: HeadTensor<Float16>, values: HeadTensor<Float16>, positions: [Int]) {
        let d = model.headDim, all = live.positions(head: h)
        let (k, v) = live.rows(head: h)
        let keys = try! HeadTensor(heads: 1, tokens: all.count, headDim: d, storage: k)
        let values = try! HeadTensor(heads: 1, tokens: all.count, headDim: d, storage: v)
        return (try! HeadTensor(heads: 1, tokens: kept.count, headDim: d, storage: keys.gatheringRows(head: 0, tokens: kept)),
                try! HeadTensor(heads: 1, tokens: kept.count, headDim: d, storage: values.gatheringRows(head: 0, tokens: kept)),
                kept.map { all[$0] })
    }

    /// Softmax of the new query (the query heads of stored head `h`) over the head's kept keys,
    /// `[group][kept]`, with the layer's sliding window.
    func probabilities(_ plan: CompressionPlan, head h: Int) -> [[Float]]? {
        let kept = plan.heads[sequence][layer][h].kept
        let queryHeads = plan.queryHeads(of: h, model: model)
        let r = rows(head: h, kept: kept)
        // Kept rows and the head's query heads are in range by construction of the plan.
        guard !kept.isEmpty,
              let p = try! WindowProbabilities.compute(keys: r.keys.storage, queries: query.slicingHeads(queryHeads).floats(),
                                                  keyPositions: r.positions, queryPositions: [queryPosition],
                                                  window: model.layerKinds[layer].windowSize) else { return nil }
        return (0..<queryHeads.count).map { Array(p[$0 * kept.count..<($0 + 1) * kept.count]) }
    }
}
