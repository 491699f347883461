/// The free lanes of a `VulkanSessionPool`: `acquire` suspends (no thread blocked) until one is
/// free and takes the first free one from after the last taken, so that calls in a row take lanes
/// in turn (and so their queues, where lanes are spread over several).
actor LanePool {
    private var free: [Bool]
    private var next = 0
    private var waiters: [CheckedContinuation<Int, Never>] = []

    init(count: Int) { free = Array(repeating: true, count: count) }

    /// A free lane's index, held until `release`.
    func acquire() async -> Int {
        for k in free.indices {
            let i = (next + k) % free.count
            if free[i] {
                free[i] = false
                next = (i + 1) % free.count
                return i
            }
        }
        return await withCheckedContinuation { waiters.append($0) }
    }

    /// Gives lane `i` back: to the longest waiting caller, if any.
    func release(_ i: Int) {
        if waiters.isEmpty { free[i] = true } else { waiters.removeFirst().resume(returning: i) }
    }
}
