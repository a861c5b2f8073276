/* fuzz_xsearch_request.c -- what X-Search's enclave decodes from the untrusted host: a sealed
 * request (xsearch_request_open under a fixed key pair), a request body (xsearch_body_decode)
 * and a result list (xsearch_hits_decode), whose URLs it then strips of redirects. Nothing may
 * crash; a decoded body is within its limits; a decoded result list encodes back to the same
 * bytes; a stripped URL never grows. */
#include <cloister/xsearch.h>

#include <stdlib.h>
#include <string.h>

#include "common/fuzz_target.h"

static void check_hits(const uint8_t *data, size_t size)
{
    struct search_hits h;
    if (xsearch_hits_decode(data, size, &h, NULL) != CLOISTER_OK)
        return;
    uint8_t *out;
    size_t len;
    if (xsearch_hits_encode(&h, &out, &len) != CLOISTER_OK)
        abort();
    if (len != size || memcmp(out, data, size) != 0)
        abort();
    free(out);
    for (size_t i = 0; i < h.n; i++) {
        size_t before = strlen(h.v[i].url);
        search_strip_redirect(h.v[i].url);
        if (strlen(h.v[i].url) > before)
            abort();
    }
    search_hits_free(&h);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t ikm[32] = {1, 2, 3};
    uint8_t pk[HPKE_PUBLIC_LEN], sk[HPKE_SECRET_LEN], enc[HPKE_ENC_LEN], key[32];
    struct xsearch_request rq;
    if (hpke_derive_keypair(pk, sk, ikm, sizeof ikm) != 0)
        abort();
    uint8_t *req = malloc(size + 1); /* with the right key id, to reach the HPKE open */
    if (!req)
        return 0;
    memcpy(req, data, size);
    if (size > XSEARCH_KEY_ID_LEN)
        xsearch_key_id(pk, req);
    (void)xsearch_request_open(pk, sk, req, size, &rq, enc, key, NULL);
    free(req);
    if (xsearch_body_decode(data, size, &rq, NULL) == CLOISTER_OK &&
        (rq.k > SEARCH_K_MAX || rq.n == 0 || rq.n > SEARCH_HITS_MAX ||
         strlen(rq.query) > SEARCH_QUERY_MAX))
        abort();
    check_hits(data, size);
    return 0;
}
