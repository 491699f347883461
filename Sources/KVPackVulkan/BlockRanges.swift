/// The free byte ranges of one block of device memory that small buffers are placed in
/// (`SmallBufferMemory`): first fit at an alignment, a range given back merged with its free
/// neighbours. Bookkeeping only; the memory is the caller's.
struct BlockRanges: Sendable, Equatable {
    /// The block's bytes.
    let capacity: Int
    /// Free ranges, sorted, disjoint and never adjacent (adjacent ones are merged).
    private(set) var free: [Range<Int>]

    init(capacity: Int) {
        self.capacity = max(0, capacity)
        free = capacity > 0 ? [0..<capacity] : []
    }

    /// Nothing is placed in the block.
    var isUnused: Bool { free == (capacity > 0 ? [0..<capacity] : []) }

    /// Takes `size` bytes starting at a multiple of `alignment` (a power of two) from the first
    /// free range that holds them; nil where none does. The bytes skipped for the alignment stay free.
    mutating func place(_ size: Int, alignment: Int) -> Range<Int>? {
        guard size > 0, alignment > 0, alignment & (alignment - 1) == 0 else { return nil }
        for (i, r) in free.enumerated() {
            let start = (r.lowerBound + alignment - 1) & ~(alignment - 1)
            guard start <= r.upperBound - size else { continue }
            var rest: [Range<Int>] = []
            if start > r.lowerBound { rest.append(r.lowerBound..<start) }
            if start + size < r.upperBound { rest.append(start + size..<r.upperBound) }
            free.replaceSubrange(i...i, with: rest)
            return start..<start + size
        }
        return nil
    }

    /// Gives back a range `place` returned (merged with the free ranges it touches).
    mutating func release(_ range: Range<Int>) {
        guard !range.isEmpty else { return }
        let i = free.firstIndex { $0.lowerBound >= range.upperBound } ?? free.count
        var merged = range, first = i, end = i
        if i > 0, free[i - 1].upperBound == range.lowerBound {
            merged = free[i - 1].lowerBound..<merged.upperBound
            first = i - 1
        }
        if i < free.count, free[i].lowerBound == range.upperBound {
            merged = merged.lowerBound..<free[i].upperBound
            end = i + 1
        }
        free.replaceSubrange(first..<end, with: [merged])
    }
}
