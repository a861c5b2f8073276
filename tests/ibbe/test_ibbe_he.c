/* test_ibbe_he.c -- the hybrid-encryption baselines (RSA-2048 OAEP and X25519 HPKE): the same
 * create/add/remove/decrypt contract as IBBE-SGX against a model, the store round trip with
 * the documented record sizes, and refusals (removed member, another member's envelope,
 * tampered envelope, stale chunk). */
#include <cloister/ibbe.h>

#include "util/fileio.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define POOL 8
#define CHUNK 3
#define OPS 120

struct keys {
    char id[POOL][32];
    uint8_t *pub[POOL], *sec[POOL];
    size_t pub_len[POOL], sec_len[POOL];
    struct ibbe_he_member m[POOL];
};

/* The per-test directory ctest provides (CLOISTER_HOME), or the build tree. */
static const char *test_home(void)
{
    const char *home = getenv("CLOISTER_HOME");
    return home && *home ? home : CLOISTER_BINARY_DIR;
}

static void make_keys(struct keys *k, enum ibbe_he_scheme scheme)
{
    for (int i = 0; i < POOL; i++) {
        snprintf(k->id[i], sizeof k->id[i], "member-%d", i);
        assert_int_equal(
            ibbe_he_keypair(scheme, &k->pub[i], &k->pub_len[i], &k->sec[i], &k->sec_len[i]), 0);
        k->m[i] = (struct ibbe_he_member){k->id[i], k->pub[i], k->pub_len[i]};
    }
}

static void free_keys(struct keys *k)
{
    for (int i = 0; i < POOL; i++) {
        free(k->pub[i]);
        free(k->sec[i]);
    }
}

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    for (; v >= 0x80; v >>= 7)
        n++;
    return n;
}

static void check_all(const ibbe_he_group *g, const struct keys *k, const bool *member)
{
    uint8_t gk[IBBE_KEY_LEN], got[IBBE_KEY_LEN];
    struct cloister_err err;
    assert_int_equal(ibbe_he_key(g, gk), 0);
    for (int i = 0; i < POOL; i++) {
        int rc = ibbe_he_decrypt(g, k->id[i], k->sec[i], k->sec_len[i], got, &err);
        if (member[i]) {
            if (rc != 0)
                fail_msg("%s: %s", k->id[i], err.msg);
            assert_memory_equal(got, gk, IBBE_KEY_LEN);
            continue;
        }
        assert_int_equal(rc, CLOISTER_E_NOT_FOUND);
        /* nor can a non-member open any member's envelope with its own key */
        for (int j = 0; j < POOL; j++)
            if (member[j])
                assert_int_equal(ibbe_he_decrypt(g, k->id[j], k->sec[i], k->sec_len[i], got, &err),
                                 CLOISTER_E_DENIED);
    }
}

static void scheme_contract(enum ibbe_he_scheme scheme, int ops)
{
    struct keys k;
    make_keys(&k, scheme);
    bool member[POOL] = {true, true, true, true};
    size_t size = 4;
    struct cloister_err err;
    ibbe_he_group *g;
    assert_int_equal(ibbe_he_create(scheme, "he", CHUNK, k.m, 4, &g, &err), 0);
    check_all(g, &k, member);
    struct ibbe_he_member dup[2] = {k.m[0], k.m[0]};
    ibbe_he_group *bad;
    assert_int_equal(ibbe_he_create(scheme, "he", CHUNK, dup, 2, &bad, &err), CLOISTER_E_EXISTS);
    assert_string_equal(err.msg, "duplicate member identity");
    unsigned seed = 7;
    for (int op = 0; op < ops; op++) {
        int who = rand_r(&seed) % POOL;
        bool add = size <= 1 || (size < POOL && rand_r(&seed) % 2);
        while (member[who] == add)
            who = (who + 1) % POOL;
        uint64_t epoch = ibbe_he_epoch(g);
        if (add) {
            assert_int_equal(ibbe_he_add(g, &k.m[who], &err), 0);
            assert_true(ibbe_he_epoch(g) == epoch);
            size++;
        } else {
            assert_int_equal(ibbe_he_remove(g, k.id[who], &err), 0);
            assert_true(ibbe_he_epoch(g) == epoch + 1);
            size--;
        }
        member[who] = add;
        assert_int_equal(ibbe_he_size(g), size);
        if (op % 10 == 0)
            check_all(g, &k, member);
    }
    check_all(g, &k, member);

    /* store round trip, record sizes */
    char dir[512], path[700];
    snprintf(dir, sizeof dir, "%s/store-%d", test_home(), scheme);
    ibbe_store *st;
    assert_int_equal(ibbe_store_open(dir, &st, &err), 0);
    assert_int_equal(ibbe_store_save_he(st, g, &err), 0);
    uint8_t *buf;
    size_t len, env = scheme == IBBE_HE_RSA ? 256 : 80;
    assert_int_equal(ibbe_he_encode_meta(g, &buf, &len), 0);
    free(buf);
    long long want = (long long)len;
    for (size_t c = 0; c < ibbe_he_chunks(g); c++) {
        size_t first = c * CHUNK, cnt = size - first < CHUNK ? size - first : CHUNK;
        size_t bytes = 6 + varint_len(c) + 8 + varint_len(cnt);
        for (size_t i = first; i < first + cnt; i++)
            bytes += 1 + 8 + varint_len(env) + env; /* ids are "member-N" */
        assert_int_equal(ibbe_he_encode_chunk(g, c, &buf, &len), 0);
        assert_int_equal(len, bytes);
        free(buf);
        want += (long long)bytes;
    }
    assert_true(ibbe_store_he_bytes(st, "he") == want);
    ibbe_he_group *g2;
    assert_int_equal(ibbe_store_load_he(st, "he", &g2, &err), 0);
    uint8_t gk[IBBE_KEY_LEN], got[IBBE_KEY_LEN];
    assert_int_equal(ibbe_he_key(g, gk), 0);
    assert_int_equal(ibbe_he_key(g2, got), -1);
    int someone = 0;
    while (!member[someone])
        someone++;
    for (int i = 0; i < POOL; i++)
        if (member[i]) {
            assert_int_equal(ibbe_he_decrypt(g2, k.id[i], k.sec[i], k.sec_len[i], got, &err), 0);
            assert_memory_equal(got, gk, IBBE_KEY_LEN);
        }
    assert_int_equal(ibbe_he_add(g2, &k.m[0], &err), CLOISTER_E_STATE); /* decoded: no admin key */
    ibbe_he_free(g2);

    /* a flipped envelope byte: that member cannot open; a stale chunk is refused */
    snprintf(path, sizeof path, "%s/he/he/p0", dir);
    assert_int_equal(file_read_all(path, 1 << 20, &buf, &len), 0);
    buf[len - 5] ^= 1;
    assert_int_equal(file_write_atomic(path, buf, len, 0644), 0);
    assert_int_equal(ibbe_store_load_he(st, "he", &g2, &err), 0);
    int opened = 0;
    for (int i = 0; i < POOL; i++)
        if (member[i])
            opened += ibbe_he_decrypt(g2, k.id[i], k.sec[i], k.sec_len[i], got, &err) == 0;
    assert_int_equal(opened, (int)size - 1);
    ibbe_he_free(g2);
    buf[len - 5] ^= 1;
    assert_int_equal(ibbe_he_remove(g, k.id[someone], &err), 0);
    assert_int_equal(ibbe_store_save_he(st, g, &err), 0);
    assert_int_equal(file_write_atomic(path, buf, len, 0644), 0);
    assert_int_equal(ibbe_store_load_he(st, "he", &g2, &err), CLOISTER_E_INVALID);
    assert_non_null(strstr(err.msg, "p0: HE chunk record: epoch differs"));
    free(buf);

    ibbe_store_close(st);
    ibbe_he_free(g);
    free_keys(&k);
}

static void hpke_baseline(void **state)
{
    scheme_contract(IBBE_HE_HPKE, OPS);
}

static void rsa_baseline(void **state)
{
    scheme_contract(IBBE_HE_RSA, OPS / 4);
}

static void wrong_keys(void **state)
{
    uint8_t *pub, *sec;
    size_t pl, sl;
    struct cloister_err err;
    ibbe_he_group *g;
    assert_int_equal(ibbe_he_keypair(IBBE_HE_HPKE, &pub, &pl, &sec, &sl), 0);
    struct ibbe_he_member m = {"x", pub, pl};
    assert_int_equal(ibbe_he_create(IBBE_HE_RSA, "g", 4, &m, 1, &g, &err), CLOISTER_E_INVALID);
    assert_string_equal(err.msg, "member public key: not an RSA-2048 key");
    m.pub_len = 31;
    assert_int_equal(ibbe_he_create(IBBE_HE_HPKE, "g", 4, &m, 1, &g, &err), CLOISTER_E_INVALID);
    free(pub);
    free(sec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(wrong_keys),
        cmocka_unit_test(hpke_baseline),
        cmocka_unit_test(rsa_baseline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
