import CKVPackHalf

/// Encoded key or value rows in memory someone else keeps alive (an `EncodedRows` payload, a page
/// slot of a `PagePool`), in the `EncodedRows` payload layout.
struct RowsView {
    let encoding: PageEncoding
    let rows: Int
    let dim: Int
    let base: UnsafeRawPointer

    /// The three arrays of a bitmap payload, typed. Offsets are 4-aligned and values 2-aligned
    /// within the payload by construction (masks are 8 bytes per word, offsets 4 per row).
    var bitmap: (masks: UnsafePointer<UInt64>, offsets: UnsafePointer<UInt32>, values: UnsafePointer<UInt16>) {
        let words = (dim + 63) / 64
        return (base.assumingMemoryBound(to: UInt64.self), (base + 8 * rows * words).assumingMemoryBound(to: UInt32.self),
                (base + rows * (8 * words + 4)).assumingMemoryBound(to: UInt16.self))
    }

    /// Dequantizes int8 / int4 rows to f16 into `scratch` (`rows · dim` halves).
    func dequantize(into scratch: UnsafeMutableBufferPointer<Float16>) {
        guard let g = encoding.grouping else { return }
        scratch.withMemoryRebound(to: UInt16.self) { s in
            kvp_quant_rows_to_half(base.assumingMemoryBound(to: UInt8.self), rows, dim, encoding.kind == .int8 ? 8 : 4,
                                   g.groupSize, g.axis == .channel ? 1 : 0, s.baseAddress!)
        }
    }
}

/// One KV head's pages as attention reads them: page by page, keys and values.
protocol PageRowsSource: Sendable {
    /// Tokens over all pages.
    var tokenCount: Int { get }
    /// The most tokens of one page.
    var maxPageTokens: Int { get }
    /// Calls `body` with each page's keys and values, in position order; where the source's
    /// pages stay in place (a live session's pool slots), the next page's `prefetch` part is
    /// requested from memory before `body` runs on this one.
    func forEachPage(prefetch: PagePart, _ body: (RowsView, RowsView) -> Void)
}

/// Which payload of a page a pass over the pages reads next.
enum PagePart {
    case keys, values
}

extension EncodedRows {
    /// Calls `body` with a view of the payload.
    func withView<R>(_ body: (RowsView) -> R) -> R {
        payload.withUnsafeBytes { body(RowsView(encoding: encoding, rows: rows, dim: dim, base: $0.baseAddress!)) }
    }
}

extension HeadPages: PageRowsSource {
    var maxPageTokens: Int { pages.map(\.tokenCount).max() ?? 0 }

    func forEachPage(prefetch: PagePart, _ body: (RowsView, RowsView) -> Void) {
        for page in pages { page.keys.withView { k in page.values.withView { v in body(k, v) } } }
    }
}
