// Software prefetch of a page about to be read: pool slots lie anywhere in memory, so the
// hardware's stream prefetchers start cold on every page; requesting the next page's lines
// while this one is computed hides that latency.
#include "CKVPackHalf.h"

void kvp_prefetch(const void *p, size_t bytes) {
    const char *c = (const char *)p;
    for (size_t i = 0; i < bytes; i += 64) __builtin_prefetch(c + i, 0, 3);
}

void kvp_prefetch_write(const void *p, size_t bytes) {
    const char *c = (const char *)p;
    for (size_t i = 0; i < bytes; i += 64) __builtin_prefetch(c + i, 1, 3);
    if (bytes > 0) __builtin_prefetch(c + bytes - 1, 1, 3);
}
