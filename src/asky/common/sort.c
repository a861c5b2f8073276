/* sort.c -- heapsort (sort.h): bounded time and no memory, which is all the enclave needs. */
#include "asky/common/sort.h"

#include <string.h>

static void swap(unsigned char *a, unsigned char *b, size_t size)
{
    unsigned char t[128];
    for (size_t off = 0; off < size; off += sizeof t) {
        size_t k = size - off < sizeof t ? size - off : sizeof t;
        memcpy(t, a + off, k);
        memcpy(a + off, b + off, k);
        memcpy(b + off, t, k);
    }
}

/* Sifts element i down the heap of n elements. */
static void sift(unsigned char *p, size_t i, size_t n, size_t size,
                 int (*cmp)(const void *, const void *))
{
    for (;;) {
        size_t big = i, l = 2 * i + 1, r = l + 1;
        if (l < n && cmp(p + l * size, p + big * size) > 0)
            big = l;
        if (r < n && cmp(p + r * size, p + big * size) > 0)
            big = r;
        if (big == i)
            return;
        swap(p + i * size, p + big * size, size);
        i = big;
    }
}

void asky_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    unsigned char *p = base;
    if (n < 2)
        return;
    for (size_t i = n / 2; i-- > 0;)
        sift(p, i, n, size, cmp);
    for (size_t end = n - 1; end > 0; end--) {
        swap(p, p + end * size, size);
        sift(p, 0, end, size, cmp);
    }
}
