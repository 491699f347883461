import CKVPackHalf
import Dispatch

/// CPU decode attention straight from compressed pages, without expanding the cache: q·k per
/// page in its encoding (bitmap pages touch only their nonzeros; a quantized page is dequantized
/// to f16 in an L1-sized scratch by vectorized C and then read by the f16 kernels), one softmax across all pages of the head, and the
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
        let d = queries.headDim, n = queries.tokens
        guard !heads.isEmpty, queries.heads % heads.count == 0, queries.heads > 0 else {
            throw .headsNotGrouped(queryHeads: queries.heads, kvHeads: heads.count)
        }
        for head in heads {
            guard head.tokenCount > 0 else { throw .noKeys }
            if let dim = head.pages.first?.keys.dim, dim != d { throw .headDimMismatch(queries: d, keys: dim) }
        }
        if n == 0 { return HeadTensor(zeros: queries.heads, 0, d) }
        if let qp = queryPositions, qp.count != n {
            throw .maskMismatch(expectedKeys: 0, expectedQueries: n, maskKeys: 0, maskQueries: qp.count)
        }
        // Visible key range of every (head, query token).
        var ranges: [[Range<Int>]] = []
        for head in heads {
            if let qp = queryPositions {
                let mask = try AttentionMask(keyPositions: head.positions, queryPositions: qp, window: window)
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

    private static func attendChunk(_ head: HeadPages, kvHead: Int, vectors: Range<Int>, group: Int, n: Int, d: Int,
                                    scale: Float, ranges: [Range<Int>], q: UnsafePointer<Float>,
                                    out: UnsafeMutablePointer<Float>) {
        let m = vectors.count, tokens = head.tokenCount
        let qbuf = UnsafeMutablePointer<Float>.allocate(capacity: m * d)
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: m * tokens)
        let acc = UnsafeMutablePointer<Float>.allocate(capacity: m * d)
        let maxRows = head.pages.map(\.tokenCount).max() ?? 0
        let scratch = UnsafeMutableBufferPointer<Float16>.allocate(capacity: maxRows * d)
        defer { qbuf.deallocate(); scores.deallocate(); acc.deallocate(); scratch.deallocate() }
        acc.initialize(repeating: 0, count: m * d)
        for (slot, j) in vectors.enumerated() {
            let row = (kvHead * group + j / n) * n + j % n
            (qbuf + slot * d).update(from: q + row * d, count: d)
        }
        // Pass 1: scores, page by page, in each page's encoding.
        var offset = 0
        for page in head.pages {
            rowsDot(page.keys, scratch: scratch, queries: qbuf, nq: m, scale: scale, out: scores + offset, stride: tokens)
            offset += page.tokenCount
        }
        maskedSoftmax(scores: scores, tokens: tokens, vectors: vectors, ranges: ranges, n: n)
        // Pass 2: weighted values.
        offset = 0
        for page in head.pages {
            rowsAccumulate(page.values, scratch: scratch, weights: scores + offset, stride: tokens, nq: m, acc: acc)
            offset += page.tokenCount
        }
        for (slot, j) in vectors.enumerated() {
            let row = (kvHead * group + j / n) * n + j % n
            (out + row * d).update(from: acc + slot * d, count: d)
        }
    }

    private static func rowsDot(_ rows: EncodedRows, scratch: UnsafeMutableBufferPointer<Float16>, queries: UnsafePointer<Float>,
                                nq: Int, scale: Float, out: UnsafeMutablePointer<Float>, stride: Int) {
        switch rows.encoding {
        case .f16:
            rows.payload.withUnsafeBytes { raw in
                kvp_half_rows_dot(raw.baseAddress!.assumingMemoryBound(to: UInt16.self), rows.rows, rows.dim, queries, nq, scale, out, stride)
            }
        case .int8(let g), .int4(let g):
            // Dequantize the page (at most a page of rows, in L1) to f16, then the f16 kernels.
            dequantize(rows, grouping: g, into: scratch)
            scratch.withMemoryRebound(to: UInt16.self) { s in
                kvp_half_rows_dot(s.baseAddress!, rows.rows, rows.dim, queries, nq, scale, out, stride)
            }
        case .bitmap:
            rows.withBitmap { masks, offsets, values in
                kvp_bitmap_rows_dot(masks, offsets, values, rows.rows, rows.dim, queries, nq, scale, out, stride)
            }
        }
    }

    private static func rowsAccumulate(_ rows: EncodedRows, scratch: UnsafeMutableBufferPointer<Float16>, weights: UnsafePointer<Float>,
                                       stride: Int, nq: Int, acc: UnsafeMutablePointer<Float>) {
        switch rows.encoding {
        case .f16:
            rows.payload.withUnsafeBytes { raw in
                kvp_half_rows_accumulate(raw.baseAddress!.assumingMemoryBound(to: UInt16.self), rows.rows, rows.dim, weights, nq, stride, acc)
            }
        case .int8(let g), .int4(let g):
            dequantize(rows, grouping: g, into: scratch)
            scratch.withMemoryRebound(to: UInt16.self) { s in
                kvp_half_rows_accumulate(s.baseAddress!, rows.rows, rows.dim, weights, nq, stride, acc)
            }
        case .bitmap:
            rows.withBitmap { masks, offsets, values in
                kvp_bitmap_rows_accumulate(masks, offsets, values, rows.rows, rows.dim, weights, nq, stride, acc)
            }
        }
    }
}

extension CompressedAttention {
    static func dequantize(_ rows: EncodedRows, grouping g: QuantizationGrouping, into scratch: UnsafeMutableBufferPointer<Float16>) {
        rows.payload.withUnsafeBytes { raw in
            scratch.withMemoryRebound(to: UInt16.self) { s in
                kvp_quant_rows_to_half(raw.baseAddress!.assumingMemoryBound(to: UInt8.self), rows.rows, rows.dim,
                                       rows.encoding.kind == .int8 ? 8 : 4, g.groupSize, g.axis == .channel ? 1 : 0, s.baseAddress!)
            }
        }
    }
}

extension EncodedRows {
    /// The three arrays of a bitmap payload, typed. Offsets are 4-aligned and values 2-aligned
    /// within the payload by construction (masks are 8 bytes per word, offsets 4 per row).
    func withBitmap<R>(_ body: (UnsafePointer<UInt64>, UnsafePointer<UInt32>, UnsafePointer<UInt16>) -> R) -> R {
        precondition(encoding == .bitmap)
        let words = (dim + 63) / 64
        return payload.withUnsafeBytes { raw in
            let base = raw.baseAddress!
            return body(base.assumingMemoryBound(to: UInt64.self),
                        (base + 8 * rows * words).assumingMemoryBound(to: UInt32.self),
                        (base + rows * (8 * words + 4)).assumingMemoryBound(to: UInt16.self))
        }
    }
}
