/* test_ibbe_crypto.c -- the IBBE algorithms: H(ID) against an independent RFC 9380 computation
 * (Python hashlib), public and enclave encryption giving the same C3 and keys every member
 * recovers, user and admin decryption agreeing, polynomial updates against re-expansion, key
 * and header encodings, and the refusals (non-member, wrong key, tampered header). */
#include <cloister/ibbe.h>

#include "ibbe/enclave/msk.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define N 16

static ibbe_msk *msk;
static ibbe_pk *pk;

static int setup_keys(void **state)
{
    return ibbe_setup(N, &msk, &pk);
}

static int free_keys(void **state)
{
    ibbe_msk_free(msk);
    ibbe_pk_free(pk);
    return 0;
}

static void member_id(char *buf, size_t cap, int i)
{
    snprintf(buf, cap, "user%03d@example.org", i);
}

static void hashes_of(bls_fr *h, int first, size_t s)
{
    char id[64];
    for (size_t i = 0; i < s; i++) {
        member_id(id, sizeof id, first + (int)i);
        assert_int_equal(ibbe_hash_id(&h[i], id), 0);
    }
}

static void hash_kat(void **state)
{
    static const struct {
        const char *id, *hex;
    } kats[] = {
        {"alice@example.org", "3256215248108b2761812a808ed25ec7f3836bc107acb489a152d081e1da239e"},
        {"bob", "3154aafbcd52dafc440b496011e4d007190dc0150e95499dcc517b81f556bc0f"},
    };
    for (size_t k = 0; k < sizeof kats / sizeof kats[0]; k++) {
        bls_fr h;
        uint8_t got[32];
        char hex[65];
        assert_int_equal(ibbe_hash_id(&h, kats[k].id), 0);
        bls_fr_to_bytes(got, &h);
        for (int i = 0; i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", got[i]);
        assert_string_equal(hex, kats[k].hex);
    }
    bls_fr h;
    char long_id[IBBE_ID_MAX + 2];
    memset(long_id, 'a', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = 0;
    assert_int_equal(ibbe_hash_id(&h, long_id), -1);
    assert_int_equal(ibbe_hash_id(&h, ""), -1);
    assert_int_equal(ibbe_hash_id(&h, "a\nb"), -1);
    long_id[IBBE_ID_MAX] = 0;
    assert_int_equal(ibbe_hash_id(&h, long_id), 0);
}

/* P evaluated at a random point equals ∏(x + H_i); mul/div follow membership changes. */
static void polynomial(void **state)
{
    bls_fr h[N], x, want, got, t;
    hashes_of(h, 0, N);
    struct ibbe_poly p;
    assert_int_equal(ibbe_poly_from_hashes(&p, h, N), 0);
    assert_int_equal(p.degree, N);
    assert_int_equal(bls_fr_random(&x), 0);
    bls_fr_from_u64(&want, 1);
    for (int i = 0; i < N; i++) {
        bls_fr_add(&t, &x, &h[i]);
        bls_fr_mul(&want, &want, &t);
    }
    bls_fr_from_u64(&got, 0);
    for (size_t j = p.degree + 1; j-- > 0;) {
        bls_fr_mul(&got, &got, &x);
        bls_fr_add(&got, &got, &p.coef[j]);
    }
    assert_true(bls_fr_eq(&got, &want));

    /* divide out member 3, multiply it back: the same coefficients */
    struct ibbe_poly q;
    assert_int_equal(ibbe_poly_from_hashes(&q, h, N), 0);
    assert_int_equal(ibbe_poly_div_root(&q, &h[3]), 0);
    assert_int_equal(q.degree, N - 1);
    bls_fr other[N - 1];
    memcpy(other, h, 3 * sizeof *h);
    memcpy(other + 3, h + 4, (N - 4) * sizeof *h);
    struct ibbe_poly r;
    assert_int_equal(ibbe_poly_from_hashes(&r, other, N - 1), 0);
    for (size_t j = 0; j <= r.degree; j++)
        assert_true(bls_fr_eq(&q.coef[j], &r.coef[j]));
    assert_int_equal(ibbe_poly_mul_root(&q, &h[3]), 0);
    for (size_t j = 0; j <= p.degree; j++)
        assert_true(bls_fr_eq(&q.coef[j], &p.coef[j]));

    /* a non-root is refused and leaves P intact */
    assert_int_equal(ibbe_poly_div_root(&q, &x), -1);
    assert_int_equal(q.degree, N);
    for (size_t j = 0; j <= p.degree; j++)
        assert_true(bls_fr_eq(&q.coef[j], &p.coef[j]));
    ibbe_poly_free(&p);
    ibbe_poly_free(&q);
    ibbe_poly_free(&r);
}

/* The product tree (Karatsuba above 32 coefficients) equals root-by-root expansion, for sizes
 * around every split point. */
static void product_tree(void **state)
{
    static const size_t sizes[] = {1, 31, 32, 33, 64, 65, 97, 200, 301};
    enum { MAX = 301 };
    bls_fr *h = malloc(MAX * sizeof *h);
    for (size_t i = 0; i < MAX; i++)
        assert_int_equal(bls_fr_random(&h[i]), 0);
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        struct ibbe_poly tree, slow = {0, malloc(sizeof(bls_fr))};
        bls_fr_from_u64(&slow.coef[0], 1);
        for (size_t i = 0; i < sizes[k]; i++)
            assert_int_equal(ibbe_poly_mul_root(&slow, &h[i]), 0);
        assert_int_equal(ibbe_poly_from_hashes(&tree, h, sizes[k]), 0);
        assert_int_equal(tree.degree, sizes[k]);
        for (size_t j = 0; j <= sizes[k]; j++)
            assert_true(bls_fr_eq(&tree.coef[j], &slow.coef[j]));
        ibbe_poly_free(&tree);
        ibbe_poly_free(&slow);
    }
    free(h);
}

/* Every member of S recovers key with its own user key. */
static void all_members_decrypt(const bls_fr *h, int first, size_t s, const struct ibbe_header *hdr,
                                const uint8_t key[IBBE_KEY_LEN])
{
    struct ibbe_poly p;
    assert_int_equal(ibbe_poly_from_hashes(&p, h, s), 0);
    for (size_t i = 0; i < s; i++) {
        char id[64];
        struct ibbe_usk usk;
        uint8_t got[IBBE_KEY_LEN];
        member_id(id, sizeof id, first + (int)i);
        assert_int_equal(ibbe_extract(msk, id, &usk), 0);
        assert_int_equal(ibbe_decrypt_user(pk, &p, &h[i], &usk, hdr, got), 0);
        assert_memory_equal(got, key, IBBE_KEY_LEN);
    }
    ibbe_poly_free(&p);
}

static void encrypt_decrypt(void **state)
{
    static const size_t sizes[] = {1, 2, 5, N};
    for (size_t c = 0; c < sizeof sizes / sizeof sizes[0]; c++) {
        size_t s = sizes[c];
        bls_fr h[N];
        hashes_of(h, 100, s);
        struct ibbe_header pub, enc;
        uint8_t kpub[IBBE_KEY_LEN], kenc[IBBE_KEY_LEN], kadm[IBBE_KEY_LEN];
        assert_int_equal(ibbe_encrypt_public(pk, h, s, &pub, kpub), 0);
        assert_int_equal(ibbe_encrypt(msk, h, s, &enc, kenc), 0);
        /* C3 = h^{P(γ)} is deterministic: the O(s²) public path and the O(s) enclave path
         * must agree exactly */
        assert_true(bls_g1_eq(&pub.c3, &enc.c3));
        assert_memory_not_equal(kpub, kenc, IBBE_KEY_LEN); /* independent k */
        all_members_decrypt(h, 100, s, &pub, kpub);
        all_members_decrypt(h, 100, s, &enc, kenc);
        assert_int_equal(ibbe_decrypt_admin(msk, h, s, &pub, kadm), 0);
        assert_memory_equal(kadm, kpub, IBBE_KEY_LEN);
        assert_int_equal(ibbe_decrypt_admin(msk, h, s, &enc, kadm), 0);
        assert_memory_equal(kadm, kenc, IBBE_KEY_LEN);
    }
    bls_fr h[N + 1];
    hashes_of(h, 0, N + 1);
    struct ibbe_header hdr;
    uint8_t key[IBBE_KEY_LEN];
    assert_int_equal(ibbe_encrypt_public(pk, h, N + 1, &hdr, key), -1);
    assert_int_equal(ibbe_encrypt(msk, h, N + 1, &hdr, key), -1);
    assert_int_equal(ibbe_encrypt(msk, h, 0, &hdr, key), -1);
}

static void refusals(void **state)
{
    bls_fr h[4], outsider;
    hashes_of(h, 0, 4);
    struct ibbe_header hdr;
    uint8_t key[IBBE_KEY_LEN], got[IBBE_KEY_LEN];
    assert_int_equal(ibbe_encrypt(msk, h, 4, &hdr, key), 0);
    struct ibbe_poly p;
    assert_int_equal(ibbe_poly_from_hashes(&p, h, 4), 0);
    struct ibbe_usk usk, other;
    char id[64];
    member_id(id, sizeof id, 7);
    assert_int_equal(ibbe_hash_id(&outsider, id), 0);
    assert_int_equal(ibbe_extract(msk, id, &other), 0);
    /* an outsider's hash is not a root */
    assert_int_equal(ibbe_decrypt_user(pk, &p, &outsider, &other, &hdr, got), -1);
    /* an outsider posing as member 0 with its own key gets a different key */
    assert_int_equal(ibbe_decrypt_user(pk, &p, &h[0], &other, &hdr, got), 0);
    assert_memory_not_equal(got, key, IBBE_KEY_LEN);
    /* a tampered C2 gives a different key */
    member_id(id, sizeof id, 0);
    assert_int_equal(ibbe_extract(msk, id, &usk), 0);
    struct ibbe_header bad = hdr;
    bls_g1_dbl(&bad.c2, &bad.c2);
    assert_int_equal(ibbe_decrypt_user(pk, &p, &h[0], &usk, &bad, got), 0);
    assert_memory_not_equal(got, key, IBBE_KEY_LEN);
    ibbe_poly_free(&p);
}

static void encodings(void **state)
{
    uint8_t *buf;
    size_t len;
    struct cloister_err err;
    assert_int_equal(ibbe_pk_encode(pk, &buf, &len), 0);
    assert_int_equal(len, 6 + 1 + 2 * 96 + (N + 1) * 48);
    ibbe_pk *pk2;
    assert_int_equal(ibbe_pk_decode(&pk2, buf, len, &err), 0);
    assert_int_equal(ibbe_pk_capacity(pk2), N);
    ibbe_pk *bad = NULL;
    assert_int_equal(ibbe_pk_decode(&bad, buf, len - 1, &err), CLOISTER_E_INVALID);
    assert_non_null(strstr(err.msg, "length"));
    buf[6] = 0;
    assert_int_equal(ibbe_pk_decode(&bad, buf, len, &err), CLOISTER_E_INVALID);
    assert_non_null(strstr(err.msg, "partition size"));
    buf[6] = N;
    buf[40] ^= 1;
    assert_int_equal(ibbe_pk_decode(&bad, buf, len, &err), CLOISTER_E_INVALID);
    assert_null(bad);
    free(buf);

    /* decrypt with the decoded key, user key and header through their encodings */
    bls_fr h[3];
    hashes_of(h, 0, 3);
    struct ibbe_header hdr, hdr2;
    uint8_t key[IBBE_KEY_LEN], got[IBBE_KEY_LEN], hb[IBBE_HEADER_BYTES], ub[IBBE_USK_BYTES];
    assert_int_equal(ibbe_encrypt(msk, h, 3, &hdr, key), 0);
    ibbe_header_to_bytes(hb, &hdr);
    assert_int_equal(ibbe_header_from_bytes(&hdr2, hb, &err), 0);
    struct ibbe_usk usk, usk2;
    char id[64];
    member_id(id, sizeof id, 1);
    assert_int_equal(ibbe_extract(msk, id, &usk), 0);
    ibbe_usk_to_bytes(ub, &usk);
    assert_int_equal(ibbe_usk_from_bytes(&usk2, ub), 0);
    struct ibbe_poly p;
    assert_int_equal(ibbe_poly_from_hashes(&p, h, 3), 0);
    assert_int_equal(ibbe_decrypt_user(pk2, &p, &h[1], &usk2, &hdr2, got), 0);
    assert_memory_equal(got, key, IBBE_KEY_LEN);
    ibbe_poly_free(&p);
    hb[100] ^= 0x20;
    assert_int_equal(ibbe_header_from_bytes(&hdr2, hb, &err), -1);
    ub[5] ^= 1;
    assert_int_equal(ibbe_usk_from_bytes(&usk2, ub), -1);

    /* γ round trip: same user keys; refused with another public key */
    uint8_t g[BLS_FR_BYTES];
    ibbe_msk_to_bytes(g, msk);
    ibbe_msk *msk2;
    assert_int_equal(ibbe_msk_from_bytes(&msk2, g, pk2), 0);
    assert_int_equal(ibbe_extract(msk2, id, &usk2), 0);
    assert_true(bls_g2_eq(&usk.d, &usk2.d));
    ibbe_msk_free(msk2);
    ibbe_msk *other_msk;
    ibbe_pk *other_pk;
    assert_int_equal(ibbe_setup(2, &other_msk, &other_pk), 0);
    assert_int_equal(ibbe_msk_from_bytes(&msk2, g, other_pk), -1);
    ibbe_msk_free(other_msk);
    ibbe_pk_free(other_pk);
    ibbe_pk_free(pk2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hash_kat),     cmocka_unit_test(polynomial),
        cmocka_unit_test(product_tree), cmocka_unit_test(encrypt_decrypt),
        cmocka_unit_test(refusals),     cmocka_unit_test(encodings),
    };
    return cmocka_run_group_tests(tests, setup_keys, free_keys);
}
