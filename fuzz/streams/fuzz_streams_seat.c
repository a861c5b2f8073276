/* fuzz_streams_seat.c -- the seat decoder of a distributed run (ss_dist.h) on arbitrary bytes, as
 * a stage process takes them from the bus: a seat that decodes must encode into bytes that decode
 * to the same seat. */
#include <stdlib.h>
#include <string.h>

#include "common/fuzz_target.h"
#include "streams/client/ss_dist.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ss_seat_info a, b;
    if (ss_seat_info_decode(&a, data, size, NULL) != 0)
        return 0;
    struct wire_writer w;
    wire_writer_init(&w);
    ss_seat_info_encode(&a, &w);
    if (!wire_writer_ok(&w) || ss_seat_info_decode(&b, w.buf, w.len, NULL) != 0 ||
        memcmp(&a, &b, sizeof a) != 0)
        abort();
    wire_writer_free(&w);
    return 0;
}
