import Foundation

/// Next-token logits of some token rows, `[rows, vocabularySize]` row-major, fp32.
public struct Logits: Sendable {
    public let rows: Int
    public let vocabularySize: Int
    /// `rows × vocabularySize` floats.
    public let values: [Float]

    init(rows: Int, vocabularySize: Int, values: [Float]) {
        self.rows = rows
        self.vocabularySize = vocabularySize
        self.values = values
    }

    /// The logits of `row`, `[vocabularySize]`.
    public func row(_ row: Int) -> ArraySlice<Float> {
        values[row * vocabularySize..<(row + 1) * vocabularySize]
    }

    /// The most likely token of `row` (the lowest id among equal logits).
    public func argmax(row: Int) -> Int {
        values.withUnsafeBufferPointer { b in
            let x = b.baseAddress! + row * vocabularySize
            var best = 0
            for i in 1..<vocabularySize where x[i] > x[best] { best = i }
            return best
        }
    }

    /// `log Σ exp(logit)` of `row`, accumulated in Double.
    public func logSumExp(row: Int) -> Double {
        values.withUnsafeBufferPointer { b in
            let x = b.baseAddress! + row * vocabularySize
            var m = x[0]
            for i in 1..<vocabularySize where x[i] > m { m = x[i] }
            var sum: Double = 0
            for i in 0..<vocabularySize { sum += Double(expf(x[i] - m)) }
            return Double(m) + log(sum)
        }
    }

    /// `log p(token)` at `row`: the logit minus `logSumExp(row:)`.
    public func logProbability(of token: Int, row: Int) -> Double {
        Double(values[row * vocabularySize + token]) - logSumExp(row: row)
    }

    /// Log-probabilities of `row`, `[vocabularySize]`, in Double.
    public func logProbabilities(row: Int) -> [Double] {
        let lse = logSumExp(row: row)
        return self.row(row).map { Double($0) - lse }
    }
}
