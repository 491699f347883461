import CKVPackHalf

/// Large temporary buffers (a head's window scores are 16 MiB at 32K tokens) would otherwise be
/// mmap'ed and unmapped on every allocation, and every fresh page zero-filled by the kernel on
/// first touch: keep them in the heap so freed memory is reused.
enum AllocatorTuning {
    static func keepLargeBuffersInHeap() { kvp_keep_large_buffers_in_heap() }
}
