/* fuzz_ibbe_meta.c -- the IBBE store records on arbitrary bytes: the group record, a partition
 * record (into a group of two partitions of up to 8 members at epoch 1) and the public key,
 * picked by the first byte. Decoding must never crash or read out of bounds, must explain every
 * refusal, and whatever it accepts must encode back to exactly the input. */
#include <cloister/ibbe.h>
#include <cloister/wire.h>

#include <stdlib.h>
#include <string.h>

#include "common/fuzz_target.h"

static void same_or_abort(uint8_t *enc, size_t len, const uint8_t *data, size_t size)
{
    if (len != size || memcmp(enc, data, size) != 0)
        abort();
    free(enc);
}

static ibbe_group *host_group(void)
{
    struct wire_writer w;
    struct cloister_err err;
    ibbe_group *g = NULL;
    wire_writer_init(&w);
    wire_put_header(&w, "CIGR", 1);
    wire_put_str(&w, "fuzz");
    wire_put_u64(&w, 1);
    wire_put_varint(&w, 8);
    wire_put_varint(&w, 2);
    if (ibbe_group_decode_meta(&g, w.buf, w.len, &err) != 0)
        abort();
    wire_writer_free(&w);
    return g;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct cloister_err err;
    uint8_t *enc;
    size_t len;
    const uint8_t *in = data + 1;
    size_t n = size - 1;
    switch (data[0] % 3) {
    case 0: {
        ibbe_group *g;
        if (ibbe_group_decode_meta(&g, in, n, &err) == 0) {
            if (ibbe_group_encode_meta(g, &enc, &len) != 0)
                abort();
            same_or_abort(enc, len, in, n);
            ibbe_group_free(g);
        } else if (err.code >= 0 || !err.msg[0]) {
            abort();
        }
        break;
    }
    case 1: {
        ibbe_group *g = host_group();
        size_t part = data[0] / 3 % 2;
        if (ibbe_group_decode_partition(g, part, in, n, &err) == 0) {
            if (ibbe_group_encode_partition(g, part, &enc, &len) != 0 ||
                ibbe_partition_record_bytes(g, part) != len)
                abort();
            same_or_abort(enc, len, in, n);
        } else if (err.code >= 0 || !err.msg[0]) {
            abort();
        }
        ibbe_group_free(g);
        break;
    }
    default: {
        ibbe_pk *pk;
        if (ibbe_pk_decode(&pk, in, n, &err) == 0) {
            if (ibbe_pk_encode(pk, &enc, &len) != 0)
                abort();
            same_or_abort(enc, len, in, n);
            ibbe_pk_free(pk);
        } else if (err.code >= 0 || !err.msg[0]) {
            abort();
        }
        break;
    }
    }
    return 0;
}
