/// A capture whose contents contradict each other or the model facts.
public enum CaptureError: Error, Equatable, CustomStringConvertible {
    case nonPositive(field: String, value: Int)
    case headsNotGrouped(queryHeads: Int, kvHeads: Int)
    case invalidSlidingWindow(layer: Int, size: Int)
    case invalidRopeTheta(Double)
    case noSequences
    case layerCountMismatch(expected: Int, found: Int)
    case shapeMismatch(layer: Int, tensor: CaptureTensor, expected: [Int], found: [Int])
    case zeroTokens(layer: Int)
    case nonFinite(layer: Int, tensor: CaptureTensor, head: Int, token: Int, dim: Int)
    case positionCountMismatch(name: String, expected: Int, found: Int)
    case positionsNotIncreasing(name: String, index: Int)
    case probeKeysWithoutValues(layer: Int)
    case invalidContiguousPositions(tokens: Int, window: Int, probes: Int)

    public var description: String {
        switch self {
        case .nonPositive(let field, let value):
            return "\(field) must be positive; got \(value)"
        case .headsNotGrouped(let q, let kv):
            return "query heads (\(q)) must be a multiple of KV heads (\(kv)) for grouped-query attention"
        case .invalidSlidingWindow(let layer, let size):
            return "layer \(layer): sliding window must be positive; got \(size)"
        case .invalidRopeTheta(let theta):
            return "RoPE theta must be a positive finite number; got \(theta)"
        case .noSequences:
            return "a capture needs at least one sequence"
        case .layerCountMismatch(let expected, let found):
            return "model facts list \(expected) layers but the sequence has \(found)"
        case .shapeMismatch(let layer, let tensor, let expected, let found):
            return "layer \(layer) \(tensor): expected shape \(expected), found \(found)"
        case .zeroTokens(let layer):
            return "layer \(layer) has zero cached tokens: a capture needs at least one"
        case .nonFinite(let layer, let tensor, let head, let token, let dim):
            return "layer \(layer) \(tensor): NaN or infinity at [head \(head), token \(token), dim \(dim)]"
        case .positionCountMismatch(let name, let expected, let found):
            return "\(name): expected \(expected) positions, found \(found)"
        case .positionsNotIncreasing(let name, let index):
            return "\(name): positions must be non-negative and strictly increasing (index \(index))"
        case .probeKeysWithoutValues(let layer):
            return "layer \(layer): probe_keys and probe_values come together; only one is present"
        case .invalidContiguousPositions(let tokens, let window, let probes):
            return "contiguous positions need tokens > 0, a window of 0...tokens and probes >= 0; got \(tokens) tokens, window \(window), \(probes) probes"
        }
    }
}
