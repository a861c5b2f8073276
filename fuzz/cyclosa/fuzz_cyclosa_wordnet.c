/* fuzz_cyclosa_wordnet.c -- the WordNet readers (wordnet.h) on any bytes: as an index searched
 * for a lemma, as a data file read at every line start, as an exception list. They must never
 * read outside the buffer (the input is copied to an exact-size allocation) nor crash. */
#include <stdlib.h>
#include <string.h>

#include "common/fuzz_target.h"
#include "cyclosa/client/wordnet.h"

static int on_word(const char *w, size_t len, void *arg)
{
    char out[WN_WORD_MAX];
    *(size_t *)arg += wn_normalise(w, len, out);
    return 0;
}

static int on_hyponym(uint32_t offset, void *arg)
{
    *(size_t *)arg += offset & 1;
    return 0;
}

static int on_exception(const char *inflected, size_t ilen, const char *base, size_t blen,
                        void *arg)
{
    (void)inflected, (void)base;
    *(size_t *)arg += ilen + blen;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    size_t sink = 0;
    uint32_t off;
    struct cloister_err err;
    (void)wn_index_sense(buf, size, "flu", 1 + (size & 3), &off, &err);
    const struct wn_synset_visit v = {on_word, on_hyponym, &sink};
    for (size_t at = 0; at < size; at++)
        if (at == 0 || buf[at - 1] == '\n')
            (void)wn_synset(buf, size, (uint32_t)at, &v, &err);
    wn_exceptions(buf, size, on_exception, &sink);
    free(buf);
    return 0;
}
