import CBLAS

/// A dequantized weight matrix, `[outputs, inputs]` row-major (torch's `Linear.weight` layout,
/// GGUF's `ne = [inputs, outputs]`), applied to rows of activations through OpenBLAS.
struct WeightMatrix: Sendable {
    let outputs: Int
    let inputs: Int
    /// `outputs × inputs` floats.
    let values: [Float]

    init(outputs: Int, inputs: Int, values: [Float]) {
        self.outputs = outputs
        self.inputs = inputs
        self.values = values
    }

    /// Rows stacked: `[a.outputs + b.outputs + ..., inputs]` (Q, K, V as one product).
    init(stacking parts: [WeightMatrix]) {
        outputs = parts.reduce(0) { $0 + $1.outputs }
        inputs = parts[0].inputs
        var all: [Float] = []
        all.reserveCapacity(outputs * inputs)
        for p in parts { all.append(contentsOf: p.values) }
        values = all
    }

    /// `y[rows, outputs] = x[rows, inputs] · Wᵀ` (`sgemm`, or `sgemv` for one row); `y` is
    /// overwritten. Rows of `x` are `inputs` apart, rows of `y` `outputs` apart.
    func apply(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        values.withUnsafeBufferPointer { w in
            if rows == 1 {
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(outputs), Int32(inputs), 1, w.baseAddress!, Int32(inputs),
                            x, 1, 0, y, 1)
            } else {
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rows), Int32(outputs), Int32(inputs), 1,
                            x, Int32(inputs), w.baseAddress!, Int32(inputs), 0, y, Int32(outputs))
            }
        }
    }
}
