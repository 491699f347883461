import KVPack

/// The (key, value) encodings of a page: pages of one class can run on one kernel. On the device
/// each head's pages are ordered by class (`DeviceKVCache`), so that a layer mixing classes (ARKV
/// tiers) decodes in one pass per kernel over contiguous page ranges, each on that kernel's fast
/// path, with split-K's merge combining them.
struct EncodingClass: Hashable, Comparable, Sendable {
    var key: PageEncoding
    var value: PageEncoding

    var kinds: Set<PageEncodingKind> { [key.kind, value.kind] }
    var groupings: Set<QuantizationGrouping> { Set([key.grouping, value.grouping].compactMap { $0 }) }

    /// Order: by kinds, then by groupings, so that classes one kernel covers sit next to each other.
    private var rank: [Int] {
        func parts(_ e: PageEncoding) -> [Int] {
            [Int(e.kind.rawValue), e.grouping?.axis == .channel ? 1 : 0, e.grouping?.groupSize ?? 0]
        }
        return [Int(key.kind.rawValue), Int(value.kind.rawValue)] + parts(key) + parts(value)
    }

    static func < (a: EncodingClass, b: EncodingClass) -> Bool { a.rank.lexicographicallyPrecedes(b.rank) }
}
