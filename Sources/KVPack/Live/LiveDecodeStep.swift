/// One decode step of one layer of a live session, as a policy sees it: what each stored head
/// holds now (positions and per-token encodings, rows decoded from its pages on request), the
/// newest query, and the selections the policy edits (identity at first: every token, its
/// current encodings). The session then frees the pages of evicted tokens and re-packs only
/// pages whose tokens changed.
public struct LiveDecodeStep: Sendable {
    public let layer: Int
    public let model: ModelFacts
    /// The newest query token, `[queryHeads, 1, headDim]`.
    public let query: HeadTensor<Float16>
    public let queryPosition: Int
    public let repeatFactor: Int
    /// The policy's state from prefill (and earlier steps).
    public var state: (any Sendable)?
    /// `[storedHead]`: what each head keeps after this step, as indices into its current tokens.
    public var selections: [HeadSelection]
    let heads: [LiveHead]

    init(layer: Int, model: ModelFacts, query: HeadTensor<Float16>, queryPosition: Int, repeatFactor: Int,
         state: (any Sendable)?, heads: [LiveHead]) {
        self.layer = layer
        self.model = model
        self.query = query
        self.queryPosition = queryPosition
        self.repeatFactor = repeatFactor
        self.state = state
        self.heads = heads
        selections = heads.map { h in
            var s = HeadSelection(kept: Array(0..<h.tokenCount), keyEncodings: [], valueEncodings: [])
            for p in h.pages {
                s.keyEncodings.append(contentsOf: repeatElement(p.slotClass.keyEncoding, count: p.tokens))
                s.valueEncodings.append(contentsOf: repeatElement(p.slotClass.valueEncoding, count: p.tokens))
            }
            return s
        }
    }

    /// Tokens head `h` holds now.
    public func tokenCount(head h: Int) -> Int { heads[h].tokenCount }

    /// Positions of head `h`'s tokens now, `[tokens]`.
    public func positions(head h: Int) -> [Int] { heads[h].positions }

    /// Head `h`'s keys and values now, decoded to f16 from its pages: `[tokens, headDim]` each.
    public func rows(head h: Int) -> (keys: [Float16], values: [Float16]) {
        var keys: [Float16] = [], values: [Float16] = []
        for p in heads[h].pages {
            keys.append(contentsOf: p.keys(dim: model.headDim).decode())
            values.append(contentsOf: p.values(dim: model.headDim).decode())
        }
        return (keys, values)
    }
}
