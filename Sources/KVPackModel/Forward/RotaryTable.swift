import Foundation

/// Cosines and sines of rotary position embedding for a list of positions, in the "rotate half"
/// pairing (element `i` with `i + headDim/2`, angle `position · base^(-2i/headDim)`): the angles
/// in Double, then rounded to Float, as the capture tool computes them.
struct RotaryTable: Sendable {
    let headDim: Int
    /// `[positions, headDim/2]` each.
    let cosines: [Float]
    let sines: [Float]

    /// - Parameter positions: one per token row the table rotates (a run of a prompt, or the
    ///   rows of a batched decode step, each at its own sequence's position).
    init(headDim: Int, base: Double, positions: some Collection<Int>) {
        self.headDim = headDim
        let half = headDim / 2
        let inverse = (0..<half).map { pow(base, -Double(2 * $0) / Double(headDim)) }
        var c = [Float](repeating: 0, count: positions.count * half), s = c
        for (t, p) in positions.enumerated() {
            for i in 0..<half {
                let angle = Double(p) * inverse[i]
                c[t * half + i] = Float(cos(angle))
                s[t * half + i] = Float(sin(angle))
            }
        }
        cosines = c
        sines = s
    }

    /// Rotates `heads` head rows of every token in place. Token `t`'s rows start at
    /// `x + t · tokenStride`, head rows `headDim` apart; `t` indexes this table's positions.
    func apply(_ x: UnsafeMutablePointer<Float>, tokens: Int, heads: Int, tokenStride: Int) {
        let half = headDim / 2
        cosines.withUnsafeBufferPointer { cs in
            sines.withUnsafeBufferPointer { ss in
                for t in 0..<tokens {
                    let c = cs.baseAddress! + t * half, s = ss.baseAddress! + t * half
                    for h in 0..<heads {
                        let row = x + t * tokenStride + h * headDim
                        for i in 0..<half {
                            let a = row[i], b = row[i + half]
                            row[i] = a * c[i] - b * s[i]
                            row[i + half] = b * c[i] + a * s[i]
                        }
                    }
                }
            }
        }
    }
}
