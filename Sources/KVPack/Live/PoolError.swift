/// A page pool that cannot serve a request.
public enum PoolError: Error, Equatable, CustomStringConvertible {
    /// The pages asked for do not fit in the pool's byte budget now.
    case exhausted(requestedBytes: Int, inUseBytes: Int, budgetBytes: Int)
    /// A request that could never fit, even in an empty pool.
    case neverFits(requestedBytes: Int, budgetBytes: Int)
    /// A configuration value out of range.
    case invalidConfiguration(String)
    /// Waiting for room was cancelled (the waiting task was cancelled).
    case cancelled
    /// The bank the request's pages belong in has no room for another chunk of slots.
    case bankFull(bank: Int, placedBytes: Int, chunkBytes: Int, bankBytes: Int)

    public var description: String {
        switch self {
        case .exhausted(let req, let used, let budget):
            return "page pool exhausted: \(req) bytes of pages requested, \(used) of \(budget) bytes in use; "
                + "close or shrink sessions, raise the pool's budget, or use admission .wait"
        case .neverFits(let req, let budget):
            return "\(req) bytes of pages can never fit in a pool of \(budget) bytes; raise the budget or compress harder"
        case .invalidConfiguration(let why):
            return "invalid page pool configuration: \(why)"
        case .cancelled:
            return "waiting for room in the page pool was cancelled"
        case .bankFull(let bank, let placed, let chunk, let limit):
            return "bank \(bank) of the page pool holds \(placed) of \(limit) bytes of slot chunks and has no room for another (\(chunk) bytes); "
                + "raise the pool's banks or bankBytes, or use fewer slots per chunk"
        }
    }
}
