import KVPack

extension LanguageModel {
    /// Next-token logits of `rows` of `hidden`: `hidden[rows] · outputᵀ` (soft-capped when the
    /// model says so), `[rows.count, vocabularySize]`. Chunk the rows for long runs: one row of
    /// Gemma-3's vocabulary is 1 MiB.
    /// - Throws: `ModelError.invalidPositions` when `rows` is not within `0 ..< hidden.tokens`,
    ///   `.wrongTensorShape` when `hidden` is not this model's width.
    public func logits(_ hidden: HiddenStates, rows: Range<Int>) throws(ModelError) -> Logits {
        let hp = hyperparameters
        guard hidden.width == hp.embeddingLength else {
            throw .wrongTensorShape(name: "hidden states", expected: [hidden.tokens, hp.embeddingLength], found: [hidden.tokens, hidden.width])
        }
        guard rows.lowerBound >= 0, rows.upperBound <= hidden.tokens else {
            throw .invalidPositions("rows \(rows) are outside the \(hidden.tokens) hidden-state rows")
        }
        let v = hp.vocabularySize
        guard !rows.isEmpty else { return Logits(rows: 0, vocabularySize: v, values: []) }
        return Logits(rows: rows.count, vocabularySize: v, values: outputHead(hidden.values, rows: Array(rows)))
    }
}
