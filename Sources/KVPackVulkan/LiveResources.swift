import Foundation

/// Counts of a context's live Vulkan objects that calls create and must release (buffers with
/// their memory, descriptor pools), so tests can check that a failed call leaks nothing; and the
/// buffers created so far (a memory allocation each), so a benchmark can see where calls grow theirs.
final class LiveResources: @unchecked Sendable {
    struct Counts: Equatable, Sendable {
        var buffers = 0
        var descriptorPools = 0
    }

    private var buffersEverCreated = 0

    /// Buffers created over the context's life (released ones included).
    var buffersCreated: Int {
        lock.lock()
        defer { lock.unlock() }
        return buffersEverCreated
    }

    private let lock = NSLock()
    private var counts = Counts()

    var snapshot: Counts {
        lock.lock()
        defer { lock.unlock() }
        return counts
    }

    func change(buffers: Int = 0, descriptorPools: Int = 0) {
        lock.lock()
        counts.buffers += buffers
        buffersEverCreated += max(0, buffers)
        counts.descriptorPools += descriptorPools
        lock.unlock()
    }
}
