/* fuzz_asky_object.c -- the A-Sky object reader on arbitrary bytes (a stream), with a fixed
 * member key. Nothing may crash or read out of bounds, every refusal is explained, and no
 * plaintext may come out of bytes not encrypted for the key (abort when any does). */
#include <cloister/asky.h>

#include <stdio.h>
#include <stdlib.h>

#include "common/fuzz_target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t user[ASKY_KEY_LEN] = {7};
    if (size < 1)
        return 0;
    struct asky_user_keys k;
    struct cloister_err err;
    char *out = NULL;
    size_t outlen = 0;
    asky_user_keys(&k, user);
    FILE *in = fmemopen((void *)data, size, "rb");
    FILE *o = open_memstream(&out, &outlen);
    if (!in || !o)
        abort();
    int rc = asky_object_read(in, &k, o, &err);
    fclose(in);
    fclose(o);
    if (rc == 0 || outlen != 0 || err.code >= 0 || !err.msg[0])
        abort();
    free(out);
    return 0;
}
