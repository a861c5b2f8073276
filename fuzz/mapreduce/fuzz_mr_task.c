/* fuzz_mr_task.c -- the task descriptor and the task outcome decoders (mr_chunk.c): whatever
 * they accept encodes back to the same bytes (one descriptor, one encoding), and nothing they
 * read goes past the input. */
#include "common/fuzz_target.h"
#include "mapreduce/common/mr_proto.h"

#include <stdlib.h>
#include <string.h>

static void check_task(const uint8_t *data, size_t size)
{
    struct mr_task t;
    if (mr_task_decode(&t, data, size, malloc, NULL) != 0) {
        free(t.inputs);
        return;
    }
    struct wire_writer w;
    wire_writer_init(&w);
    mr_task_encode(&t, &w);
    if (!wire_writer_ok(&w) || w.len != size || memcmp(w.buf, data, size) != 0)
        abort();
    wire_writer_free(&w);
    free(t.inputs);
}

static void check_outcome(const uint8_t *data, size_t size)
{
    struct mr_outcome o;
    if (mr_outcome_decode(&o, data, size, NULL) != 0)
        return;
    struct wire_writer w;
    wire_writer_init(&w);
    mr_outcome_encode(&o, &w);
    if (!wire_writer_ok(&w) || w.len != size || memcmp(w.buf, data, size) != 0)
        abort();
    wire_writer_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mr_chunk_id id;
    check_task(data, size);
    check_outcome(data, size);
    (void)mr_chunk_peek(data, size, &id, NULL);
    return 0;
}
