/* fuzz_bech32.c -- the Bech32 decoder and the key-text decoder on arbitrary bytes: never a read
 * or write out of bounds, and whatever decodes re-encodes to the same string (lower-cased), so
 * the decoder accepts exactly what the encoder writes. */
#include <stdlib.h>
#include <string.h>

#include "common/fuzz_target.h"
#include "util/bech32.h"

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char hrp[BECH32_HRP_MAX + 1];
    static uint8_t data5[BECH32_KEY_TEXT_MAX], key[BECH32_KEY_TEXT_MAX];
    static char again[BECH32_KEY_TEXT_MAX + 16];
    size_t n;
    const char *why;
    if (bech32_decode(hrp, sizeof hrp, data5, sizeof data5, &n, (const char *)data, size,
                      BECH32_KEY_TEXT_MAX, &why) == 0) {
        long k = bech32_encode(again, sizeof again, hrp, data5, n);
        if (k != (long)size)
            abort();
        for (size_t i = 0; i < size; i++)
            if (again[i] != lower((char)data[i]))
                abort();
    } else if (!why) {
        abort();
    }
    if (bech32_key_decode(BECH32_HRP_HPKE_PUBLIC, data, size, key, 32, &n, &why) == 0 && n > 32)
        abort();
    (void)bech32_key_is_text(data, size);
    return 0;
}
