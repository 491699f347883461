/// Where the f16 cooperative-matrix kernel reads a full step's key and value tiles from (16 tokens
/// of a page present): `DecodeOptions.coopmatDirect`, spec constant 8 (`DIRECT_TILES`) of
/// `Kernels/decode_f16_coopmat.comp`. A page's short last step always goes through the stage.
public enum CoopmatDirectTiles: String, Sendable, Hashable, CaseIterable, Codable {
    /// Both through the shared-memory stage, their words loaded a step ahead (the kernel as before).
    case off
    /// Keys by the matrix loads straight from the pool; values through the stage, a step ahead.
    case keys
    /// Keys and values straight from the pool (the step's value tiles issued with its key tiles).
    case on

    /// Spec constant 8 of the kernel: bit 0 keys, bit 1 values.
    var specConstant: UInt32 {
        switch self {
        case .off: 0
        case .keys: 1
        case .on: 3
        }
    }
}
