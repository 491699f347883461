import KVPack

/// How a cache's pools are split into windows that one storage-buffer binding each can cover.
///
/// A binding covers at most `maxStorageBufferRange` bytes (4 GiB on NVIDIA, 128 MiB on lavapipe).
/// A larger pool is cut at head boundaries into up to `maximum` windows, one buffer each: every
/// page of a head lies in the same window of every kind, so the kernels pick the window once per
/// workgroup from the head's directory entry, and page offsets become offsets into the window.
struct PoolWindows: Equatable, Sendable {
    /// Windows per pool kind the kernels bind (`POOL_WINDOWS` in `Kernels/include/decode_bindings.glsl`):
    /// 4 kinds x 6 + 7 other bindings = 31 storage buffers, within lavapipe's 32 per stage.
    static let maximum = 6

    /// The window of each head, in directory order (sequence, layer, KV head).
    var headWindow: [UInt32]
    /// `ranges[kind][window]`: the bytes of `flat.pools[kind]` the window holds.
    var ranges: [[Range<Int>]]

    /// Plans the windows of `flat` for windows of at most `limit` bytes.
    /// - Throws: `VulkanError.tooLarge` when one head's pages of a kind exceed `limit`, when
    ///   more than `maximum` windows would be needed, or when a pool is too large to fit one window
    ///   and its pages are not laid out head by head (so it cannot be cut).
    static func plan(_ flat: FlatCache, limit: Int) throws(VulkanError) -> PoolWindows {
        let kinds = flat.pools.count, heads = flat.heads.count
        if flat.pools.allSatisfy({ $0.count <= limit }) {
            return PoolWindows(headWindow: Array(repeating: 0, count: heads), ranges: flat.pools.map { [0..<$0.count] })
        }
        // Where each head's bytes start in each pool (a head without pages of a kind starts where the next one does).
        var starts = [[Int]](repeating: Array(repeating: -1, count: heads + 1), count: kinds)
        for (h, head) in flat.heads.enumerated() {
            for p in flat.pages[Int(head.firstPage)..<Int(head.firstPage + head.pageCount)] {
                for (kind, offset) in [(p.keyEncoding.kind, p.keyOffset), (p.valueEncoding.kind, p.valueOffset)] {
                    let k = Int(kind.rawValue), o = Int(offset)
                    starts[k][h] = starts[k][h] < 0 ? o : min(starts[k][h], o)
                }
            }
        }
        for k in 0..<kinds {
            starts[k][heads] = flat.pools[k].count
            for h in stride(from: heads - 1, through: 0, by: -1) where starts[k][h] < 0 { starts[k][h] = starts[k][h + 1] }
        }
        // Each head's pages must lie in [its start, the next head's start): the pools were flattened head by head.
        for (h, head) in flat.heads.enumerated() {
            for p in flat.pages[Int(head.firstPage)..<Int(head.firstPage + head.pageCount)] {
                for (kind, offset) in [(p.keyEncoding.kind, p.keyOffset), (p.valueEncoding.kind, p.valueOffset)] {
                    let k = Int(kind.rawValue), o = Int(offset)
                    guard o >= starts[k][h], o < max(starts[k][h + 1], starts[k][h] + 1) else {
                        throw .tooLarge(what: "the \(kind) pool (its pages are not laid out head by head, so it cannot be split)",
                                        bytes: flat.pools[k].count, limit: limit, limitName: "maxStorageBufferRange")
                    }
                }
            }
        }
        var windowStarts = [[Int]](repeating: [0], count: kinds)
        var headWindow = [UInt32](repeating: 0, count: heads)
        var window = 0
        for h in 0..<heads {
            for k in 0..<kinds where starts[k][h + 1] - starts[k][h] > limit {
                throw .tooLarge(what: "one head's \(PageEncodingKind(rawValue: UInt8(k))!) pages (a head is never split across buffers)",
                                bytes: starts[k][h + 1] - starts[k][h], limit: limit, limitName: "maxStorageBufferRange")
            }
            if (0..<kinds).contains(where: { starts[$0][h + 1] - windowStarts[$0][window] > limit }) {
                window += 1
                for k in 0..<kinds { windowStarts[k].append(starts[k][h]) }
            }
            headWindow[h] = UInt32(window)
        }
        guard window < maximum else {
            let k = (0..<kinds).max { flat.pools[$0].count < flat.pools[$1].count }!
            throw .tooLarge(what: "the \(PageEncodingKind(rawValue: UInt8(k))!) pool (\(window + 1) buffers of whole heads)",
                            bytes: flat.pools[k].count, limit: maximum * limit, limitName: "\(maximum) buffers of maxStorageBufferRange")
        }
        var ranges: [[Range<Int>]] = []
        for k in 0..<kinds {
            let cuts: [Int] = windowStarts[k] + [flat.pools[k].count]
            ranges.append((0..<cuts.count - 1).map { (i: Int) -> Range<Int> in cuts[i]..<cuts[i + 1] })
        }
        return PoolWindows(headWindow: headWindow, ranges: ranges)
    }

    /// Windows in use (the same count for every kind).
    var count: Int { ranges.first?.count ?? 1 }
}
