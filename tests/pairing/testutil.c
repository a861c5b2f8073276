/* testutil.c -- see testutil.h. */
#include "testutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/hex.h"

const char *tu_fp_path(void)
{
    return bls_fp_select(getenv("CLOISTER_BLS_PORTABLE") ? BLS_FP_PORTABLE : BLS_FP_AUTO);
}

void tu_hex(uint8_t *out, size_t len, const char *hex)
{
    assert_non_null(hex);
    assert_int_equal(strlen(hex), 2 * len);
    assert_int_equal(hex_decode(out, len, hex, 2 * len), (long)len);
}

void tu_fr_hex(bls_fr *out, const char *hex)
{
    uint8_t b[BLS_FR_BYTES];
    tu_hex(b, sizeof b, hex);
    assert_int_equal(bls_fr_from_bytes(out, b), BLS_OK);
}

void tu_rand_bytes(uint8_t *out, size_t len)
{
    static uint64_t state = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < len; i++) {
        state ^= state << 13, state ^= state >> 7, state ^= state << 17;
        out[i] = (uint8_t)(state >> 32);
    }
}

void tu_rand_fr(bls_fr *out)
{
    uint8_t b[64];
    tu_rand_bytes(b, sizeof b);
    bls_fr_from_wide(out, b, sizeof b);
}

json_t *tu_load_vectors(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/tests/vectors/pairing/%s", CLOISTER_SOURCE_DIR, name);
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    if (!root)
        fail_msg("%s:%d: %s", path, err.line, err.text);
    return root;
}

const char *tu_str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    if (!s)
        fail_msg("vector field '%s' missing", key);
    return s;
}

json_t *tu_array(const json_t *obj, const char *key)
{
    json_t *a = json_object_get(obj, key);
    if (!json_is_array(a) || json_array_size(a) == 0)
        fail_msg("vector array '%s' missing or empty", key);
    return a;
}

void tu_naive_mul(const struct tu_group *g, void *out, const void *p, const bls_fr *k)
{
    uint8_t kb[BLS_FR_BYTES];
    bls_fr_to_bytes(kb, k);
    g->identity(out);
    for (int i = 0; i < 8 * BLS_FR_BYTES; i++) {
        g->dbl(out, out);
        if ((kb[i / 8] >> (7 - i % 8)) & 1)
            g->add(out, out, p);
    }
}

/* void-pointer wrappers over one group's functions */
#define TU_GROUP(G, PT, TABLE, BYTES)                                                              \
    static void G##_identity(void *o)                                                              \
    {                                                                                              \
        bls_##G##_identity(o);                                                                     \
    }                                                                                              \
    static void G##_generator(void *o)                                                             \
    {                                                                                              \
        bls_##G##_generator(o);                                                                    \
    }                                                                                              \
    static void G##_add(void *o, const void *a, const void *b)                                     \
    {                                                                                              \
        bls_##G##_add(o, a, b);                                                                    \
    }                                                                                              \
    static void G##_sub(void *o, const void *a, const void *b)                                     \
    {                                                                                              \
        bls_##G##_sub(o, a, b);                                                                    \
    }                                                                                              \
    static void G##_dbl(void *o, const void *a)                                                    \
    {                                                                                              \
        bls_##G##_dbl(o, a);                                                                       \
    }                                                                                              \
    static void G##_neg(void *o, const void *a)                                                    \
    {                                                                                              \
        bls_##G##_neg(o, a);                                                                       \
    }                                                                                              \
    static bool G##_eq(const void *a, const void *b)                                               \
    {                                                                                              \
        return bls_##G##_eq(a, b);                                                                 \
    }                                                                                              \
    static bool G##_is_identity(const void *a)                                                     \
    {                                                                                              \
        return bls_##G##_is_identity(a);                                                           \
    }                                                                                              \
    static bool G##_on_curve(const void *a)                                                        \
    {                                                                                              \
        return bls_##G##_on_curve(a);                                                              \
    }                                                                                              \
    static bool G##_in_subgroup(const void *a)                                                     \
    {                                                                                              \
        return bls_##G##_in_subgroup(a);                                                           \
    }                                                                                              \
    static void G##_mul(void *o, const void *p, const bls_fr *k)                                   \
    {                                                                                              \
        bls_##G##_mul(o, p, k);                                                                    \
    }                                                                                              \
    static void G##_mul_gen(void *o, const bls_fr *k)                                              \
    {                                                                                              \
        bls_##G##_mul_gen(o, k);                                                                   \
    }                                                                                              \
    static void *G##_table_new(const void *b)                                                      \
    {                                                                                              \
        return bls_##G##_table_new(b);                                                             \
    }                                                                                              \
    static void G##_table_mul(void *o, const void *t, const bls_fr *k)                             \
    {                                                                                              \
        bls_##G##_table_mul(o, t, k);                                                              \
    }                                                                                              \
    static void G##_table_free(void *t)                                                            \
    {                                                                                              \
        bls_##G##_table_free(t);                                                                   \
    }                                                                                              \
    static int G##_msm(void *o, const void *p, const bls_fr *k, size_t n)                          \
    {                                                                                              \
        return bls_##G##_msm(o, p, k, n);                                                          \
    }                                                                                              \
    static void G##_hash(void *o, const void *m, size_t l, const void *d, size_t dl)               \
    {                                                                                              \
        bls_##G##_hash(o, m, l, d, dl);                                                            \
    }                                                                                              \
    static void G##_to_bytes(uint8_t *o, const void *a)                                            \
    {                                                                                              \
        bls_##G##_to_bytes(o, a);                                                                  \
    }                                                                                              \
    static int G##_from_bytes(void *o, const uint8_t *in)                                          \
    {                                                                                              \
        return bls_##G##_from_bytes(o, in);                                                        \
    }                                                                                              \
    const struct tu_group tu_##G = {                                                               \
        #G,                                                                                        \
        sizeof(PT),                                                                                \
        BYTES,                                                                                     \
        G##_identity,                                                                              \
        G##_generator,                                                                             \
        G##_add,                                                                                   \
        G##_sub,                                                                                   \
        G##_dbl,                                                                                   \
        G##_neg,                                                                                   \
        G##_eq,                                                                                    \
        G##_is_identity,                                                                           \
        G##_on_curve,                                                                              \
        G##_in_subgroup,                                                                           \
        G##_mul,                                                                                   \
        G##_mul_gen,                                                                               \
        G##_table_new,                                                                             \
        G##_table_mul,                                                                             \
        G##_table_free,                                                                            \
        G##_msm,                                                                                   \
        G##_hash,                                                                                  \
        G##_to_bytes,                                                                              \
        G##_from_bytes,                                                                            \
    };

TU_GROUP(g1, bls_g1, bls_g1_table, BLS_G1_BYTES)
TU_GROUP(g2, bls_g2, bls_g2_table, BLS_G2_BYTES)
