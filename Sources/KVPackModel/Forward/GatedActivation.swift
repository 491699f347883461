import Foundation

/// The gated MLP's nonlinearity: `act(gate) · up`, elementwise, fp32.
enum GatedActivation: Sendable {
    /// `x · sigmoid(x)` (Llama).
    case silu
    /// GELU, tanh approximation (Gemma): `0.5 x (1 + tanh(sqrt(2/π) (x + 0.044715 x³)))`.
    case geluTanh

    /// `out[r, i] = act(gateUp[r, i]) · gateUp[r, width + i]` for `rows` rows; `gateUp` rows are
    /// `2 × width` floats (gate then up), `out` rows `width`.
    func apply(gateUp: UnsafePointer<Float>, rows: Int, width: Int, into out: UnsafeMutablePointer<Float>) {
        let c = Float((2 / Double.pi).squareRoot())
        for r in 0..<rows {
            let gate = gateUp + r * 2 * width, up = gate + width, o = out + r * width
            switch self {
            case .silu:
                for i in 0..<width { let x = gate[i]; o[i] = x / (1 + expf(-x)) * up[i] }
            case .geluTanh:
                for i in 0..<width {
                    let x = gate[i]
                    o[i] = 0.5 * x * (1 + tanhf(c * (x + 0.044715 * x * x * x))) * up[i]
                }
            }
        }
    }
}
