/* testutil.h -- helpers shared by the pairing tests: hex parsing into the library's types, a
 * reproducible generator of test scalars, JSON vector loading, and a group-generic view of G1
 * and G2 so each property is written once for both groups. */
#ifndef CLOISTER_TESTS_PAIRING_TESTUTIL_H
#define CLOISTER_TESTS_PAIRING_TESTUTIL_H

#include <cloister/pairing.h>

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

/* Selects the Fp multiplication the test runs on: the portable C when the environment sets
 * CLOISTER_BLS_PORTABLE (ctest's *_portable runs), else the default; returns its name. */
const char *tu_fp_path(void);
/* Decodes exactly len bytes of hex (fails the test otherwise). */
void tu_hex(uint8_t *out, size_t len, const char *hex);
void tu_fr_hex(bls_fr *out, const char *hex);
/* Deterministic pseudo-random bytes (xorshift) for reproducible property tests. */
void tu_rand_bytes(uint8_t *out, size_t len);
void tu_rand_fr(bls_fr *out);
/* Parsed tests/vectors/pairing/<name>; fails the test when missing or malformed. */
json_t *tu_load_vectors(const char *name);
const char *tu_str(const json_t *obj, const char *key);
/* A non-empty array member (so a renamed key cannot make a test pass vacuously). */
json_t *tu_array(const json_t *obj, const char *key);

/* A group seen through void pointers: the same test body runs on G1 and G2. */
struct tu_group {
    const char *name;
    size_t point_size, bytes;
    void (*identity)(void *out);
    void (*generator)(void *out);
    void (*add)(void *out, const void *a, const void *b);
    void (*sub)(void *out, const void *a, const void *b);
    void (*dbl)(void *out, const void *a);
    void (*neg)(void *out, const void *a);
    bool (*eq)(const void *a, const void *b);
    bool (*is_identity)(const void *a);
    bool (*on_curve)(const void *a);
    bool (*in_subgroup)(const void *a);
    void (*mul)(void *out, const void *p, const bls_fr *k);
    void (*mul_gen)(void *out, const bls_fr *k);
    void *(*table_new)(const void *base);
    void (*table_mul)(void *out, const void *t, const bls_fr *k);
    void (*table_free)(void *t);
    int (*msm)(void *out, const void *points, const bls_fr *k, size_t n);
    void (*hash)(void *out, const void *msg, size_t len, const void *dst, size_t dstlen);
    void (*to_bytes)(uint8_t *out, const void *a);
    int (*from_bytes)(void *out, const uint8_t *in);
};
extern const struct tu_group tu_g1, tu_g2;

/* out = [k]P by plain double-and-add over the bits of k: the reference for mul. */
void tu_naive_mul(const struct tu_group *g, void *out, const void *p, const bls_fr *k);

#endif
