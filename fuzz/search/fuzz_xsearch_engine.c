/* fuzz_xsearch_engine.c -- the X-Search proxy's parser of the engine's JSON answer
 * (xsearch_engine_parse), which reads whatever the upstream engine sends. It must never crash;
 * what it accepts is within the limits of the result lists the enclave decodes, so encoding it
 * and decoding it back must succeed with the same hits. */
#include <cloister/xsearch.h>
#include <cloister/xsearch_proxy.h>

#include <stdlib.h>
#include <string.h>

#include "common/fuzz_target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct search_hits h, back;
    if (xsearch_engine_parse((const char *)data, size, &h, NULL) != CLOISTER_OK)
        return 0;
    uint8_t *buf;
    size_t len;
    if (xsearch_hits_encode(&h, &buf, &len) != CLOISTER_OK ||
        xsearch_hits_decode(buf, len, &back, NULL) != CLOISTER_OK || back.n != h.n)
        abort();
    for (size_t i = 0; i < h.n; i++)
        if (strcmp(h.v[i].url, back.v[i].url) != 0 || back.v[i].nmatched != h.v[i].nmatched)
            abort();
    free(buf);
    search_hits_free(&h);
    search_hits_free(&back);
    return 0;
}
