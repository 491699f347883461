import CKVPackHalf

extension HeadTensor where Scalar == Float16 {
    /// ‖row‖₂ of the rows `tokens` (indices on the token axis) of `head`, fp32: each row converted
    /// by the vectorized half kernels into one reused buffer, its squares summed in 16 lanes.
    /// - Throws: `TensorShapeError.indexOutOfRange` for a head or token outside the tensor.
    public func rowNorms(head: Int, tokens rows: [Int]) throws(TensorShapeError) -> [Float] {
        try checkRows(head: head, tokens: rows)
        let d = headDim, rowCount = tokens
        return [Float](unsafeUninitializedCapacity: rows.count) { out, initialized in
            let row = UnsafeMutablePointer<Float>.allocate(capacity: d + 16)
            defer { row.deallocate() }
            storage.withUnsafeBufferPointer { s in
                s.withMemoryRebound(to: UInt16.self) { bits in
                    for (i, t) in rows.enumerated() {
                        kvp_half_to_float(bits.baseAddress! + (head * rowCount + t) * d, row, d)
                        var lanes = SIMD16<Float>.zero
                        var c = 0
                        while c + 16 <= d {
                            let v = UnsafeRawPointer(row + c).loadUnaligned(as: SIMD16<Float>.self)
                            lanes += v * v // not addProduct: without FMA in the baseline target it becomes 16 fmaf calls
                            c += 16
                        }
                        var sum = lanes.sum()
                        while c < d { sum += row[c] * row[c]; c += 1 }
                        out[i] = sum.squareRoot()
                    }
                }
            }
            initialized = rows.count
        }
    }
}
