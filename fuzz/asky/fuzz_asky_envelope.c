/* fuzz_asky_envelope.c -- the A-Sky envelope decoder on arbitrary bytes: the first byte picks
 * the kind, the rest is the envelope, opened with a fixed member key. Nothing may crash or read
 * out of bounds; every refusal is explained; an envelope that opens under the fixed key must
 * have been built for it (impossible for random bytes: abort). */
#include <cloister/asky.h>

#include <stdlib.h>

#include "common/fuzz_target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t user[ASKY_KEY_LEN] = {7};
    if (size < 1)
        return 0;
    struct asky_user_keys k;
    uint8_t key[ASKY_KEY_LEN];
    struct cloister_err err;
    asky_user_keys(&k, user);
    if (asky_envelope_open((enum asky_kind)(data[0] % 3), data + 1, size - 1, &k, key, &err) == 0)
        abort();
    if (err.code >= 0 || !err.msg[0])
        abort();
    return 0;
}
