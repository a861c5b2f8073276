/* fuzz_scbr_parse.c -- the SCBR text parser, and the engines behind it, on arbitrary text.
 *
 * Input: subscription lines, a NUL byte, publication lines. Parsing must never crash; whatever
 * parses must format to text that parses to the same thing, and the three engines must return
 * the same ids for every publication (a differential fuzz of naive, poset and fast). */
#include <cloister/scbr.h>

#include <stdlib.h>
#include <string.h>

#include "common/fuzz_target.h"

static void check_round_trip(const struct scbr_sub *s)
{
    char *text = scbr_sub_format(s);
    if (!text)
        return;
    struct cloister_err err;
    struct scbr_sub *again = scbr_parse_sub(text, strlen(text), "fmt", 1, &err);
    if (!again)
        abort();
    char *text2 = scbr_sub_format(again);
    if (!text2 || strcmp(text, text2) != 0)
        abort();
    free(text);
    free(text2);
    scbr_sub_free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *nul = memchr(text, 0, size);
    size_t slen = nul ? (size_t)(nul - text) : size;
    const char *ptext = nul ? nul + 1 : "";
    size_t plen = nul ? size - slen - 1 : 0;
    struct scbr_sub_list subs;
    struct scbr_pub_list pubs;
    struct cloister_err err;
    if (scbr_parse_subs(text, slen, "subs", &subs, &err) != 0)
        return 0;
    if (scbr_parse_pubs(ptext, plen, "pubs", &pubs, &err) != 0) {
        scbr_sub_list_free(&subs);
        return 0;
    }
    if (subs.n > 64 || pubs.n > 64)
        goto done;
    for (size_t i = 0; i < subs.n; i++)
        check_round_trip(subs.v[i]);
    scbr_index *idx[3];
    for (int k = 0; k < 3; k++) {
        idx[k] = scbr_index_create((enum scbr_index_kind)k, NULL);
        if (!idx[k])
            abort();
        for (size_t i = 0; i < subs.n; i++)
            if (scbr_index_insert(idx[k], subs.v[i], (uint32_t)i, NULL) != 0)
                abort();
    }
    uint32_t a[64], b[64];
    for (size_t p = 0; p < pubs.n; p++) {
        size_t n = scbr_index_match(idx[0], pubs.v[p], a, 64);
        for (int k = 1; k < 3; k++)
            if (scbr_index_match(idx[k], pubs.v[p], b, 64) != n || memcmp(a, b, n * 4) != 0)
                abort();
    }
    /* Remove every other one and compare again. */
    for (size_t i = 0; i < subs.n; i += 2)
        for (int k = 0; k < 3; k++)
            if (scbr_index_remove(idx[k], (uint32_t)i, NULL) != 0)
                abort();
    for (size_t p = 0; p < pubs.n; p++) {
        size_t n = scbr_index_match(idx[0], pubs.v[p], a, 64);
        for (int k = 1; k < 3; k++)
            if (scbr_index_match(idx[k], pubs.v[p], b, 64) != n || memcmp(a, b, n * 4) != 0)
                abort();
    }
    for (int k = 0; k < 3; k++)
        scbr_index_destroy(idx[k]);
done:
    scbr_sub_list_free(&subs);
    scbr_pub_list_free(&pubs);
    return 0;
}
