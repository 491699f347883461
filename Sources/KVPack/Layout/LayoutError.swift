/// A compressed layout request that cannot be honoured.
public enum LayoutError: Error, Equatable, CustomStringConvertible {
    case invalidGroupSize(Int, headDim: Int, axis: QuantizationGrouping.Axis)
    case invalidSparsity(Double)
    case invalidPageSize(Int)
    case pageTooLarge(tokens: Int, pageSize: Int)
    case shapeMismatch(expected: [Int], found: [Int])
    case positionsNotIncreasing(index: Int)
    case emptyHead(sequence: Int, layer: Int, head: Int)
    case nonFinite(row: Int, dim: Int)
    case payloadMismatch(String)

    public var description: String {
        switch self {
        case .invalidGroupSize(let g, let d, let axis):
            return axis == .token
                ? "quantization group size \(g) must be positive and divide the head dim \(d)"
                : "quantization group size \(g) (tokens per channel group) must be positive"
        case .invalidSparsity(let s):
            return "sparsity must be in [0, 1); got \(s)"
        case .invalidPageSize(let p):
            return "page size must be in 1...65535; got \(p)"
        case .pageTooLarge(let tokens, let pageSize):
            return "a page holds at most \(pageSize) tokens; got \(tokens)"
        case .shapeMismatch(let expected, let found):
            return "expected rows of shape \(expected), found \(found)"
        case .positionsNotIncreasing(let i):
            return "token positions must be non-negative and strictly increasing within a head (index \(i))"
        case .emptyHead(let s, let l, let h):
            return "sequence \(s) layer \(l) KV head \(h) keeps no tokens; a head must keep at least one (policies that evict everything must keep a sink)"
        case .nonFinite(let row, let dim):
            return "NaN or infinity at row \(row), dim \(dim): cannot encode"
        case .payloadMismatch(let why):
            return "encoded rows are inconsistent: \(why)"
        }
    }
}
