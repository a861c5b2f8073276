/* test_bech32.c -- Bech32 against BIP-173's test vectors (valid strings, invalid strings with
 * the reason, a SegWit program's bytes), and keys as text: a round trip of every length, the
 * blanks a copy and paste adds, and every one-character change refused by the checksum. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "util/bech32.h"
#include "util/hex.h"

static int decode(const char *s, char *hrp, uint8_t *data5, size_t *n, const char **why)
{
    return bech32_decode(hrp, BECH32_HRP_MAX + 1, data5, 90, n, s, strlen(s), 90, why);
}

static void bip173_valid_strings(void **state)
{
    static const char *const valid[] = {
        "A12UEL5L",
        "a12uel5l",
        "an83characterlonghumanreadablepartthatcontainsthenumber1"
        "andtheexcludedcharactersbio1tt5tgs",
        "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
        "11" /* 82 q */
        "qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"
        "qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq"
        "c8247j",
        "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
        "?1ezyfcl",
    };
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        char hrp[BECH32_HRP_MAX + 1], again[91];
        uint8_t data5[90];
        size_t n;
        const char *why;
        assert_int_equal(decode(valid[i], hrp, data5, &n, &why), 0);
        /* re-encoding gives the string back, in lower case */
        assert_int_equal(bech32_encode(again, sizeof again, hrp, data5, n), strlen(valid[i]));
        for (size_t k = 0; valid[i][k]; k++)
            assert_int_equal(again[k], valid[i][k] >= 'A' && valid[i][k] <= 'Z'
                                           ? valid[i][k] - 'A' + 'a'
                                           : valid[i][k]);
    }
}

static void bip173_invalid_strings(void **state)
{
    static const char *const invalid[] = {
        " 1nwldj5", /* HRP character out of range */
        "\x7f"
        "1axkwrx", /* HRP character out of range */
        "\x80"
        "1eym55h", /* HRP character out of range */
        "an84characterslonghumanreadablepartthatcontainsthenumber1"
        "andtheexcludedcharactersbio1569pvx", /* too long */
        "pzry9x0s0muk",                       /* no separator */
        "1pzry9x0s0muk",                      /* empty HRP */
        "x1b4n0q5v",                          /* invalid data character */
        "li1dgmt3",                           /* checksum too short */
        "de1lg7wt\xff",                       /* invalid character in checksum */
        "A1G7SGD8",                           /* checksum computed with the upper-case HRP */
        "10a06t8",                            /* empty HRP */
        "1qzzfhee",                           /* empty HRP */
        "a12UEL5L",                           /* mixed case */
    };
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        char hrp[BECH32_HRP_MAX + 1];
        uint8_t data5[90];
        size_t n;
        const char *why = NULL;
        assert_int_equal(decode(invalid[i], hrp, data5, &n, &why), -1);
        assert_non_null(why);
    }
}

/* BIP-173's P2WPKH example: witness version 0, then the 20-byte program in 5-bit groups. */
static void bip173_segwit_program(void **state)
{
    char hrp[BECH32_HRP_MAX + 1];
    uint8_t data5[90], program[40], want[20];
    size_t n;
    const char *why;
    assert_int_equal(decode("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", hrp, data5, &n, &why), 0);
    assert_string_equal(hrp, "bc");
    assert_int_equal(data5[0], 0);
    assert_int_equal(bech32_regroup(program, sizeof program, 8, data5 + 1, n - 1, 5, false), 20);
    assert_int_equal(hex_decode(want, sizeof want, "751e76e8199196d454941c45d1b3a323f1433bd6", 40),
                     20);
    assert_memory_equal(program, want, 20);
    char text[91];
    uint8_t back[40];
    long k = bech32_regroup(back + 1, sizeof back - 1, 5, want, 20, 8, true);
    back[0] = 0;
    assert_int_equal(bech32_encode(text, sizeof text, "bc", back, (size_t)k + 1), 42);
    assert_string_equal(text, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4");
}

static void keys_round_trip(void **state)
{
    uint8_t key[300], back[300];
    for (size_t i = 0; i < sizeof key; i++)
        key[i] = (uint8_t)(i * 151 + 7);
    for (size_t len = 0; len <= sizeof key; len += len < 40 ? 1 : 37) {
        char text[BECH32_KEY_TEXT_MAX];
        long k = bech32_key_encode(text, sizeof text, BECH32_HRP_HPKE_PUBLIC, key, len);
        assert_true(k > 0);
        assert_int_equal(text[k - 1], '\n');
        assert_true(bech32_key_is_text((uint8_t *)text, (size_t)k));
        size_t n;
        const char *why;
        assert_int_equal(bech32_key_decode(BECH32_HRP_HPKE_PUBLIC, (uint8_t *)text, (size_t)k, back,
                                           sizeof back, &n, &why),
                         0);
        assert_int_equal(n, len);
        assert_memory_equal(back, key, len);
    }
}

/* What a copy and paste does to a key: blanks around it, upper case; and what it must not get
 * past: one character changed, one lost, a key of the other kind, binary bytes. */
static void keys_survive_copy_and_paste(void **state)
{
    uint8_t key[32], back[64];
    memset(key, 0xa5, sizeof key);
    char text[200], pasted[220];
    long k = bech32_key_encode(text, sizeof text, BECH32_HRP_HPKE_PUBLIC, key, sizeof key);
    assert_int_equal(k, strlen("cloister-hpke1") + 52 + 6 + 1);
    size_t n;
    const char *why;
    snprintf(pasted, sizeof pasted, "  \t%.*s \r\n\n", (int)k - 1, text);
    assert_int_equal(bech32_key_decode(BECH32_HRP_HPKE_PUBLIC, (uint8_t *)pasted, strlen(pasted),
                                       back, sizeof back, &n, &why),
                     0);
    assert_memory_equal(back, key, sizeof key);
    for (long i = 0; i < k - 1; i++)
        pasted[i] = (char)(text[i] >= 'a' && text[i] <= 'z' ? text[i] - 'a' + 'A' : text[i]);
    assert_true(bech32_key_is_text((uint8_t *)pasted, (size_t)k - 1));
    assert_int_equal(bech32_key_decode(BECH32_HRP_HPKE_PUBLIC, (uint8_t *)pasted, (size_t)k - 1,
                                       back, sizeof back, &n, &why),
                     0);
    for (long i = (long)strlen("cloister-hpke1"); i < k - 1; i++) {
        memcpy(pasted, text, (size_t)k);
        pasted[i] = pasted[i] == 'q' ? 'p' : 'q';
        assert_int_equal(bech32_key_decode(BECH32_HRP_HPKE_PUBLIC, (uint8_t *)pasted, (size_t)k,
                                           back, sizeof back, &n, &why),
                         -1);
        memcpy(pasted, text, (size_t)i);
        memcpy(pasted + i, text + i + 1, (size_t)(k - i - 1));
        assert_int_equal(bech32_key_decode(BECH32_HRP_HPKE_PUBLIC, (uint8_t *)pasted, (size_t)k - 1,
                                           back, sizeof back, &n, &why),
                         -1);
    }
    assert_int_equal(bech32_key_decode(BECH32_HRP_IBBE_USER, (uint8_t *)text, (size_t)k, back,
                                       sizeof back, &n, &why),
                     -1);
    assert_non_null(strstr(why, "another kind"));
    /* a buffer too small for the key is refused, not overrun */
    assert_int_equal(
        bech32_key_decode(BECH32_HRP_HPKE_PUBLIC, (uint8_t *)text, (size_t)k, back, 31, &n, &why),
        -1);
    assert_false(bech32_key_is_text(key, sizeof key));
    assert_false(bech32_key_is_text((const uint8_t *)"cloister", 8));
    assert_true(bech32_key_is_text((const uint8_t *)"\n CLOISTER-x", 12));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bip173_valid_strings),        cmocka_unit_test(bip173_invalid_strings),
        cmocka_unit_test(bip173_segwit_program),       cmocka_unit_test(keys_round_trip),
        cmocka_unit_test(keys_survive_copy_and_paste),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
