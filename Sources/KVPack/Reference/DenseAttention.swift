import CKVPackHalf
import Dispatch

/// The output of an attention call.
public struct AttentionResult: Sendable {
    /// Attention outputs `[qHeads, queries, headDim]`, fp32.
    public var output: HeadTensor<Float>
    /// Softmax probabilities `[qHeads, queries, tokens]` (row-major), when requested; masked
    /// keys have probability exactly 0.
    public var probabilities: [Float]?
    /// Number of keys each probability row spans.
    public var tokens: Int

    /// The probability row of query head `head`, query `query`.
    public func probabilityRow(head: Int, query: Int) -> ArraySlice<Float>? {
        guard let p = probabilities else { return nil }
        let start = (head * output.tokens + query) * tokens
        return p[start..<start + tokens]
    }
}

/// The CPU dense reference: decode attention of query heads over `[kvHeads, tokens, headDim]`
/// keys and values with grouped-query attention, fp32 accumulation and a numerically stable
/// softmax. It is the ground truth every kernel and policy is checked against.
///
/// Each KV head's rows are read once for all query heads of its group (and all query tokens),
/// in blocks that stay in L1; work is spread over cores by KV head and query chunk. Row dot
/// products and weighted sums run on F16C/AVX2/FMA where the CPU has them.
public enum DenseAttention {
    /// Rows per block handed to the row kernels: 64 rows of head dim 128 in f16 are 16 KiB.
    static let blockRows = 64
    /// Query vectors (query heads of a group x query tokens) per work item.
    static let queriesPerItem = 16

    /// softmax(q kᵀ · scale) v for every query head and query token.
    ///
    /// - Parameters:
    ///   - queries: `[qHeads, queries, headDim]`; `qHeads` a multiple of `kvHeads`.
    ///   - keys: `[kvHeads, tokens, headDim]`.
    ///   - values: `[kvHeads, tokens, headDim]`.
    ///   - mask: which keys each query token sees; nil means every key.
    ///   - scale: logit scale, default `1 / sqrt(headDim)`.
    ///   - keepProbabilities: also return the softmax rows `[qHeads, queries, tokens]`.
    /// - Throws: `AttentionError` for mismatched shapes or a query that sees no key.
    public static func attend(
        queries: HeadTensor<Float>, keys: HeadTensor<Float16>, values: HeadTensor<Float16>,
        mask: AttentionMask? = nil, scale: Float? = nil, keepProbabilities: Bool = false
    ) throws(AttentionError) -> AttentionResult {
        let d = keys.headDim, tokens = keys.tokens, kvHeads = keys.heads
        guard queries.headDim == d else { throw .headDimMismatch(queries: queries.headDim, keys: d) }
        guard kvHeads > 0, queries.heads % kvHeads == 0, queries.heads > 0 else {
            throw .headsNotGrouped(queryHeads: queries.heads, kvHeads: kvHeads)
        }
        guard keys.shape == values.shape else { throw .keysValuesMismatch(keys: keys.shape, values: values.shape) }
        guard tokens > 0 else { throw .noKeys }
        let n = queries.tokens
        if n == 0 {
            return AttentionResult(output: try! HeadTensor(zeros: queries.heads, 0, d), probabilities: keepProbabilities ? [] : nil,
                                   tokens: tokens)
        }
        var ranges = [Range<Int>](repeating: 0..<tokens, count: n)
        if let mask {
            guard mask.keyPositions.count == tokens, mask.queryPositions.count == n else {
                throw .maskMismatch(expectedKeys: tokens, expectedQueries: n,
                                    maskKeys: mask.keyPositions.count, maskQueries: mask.queryPositions.count)
            }
            for i in 0..<n {
                ranges[i] = mask.visibleKeys(query: i)
                if ranges[i].isEmpty { throw .noVisibleKeys(query: i, position: mask.queryPositions[i]) }
            }
        }
        let group = queries.heads / kvHeads
        let scale = scale ?? 1 / Float(d).squareRoot()
        let vectorsPerHead = group * n
        let perItem = min(queriesPerItem, vectorsPerHead)
        let chunksPerHead = (vectorsPerHead + perItem - 1) / perItem

        var output = [Float](repeating: 0, count: queries.heads * n * d)
        var probs = keepProbabilities ? [Float](repeating: 0, count: queries.heads * n * tokens) : []
        let visible = ranges
        queries.withUnsafeBufferPointer { q in
        keys.withUnsafeBufferPointer { k in
        values.withUnsafeBufferPointer { v in
        output.withUnsafeMutableBufferPointer { out in
        probs.withUnsafeMutableBufferPointer { pr in
            let qs = _SharedReads(base: q.baseAddress!)
            let ks = _SharedReads(base: UnsafeRawPointer(k.baseAddress!).assumingMemoryBound(to: UInt16.self))
            let vs = _SharedReads(base: UnsafeRawPointer(v.baseAddress!).assumingMemoryBound(to: UInt16.self))
            let os = _DisjointWrites(base: out.baseAddress!)
            let ps = keepProbabilities ? pr.baseAddress.map { _DisjointWrites(base: $0) } : nil
            DispatchQueue.concurrentPerform(iterations: kvHeads * chunksPerHead) { item in
                let head = item / chunksPerHead
                let first = (item % chunksPerHead) * perItem
                let count = min(perItem, vectorsPerHead - first)
                attendChunk(head: head, vectors: first..<first + count, group: group, n: n, d: d,
                            tokens: tokens, scale: scale, ranges: visible,
                            q: qs.base, k: ks.base, v: vs.base, out: os.base, probs: ps?.base)
            }
        }}}}}
        return AttentionResult(
            output: try! HeadTensor(heads: queries.heads, tokens: n, headDim: d, storage: output),
            probabilities: keepProbabilities ? probs : nil, tokens: tokens)
    }

    /// One KV head, a chunk of its query vectors (vector `j` is query head `head*group + j/n`,
    /// query token `j % n`).
    private static func attendChunk(
        head: Int, vectors: Range<Int>, group: Int, n: Int, d: Int, tokens: Int, scale: Float,
        ranges: [Range<Int>], q: UnsafePointer<Float>, k: UnsafePointer<UInt16>, v: UnsafePointer<UInt16>,
        out: UnsafeMutablePointer<Float>, probs: UnsafeMutablePointer<Float>?
    ) {
        let m = vectors.count
        let qbuf = UnsafeMutablePointer<Float>.allocate(capacity: m * d)
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: m * tokens)
        let acc = UnsafeMutablePointer<Float>.allocate(capacity: m * d)
        defer { qbuf.deallocate(); scores.deallocate(); acc.deallocate() }
        acc.initialize(repeating: 0, count: m * d)

        // Gather this chunk's query rows: global query row = (head*group + j/n) * n + j%n.
        var lo = tokens, hi = 0
        for (slot, j) in vectors.enumerated() {
            let row = (head * group + j / n) * n + j % n
            (qbuf + slot * d).update(from: q + row * d, count: d)
            lo = min(lo, ranges[j % n].lowerBound)
            hi = max(hi, ranges[j % n].upperBound)
        }
        let kHead = k + head * tokens * d, vHead = v + head * tokens * d

        // Pass 1: scores over the keys any vector of the chunk sees.
        var b = lo
        while b < hi {
            let rows = min(blockRows, hi - b)
            kvp_half_rows_dot(kHead + b * d, rows, d, qbuf, m, scale, scores + b, tokens)
            b += rows
        }
        // Softmax per vector over its visible range; zero elsewhere.
        maskedSoftmax(scores: scores, tokens: tokens, vectors: vectors, ranges: ranges, n: n)
        // Pass 2: weighted sum of the value rows.
        b = lo
        while b < hi {
            let rows = min(blockRows, hi - b)
            kvp_half_rows_accumulate(vHead + b * d, rows, d, scores + b, m, tokens, acc)
            b += rows
        }
        for (slot, j) in vectors.enumerated() {
            let row = (head * group + j / n) * n + j % n
            (out + row * d).update(from: acc + slot * d, count: d)
            if let probs { (probs + row * tokens).update(from: scores + slot * tokens, count: tokens) }
        }
    }
}
