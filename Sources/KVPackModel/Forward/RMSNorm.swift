/// Root-mean-square normalization of rows: `x / sqrt(mean(x²) + ε) · w`, fp32 (the sum of
/// squares in Double). The weights are used as the GGUF stores them: llama.cpp's converter already
/// folded Gemma's `1 + w` into the stored vector.
struct RMSNorm: Sendable {
    /// `[width]`.
    let weight: [Float]
    let epsilon: Float

    var width: Int { weight.count }

    /// Normalizes `rows` rows of `width` floats from `x` into `y` (which may be `x`); rows are
    /// split over the cores.
    func apply(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>) {
        let n = width, epsilon = epsilon
        weight.withUnsafeBufferPointer { w in
            let rowsIO = RowPointers(input: x, output: y), weights = RowPointers(input: w.baseAddress!, output: y)
            RowPointers.forEachRowRange(rows: rows, width: n) { range in
                let w = weights.input
                for r in range {
                    let src = rowsIO.input + r * n, dst = rowsIO.output + r * n
                    var sum: Double = 0
                    for i in 0..<n { let v = Double(src[i]); sum += v * v }
                    let inv = 1 / (Float(sum / Double(n)) + epsilon).squareRoot()
                    for i in 0..<n { dst[i] = src[i] * inv * w[i] }
                }
            }
        }
    }
}
