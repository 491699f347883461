import CKVPackHalf

/// Softmax of each score row over its visible key range, zero elsewhere. Row `slot` holds the
/// scores of query vector `vectors[slot]`, whose query token is `vector % n`; `ranges` gives each
/// query token's visible keys. Shared by the dense and the compressed attention.
func maskedSoftmax(scores: UnsafeMutablePointer<Float>, tokens: Int, vectors: Range<Int>, ranges: [Range<Int>], n: Int) {
    for (slot, j) in vectors.enumerated() {
        let row = scores + slot * tokens
        let r = ranges[j % n]
        if r.lowerBound > 0 { row.update(repeating: 0, count: r.lowerBound) }
        if r.upperBound < tokens { (row + r.upperBound).update(repeating: 0, count: tokens - r.upperBound) }
        kvp_softmax_inplace(row + r.lowerBound, r.count)
    }
}
