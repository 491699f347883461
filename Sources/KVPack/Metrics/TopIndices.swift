/// Indices of the `count` highest scores, highest first; equal scores go to the lower index (scores
/// tie often in half precision, and the result must not depend on sort stability). NaN scores rank
/// lowest; -0 ranks with +0.
///
/// Partial selection, never a full sort: every score becomes a 64-bit key (order-preserving score
/// bits, then the inverted index; all keys distinct). A small `count` keeps the best keys in a
/// sorted buffer of `count` slots while scanning once (most scores cost one comparison); a large
/// one moves the `count` largest keys to the front by quickselect in expected linear time and
/// sorts only those.
public func topIndices(_ scores: UnsafeBufferPointer<Float>, count: Int) -> [Int] {
    let k = min(max(0, count), scores.count)
    guard k > 0 else { return [] }
    guard scores.count < Int(UInt32.max) else { return sortedTopIndices(scores, count: k) }
    if k <= TopIndices.scanLimit && k * 16 <= scores.count { return TopIndices.scan(scores, count: k) }
    var keys = [UInt64](unsafeUninitializedCapacity: scores.count) { out, initialized in
        for i in 0..<scores.count { out[i] = TopIndices.key(scores[i], i) }
        initialized = scores.count
    }
    keys.withUnsafeMutableBufferPointer { selectLargest($0, count: k) }
    keys[0..<k].sort(by: >)
    return keys.prefix(k).map(TopIndices.index)
}

/// `topIndices` of an array.
public func topIndices(_ scores: [Float], count: Int) -> [Int] {
    scores.withUnsafeBufferPointer { topIndices($0, count: count) }
}

enum TopIndices {
    /// Largest `count` served by the scan; above it the buffer's insertions cost more than quickselect.
    static let scanLimit = 64

    /// The key of score `x` at index `i`: larger keys rank first.
    @inline(__always) static func key(_ x: Float, _ i: Int) -> UInt64 {
        let bits = (x == 0 ? 0 : x).bitPattern // -0 ranks with +0
        // Order-preserving map of the float's bits (negatives flipped); NaN below -inf.
        let ordered: UInt32 = x.isNaN ? 0 : (bits & 0x8000_0000 != 0 ? ~bits : bits | 0x8000_0000)
        return UInt64(ordered) << 32 | UInt64(UInt32.max - UInt32(i))
    }

    @inline(__always) static func index(_ key: UInt64) -> Int { Int(UInt32.max - UInt32(truncatingIfNeeded: key)) }

    /// One pass keeping the `count` largest keys in descending order.
    static func scan(_ scores: UnsafeBufferPointer<Float>, count k: Int) -> [Int] {
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: k) { best in
            var filled = 0
            for i in 0..<scores.count {
                let key = key(scores[i], i)
                if filled == k {
                    guard key > best[k - 1] else { continue }
                } else {
                    filled += 1
                }
                // Insert, shifting smaller keys down one slot (the last one falls off when full).
                var j = filled - 1
                while j > 0, best[j - 1] < key {
                    best[j] = best[j - 1]
                    j -= 1
                }
                best[j] = key
            }
            return (0..<k).map { index(best[$0]) }
        }
    }
}

/// The same order by a full sort of the indices, for score arrays too long for 32-bit keys.
func sortedTopIndices(_ scores: UnsafeBufferPointer<Float>, count k: Int) -> [Int] {
    let order = scores.indices.sorted { a, b in
        let x = scores[a] == 0 ? 0 : scores[a], y = scores[b] == 0 ? 0 : scores[b]
        if x.isNaN != y.isNaN { return !x.isNaN }
        if !x.isNaN && x != y { return x > y }
        return a < b
    }
    return Array(order.prefix(k))
}

/// Reorders distinct `keys` so that the `count` largest come first, in no particular order
/// (quickselect with Lomuto partitions around median-of-three pivots; expected linear time).
func selectLargest(_ keys: UnsafeMutableBufferPointer<UInt64>, count: Int) {
    var lo = 0, hi = keys.count - 1
    guard count > 0, count < keys.count else { return }
    let target = count - 1 // the index that must end holding the count-th largest
    while lo < hi {
        let mid = lo + (hi - lo) / 2
        // Median of three as the pivot, left at `hi`.
        if keys[mid] > keys[lo] { keys.swapAt(mid, lo) }
        if keys[hi] > keys[lo] { keys.swapAt(hi, lo) }
        if keys[mid] > keys[hi] { keys.swapAt(mid, hi) }
        let pivot = keys[hi]
        var store = lo
        for i in lo..<hi where keys[i] > pivot {
            keys.swapAt(i, store)
            store += 1
        }
        keys.swapAt(store, hi) // keys[lo..<store] > pivot == keys[store] > keys[store+1...hi]
        if store == target { return }
        if store < target { lo = store + 1 } else { hi = store - 1 }
    }
}
