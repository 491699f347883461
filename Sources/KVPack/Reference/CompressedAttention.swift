import CKVPackHalf
import Dispatch

/// CPU decode attention straight from compressed pages, without expanding the cache: q·k per
/// page in its encoding (bitmap pages touch only their nonzeros; int8 pages in token-axis groups
/// are read from their codes, q·k as integer products with the query rounded to int16 once per
/// head (`PreparedInt8Queries`), values in fp32; other quantized pages are dequantized to f16 in an L1-sized
/// scratch by vectorized C and then read by the f16 kernels), one softmax across all pages of the head, and the
/// weighted sum of values. Grouped-query attention: each page is read once for every query head
/// of its group and every query token.
public enum CompressedAttention {
    /// Query vectors per work item (query heads of a group x query tokens).
    static let queriesPerItem = 16

    /// softmax(q kᵀ · scale) v over the kept tokens of each KV head.
    ///
    /// - Parameters:
    ///   - queries: `[qHeads, queries, headDim]`, `qHeads = heads.count × group`.
    ///   - heads: one `HeadPages` per KV head (ragged token counts allowed).
    ///   - queryPositions: positions of the query tokens, `[queries]`, for causal (and
    ///     sliding-window) masking by the pages' positions; nil means every kept key is visible.
    ///   - window: sliding-window size, with `queryPositions`.
    ///   - scale: logit scale, default `1 / sqrt(headDim)`.
    /// - Returns: `[qHeads, queries, headDim]`, fp32.
    /// - Throws: `AttentionError` for mismatched shapes or a query that sees no kept key.
    public static func attend(queries: HeadTensor<Float>, heads: [HeadPages], queryPositions: [Int]? = nil,
                              window: Int? = nil, scale: Float? = nil) throws(AttentionError) -> HeadTensor<Float> {
        for head in heads {
            if let dim = head.pages.first?.keys.dim, dim != queries.headDim { throw .headDimMismatch(queries: queries.headDim, keys: dim) }
        }
        return try attend(queries: queries, sources: heads, keyPositions: { heads[$0].positions },
                          queryPositions: queryPositions, window: window, scale: scale)
    }

    /// The same over any page source (`HeadPages`, a live session's heads); `keyPositions(h)` gives
    /// head `h`'s kept positions, in order.
    static func attend<Source: PageRowsSource>(
        queries: HeadTensor<Float>, sources heads: [Source], keyPositions: (Int) -> [Int], queryPositions: [Int]?,
        window: Int?, scale: Float?
    ) throws(AttentionError) -> HeadTensor<Float> {
        let d = queries.headDim, n = queries.tokens
        guard !heads.isEmpty, queries.heads % heads.count == 0, queries.heads > 0 else {
            throw .headsNotGrouped(queryHeads: queries.heads, kvHeads: heads.count)
        }
        for head in heads { guard head.tokenCount > 0 else { throw .noKeys } }
        if n == 0 { return try! HeadTensor(zeros: queries.heads, 0, d) } // a valid tensor's dimensions
        if let qp = queryPositions, qp.count != n {
            throw .maskMismatch(expectedKeys: 0, expectedQueries: n, maskKeys: 0, maskQueries: qp.count)
        }
        // Visible key range of every (head, query token).
        var ranges: [[Range<Int>]] = []
        for h in heads.indices {
            let head = heads[h]
            if let qp = queryPositions {
                let mask = try AttentionMask(keyPositions: keyPositions(h), queryPositions: qp, window: window)
                var r: [Range<Int>] = []
                for i in 0..<n {
                    let v = mask.visibleKeys(query: i)
                    if v.isEmpty { throw .noVisibleKeys(query: i, position: qp[i]) }
                    r.append(v)
                }
                ranges.append(r)
            } else {
                ranges.append(Array(repeating: 0..<head.tokenCount, count: n))
            }
        }
        let group = queries.heads / heads.count
        let scale = scale ?? 1 / Float(d).squareRoot()
        let vectorsPerHead = group * n
        let perItem = min(queriesPerItem, vectorsPerHead)
        let chunks = (vectorsPerHead + perItem - 1) / perItem
        var output = [Float](repeating: 0, count: queries.heads * n * d)
        let visible = ranges
        queries.withUnsafeBufferPointer { q in
            output.withUnsafeMutableBufferPointer { out in
                let qs = _SharedReads(base: q.baseAddress!), os = _DisjointWrites(base: out.baseAddress!)
                DispatchQueue.concurrentPerform(iterations: heads.count * chunks) { item in
                    let h = item / chunks
                    let first = (item % chunks) * perItem
                    attendChunk(heads[h], kvHead: h, vectors: first..<min(vectorsPerHead, first + perItem), group: group,
                                n: n, d: d, scale: scale, ranges: visible[h], q: qs.base, out: os.base)
                }
            }
        }
        return try! HeadTensor(heads: queries.heads, tokens: n, headDim: d, storage: output)
    }

    private static func attendChunk<Source: PageRowsSource>(_ head: Source, kvHead: Int, vectors: Range<Int>, group: Int, n: Int, d: Int,
                                    scale: Float, ranges: [Range<Int>], q: UnsafePointer<Float>,
                                    out: UnsafeMutablePointer<Float>) {
        let m = vectors.count, tokens = head.tokenCount
        let qbuf = UnsafeMutablePointer<Float>.allocate(capacity: m * d)
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: m * tokens)
        let acc = UnsafeMutablePointer<Float>.allocate(capacity: m * d)
        let scratch = UnsafeMutableBufferPointer<Float16>.allocate(capacity: head.maxPageTokens * d)
        defer { qbuf.deallocate(); scores.deallocate(); acc.deallocate(); scratch.deallocate() }
        acc.initialize(repeating: 0, count: m * d)
        for (slot, j) in vectors.enumerated() {
            let row = (kvHead * group + j / n) * n + j % n
            (qbuf + slot * d).update(from: q + row * d, count: d)
        }
        // Pass 1: scores, page by page, in each page's encoding.
        var offset = 0
        var prepared = PreparedInt8Queries(queries: qbuf, count: m, dim: d)
        defer { prepared.release() }
        head.forEachPage(prefetch: .keys) { keys, _ in
            rowsDot(keys, scratch: scratch, queries: qbuf, prepared: &prepared, nq: m, scale: scale, out: scores + offset, stride: tokens)
            offset += keys.rows
        }
        maskedSoftmax(scores: scores, tokens: tokens, vectors: vectors, ranges: ranges, n: n)
        // Pass 2: weighted values.
        offset = 0
        head.forEachPage(prefetch: .values) { _, values in
            rowsAccumulate(values, scratch: scratch, weights: scores + offset, stride: tokens, nq: m, acc: acc)
            offset += values.rows
        }
        for (slot, j) in vectors.enumerated() {
            let row = (kvHead * group + j / n) * n + j % n
            (out + row * d).update(from: acc + slot * d, count: d)
        }
    }

    private static func rowsDot(_ rows: RowsView, scratch: UnsafeMutableBufferPointer<Float16>, queries: UnsafePointer<Float>,
                                prepared: inout PreparedInt8Queries, nq: Int, scale: Float, out: UnsafeMutablePointer<Float>, stride: Int) {
        switch rows.encoding {
        case .f16:
            kvp_half_rows_dot(rows.base.assumingMemoryBound(to: UInt16.self), rows.rows, rows.dim, queries, nq, scale, out, stride)
        case .int8(let g) where g.axis == .token && kvp_int8_rows_supported(rows.dim, g.groupSize) != 0:
            // Integer products where the prepared queries take the groups, else fp32.
            let codes = rows.base.assumingMemoryBound(to: UInt8.self)
            if let q16 = prepared.prepare(groupSize: g.groupSize) {
                kvp_int8_rows_dot_prepared(codes, rows.rows, rows.dim, g.groupSize, q16, nq, scale, out, stride)
            } else {
                kvp_int8_rows_dot(codes, rows.rows, rows.dim, g.groupSize, queries, nq, scale, out, stride)
            }
        case .int8, .int4:
            // Dequantize the page (at most a page of rows, in L1) to f16, then the f16 kernels.
            rows.dequantize(into: scratch)
            kvp_half_rows_dot(UnsafeRawPointer(scratch.baseAddress!).assumingMemoryBound(to: UInt16.self), rows.rows, rows.dim,
                              queries, nq, scale, out, stride)
        case .bitmap:
            let b = rows.bitmap
            kvp_bitmap_rows_dot(b.masks, b.offsets, b.values, rows.rows, rows.dim, queries, nq, scale, out, stride)
        }
    }

    private static func rowsAccumulate(_ rows: RowsView, scratch: UnsafeMutableBufferPointer<Float16>, weights: UnsafePointer<Float>,
                                       stride: Int, nq: Int, acc: UnsafeMutablePointer<Float>) {
        switch rows.encoding {
        case .f16:
            kvp_half_rows_accumulate(rows.base.assumingMemoryBound(to: UInt16.self), rows.rows, rows.dim, weights, nq, stride, acc)
        case .int8(let g) where g.axis == .token && kvp_int8_rows_supported(rows.dim, g.groupSize) != 0:
            kvp_int8_rows_accumulate(rows.base.assumingMemoryBound(to: UInt8.self), rows.rows, rows.dim, g.groupSize, weights, nq, stride, acc)
        case .int8, .int4:
            rows.dequantize(into: scratch)
            kvp_half_rows_accumulate(UnsafeRawPointer(scratch.baseAddress!).assumingMemoryBound(to: UInt16.self), rows.rows, rows.dim,
                                     weights, nq, stride, acc)
        case .bitmap:
            let b = rows.bitmap
            kvp_bitmap_rows_accumulate(b.masks, b.offsets, b.values, rows.rows, rows.dim, weights, nq, stride, acc)
        }
    }
}
