/* fuzz_bls_scalar.c -- drives scalar decoding and reduction with arbitrary bytes: canonical
 * decoding must accept exactly the values below r and round-trip them, wide reduction must
 * agree with decoding on canonical input, and the scalar hash must accept any message. */
#include <cloister/pairing.h>

#include <stdlib.h>
#include <string.h>

#include "common/fuzz_target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t in[BLS_FR_BYTES] = {0}, out[BLS_FR_BYTES];
    memcpy(in, data, size < sizeof in ? size : sizeof in);
    bls_fr a, b;
    if (bls_fr_from_bytes(&a, in) == BLS_OK) {
        bls_fr_to_bytes(out, &a);
        bls_fr_from_wide(&b, in, sizeof in);
        if (memcmp(in, out, sizeof in) || !bls_fr_eq(&a, &b))
            abort();
        bls_fr inv, prod;
        bls_fr_inv(&inv, &a);
        bls_fr_mul(&prod, &inv, &a);
        bls_fr_from_u64(&b, 1);
        if (!bls_fr_is_zero(&a) && !bls_fr_eq(&prod, &b))
            abort();
    }
    bls_fr_from_wide(&a, data, size); /* longer inputs: only the first 64 bytes are read */
    bls_hash_to_fr(&b, data, size, "FUZZ", 4);
    return 0;
}
