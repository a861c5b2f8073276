/* test_ibbe_client.c -- the member API (ibbe_client.h) used directly, as a program other than the
 * CLI would: the admin (sim enclave) sets up a store, a group and user keys, and the members then
 * load their keys (plain, and HPKE-sealed to them), recover the group key and open shared files
 * with nothing but the store. Each refusal is checked for its code: a key of someone else, a
 * sealed key without (or with the wrong) secret, a non-member, a missing group, a file of another
 * group, of an older epoch, or altered. */
#include <cloister/crypto.h>
#include <cloister/hpke.h>
#include <cloister/ibbe_admin.h>
#include <cloister/ibbe_client.h>
#include <cloister/tee_enclave.h>

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "crypto/hpke_wire.h"
#include "ibbe/common/internal.h"
#include "util/fileio.h"

TEE_ENCLAVE_DECLARE(ibbe);

static char dir[PATH_MAX];
static ibbe_admin *admin;
static const char *members[] = {"ann@x", "bob@x", "cat@x", "dan@x", "eve@x"};

static void write_file(const char *name, const uint8_t *data, size_t len)
{
    assert_int_equal(file_write_atomic(name, data, len, 0600), 0);
}

/* Extracts id's key into the file name, sealed to the HPKE public key to when given. */
static void extract(const char *id, const uint8_t *to, const char *name)
{
    uint8_t *key;
    size_t len;
    struct cloister_err err;
    assert_int_equal(ibbe_admin_extract(admin, &id, &to, 1, &key, &len, &err), CLOISTER_OK);
    write_file(name, key, len);
    free(key);
}

/* An HPKE key pair; the secret key goes to the file name (`cloister crypto hpke-keygen`). */
static void hpke_secret_file(const char *name, uint8_t pk[HPKE_PUBLIC_LEN])
{
    uint8_t sk[HPKE_SECRET_LEN], *rec;
    size_t len;
    struct wire_writer w;
    assert_int_equal(hpke_keypair(pk, sk), 0);
    wire_writer_init(&w);
    hpke_wire_put_secret(&w, sk, pk);
    assert_int_equal(wire_writer_finish(&w, &rec, &len), 0);
    write_file(name, rec, len);
    free(rec);
}

static int setup(void **state)
{
    const char *home = getenv("CLOISTER_HOME");
    char cmd[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/ibbe-client", home ? home : "/tmp/cloister-test");
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    struct ibbe_admin_options o = {.backend = "sim", .enclave = &tee_enclave_ibbe};
    struct cloister_err err;
    if (ibbe_admin_open(dir, &o, &admin, &err) != CLOISTER_OK)
        fail_msg("ibbe_admin_open: %s", err.msg);
    assert_int_equal(chdir(dir), 0); /* key files next to the store */
    assert_int_equal(ibbe_admin_setup(admin, 2, &err), CLOISTER_OK);
    assert_int_equal(ibbe_admin_create(admin, "team", members, 4, &err), CLOISTER_OK);
    uint8_t pk[HPKE_PUBLIC_LEN], other[HPKE_PUBLIC_LEN];
    hpke_secret_file("bob.sk", pk);
    hpke_secret_file("other.sk", other);
    extract("ann@x", NULL, "ann.key");
    extract("bob@x", pk, "bob.key");
    extract("cat@x", NULL, "cat.key");
    extract("eve@x", NULL, "eve.key");
    return 0;
}

static int teardown(void **state)
{
    ibbe_admin_close(admin);
    return 0;
}

static void keys(void **state)
{
    struct ibbe_usk usk;
    struct cloister_err err;
    assert_int_equal(ibbe_client_load_key("ann.key", NULL, "ann@x", &usk, &err), CLOISTER_OK);
    assert_int_equal(ibbe_client_load_key("bob.key", "bob.sk", "bob@x", &usk, &err), CLOISTER_OK);
    /* ann's key is not bob's, whatever the caller says */
    assert_int_equal(ibbe_client_load_key("ann.key", NULL, "bob@x", &usk, &err),
                     CLOISTER_E_INVALID);
    assert_non_null(strstr(err.msg, "a key of 'ann@x'"));
    /* bob's sealed key needs bob's secret key */
    assert_int_equal(ibbe_client_load_key("bob.key", NULL, "bob@x", &usk, &err), CLOISTER_E_DENIED);
    assert_int_equal(ibbe_client_load_key("bob.key", "other.sk", "bob@x", &usk, &err),
                     CLOISTER_E_DENIED);
    assert_int_equal(ibbe_client_load_key("nobody.key", NULL, "ann@x", &usk, &err),
                     CLOISTER_E_NOT_FOUND);
    assert_int_equal(ibbe_client_load_key("bob.sk", NULL, "bob@x", &usk, &err), CLOISTER_E_INVALID);
    crypto_wipe(&usk, sizeof usk);
}

/* Every member recovers the same group key at epoch 1; outsiders get NOT_FOUND. */
static void group_key(void **state)
{
    struct ibbe_usk ann, bob, eve;
    uint8_t gk[IBBE_KEY_LEN], again[IBBE_KEY_LEN];
    uint64_t epoch = 0;
    struct cloister_err err;
    assert_int_equal(ibbe_client_load_key("ann.key", NULL, "ann@x", &ann, &err), 0);
    assert_int_equal(ibbe_client_load_key("bob.key", "bob.sk", "bob@x", &bob, &err), 0);
    assert_int_equal(ibbe_client_load_key("eve.key", NULL, "eve@x", &eve, &err), 0);
    assert_int_equal(ibbe_client_group_key(dir, "team", "ann@x", &ann, gk, &epoch, &err),
                     CLOISTER_OK);
    assert_int_equal(epoch, 1);
    assert_int_equal(ibbe_client_group_key(dir, "team", "bob@x", &bob, again, &epoch, &err),
                     CLOISTER_OK);
    assert_memory_equal(gk, again, IBBE_KEY_LEN);
    /* eve has a valid key but is not in the group */
    assert_int_equal(ibbe_client_group_key(dir, "team", "eve@x", &eve, again, &epoch, &err),
                     CLOISTER_E_NOT_FOUND);
    assert_int_equal(ibbe_client_group_key(dir, "nosuch", "ann@x", &ann, again, &epoch, &err),
                     CLOISTER_E_NOT_FOUND);
    /* ann's key presented as bob's does not open bob's partition */
    assert_int_equal(ibbe_client_group_key(dir, "team", "bob@x", &ann, again, &epoch, &err),
                     CLOISTER_E_DENIED);
}

/* Files: members open files of the current epoch and earlier ones; a removed member opens
 * nothing new. */
static void files(void **state)
{
    struct ibbe_usk ann, cat;
    uint8_t *before, *after, *pt;
    size_t before_len, after_len, ptlen;
    struct cloister_err err;
    const char *cat_id = "cat@x";
    assert_int_equal(ibbe_client_load_key("ann.key", NULL, "ann@x", &ann, &err), 0);
    assert_int_equal(ibbe_client_load_key("cat.key", NULL, "cat@x", &cat, &err), 0);
    assert_int_equal(
        ibbe_admin_seal(admin, "team", (const uint8_t *)"plan A", 6, &before, &before_len, &err),
        0);
    assert_int_equal(
        ibbe_client_open_file(dir, "team", "cat@x", &cat, before, before_len, &pt, &ptlen, &err),
        CLOISTER_OK);
    assert_int_equal(ptlen, 6);
    assert_memory_equal(pt, "plan A", 6);
    free(pt);
    assert_int_equal(
        ibbe_client_open_file(dir, "other", "cat@x", &cat, before, before_len, &pt, &ptlen, &err),
        CLOISTER_E_INVALID);

    assert_int_equal(ibbe_admin_remove(admin, "team", &cat_id, 1, &err), 0);
    assert_int_equal(
        ibbe_admin_seal(admin, "team", (const uint8_t *)"plan B", 6, &after, &after_len, &err), 0);
    assert_int_equal(
        ibbe_client_open_file(dir, "team", "ann@x", &ann, after, after_len, &pt, &ptlen, &err),
        CLOISTER_OK);
    assert_memory_equal(pt, "plan B", 6);
    free(pt);
    assert_int_equal(
        ibbe_client_open_file(dir, "team", "cat@x", &cat, after, after_len, &pt, &ptlen, &err),
        CLOISTER_E_NOT_FOUND);
    /* ann stays: the key of epoch 2 gives her epoch 1's (key regression) */
    assert_int_equal(
        ibbe_client_open_file(dir, "team", "ann@x", &ann, before, before_len, &pt, &ptlen, &err),
        CLOISTER_OK);
    assert_memory_equal(pt, "plan A", 6);
    free(pt);
    /* one altered byte of the ciphertext */
    after[after_len - 1] ^= 1;
    assert_int_equal(
        ibbe_client_open_file(dir, "team", "ann@x", &ann, after, after_len, &pt, &ptlen, &err),
        CLOISTER_E_DENIED);
    free(before);
    free(after);
    crypto_wipe(&ann, sizeof ann);
    crypto_wipe(&cat, sizeof cat);
}

/* Seals text for group "hist" as the admin. */
static uint8_t *seal_text(const char *text, size_t *len)
{
    uint8_t *out;
    struct cloister_err err;
    assert_int_equal(
        ibbe_admin_seal(admin, "hist", (const uint8_t *)text, strlen(text), &out, len, &err), 0);
    return out;
}

/* Whether gk, the group key of some epoch, opens the sealed file directly (no API check). */
static bool key_opens(const uint8_t gk[IBBE_KEY_LEN], const uint8_t *file, size_t len)
{
    struct ibbe_file_header h;
    uint8_t key[IBBE_KEY_LEN], *pt = NULL;
    size_t ptlen;
    assert_int_equal(ibbe_file_parse(&h, file, len, NULL), 0);
    assert_int_equal(ibbe_file_key(key, gk, &h), 0);
    bool opens = ibbe_file_open(key, file, len, &pt, &ptlen, NULL) == CLOISTER_OK;
    free(pt);
    return opens;
}

/* What a removed member can do with the group key it held (gk of epoch `held`) against the
 * store as it is now: walk back (the store's group record, whose links it opens from `held`
 * down), never forward: no link of the record opens under it as a newer epoch's key, so no
 * later group key, and no file sealed after its removal opens. */
static void removed_cannot_go_forward(const uint8_t held[IBBE_KEY_LEN], uint64_t held_epoch,
                                      uint8_t *const *files, const size_t *lens, size_t count)
{
    ibbe_store *st;
    uint8_t *meta, out[IBBE_KEY_LEN];
    size_t metalen;
    ibbe_group *g;
    assert_int_equal(ibbe_store_open(dir, &st, NULL), 0);
    assert_int_equal(ibbe_store_read_raw(st, "hist", -1, &meta, &metalen, NULL), 0);
    assert_int_equal(ibbe_group_decode_meta(&g, meta, metalen, NULL), 0);
    for (uint64_t e = 2; e <= g->epoch; e++) {
        const uint8_t *link = g->links[g->nlinks - (g->epoch - e) - 1];
        for (uint64_t as = 2; as <= g->epoch + 1; as++) /* any epoch it may claim */
            if (as != held_epoch)
                assert_int_not_equal(ibbe_link_unwrap(out, held, link, "hist", as), 0);
        assert_int_equal(ibbe_link_unwrap(out, held, link, "hist", e), e == held_epoch ? 0 : -1);
    }
    /* presented as the current epoch's key, it opens nothing */
    assert_int_equal(ibbe_group_key_regress(g, held, held_epoch, out, NULL), CLOISTER_E_DENIED);
    for (size_t i = 0; i < count; i++) {
        struct ibbe_file_header h;
        assert_int_equal(ibbe_file_parse(&h, files[i], lens[i], NULL), 0);
        assert_int_equal(key_opens(held, files[i], lens[i]), h.epoch == held_epoch);
    }
    ibbe_group_free(g);
    free(meta);
    ibbe_store_close(st);
}

/* Key regression through several removals: f[e-1] sealed at epoch e = 1..4 while dan, cat and
 * bob are removed in turn. ann, who stays, opens all four; the admin too; each removed member,
 * with the key it held at its removal, opens what came before and nothing after, by the API
 * and by the cryptography. */
static void history(void **state)
{
    static const char *texts[] = {"epoch one", "epoch two", "epoch three", "epoch four"};
    const char *gone[] = {"dan@x", "cat@x", "bob@x"};
    struct ibbe_usk ann, bob, cat;
    uint8_t *f[4], held[3][IBBE_KEY_LEN], *pt;
    size_t len[4], ptlen;
    uint64_t epoch;
    struct cloister_err err;
    assert_int_equal(ibbe_admin_create(admin, "hist", members, 4, &err), CLOISTER_OK);
    assert_int_equal(ibbe_client_load_key("ann.key", NULL, "ann@x", &ann, &err), 0);
    assert_int_equal(ibbe_client_load_key("bob.key", "bob.sk", "bob@x", &bob, &err), 0);
    assert_int_equal(ibbe_client_load_key("cat.key", NULL, "cat@x", &cat, &err), 0);
    f[0] = seal_text(texts[0], &len[0]);
    for (int k = 0; k < 3; k++) {
        /* what the member about to go holds: dan's is not extracted, it equals ann's */
        assert_int_equal(ibbe_client_group_key(dir, "hist", k == 2 ? "bob@x" : "ann@x",
                                               k == 2 ? &bob : &ann, held[k], &epoch, &err),
                         0);
        assert_int_equal(epoch, k + 1);
        if (k == 1) {
            uint8_t cats[IBBE_KEY_LEN];
            assert_int_equal(ibbe_client_group_key(dir, "hist", "cat@x", &cat, cats, &epoch, &err),
                             0);
            assert_memory_equal(cats, held[k], IBBE_KEY_LEN);
        }
        assert_int_equal(ibbe_admin_remove(admin, "hist", &gone[k], 1, &err), 0);
        f[k + 1] = seal_text(texts[k + 1], &len[k + 1]);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(
            ibbe_client_open_file(dir, "hist", "ann@x", &ann, f[i], len[i], &pt, &ptlen, &err),
            CLOISTER_OK);
        assert_memory_equal(pt, texts[i], ptlen);
        free(pt);
        assert_int_equal(ibbe_admin_open_file(admin, f[i], len[i], &pt, &ptlen, &err), CLOISTER_OK);
        assert_memory_equal(pt, texts[i], ptlen);
        free(pt);
    }
    assert_int_equal(
        ibbe_client_open_file(dir, "hist", "bob@x", &bob, f[3], len[3], &pt, &ptlen, &err),
        CLOISTER_E_NOT_FOUND);
    assert_non_null(strstr(err.msg, "bob@x is not a member of hist"));
    for (int k = 0; k < 3; k++)
        removed_cannot_go_forward(held[k], (uint64_t)k + 1, f, len, 4);
    for (int i = 0; i < 4; i++)
        free(f[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keys),
        cmocka_unit_test(group_key),
        cmocka_unit_test(files),
        cmocka_unit_test(history),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
