/* fuzz_bls_point.c -- drives the G1, G2 and GT decoders with arbitrary bytes. The first byte
 * picks the decoder; the rest is the encoding (short inputs are zero-padded). A decoder must
 * never crash, must leave its output untouched on failure, and anything it accepts must be in
 * the prime-order group and re-encode to exactly the same bytes (encodings are canonical). */
#include <cloister/pairing.h>

#include <stdlib.h>
#include <string.h>

#include "common/fuzz_target.h"

static void take(uint8_t *buf, size_t n, const uint8_t *data, size_t size)
{
    memset(buf, 0, n);
    memcpy(buf, data, size < n ? size : n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t in[BLS_GT_BYTES], out[BLS_GT_BYTES];
    switch (data[0] % 3) {
    case 0: {
        bls_g1 p, before;
        take(in, BLS_G1_BYTES, data + 1, size - 1);
        bls_g1_generator(&p);
        before = p;
        if (bls_g1_from_bytes(&p, in) != BLS_OK) {
            if (memcmp(&p, &before, sizeof p))
                abort();
            break;
        }
        bls_g1_to_bytes(out, &p);
        if (memcmp(in, out, BLS_G1_BYTES) || !bls_g1_in_subgroup(&p))
            abort();
        break;
    }
    case 1: {
        bls_g2 q, before;
        take(in, BLS_G2_BYTES, data + 1, size - 1);
        bls_g2_generator(&q);
        before = q;
        if (bls_g2_from_bytes(&q, in) != BLS_OK) {
            if (memcmp(&q, &before, sizeof q))
                abort();
            break;
        }
        bls_g2_to_bytes(out, &q);
        if (memcmp(in, out, BLS_G2_BYTES) || !bls_g2_in_subgroup(&q))
            abort();
        break;
    }
    default: {
        bls_gt e;
        take(in, BLS_GT_BYTES, data + 1, size - 1);
        if (bls_gt_from_bytes(&e, in) != BLS_OK)
            break;
        bls_gt_to_bytes(out, &e);
        if (memcmp(in, out, BLS_GT_BYTES))
            abort();
        break;
    }
    }
    return 0;
}
