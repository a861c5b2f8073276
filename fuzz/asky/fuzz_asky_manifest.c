/* fuzz_asky_manifest.c -- the decoder of A-Sky's S3 manifest (asky_manifest_decode) on
 * arbitrary bytes, with and without its MAC key. Nothing may crash or read out of bounds, every
 * refusal is explained, and with the key no bytes not made under it may be accepted (abort). */
#include <cloister/asky_host.h>

#include <stdlib.h>

#include "common/fuzz_target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t key[32] = {9};
    uint64_t version;
    size_t entries;
    struct cloister_err err;
    if (asky_manifest_decode(data, size, NULL, &version, &entries, &err) != 0 &&
        (err.code >= 0 || !err.msg[0]))
        abort();
    if (asky_manifest_decode(data, size, key, &version, &entries, &err) == 0)
        abort(); /* a forged MAC */
    return 0;
}
