import KVPack

/// The forward pass's two layouts: activations as token rows `[tokens, heads × headDim]` (what
/// the matrix products read and write), per-head tensors `[heads, tokens, headDim]` (what the
/// session takes and returns).
extension HeadTensor where Scalar == Float {
    /// `[heads, tokens, headDim]` gathered from token rows `stride` floats apart: head `h` of
    /// token `t` starts at `t × stride + offset + h × headDim` in `rows`.
    init(gathering rows: [Float], tokens: Int, stride: Int, offset: Int, heads: Int, headDim: Int) {
        let out = [Float](unsafeUninitializedCapacity: heads * tokens * headDim) { o, count in
            rows.withUnsafeBufferPointer { r in
                for h in 0..<heads {
                    for t in 0..<tokens {
                        (o.baseAddress! + (h * tokens + t) * headDim)
                            .initialize(from: r.baseAddress! + t * stride + offset + h * headDim, count: headDim)
                    }
                }
            }
            count = heads * tokens * headDim
        }
        // The count is heads × tokens × headDim by construction.
        try! self.init(heads: heads, tokens: tokens, headDim: headDim, storage: out)
    }

    /// Writes the tensor as token rows `[tokens, heads × headDim]` into `rows` from row
    /// `firstRow` on (`rows` holds at least `firstRow + tokens` such rows).
    func writeTokenRows(into rows: inout [Float], firstRow: Int = 0) {
        let heads = heads, tokens = tokens, hd = headDim
        withUnsafeBufferPointer { src in
            rows.withUnsafeMutableBufferPointer { dst in
                for h in 0..<heads {
                    for t in 0..<tokens {
                        (dst.baseAddress! + (firstRow + t) * heads * hd + h * hd).update(from: src.baseAddress! + (h * tokens + t) * hd, count: hd)
                    }
                }
            }
        }
    }
}
