#ifndef ROOST_MEMORY_H
#define ROOST_MEMORY_H

/// Asks the CPU to start loading the cache line that holds `address`, for reading, into every
/// cache level. A hint: it never faults (any address will do) and never waits for the line.
/// Swift has no prefetch of its own; this inlines to one `prefetcht0`.
static inline __attribute__((always_inline)) void roost_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}

#endif
