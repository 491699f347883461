import KVPack

/// Per-token L2 norms of rows of a `[heads, tokens, headDim]` f16 tensor, converted to fp32 in
/// blocks by the vectorized half kernels (a Float(Float16) per element is slow without F16C).
enum TokenNorms {
    static let blockRows = 256

    /// ‖row‖₂ of `tokens` (indices on the token axis) of `head`.
    static func l2(_ t: HeadTensor<Float16>, head: Int, tokens: [Int]) -> [Float] {
        let d = t.headDim
        var out = [Float](repeating: 0, count: tokens.count)
        var start = 0
        while start < tokens.count {
            let n = min(blockRows, tokens.count - start)
            let x = HalfConversion.floats(t.gatheringRows(head: head, tokens: Array(tokens[start..<start + n])))
            x.withUnsafeBufferPointer { x in
                for i in 0..<n {
                    var sum: Float = 0
                    for c in 0..<d { sum += x[i * d + c] * x[i * d + c] }
                    out[start + i] = sum.squareRoot()
                }
            }
            start += n
        }
        return out
    }
}
