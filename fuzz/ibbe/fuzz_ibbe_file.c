/* fuzz_ibbe_file.c -- the user-facing IBBE decoders on arbitrary bytes, picked by the first
 * byte: a user key record ("CIUK"), a sealed file ("CIFL": header, then opening under a fixed
 * key) and a member list file. Nothing may crash or read out of bounds, every refusal is
 * explained, an accepted key record encodes back to the input, and a file that opens under the
 * fixed key must have been sealed with it (impossible for random bytes: abort). */
#include <cloister/ibbe.h>

#include <stdlib.h>
#include <string.h>

#include "common/fuzz_target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct cloister_err err;
    const uint8_t *in = data + 1;
    size_t n = size - 1;
    switch (data[0] % 3) {
    case 0: {
        char id[IBBE_ID_MAX + 1];
        struct ibbe_usk usk;
        uint8_t *enc;
        size_t len;
        if (ibbe_usk_decode(id, &usk, in, n, &err) == 0) {
            if (ibbe_usk_encode(id, &usk, &enc, &len) != 0 || len != n || memcmp(enc, in, n))
                abort();
            free(enc);
        } else if (err.code >= 0 || !err.msg[0]) {
            abort();
        }
        break;
    }
    case 1: {
        static const uint8_t key[IBBE_KEY_LEN] = {1};
        struct ibbe_file_header h;
        uint8_t *pt;
        size_t ptlen;
        if (ibbe_file_parse(&h, in, n, &err) == 0 && !ibbe_group_name_valid(h.group))
            abort();
        if (ibbe_file_open(key, in, n, &pt, &ptlen, &err) == 0)
            abort(); /* a forgery under an unknown key */
        if (err.code >= 0 || !err.msg[0])
            abort();
        break;
    }
    default: {
        char *text = malloc(n + 1), **ids;
        size_t count;
        if (!text)
            return 0;
        memcpy(text, in, n);
        text[n] = '\0';
        if (ibbe_members_parse(text, n, &ids, &count, &err) == 0) {
            for (size_t i = 0; i < count; i++)
                if (!ibbe_id_valid(ids[i]))
                    abort();
            free(ids);
        } else if (err.code >= 0 || !err.msg[0]) {
            abort();
        }
        free(text);
        break;
    }
    }
    return 0;
}
