/// A snapshot of a `PagePool`'s use. Bytes are slot bytes (a slot holds a full page), so they are
/// what the pool really holds, at least a session's exact layout bytes.
public struct PoolStatistics: Sendable, Hashable {
    /// The most slot bytes in use at once.
    public var budgetBytes: Int
    /// Slot bytes held by live pages now.
    public var inUseBytes: Int
    /// The most `inUseBytes` reached since the pool was made.
    public var peakInUseBytes: Int
    /// Bytes of the chunks allocated (in use or free).
    public var capacityBytes: Int
    /// Slots held by live pages (a page shared by forked sessions counts once).
    public var pagesInUse: Int
    /// Sessions open on the pool.
    public var sessions: Int
    /// Pages given back by eviction or re-tiering since the pool was made (not by `close`).
    public var evictedPages: Int
    /// Slot bytes in use by encoding: a slot's positions and keys count under its key encoding,
    /// its values under the value encoding.
    public var inUseBytesByEncoding: [PageEncodingKind: Int]
    /// Slots in use per slot class (`SlotClass.description`).
    public var pagesByClass: [String: Int]

    public var freeBytes: Int { max(0, budgetBytes - inUseBytes) }
}
