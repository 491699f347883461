/// Regions of a bank's device page table, one per head of a session layer: sizes are powers of
/// two (at least `smallest` entries) with a free list per size, carved from the table's end when
/// a list is empty. A head that outgrows its region moves to one twice as large.
struct TableRegions: Sendable {
    let capacity: Int
    static let smallest = 8
    private var end = 0
    private var free: [Int: [Int]] = [:]

    init(capacity: Int) { self.capacity = capacity }

    /// The region size for `entries` entries.
    static func size(for entries: Int) -> Int {
        var n = smallest
        while n < entries { n *= 2 }
        return n
    }

    /// The first entry of a free region of `size` entries (a `size(for:)` value), or nil when
    /// the table is full.
    mutating func allocate(size: Int) -> Int? {
        if let offset = free[size]?.popLast() { return offset }
        guard end + size <= capacity else { return nil }
        defer { end += size }
        return end
    }

    mutating func release(offset: Int, size: Int) { free[size, default: []].append(offset) }

    /// Entries handed out and not given back.
    var inUse: Int { end - free.reduce(0) { $0 + $1.key * $1.value.count } }
}
