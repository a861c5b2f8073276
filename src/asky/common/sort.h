/* sort.h -- the sort of A-Sky's trusted code. Enclave code avoids qsort: glibc's may call
 * sysinfo, outside the enclave's seccomp allowlist. Internal to src/asky. */
#ifndef CLOISTER_ASKY_SORT_H
#define CLOISTER_ASKY_SORT_H

#include <stddef.h>

/* Heapsort: in place, O(n log n), no allocation, not stable. */
void asky_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));

#endif
