/// A dense tensor laid out `[heads, tokens, headDim]`, row-major: the shape every per-head
/// quantity in KVPack has (keys and values `[kvHeads, tokens, headDim]`, queries
/// `[qHeads, window, headDim]`, attention outputs `[qHeads, queries, headDim]`).
///
/// Captured tensors use `Float16` storage; computed results use `Float`.
public struct HeadTensor<Scalar: BinaryFloatingPoint & Sendable>: Sendable {
    /// Number of heads (first axis).
    public let heads: Int
    /// Number of token rows per head (second axis).
    public let tokens: Int
    /// Elements per row (third axis).
    public let headDim: Int
    /// The elements, `heads * tokens * headDim` of them, head-major.
    public var storage: [Scalar] { _storage }
    @usableFromInline var _storage: [Scalar]

    /// Wraps `storage` as `[heads, tokens, headDim]`.
    /// - Throws: `TensorShapeError` when a dimension is negative, `headDim` is zero, or the
    ///   element count does not match.
    public init(heads: Int, tokens: Int, headDim: Int, storage: [Scalar]) throws(TensorShapeError) {
        guard heads >= 0, tokens >= 0, headDim > 0 else {
            throw .invalidDimensions([heads, tokens, headDim])
        }
        let (count, overflow) = heads.multipliedReportingOverflow(by: tokens * headDim)
        guard !overflow, count == storage.count else {
            throw .countMismatch(shape: [heads, tokens, headDim], count: storage.count)
        }
        self.heads = heads
        self.tokens = tokens
        self.headDim = headDim
        self._storage = storage
    }

    /// A zero-filled tensor `[heads, tokens, headDim]`.
    /// - Throws: `TensorShapeError.invalidDimensions` unless heads >= 0, tokens >= 0, headDim > 0.
    public init(zeros heads: Int, _ tokens: Int, _ headDim: Int) throws(TensorShapeError) {
        guard heads >= 0, tokens >= 0, headDim > 0 else { throw .invalidDimensions([heads, tokens, headDim]) }
        self.heads = heads
        self.tokens = tokens
        self.headDim = headDim
        self._storage = Array(repeating: 0, count: heads * tokens * headDim)
    }

    /// The shape as `[heads, tokens, headDim]`.
    public var shape: [Int] { [heads, tokens, headDim] }

    /// Element `[head, token, dim]`.
    @inlinable
    public subscript(head: Int, token: Int, dim: Int) -> Scalar {
        get { _storage[(head * tokens + token) * headDim + dim] }
        set { _storage[(head * tokens + token) * headDim + dim] = newValue }
    }

    /// Index of the first element of row `[head, token]` in `storage`.
    @inlinable
    public func rowOffset(head: Int, token: Int) -> Int { (head * tokens + token) * headDim }

    /// Calls `body` with the contiguous storage.
    @inlinable
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Scalar>) throws -> R) rethrows -> R {
        try storage.withUnsafeBufferPointer(body)
    }

    /// Calls `body` with the contiguous, mutable storage.
    @inlinable
    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (inout UnsafeMutableBufferPointer<Scalar>) throws -> R
    ) rethrows -> R {
        try _storage.withUnsafeMutableBufferPointer(body)
    }

    /// Throws unless `head` and every index in `rows` are inside the tensor.
    func checkRows(head: Int, tokens rows: [Int]) throws(TensorShapeError) {
        guard (0..<heads).contains(head) else { throw .indexOutOfRange(axis: "head", index: head, count: heads) }
        if let bad = rows.first(where: { !(0..<tokens).contains($0) }) {
            throw .indexOutOfRange(axis: "token", index: bad, count: tokens)
        }
    }

    /// Copies `runs` of (source element offset, element count) from `sources[i]` into a new array,
    /// by raw memory copies (the scalars are trivial types; a generic element-wise copy is slow
    /// across modules).
    private static func gather(_ total: Int, _ runs: [(source: [Scalar], offset: Int, count: Int)]) -> [Scalar] {
        [Scalar](unsafeUninitializedCapacity: total) { out, initialized in
            var at = 0
            for run in runs where run.count > 0 {
                run.source.withUnsafeBufferPointer { src in
                    UnsafeMutableRawPointer(out.baseAddress! + at).copyMemory(
                        from: UnsafeRawPointer(src.baseAddress! + run.offset), byteCount: run.count * MemoryLayout<Scalar>.stride)
                }
                at += run.count
            }
            initialized = at
        }
    }

    /// Rows `tokenRange` of every head, as a new tensor `[heads, tokenRange.count, headDim]`.
    /// - Throws: `TensorShapeError.rangeOutOfBounds` for a range outside `0..<tokens`.
    public func slicingTokens(_ tokenRange: Range<Int>) throws(TensorShapeError) -> HeadTensor {
        guard tokenRange.lowerBound >= 0, tokenRange.upperBound <= tokens else {
            throw .rangeOutOfBounds(axis: "token", range: tokenRange, count: tokens)
        }
        let runs = (0..<heads).map { h in (source: _storage, offset: rowOffset(head: h, token: tokenRange.lowerBound), count: tokenRange.count * headDim) }
        return try! HeadTensor(heads: heads, tokens: tokenRange.count, headDim: headDim,
                               storage: Self.gather(heads * tokenRange.count * headDim, runs))
    }

    /// The rows of `tokens` (indices on the token axis, any order) of head `head`, concatenated:
    /// `[tokens.count × headDim]`.
    /// - Throws: `TensorShapeError.indexOutOfRange` for a head or token outside the tensor.
    public func gatheringRows(head: Int, tokens rows: [Int]) throws(TensorShapeError) -> [Scalar] {
        try checkRows(head: head, tokens: rows)
        let runs = rows.map { t in (source: _storage, offset: rowOffset(head: head, token: t), count: headDim) }
        return Self.gather(rows.count * headDim, runs)
    }

    /// Heads `headRange`, as a new tensor `[headRange.count, tokens, headDim]`.
    /// - Throws: `TensorShapeError.rangeOutOfBounds` for a range outside `0..<heads`.
    public func slicingHeads(_ headRange: Range<Int>) throws(TensorShapeError) -> HeadTensor {
        guard headRange.lowerBound >= 0, headRange.upperBound <= heads else {
            throw .rangeOutOfBounds(axis: "head", range: headRange, count: heads)
        }
        let per = tokens * headDim
        return try! HeadTensor(heads: headRange.count, tokens: tokens, headDim: headDim,
                               storage: Self.gather(headRange.count * per, [(_storage, headRange.lowerBound * per, headRange.count * per)]))
    }

    /// This tensor with `other`'s rows appended after each head's rows:
    /// `[heads, tokens + other.tokens, headDim]`.
    /// - Throws: `TensorShapeError.shapeMismatch` when the heads or head dims differ.
    public func appendingTokens(of other: HeadTensor) throws(TensorShapeError) -> HeadTensor {
        guard other.heads == heads, other.headDim == headDim else {
            throw .shapeMismatch(expected: [heads, other.tokens, headDim], found: other.shape)
        }
        var runs: [(source: [Scalar], offset: Int, count: Int)] = []
        for h in 0..<heads {
            runs.append((_storage, rowOffset(head: h, token: 0), tokens * headDim))
            runs.append((other._storage, other.rowOffset(head: h, token: 0), other.tokens * headDim))
        }
        return try! HeadTensor(heads: heads, tokens: tokens + other.tokens, headDim: headDim,
                               storage: Self.gather(heads * (tokens + other.tokens) * headDim, runs))
    }
}

extension HeadTensor: Equatable {
    /// Bitwise-equal storage is not required: equality is element equality (so `-0 == 0`,
    /// and NaN never equals itself).
    public static func == (lhs: HeadTensor, rhs: HeadTensor) -> Bool {
        lhs.heads == rhs.heads && lhs.tokens == rhs.tokens && lhs.headDim == rhs.headDim
            && lhs.storage == rhs.storage
    }
}

/// A tensor whose shape and element count disagree.
public enum TensorShapeError: Error, Equatable, CustomStringConvertible {
    case invalidDimensions([Int])
    case countMismatch(shape: [Int], count: Int)
    /// A head or token index outside the tensor.
    case indexOutOfRange(axis: String, index: Int, count: Int)
    /// A head or token range outside the tensor.
    case rangeOutOfBounds(axis: String, range: Range<Int>, count: Int)
    /// Two tensors combined whose shapes do not fit.
    case shapeMismatch(expected: [Int], found: [Int])

    public var description: String {
        switch self {
        case .invalidDimensions(let dims):
            return "invalid tensor dimensions \(dims): need heads >= 0, tokens >= 0, headDim > 0"
        case .countMismatch(let shape, let count):
            return "tensor of shape \(shape) needs \(shape.reduce(1, *)) elements, got \(count)"
        case .indexOutOfRange(let axis, let index, let count):
            return "\(axis) \(index) is outside the tensor's \(count) \(axis)s"
        case .rangeOutOfBounds(let axis, let range, let count):
            return "\(axis)s \(range.lowerBound)..<\(range.upperBound) are outside the tensor's \(count) \(axis)s"
        case .shapeMismatch(let expected, let found):
            return "expected a tensor of shape \(expected), got \(found)"
        }
    }
}
