/* test_ibbe_group.c -- IBBE-SGX group management against a model: random create/add/remove
 * sequences (10^4 operations in release, fewer under sanitizers) over small partitions, with
 * every current member recovering the admin's gk, removed members failing (even with the
 * cryptographic shortcut of pretending to still be in a partition's set), record sizes equal
 * to the documented formula, and the group surviving a store round trip and an admin restart
 * (γ reloaded from its 32 bytes). */
#include <cloister/ibbe.h>

#include "ibbe/common/internal.h"
#include "ibbe/enclave/msk.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifdef SANITIZED
#define OPS 400
#else
#define OPS 10000
#endif
#define N 4
#define POOL 64
#define CHECK_EVERY 50

/* The per-test directory ctest provides (CLOISTER_HOME), or the build tree. */
static const char *test_home(void)
{
    const char *home = getenv("CLOISTER_HOME");
    return home && *home ? home : CLOISTER_BINARY_DIR;
}

static ibbe_msk *msk;
static ibbe_pk *pk;
static struct ibbe_usk usk[POOL];
static char ids[POOL][32];
static bls_fr hashes[POOL];

static int setup_keys(void **state)
{
    if (ibbe_setup(N, &msk, &pk) != 0)
        return -1;
    for (int i = 0; i < POOL; i++) {
        snprintf(ids[i], sizeof ids[i], "member-%02d@example.org", i);
        if (ibbe_extract(msk, ids[i], &usk[i]) != 0 || ibbe_hash_id(&hashes[i], ids[i]) != 0)
            return -1;
    }
    return 0;
}

static int free_keys(void **state)
{
    ibbe_msk_free(msk);
    ibbe_pk_free(pk);
    return 0;
}

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    for (; v >= 0x80; v >>= 7)
        n++;
    return n;
}

/* The partition record size formula of ibbe.h, computed independently. */
static void check_record_sizes(const ibbe_group *g)
{
    for (size_t p = 0; p < ibbe_group_partitions(g); p++) {
        size_t s = ibbe_group_partition_size(g, p);
        size_t want = 6 + varint_len(p) + 8 + 252 + varint_len(s);
        for (size_t i = 0; i < s; i++) {
            size_t len = strlen(ibbe_group_member(g, p, i));
            want += varint_len(len) + len;
        }
        uint8_t *buf;
        size_t len;
        assert_int_equal(ibbe_group_encode_partition(g, p, &buf, &len), 0);
        assert_int_equal(len, want);
        assert_int_equal(ibbe_partition_record_bytes(g, p), want);
        free(buf);
        assert_true(s >= 1 && s <= N);
    }
}

static void member_decrypts(const ibbe_group *g, int who, const uint8_t gk[IBBE_KEY_LEN])
{
    uint8_t got[IBBE_KEY_LEN];
    uint64_t epoch = 0;
    struct cloister_err err;
    int rc = ibbe_group_decrypt(pk, g, ids[who], &usk[who], got, &epoch, &err);
    if (rc != 0)
        fail_msg("%s: %s", ids[who], err.msg);
    assert_memory_equal(got, gk, IBBE_KEY_LEN);
    assert_true(epoch == ibbe_group_epoch(g));
}

/* A non-member fails by the API, and also cryptographically: adding its own hash to any
 * partition's member set and decrypting that header with its key never opens the wrap. */
static void outsider_fails(const ibbe_group *g, int who)
{
    uint8_t got[IBBE_KEY_LEN];
    struct cloister_err err;
    assert_int_equal(ibbe_group_decrypt(pk, g, ids[who], &usk[who], got, NULL, &err),
                     CLOISTER_E_NOT_FOUND);
    char want[160];
    snprintf(want, sizeof want, "%s is not a member of %s", ids[who], ibbe_group_name(g));
    assert_string_equal(err.msg, want);
    for (size_t p = 0; p < ibbe_group_partitions(g); p++) {
        size_t s = ibbe_group_partition_size(g, p);
        bls_fr h[N + 1];
        for (size_t i = 0; i < s; i++)
            assert_int_equal(ibbe_hash_id(&h[i], ibbe_group_member(g, p, i)), 0);
        h[s] = hashes[who];
        struct ibbe_poly poly;
        assert_int_equal(ibbe_poly_from_hashes(&poly, h, s + 1), 0);
        /* the header of partition p, through the partition record */
        uint8_t *buf;
        size_t len;
        assert_int_equal(ibbe_group_encode_partition(g, p, &buf, &len), 0);
        struct ibbe_header hdr;
        size_t off = 6 + varint_len(p) + 8;
        assert_int_equal(ibbe_header_from_bytes(&hdr, buf + off, &err), 0);
        uint8_t b[IBBE_KEY_LEN];
        if (s + 1 <= N) {
            assert_int_equal(ibbe_decrypt_user(pk, &poly, &hashes[who], &usk[who], &hdr, b), 0);
            /* b is not the partition's broadcast key: try it on the wrap through a group
             * whose record carries this partition, by comparing with an admin decryption */
            uint8_t real[IBBE_KEY_LEN];
            assert_int_equal(ibbe_decrypt_admin(msk, h, s, &hdr, real), 0);
            assert_memory_not_equal(b, real, IBBE_KEY_LEN);
        }
        ibbe_poly_free(&poly);
        free(buf);
    }
}

/* Key regression after a removal to epoch + 1: the new gk gives back the old one (also after a
 * round trip of the group record, every 64 epochs), and the old one gives nothing newer: of the record's links
 * only its own epoch's (back to epoch - 1) opens under it, so a removed member holding it
 * recovers no later key. */
static void regresses(const ibbe_group *g, const uint8_t gk[IBBE_KEY_LEN], uint64_t epoch,
                      const uint8_t prev[IBBE_KEY_LEN])
{
    uint8_t back[IBBE_KEY_LEN], *rec;
    size_t len;
    struct cloister_err err;
    ibbe_group *copy;
    assert_int_equal(ibbe_group_key_regress(g, gk, epoch, back, &err), CLOISTER_OK);
    assert_memory_equal(back, prev, IBBE_KEY_LEN);
    assert_int_equal(ibbe_group_key_regress(g, gk, epoch + 2, back, &err), CLOISTER_E_DENIED);
    if (epoch % 64 != 1) /* the record grows with the epochs: round trips now and then */
        return;
    assert_int_equal(ibbe_group_encode_meta(g, &rec, &len), 0);
    assert_int_equal(ibbe_group_decode_meta(&copy, rec, len, &err), CLOISTER_OK);
    free(rec);
    assert_true(ibbe_group_oldest_epoch(copy) == 1);
    assert_int_equal(ibbe_group_key_regress(copy, gk, epoch, back, &err), CLOISTER_OK);
    assert_memory_equal(back, prev, IBBE_KEY_LEN);
    for (uint64_t e = epoch > 3 ? epoch - 2 : 2; e <= epoch + 1; e++) { /* the newest links */
        size_t i = copy->nlinks - (copy->epoch - e) - 1;
        assert_int_equal(ibbe_link_unwrap(back, prev, copy->links[i], copy->name, e),
                         e == epoch ? 0 : -1); /* only back, from its own epoch */
        assert_int_not_equal(ibbe_link_unwrap(back, prev, copy->links[i], copy->name, e + 1), 0);
    }
    ibbe_group_free(copy);
}

static void random_operations(void **state)
{
    unsigned seed = 12345;
    bool member[POOL] = {0};
    const char *init[6];
    for (int i = 0; i < 6; i++) {
        init[i] = ids[i];
        member[i] = true;
    }
    size_t size = 6;
    ibbe_group *g;
    struct cloister_err err;
    assert_int_equal(ibbe_group_create(msk, "team", init, 6, &g, &err), 0);
    assert_int_equal(ibbe_group_partitions(g), 2);
    assert_true(ibbe_group_epoch(g) == 1);
    uint8_t gk[IBBE_KEY_LEN], prev[IBBE_KEY_LEN];
    int last_removed = -1;
    for (int op = 0; op < OPS; op++) {
        int who = rand_r(&seed) % POOL;
        bool add = size <= 2 || (size < 10 && rand_r(&seed) % 2);
        while (member[who] == add)
            who = (who + 1) % POOL;
        uint64_t epoch = ibbe_group_epoch(g);
        assert_int_equal(ibbe_group_key(g, prev), 0);
        if (add) {
            if (ibbe_group_add(msk, g, ids[who], &err) != 0)
                fail_msg("add %s: %s", ids[who], err.msg);
            assert_int_equal(ibbe_group_add(msk, g, ids[who], &err), CLOISTER_E_EXISTS);
            assert_non_null(strstr(err.msg, " is already a member of team"));
            assert_non_null(strstr(err.msg, ids[who]));
            assert_true(ibbe_group_epoch(g) == epoch);
            assert_int_equal(ibbe_group_key(g, gk), 0);
            assert_memory_equal(gk, prev, IBBE_KEY_LEN);
            size++;
        } else {
            if (ibbe_group_remove(msk, g, ids[who], &err) != 0)
                fail_msg("remove %s: %s", ids[who], err.msg);
            assert_true(ibbe_group_epoch(g) == epoch + 1);
            assert_int_equal(ibbe_group_key(g, gk), 0);
            assert_memory_not_equal(gk, prev, IBBE_KEY_LEN);
            regresses(g, gk, epoch, prev);
            last_removed = who;
            size--;
        }
        member[who] = add;
        assert_int_equal(ibbe_group_size(g), size);
        assert_true((ibbe_group_find(g, ids[who]) >= 0) == add);
        /* the sparseness rule holds after every removal */
        size_t m = ibbe_group_partitions(g);
        assert_true(m == (size + N - 1) / N || size * IBBE_REPARTITION_DIVISOR >= m * N || add);
        if (op % CHECK_EVERY == 0 || op == OPS - 1) {
            check_record_sizes(g);
            int any = rand_r(&seed) % POOL;
            while (!member[any])
                any = (any + 1) % POOL;
            member_decrypts(g, any, gk);
            if (last_removed >= 0 && !member[last_removed])
                outsider_fails(g, last_removed);
        }
    }
    /* every current member recovers gk; every non-member fails */
    for (int i = 0; i < POOL; i++)
        if (member[i])
            member_decrypts(g, i, gk);
        else {
            uint8_t got[IBBE_KEY_LEN];
            assert_int_equal(ibbe_group_decrypt(pk, g, ids[i], &usk[i], got, NULL, &err),
                             CLOISTER_E_NOT_FOUND);
        }
    if (last_removed >= 0 && !member[last_removed])
        outsider_fails(g, last_removed);

    /* store round trip and an admin restart: γ reloaded from its bytes */
    char dir[512];
    snprintf(dir, sizeof dir, "%s/store", test_home());
    ibbe_store *st;
    assert_int_equal(ibbe_store_open(dir, &st, &err), 0);
    assert_int_equal(ibbe_store_save_pk(st, pk, &err), 0);
    assert_int_equal(ibbe_store_save_group(st, g, &err), 0);
    long long bytes = 0;
    uint8_t *meta;
    size_t meta_len;
    assert_int_equal(ibbe_group_encode_meta(g, &meta, &meta_len), 0);
    free(meta);
    bytes = (long long)meta_len;
    for (size_t p = 0; p < ibbe_group_partitions(g); p++)
        bytes += (long long)ibbe_partition_record_bytes(g, p);
    assert_true(ibbe_store_group_bytes(st, "team") == bytes);

    ibbe_pk *pk2;
    ibbe_group *g2;
    ibbe_msk *msk2;
    uint8_t gamma[BLS_FR_BYTES], gk2[IBBE_KEY_LEN];
    ibbe_msk_to_bytes(gamma, msk);
    assert_int_equal(ibbe_store_load_pk(st, &pk2, &err), 0);
    assert_int_equal(ibbe_msk_from_bytes(&msk2, gamma, pk2), 0);
    assert_int_equal(ibbe_store_load_group(st, "team", &g2, &err), 0);
    assert_int_equal(ibbe_group_key(g2, gk2), -1); /* decoded state carries no key */
    assert_int_equal(ibbe_group_admin_open(msk2, g2, &err), 0);
    assert_int_equal(ibbe_group_key(g2, gk2), 0);
    assert_memory_equal(gk2, gk, IBBE_KEY_LEN);
    for (int i = 0; i < POOL; i++)
        if (member[i]) {
            uint8_t got[IBBE_KEY_LEN];
            assert_int_equal(ibbe_group_decrypt(pk2, g2, ids[i], &usk[i], got, NULL, &err), 0);
            assert_memory_equal(got, gk, IBBE_KEY_LEN);
        }
    /* the restarted admin keeps managing the group */
    int who = 0;
    while (!member[who])
        who++;
    assert_int_equal(ibbe_group_remove(msk2, g2, ids[who], &err), 0);
    assert_int_equal(ibbe_store_save_group(st, g2, &err), 0);
    ibbe_group_free(g2);
    assert_int_equal(ibbe_store_load_group(st, "team", &g2, &err), 0);
    assert_true(ibbe_group_epoch(g2) == ibbe_group_epoch(g) + 1);
    outsider_fails(g2, who);

    ibbe_group_free(g2);
    ibbe_msk_free(msk2);
    ibbe_pk_free(pk2);
    ibbe_store_close(st);
    ibbe_group_free(g);
}

static void refused_operations(void **state)
{
    struct cloister_err err;
    ibbe_group *g;
    const char *dup[] = {ids[0], ids[1], ids[0]};
    assert_int_equal(ibbe_group_create(msk, "dup", dup, 3, &g, &err), CLOISTER_E_EXISTS);
    char want[160];
    snprintf(want, sizeof want, "duplicate member identity %s", ids[0]);
    assert_string_equal(err.msg, want);
    assert_int_equal(ibbe_group_create(msk, "../x", dup, 1, &g, &err), CLOISTER_E_INVALID);
    assert_int_equal(ibbe_group_create(msk, "empty", dup, 0, &g, &err), CLOISTER_E_INVALID);
    const char *bad[] = {"bad\nid"};
    assert_int_equal(ibbe_group_create(msk, "bad", bad, 1, &g, &err), CLOISTER_E_INVALID);
    assert_int_equal(ibbe_group_create(msk, "one", dup, 1, &g, &err), 0);
    assert_int_equal(ibbe_group_remove(msk, g, ids[0], &err), CLOISTER_E_INVALID);
    assert_string_equal(err.msg, "cannot remove the last member of a group");
    assert_int_equal(ibbe_group_remove(msk, g, ids[5], &err), CLOISTER_E_NOT_FOUND);
    snprintf(want, sizeof want, "%s is not a member of one", ids[5]);
    assert_string_equal(err.msg, want);
    /* fill one partition exactly, then the next add opens partition 1 */
    for (int i = 1; i <= N; i++)
        assert_int_equal(ibbe_group_add(msk, g, ids[i], &err), 0);
    assert_int_equal(ibbe_group_partitions(g), 2);
    uint8_t gk[IBBE_KEY_LEN];
    assert_int_equal(ibbe_group_key(g, gk), 0);
    member_decrypts(g, N, gk);
    member_decrypts(g, 0, gk);
    /* removing the member of the last partition empties it: it goes away */
    assert_int_equal(ibbe_group_remove(msk, g, ids[N], &err), 0);
    assert_int_equal(ibbe_group_partitions(g), 1);
    assert_int_equal(ibbe_group_key(g, gk), 0);
    member_decrypts(g, 1, gk);
    ibbe_group_free(g);
}

/* Removals in one batch: refused as a whole (g unchanged) for a repeated id, a non-member or
 * nobody left; otherwise one new epoch, the removed fail and the others share the new gk. */
static void batch_removal(void **state)
{
    struct cloister_err err;
    ibbe_group *g;
    const char *members[2 * N + 1];
    for (int i = 0; i <= 2 * N; i++)
        members[i] = ids[i];
    assert_int_equal(ibbe_group_create(msk, "batch", members, 2 * N + 1, &g, &err), 0);
    uint8_t before[IBBE_KEY_LEN], after[IBBE_KEY_LEN];
    assert_int_equal(ibbe_group_key(g, before), 0);
    const char *twice[] = {ids[1], ids[2], ids[1]}, *stranger[] = {ids[1], ids[40]};
    assert_int_equal(ibbe_group_remove_many(msk, g, twice, 3, &err), CLOISTER_E_INVALID);
    char want[160];
    snprintf(want, sizeof want, "%s is twice in one removal", ids[1]);
    assert_string_equal(err.msg, want);
    assert_int_equal(ibbe_group_remove_many(msk, g, stranger, 2, &err), CLOISTER_E_NOT_FOUND);
    snprintf(want, sizeof want, "%s is not a member of batch", ids[40]);
    assert_string_equal(err.msg, want);
    assert_int_equal(ibbe_group_remove_many(msk, g, members, 2 * N + 1, &err), CLOISTER_E_INVALID);
    assert_string_equal(err.msg, "cannot remove the last member of a group");
    assert_int_equal(ibbe_group_epoch(g), 1);
    assert_int_equal(ibbe_group_size(g), 2 * N + 1);
    member_decrypts(g, 1, before);
    /* a whole partition and one more: the emptied partition goes, one re-keying */
    const char *gone[N + 1];
    for (int i = 0; i <= N; i++)
        gone[i] = ids[i];
    assert_int_equal(ibbe_group_remove_many(msk, g, gone, N + 1, &err), 0);
    assert_int_equal(ibbe_group_epoch(g), 2);
    assert_int_equal(ibbe_group_size(g), N);
    assert_int_equal(ibbe_group_key(g, after), 0);
    assert_memory_not_equal(before, after, IBBE_KEY_LEN);
    for (int i = 0; i <= N; i++)
        outsider_fails(g, i);
    for (int i = N + 1; i <= 2 * N; i++)
        member_decrypts(g, i, after);
    ibbe_group_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refused_operations),
        cmocka_unit_test(batch_removal),
        cmocka_unit_test(random_operations),
    };
    return cmocka_run_group_tests(tests, setup_keys, free_keys);
}
