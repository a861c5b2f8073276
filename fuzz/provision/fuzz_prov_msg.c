/* fuzz_prov_msg.c -- the provisioning bus's decoders (provision/prov_bus_codec.c) fed what the
 * bus could carry: any worker or anyone else on the server can publish a seat, an offer or an
 * answer. Built three times, once per message (PROV_FUZZ_MSG is seat, offer or answer: the
 * targets fuzz_prov_seat, fuzz_prov_offer and fuzz_prov_answer). Any input: no crash, no read
 * out of bounds; an accepted message encodes back to exactly its input (the wire format has one
 * encoding per value, so a decoder that accepted two would be lax). */
#include "common/fuzz_target.h"
#include "provision/prov_bus_codec.h"

#include <stdlib.h>
#include <string.h>

#define PASTE(a, b, c) a##b##c
#define CODEC(msg, op) PASTE(prov_bus_msg_, msg, op)
#define MSG_STRUCT(msg) struct PASTE(prov_bus_msg_, msg, )

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    MSG_STRUCT(PROV_FUZZ_MSG) m;
    if (CODEC(PROV_FUZZ_MSG, _decode)(&m, data, size) != 0)
        return 0;
    struct wire_writer w;
    wire_writer_init(&w);
    if (CODEC(PROV_FUZZ_MSG, _encode)(&m, &w) != 0 || w.len != size ||
        memcmp(w.buf, data, size) != 0)
        abort();
    wire_writer_free(&w);
    return 0;
}
