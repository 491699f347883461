import Foundation

/// Rotary position embedding in the "rotate half" pairing used by Hugging Face Llama, Gemma and
/// the caches KVPack captures (the synthetic generator's; the model runtime has its own table): element `i` pairs with `i + headDim/2`, rotated by
/// `position * theta^(-2i/headDim)`.
struct RotaryEmbedding: Sendable {
    let headDim: Int
    let theta: Double
    /// Inverse frequencies, `[headDim/2]`, radians per token.
    let inverseFrequencies: [Double]

    /// - Precondition: `headDim` is even and positive, `theta` > 0 (a spec `modelFacts()` accepted).
    init(headDim: Int, theta: Double) {
        precondition(headDim > 0 && headDim % 2 == 0 && theta > 0)
        self.headDim = headDim
        self.theta = theta
        self.inverseFrequencies = (0..<headDim / 2).map { pow(theta, -2 * Double($0) / Double(headDim)) }
    }

    /// Rotates `row` (`headDim` floats) in place for token `position`.
    func apply(to row: UnsafeMutableBufferPointer<Float>, position: Int) {
        precondition(row.count == headDim)
        let half = headDim / 2
        for i in 0..<half {
            let angle = Double(position) * inverseFrequencies[i]
            let c = Float(cos(angle)), s = Float(sin(angle))
            let a = row[i], b = row[i + half]
            row[i] = a * c - b * s
            row[i + half] = b * c + a * s
        }
    }
}
