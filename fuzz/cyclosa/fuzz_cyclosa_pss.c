/* fuzz_cyclosa_pss.c -- the peer-sampling exchange (cyclosa_pss.h) on any bytes: a buffer
 * received from a peer is decoded and, when well-formed, merged into a view by select; the view
 * must stay within c entries, without duplicates nor self, and every entry an address the
 * decoder accepts. */
#include <cloister/cyclosa_pss.h>

#include <stdlib.h>
#include <string.h>

#include "common/fuzz_target.h"

static uint64_t counter(void *arg)
{
    return (*(uint64_t *)arg)++ * 0x9E3779B97F4A7C15ull;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char self[] = "127.0.0.1:9";
    struct cyclosa_peer in[CYCLOSA_VIEW_MAX];
    struct cyclosa_view v;
    size_t n = 0;
    uint64_t seq = size;
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    cyclosa_view_init(&v, 2 + size % 12, size % 3, size % 4);
    cyclosa_view_add(&v, "127.0.0.1:1");
    cyclosa_view_add(&v, "127.0.0.1:2");
    if (cyclosa_view_decode(buf, size, in, &n, NULL) == CLOISTER_OK) {
        cyclosa_view_select(&v, self, in, n, counter, &seq);
        if (v.n > v.c)
            abort();
        for (size_t i = 0; i < v.n; i++) {
            if (strcmp(v.v[i].addr, self) == 0)
                abort();
            for (size_t j = i + 1; j < v.n; j++)
                if (strcmp(v.v[i].addr, v.v[j].addr) == 0)
                    abort();
        }
        uint8_t *out;
        size_t len;
        if (cyclosa_view_buffer(&v, self, counter, &seq, &out, &len) == CLOISTER_OK) {
            if (cyclosa_view_decode(out, len, in, &n, NULL) != CLOISTER_OK)
                abort(); /* what a node sends, a node accepts */
            free(out);
        }
    }
    free(buf);
    return 0;
}
