import Foundation

/// Counts of a context's live Vulkan objects that calls create and must release (buffers with
/// their memory, descriptor pools), so tests can check that a failed call leaks nothing; and the
/// buffers created so far and the time creating them took, so a benchmark can see where calls grow theirs.
final class LiveResources: @unchecked Sendable {
    struct Counts: Equatable, Sendable {
        var buffers = 0
        var descriptorPools = 0
    }

    private var buffersEverCreated = 0
    private var creatingSeconds = 0.0

    /// Buffers created over the context's life (released ones included).
    var buffersCreated: Int {
        lock.lock()
        defer { lock.unlock() }
        return buffersEverCreated
    }

    /// Host seconds spent creating buffers (buffer, memory allocation, binding, mapping) over the
    /// context's life.
    var bufferCreationSeconds: Double {
        lock.lock()
        defer { lock.unlock() }
        return creatingSeconds
    }

    private let lock = NSLock()
    private var counts = Counts()

    var snapshot: Counts {
        lock.lock()
        defer { lock.unlock() }
        return counts
    }

    /// Counts buffers and descriptor pools made (positive) or released (negative), and the time
    /// the made buffers took to create.
    func change(buffers: Int = 0, descriptorPools: Int = 0, creationSeconds: Double = 0) {
        lock.lock()
        counts.buffers += buffers
        buffersEverCreated += max(0, buffers)
        creatingSeconds += creationSeconds
        counts.descriptorPools += descriptorPools
        lock.unlock()
    }
}
