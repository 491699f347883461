/// Attention inputs that do not fit together.
public enum AttentionError: Error, Equatable, CustomStringConvertible {
    case headDimMismatch(queries: Int, keys: Int)
    case headsNotGrouped(queryHeads: Int, kvHeads: Int)
    case keysValuesMismatch(keys: [Int], values: [Int])
    case noKeys
    case maskMismatch(expectedKeys: Int, expectedQueries: Int, maskKeys: Int, maskQueries: Int)
    case invalidMask(String)
    case noVisibleKeys(query: Int, position: Int)
    case wrongShape(name: String, expected: [Int], found: [Int])
    case headDimTooLarge(Int, limit: Int)

    public var description: String {
        switch self {
        case .headDimMismatch(let q, let k):
            return "queries have head dim \(q) but keys have \(k)"
        case .headsNotGrouped(let q, let kv):
            return "query heads (\(q)) must be a multiple of KV heads (\(kv))"
        case .keysValuesMismatch(let k, let v):
            return "keys \(k) and values \(v) must have the same shape"
        case .noKeys:
            return "attention needs at least one key"
        case .maskMismatch(let ek, let eq, let mk, let mq):
            return "mask covers \(mk) keys x \(mq) queries; inputs have \(ek) keys x \(eq) queries"
        case .invalidMask(let why):
            return "invalid attention mask: \(why)"
        case .noVisibleKeys(let query, let position):
            return "query \(query) at position \(position) sees no key (all keys are later or outside its window)"
        case .wrongShape(let name, let expected, let found):
            return "\(name) must have shape \(expected); got \(found)"
        case .headDimTooLarge(let d, let limit):
            return "head dim \(d) is larger than the \(limit) this computation takes"
        }
    }
}
