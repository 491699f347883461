extension HeadPages {
    /// The kept tokens decoded to half precision: positions `[tokens]`, keys and values
    /// `[tokens, headDim]` (pruned bitmap elements are 0).
    public func decoded() -> (positions: [Int], keys: [Float16], values: [Float16]) {
        var keys: [Float16] = [], values: [Float16] = []
        for page in pages {
            keys.append(contentsOf: page.keys.decode())
            values.append(contentsOf: page.values.decode())
        }
        return (positions, keys, values)
    }
}
