/* fuzz_scbr_wire.c -- the SCBR wire decoder on arbitrary bytes. The first byte picks
 * subscription or publication. Decoding must never crash; a decoded subscription re-encodes to
 * exactly the input (the encoding is canonical), a decoded publication re-encodes to bytes that
 * decode again. */
#include <cloister/scbr.h>

#include <stdlib.h>
#include <string.h>

#include "common/fuzz_target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    struct cloister_err err;
    size_t len;
    if (data[0] & 1) {
        struct scbr_sub *s = scbr_sub_decode(data + 1, size - 1, &err);
        if (!s)
            return 0;
        uint8_t *enc = scbr_sub_encode(s, &len);
        if (!enc || len != size - 1 || memcmp(enc, data + 1, len) != 0)
            abort();
        free(enc);
        scbr_sub_free(s);
    } else {
        struct scbr_pub *p = scbr_pub_decode(data + 1, size - 1, &err);
        if (!p)
            return 0;
        uint8_t *enc = scbr_pub_encode(p, &len);
        struct scbr_pub *again = enc ? scbr_pub_decode(enc, len, &err) : NULL;
        if (!again || again->n != p->n || again->payload_len != p->payload_len)
            abort();
        free(enc);
        scbr_pub_free(again);
        scbr_pub_free(p);
    }
    return 0;
}
