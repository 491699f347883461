import Dispatch
import Foundation

/// The gated MLP's nonlinearity: `act(gate) · up`, elementwise, fp32.
enum GatedActivation: Sendable {
    /// `x · sigmoid(x)` (Llama).
    case silu
    /// GELU, tanh approximation (Gemma): `0.5 x (1 + tanh(sqrt(2/π) (x + 0.044715 x³)))`,
    /// computed as the identical `x · sigmoid(2 sqrt(2/π) (x + 0.044715 x³))` (one `exp`, no
    /// `tanh`).
    case geluTanh

    /// `out[r, i] = act(gateUp[r, i]) · gateUp[r, width + i]` for `rows` rows; `gateUp` rows are
    /// `2 × width` floats (gate then up), `out` rows `width`. Rows are split over the cores.
    func apply(gateUp: UnsafePointer<Float>, rows: Int, width: Int, into out: UnsafeMutablePointer<Float>) {
        let input = RowPointers(input: gateUp, output: out)
        RowPointers.forEachRowRange(rows: rows, width: width) { range in
            let c = Float(2 * (2 / Double.pi).squareRoot())
            for r in range {
                let gate = input.input + r * 2 * width, up = gate + width, o = input.output + r * width
                switch self {
                case .silu:
                    for i in 0..<width { let x = gate[i]; o[i] = x / (1 + expf(-x)) * up[i] }
                case .geluTanh:
                    for i in 0..<width {
                        let x = gate[i]
                        o[i] = x / (1 + expf(-c * (x + 0.044715 * x * x * x))) * up[i]
                    }
                }
            }
        }
    }
}

/// The input and output of a row-wise kernel, handed to workers that each take disjoint rows.
struct RowPointers: @unchecked Sendable {
    let input: UnsafePointer<Float>
    let output: UnsafeMutablePointer<Float>

    /// Runs `body` over `0..<rows` in one range per core when the work is large enough to be
    /// worth waking them (`rows × width` ≥ 64K elements), else in one range on this thread.
    static func forEachRowRange(rows: Int, width: Int, _ body: @Sendable (Range<Int>) -> Void) {
        let parts = rows * width >= 1 << 16 ? min(rows, ProcessInfo.processInfo.activeProcessorCount) : 1
        if parts <= 1 { return body(0..<rows) }
        DispatchQueue.concurrentPerform(iterations: parts) { p in body(rows * p / parts..<rows * (p + 1) / parts) }
    }
}
