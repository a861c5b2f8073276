/* fuzz_cyclosa_msg.c -- the relay messages' decoders (cyclosa_msg.h) on any bytes: a frame of
 * either size, a query plaintext and an answer plaintext (the input padded or cut to the exact
 * size, so that the field decoders are reached, and also as it is). A decoded query must be
 * NUL-free and fit its buffer; a decoded answer's hits must lie inside the input. */
#include <stdlib.h>
#include <string.h>

#include "common/fuzz_target.h"
#include "cyclosa/common/cyclosa_msg.h"

/* The input copied to an exact-size allocation of size bytes (zero-padded or cut). */
static uint8_t *sized(const uint8_t *data, size_t len, size_t size)
{
    uint8_t *p = calloc(1, size);
    if (p)
        memcpy(p, data, len < size ? len : size);
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cyclosa_frame f;
    struct cloister_err err;
    uint8_t id[CYCLOSA_ID_LEN];
    char q[SEARCH_QUERY_MAX + 1];
    const uint8_t *hits;
    size_t hlen;
    uint8_t *exact = sized(data, size, size ? size : 1);
    if (!exact)
        return 0;
    (void)cyclosa_frame_parse(exact, size, CYCLOSA_QUERY_PLAIN, &f, &err);
    (void)cyclosa_frame_parse(exact, size, CYCLOSA_ANSWER_PLAIN, &f, &err);
    if (cyclosa_query_decode(exact, size, id, q, &err) == CLOISTER_OK &&
        strlen(q) > SEARCH_QUERY_MAX)
        abort();
    free(exact);
    uint8_t *p = sized(data, size, CYCLOSA_QUERY_PLAIN);
    if (p && cyclosa_query_decode(p, CYCLOSA_QUERY_PLAIN, id, q, &err) == CLOISTER_OK) {
        uint8_t back[CYCLOSA_QUERY_PLAIN];
        if (cyclosa_query_encode(id, q, back) != CLOISTER_OK || memcmp(back, p, sizeof back))
            abort(); /* one encoding per message */
    }
    free(p);
    p = sized(data, size, CYCLOSA_ANSWER_PLAIN);
    if (p &&
        cyclosa_answer_decode(p, CYCLOSA_ANSWER_PLAIN, id, &hits, &hlen, &err) == CLOISTER_OK &&
        (hits < p || hits + hlen > p + CYCLOSA_ANSWER_PLAIN))
        abort();
    free(p);
    return 0;
}
