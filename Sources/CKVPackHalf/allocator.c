// Process-level allocator tuning for the CLI (see AllocatorTuning.swift).
#include "CKVPackHalf.h"
#if defined(__GLIBC__)
#include <malloc.h>
#endif

void kvp_keep_large_buffers_in_heap(void) {
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, 512 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}
