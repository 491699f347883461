import Foundation

/// Values written by concurrent workers, one slot each (`DispatchQueue.concurrentPerform`), read
/// once they are all done.
final class ParallelSlots<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [T?]

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ i: Int, _ value: T) { lock.withLock { slots[i] = value } }

    /// Every slot's value; each must have been set.
    var values: [T] { lock.withLock { slots.map { $0! } } }
}
