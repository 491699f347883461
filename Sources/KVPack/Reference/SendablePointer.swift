/// A raw pointer handed to concurrent workers that write disjoint regions of one buffer.
/// Internal: every use keeps the buffer alive for the duration of the parallel loop.
struct _DisjointWrites<Element>: @unchecked Sendable {
    let base: UnsafeMutablePointer<Element>
}

/// A read-only pointer shared with concurrent workers for the duration of a parallel loop.
struct _SharedReads<Element>: @unchecked Sendable {
    let base: UnsafePointer<Element>
}
