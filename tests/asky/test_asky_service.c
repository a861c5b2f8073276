/* test_asky_service.c -- the access service (asky_host.h) and the member API (asky_client.h)
 * with the asky enclave in-process (sim): random membership churn checked against a set
 * oracle (after every step a fresh object is written by a member, and every user, member or
 * not, tries to open it with its own key: members open it, everyone else fails
 * cryptographically); a non-member gets no envelope and a wrong proof is refused; the store
 * holds no name and no key; a rolled-back group record and a tampered one are refused. */
#include <cloister/asky_client.h>
#include <cloister/crypto.h>
#include <cloister/tee_enclave.h>
#include <cloister/wire.h>

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

#include "util/fileio.h"
#include "util/hex.h"
#include "util/prng.h"

TEE_ENCLAVE_DECLARE(asky);

#define USERS 12
#define STEPS 40

static char dir[1024];
static asky_service *svc;
static char names[USERS][32];
static uint8_t keys[USERS][ASKY_KEY_LEN];

static void open_service(void)
{
    struct asky_service_options o = {.backend = "sim", .enclave = &tee_enclave_asky};
    struct cloister_err err;
    if (asky_service_open(dir, &o, &svc, &err) != CLOISTER_OK)
        fail_msg("asky_service_open: %s", err.msg);
}

static int setup(void **state)
{
    const char *home = getenv("CLOISTER_HOME");
    char cmd[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/asky-service", home ? home : "/tmp/cloister-test");
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    open_service();
    struct cloister_err err;
    for (int i = 0; i < USERS; i++) {
        snprintf(names[i], sizeof names[i], "zebra-user-%02d", i);
        if (asky_user_add(svc, names[i], keys[i], &err) != CLOISTER_OK)
            fail_msg("user add: %s", err.msg);
    }
    assert_int_equal(asky_user_add(svc, names[0], keys[0], &err), CLOISTER_E_EXISTS);
    return 0;
}

static int teardown(void **state)
{
    asky_service_close(svc);
    return 0;
}

static void write_input(const char *path, const char *text)
{
    assert_int_equal(file_write_atomic(path, text, strlen(text), 0600), 0);
}

/* Writes object `name` as member `who`; checks every user against the oracle in[]. */
static void check_oracle(const char *group, const bool in[USERS], int who, const char *name)
{
    char src[PATH_MAX + 16], dst[PATH_MAX + 16];
    struct cloister_err err;
    snprintf(src, sizeof src, "%s/plain.txt", dir);
    snprintf(dst, sizeof dst, "%s/back.txt", dir);
    write_input(src, "the quarterly numbers");
    if (asky_put(svc, group, names[who], keys[who], src, name, ASKY_INDEXED, ASKY_PAD_POW2, &err) !=
        CLOISTER_OK)
        fail_msg("put as %s: %s", names[who], err.msg);
    for (int u = 0; u < USERS; u++) {
        unlink(dst);
        int rc = asky_get(dir, keys[u], name, dst, &err);
        if (in[u]) {
            if (rc != CLOISTER_OK)
                fail_msg("member %d cannot open: %s", u, err.msg);
            uint8_t *data;
            size_t len;
            assert_int_equal(file_read_all(dst, 1024, &data, &len), 0);
            assert_int_equal(len, strlen("the quarterly numbers"));
            free(data);
        } else {
            assert_int_equal(rc, CLOISTER_E_DENIED);
            assert_int_not_equal(access(dst, F_OK), 0); /* nothing left behind */
        }
    }
}

static void test_churn_oracle(void **state)
{
    uint64_t p = 15;
    bool in[USERS] = {false};
    struct cloister_err err;
    assert_int_equal(asky_group_create(svc, "secret-team", names[0], &err), CLOISTER_OK);
    assert_int_equal(asky_group_create(svc, "secret-team", names[1], &err), CLOISTER_E_EXISTS);
    in[0] = true;
    for (int step = 0; step < STEPS; step++) {
        int u = (int)(prng_next(&p) % USERS);
        int rc = in[u] ? asky_group_remove(svc, "secret-team", names[u], &err)
                       : asky_group_add(svc, "secret-team", names[u], &err);
        if (rc != CLOISTER_OK)
            fail_msg("step %d: %s", step, err.msg);
        in[u] = !in[u];
        int who = -1;
        for (int i = 0; i < USERS; i++)
            if (in[i])
                who = i;
        if (who >= 0 && step % 4 == 0) {
            char obj[32];
            snprintf(obj, sizeof obj, "obj-%d", step);
            check_oracle("secret-team", in, who, obj);
        }
        for (int i = 0; i < USERS && who >= 0; i++)
            if (!in[i]) { /* a non-member gets no envelope */
                char src[PATH_MAX + 16];
                snprintf(src, sizeof src, "%s/plain.txt", dir);
                assert_int_equal(asky_put(svc, "secret-team", names[i], keys[i], src, "x",
                                          ASKY_INDEXED, 0, &err),
                                 CLOISTER_E_DENIED);
                break;
            }
    }
}

/* Lazy revocation, then rekey: a removed member still opens the old object (it may have kept
 * its file key), and no longer once the object is rekeyed; the others still do. */
static void test_rekey(void **state)
{
    (void)state;
    char src[PATH_MAX + 16], dst[PATH_MAX + 16];
    struct cloister_err err;
    snprintf(src, sizeof src, "%s/plain.txt", dir);
    snprintf(dst, sizeof dst, "%s/back.txt", dir);
    write_input(src, "the old minutes");
    assert_int_equal(asky_group_create(svc, "rekey-team", names[0], &err), 0);
    assert_int_equal(asky_group_add(svc, "rekey-team", names[1], &err), 0);
    assert_int_equal(asky_group_add(svc, "rekey-team", names[2], &err), 0);
    assert_int_equal(
        asky_put(svc, "rekey-team", names[0], keys[0], src, "old", ASKY_INDEXED, 0, &err), 0);
    assert_int_equal(asky_group_remove(svc, "rekey-team", names[1], &err), 0);
    assert_int_equal(asky_get(dir, keys[1], "old", dst, &err), CLOISTER_OK); /* lazy */
    /* a non-member cannot rekey, and rekeying needs a key that opens the object */
    assert_int_equal(asky_rekey(svc, "rekey-team", names[1], keys[1], "old", ASKY_INDEXED, 0, &err),
                     CLOISTER_E_DENIED);
    assert_int_equal(asky_rekey(svc, "rekey-team", names[2], keys[2], "old", ASKY_INDEXED, 0, &err),
                     0);
    unlink(dst);
    assert_int_equal(asky_get(dir, keys[1], "old", dst, &err), CLOISTER_E_DENIED);
    assert_int_equal(access(dst, F_OK), -1);
    for (int u = 0; u < 3; u += 2) {
        uint8_t *data;
        size_t len;
        assert_int_equal(asky_get(dir, keys[u], "old", dst, &err), CLOISTER_OK);
        assert_int_equal(file_read_all(dst, 1024, &data, &len), 0);
        assert_int_equal(len, strlen("the old minutes"));
        assert_memory_equal(data, "the old minutes", len);
        free(data);
    }
    assert_int_equal(
        asky_rekey(svc, "rekey-team", names[0], keys[0], "missing", ASKY_INDEXED, 0, &err),
        CLOISTER_E_NOT_FOUND);
}

static void test_wrong_proof(void **state)
{
    struct cloister_err err;
    char src[PATH_MAX + 16];
    snprintf(src, sizeof src, "%s/plain.txt", dir);
    write_input(src, "x");
    assert_int_equal(asky_group_create(svc, "proof-team", names[2], &err), CLOISTER_OK);
    /* names[2]'s name with names[3]'s key */
    assert_int_equal(
        asky_put(svc, "proof-team", names[2], keys[3], src, "p", ASKY_INDEXED, 0, &err),
        CLOISTER_E_DENIED);
    assert_int_equal(asky_put(svc, "no-team", names[2], keys[2], src, "p", ASKY_INDEXED, 0, &err),
                     CLOISTER_E_NOT_FOUND);
    assert_int_equal(
        asky_put(svc, "proof-team", names[2], keys[2], src, "../p", ASKY_INDEXED, 0, &err),
        CLOISTER_E_INVALID);
}

/* Whether any file under dir (the store, its logs) holds the bytes needle. */
static bool store_holds(const void *needle, size_t len)
{
    char cmd[PATH_MAX + 32], path[PATH_MAX];
    snprintf(cmd, sizeof cmd, "find '%s' -type f", dir);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    bool found = false;
    while (fgets(path, sizeof path, f)) {
        path[strcspn(path, "\n")] = '\0';
        uint8_t *data;
        size_t n;
        if (file_read_all(path, (size_t)1 << 26, &data, &n) != 0)
            continue;
        found |= memmem(data, n, needle, len) != NULL;
        free(data);
    }
    pclose(f);
    return found;
}

/* No file of the store holds a user or group name or a user key. */
static void test_store_has_no_names(void **state)
{
    for (int i = 0; i < USERS; i++) {
        assert_false(store_holds(names[i], strlen(names[i])));
        assert_false(store_holds(keys[i], ASKY_KEY_LEN));
    }
    assert_false(store_holds("secret-team", 11));
    assert_false(store_holds("proof-team", 10));
}

static void test_rollback_refused(void **state)
{
    struct cloister_err err;
    assert_int_equal(asky_group_create(svc, "roll-team", names[4], &err), CLOISTER_OK);
    /* keep the record of version 1, then change the group */
    char cmd[PATH_MAX * 2];
    snprintf(cmd, sizeof cmd, "cd '%s/groups' && mkdir -p ../saved && cp * ../saved/", dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(asky_group_add(svc, "roll-team", names[5], &err), CLOISTER_OK);
    assert_int_equal(asky_group_remove(svc, "roll-team", names[5], &err), CLOISTER_OK);
    /* the old record put back: names[5] would be... refused as stale */
    snprintf(cmd, sizeof cmd, "cp '%s'/saved/* '%s/groups/'", dir, dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(asky_group_add(svc, "roll-team", names[6], &err), CLOISTER_E_DENIED);
    assert_non_null(strstr(err.msg, "rolled back"));
    /* a flipped byte in a group record: refused */
    snprintf(cmd, sizeof cmd,
             "cd '%s/groups' && for f in *; do printf '\\x01' | dd of=$f bs=1 seek=60 "
             "conv=notrunc 2>/dev/null; done",
             dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(asky_group_add(svc, "secret-team", names[6], &err), CLOISTER_E_DENIED);
    /* a fresh service process sees the same refusal (the epoch record is on disk) */
    asky_service_close(svc);
    open_service();
    assert_int_equal(asky_group_add(svc, "roll-team", names[6], &err), CLOISTER_E_DENIED);
}

/* The newest file of DIR/sub (name into out). */
static void newest(const char *sub, char *out, size_t cap)
{
    char cmd[PATH_MAX + 64];
    snprintf(cmd, sizeof cmd, "ls -t '%s/%s' | head -1", dir, sub);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    assert_non_null(fgets(out, (int)cap, f));
    out[strcspn(out, "\n")] = '\0';
    pclose(f);
}

static uint8_t *slurp(const char *path, size_t *len)
{
    uint8_t *data;
    assert_int_equal(file_read_all(path, (size_t)1 << 26, &data, len), 0);
    return data;
}

/* A crash after the journal was written but before the records were: the next operation
 * finishes the change (the member added is there), and the group stays usable. */
static void test_crash_replay(void **state)
{
    struct cloister_err err;
    char gname[128], gpath[PATH_MAX], epath[PATH_MAX], jpath[PATH_MAX];
    assert_int_equal(asky_group_create(svc, "crash-team", names[7], &err), CLOISTER_OK);
    newest("groups", gname, sizeof gname);
    snprintf(gpath, sizeof gpath, "%s/groups/%s", dir, gname);
    snprintf(epath, sizeof epath, "%s/epochs", dir);
    snprintf(jpath, sizeof jpath, "%s/journal", dir);
    size_t g0len, e0len, g1len, e1len;
    uint8_t *g0 = slurp(gpath, &g0len), *e0 = slurp(epath, &e0len);
    assert_int_equal(asky_group_add(svc, "crash-team", names[8], &err), CLOISTER_OK);
    uint8_t *g1 = slurp(gpath, &g1len), *e1 = slurp(epath, &e1len);
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_raw(&w, g1, 32);
    wire_put_bytes(&w, g1, g1len);
    wire_put_bytes(&w, e1, e1len);
    assert_true(wire_writer_ok(&w));
    assert_int_equal(file_write_atomic(gpath, g0, g0len, 0600), 0);
    assert_int_equal(file_write_atomic(epath, e0, e0len, 0600), 0);
    assert_int_equal(file_write_atomic(jpath, w.buf, w.len, 0600), 0);
    wire_writer_free(&w);
    asky_service_close(svc);
    open_service(); /* a fresh process after the crash */
    assert_int_not_equal(access(jpath, F_OK), 0);
    assert_int_equal(asky_group_add(svc, "crash-team", names[8], &err), CLOISTER_E_EXISTS);
    assert_int_equal(asky_group_remove(svc, "crash-team", names[8], &err), CLOISTER_OK);
    free(g0);
    free(e0);
    free(g1);
    free(e1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_churn_oracle),       cmocka_unit_test(test_wrong_proof),
        cmocka_unit_test(test_store_has_no_names), cmocka_unit_test(test_crash_replay),
        cmocka_unit_test(test_rollback_refused),   cmocka_unit_test(test_rekey),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
