import KVPack

/// Compressed prompt prefixes shared by requests (a chat's system turn): one session per prefix
/// and policy, prefilled once; a request starting with the prefix forks it (copy-on-write pages)
/// and appends the rest of its prompt. Least recently used entries go first when it is full, and
/// all of them when the pool needs room.
struct PrefixCache {
    struct Key: Hashable {
        var policy: String
        var tokens: [Int]
    }

    private var entries: [Key: (session: CacheSession, lastUse: UInt64)] = [:]
    private var clock: UInt64 = 0
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    var count: Int { entries.count }

    /// The prefix's session, marked as just used.
    mutating func session(for key: Key) -> CacheSession? {
        guard let e = entries[key], !e.session.isClosed else { return nil }
        clock += 1
        entries[key]!.lastUse = clock
        return e.session
    }

    /// Adds a prefilled prefix session; closes the least recently used one beyond the capacity.
    mutating func insert(_ session: CacheSession, for key: Key) {
        guard capacity > 0 else {
            session.close()
            return
        }
        clock += 1
        entries[key]?.session.close()
        entries[key] = (session, clock)
        while entries.count > capacity, let oldest = entries.min(by: { $0.value.lastUse < $1.value.lastUse }) {
            oldest.value.session.close()
            entries[oldest.key] = nil
        }
    }

    /// Closes every entry (the pages forks still share stay with them); returns how many there were.
    mutating func removeAll() -> Int {
        let n = entries.count
        for e in entries.values { e.session.close() }
        entries = [:]
        return n
    }
}
