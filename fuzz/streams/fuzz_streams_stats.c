/* fuzz_streams_stats.c -- the stage statistics decoder (ss_stats.h) on arbitrary bytes, as
 * `streams top` receives them from anyone who can publish on the subject: a snapshot that
 * decodes must encode back to exactly the same bytes (one encoding per snapshot). */
#include <stdlib.h>
#include <string.h>

#include "common/fuzz_target.h"
#include "streams/common/ss_stats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ss_stage_stats s;
    if (ss_stage_stats_decode(&s, data, size, NULL) != 0)
        return 0;
    struct wire_writer w;
    wire_writer_init(&w);
    ss_stage_stats_encode(&s, &w);
    if (!wire_writer_ok(&w) || w.len != size || memcmp(w.buf, data, size) != 0)
        abort();
    wire_writer_free(&w);
    return 0;
}
