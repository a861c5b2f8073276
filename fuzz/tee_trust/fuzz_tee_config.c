/* fuzz_tee_config.c -- the config text parser and wire decoder on arbitrary bytes. Whatever
 * parses must pass the range checks, format back to text that parses to the same config, and
 * survive a wire round trip. */
#include <cloister/tee_trust.h>

#include <stdlib.h>
#include <string.h>

#include "common/fuzz_target.h"

/* Configs are equal when their canonical encodings are (the struct has padding). */
static int same(const struct tee_config *a, const struct tee_config *b)
{
    uint8_t x[TEE_CONFIG_WIRE_LEN], y[TEE_CONFIG_WIRE_LEN];
    tee_config_encode(a, x);
    tee_config_encode(b, y);
    return memcmp(x, y, sizeof x) == 0;
}

static void check(const struct tee_config *c)
{
    if (tee_config_check(c, NULL) != 0)
        abort();
    char text[512];
    int n = tee_config_format(c, text, sizeof text);
    struct tee_config back;
    if (n <= 0 || (size_t)n >= sizeof text || tee_config_parse(&back, text, (size_t)n, NULL) != 0 ||
        !same(&back, c))
        abort();
    uint8_t wire[TEE_CONFIG_WIRE_LEN];
    tee_config_encode(c, wire);
    if (tee_config_decode(&back, wire, sizeof wire, NULL) != 0 || !same(&back, c))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tee_config c;
    if (tee_config_parse(&c, (const char *)data, size, NULL) == 0)
        check(&c);
    if (tee_config_decode(&c, data, size, NULL) == 0)
        check(&c);
    return 0;
}
