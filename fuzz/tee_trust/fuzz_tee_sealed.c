/* fuzz_tee_sealed.c -- sealed blob decoding and unsealing. Mode 0: the input is a blob (it must
 * never unseal). Mode 1: the input is a plaintext: sealing then unsealing returns it, and any
 * single changed byte of the blob makes unsealing fail. */
#include <cloister/tee_trust.h>

#include <stdlib.h>
#include <string.h>

#include "common/fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    tee_self *s = fuzz_self();
    struct cloister_err err;
    size_t n;
    if (data[0] & 1) {
        size_t len = size - 2, blob_len;
        uint8_t *blob = malloc(tee_sealed_size(len)), *out = malloc(len + 1);
        enum tee_seal_policy policy = data[1] & 1 ? TEE_SEAL_MRSIGNER : TEE_SEAL_MRENCLAVE;
        if (tee_seal(s, policy, data, 2, data + 2, len, blob, tee_sealed_size(len), &blob_len,
                     NULL) ||
            tee_unseal(s, blob, blob_len, data, 2, out, len, &n, &err) || n != len ||
            memcmp(out, data + 2, len) != 0)
            abort();
        blob[data[1] % blob_len] ^= 0x80;
        if (tee_unseal(s, blob, blob_len, data, 2, out, len + 1, &n, &err) == 0)
            abort();
        free(blob);
        free(out);
        return 0;
    }
    struct tee_sealed_view v;
    if (tee_sealed_parse(&v, data + 1, size - 1, &err) == 0 &&
        v.ciphertext_len + TEE_SEAL_HEADER_LEN != size - 1)
        abort();
    uint8_t *out = malloc(size);
    if (tee_unseal(s, data + 1, size - 1, NULL, 0, out, size, &n, &err) == 0)
        abort();
    free(out);
    return 0;
}
