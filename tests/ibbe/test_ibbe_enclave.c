/* test_ibbe_enclave.c -- the ibbe enclave behind its boundary (ibbe_admin.h), with the proc
 * backend (a sandboxed process) and the sim backend: γ survives an enclave restart and a new
 * enclave (restored from its sealed blob), members agree on gk, a removed member cannot open a
 * file sealed after its removal (not even with the group key it had), and tampered metadata, a
 * tampered sealed γ or a substituted public key are refused by the enclave. */
#include <cloister/crypto.h>
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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "util/fileio.h"

TEE_ENCLAVE_DECLARE(ibbe);

#define MEMBERS 7

static char dir[PATH_MAX];
static const char *ids[MEMBERS + 1] = {"m0@x", "m1@x", "m2@x", "m3@x",
                                       "m4@x", "m5@x", "m6@x", "m7@x"};

static ibbe_admin *admin(const char *backend)
{
    struct ibbe_admin_options o = {.backend = backend, .enclave = &tee_enclave_ibbe};
    ibbe_admin *a;
    struct cloister_err err;
    if (ibbe_admin_open(dir, &o, &a, &err) != 0)
        fail_msg("ibbe_admin_open (%s): %s", backend, err.msg);
    return a;
}

/* A fresh store directory for this backend and case. */
static void fresh_store(const char *tag)
{
    const char *home = getenv("CLOISTER_HOME");
    snprintf(dir, sizeof dir, "%s/ibbe-%s", home ? home : "/tmp/cloister-test", tag);
    assert_int_equal(file_remove_tree(dir), 0);
}

static void user_key(ibbe_admin *a, const char *id, struct ibbe_usk *usk)
{
    uint8_t *rec;
    size_t len;
    struct cloister_err err;
    char got[IBBE_ID_MAX + 1];
    assert_int_equal(ibbe_admin_extract(a, &id, NULL, 1, &rec, &len, &err), 0);
    assert_int_equal(ibbe_usk_decode(got, usk, rec, len, &err), 0);
    assert_string_equal(got, id);
    free(rec);
}

static void restart_and_remove(const char *backend)
{
    fresh_store(backend);
    ibbe_admin *a = admin(backend);
    struct cloister_err err;
    struct ibbe_usk usk0, usk6, usk7;
    uint8_t gk[IBBE_KEY_LEN], again[IBBE_KEY_LEN];
    uint64_t epoch;
    assert_false(ibbe_admin_ready(a));
    assert_int_equal(ibbe_admin_setup(a, 3, &err), 0);
    assert_int_equal(ibbe_admin_create(a, "g", ids, MEMBERS, &err), 0);
    user_key(a, ids[0], &usk0);
    user_key(a, ids[6], &usk6);
    assert_int_equal(ibbe_client_group_key(dir, "g", ids[0], &usk0, gk, &epoch, &err), 0);
    assert_int_equal(epoch, 1);

    /* Restart: the new enclave has neither γ nor the group until restored from the store. */
    assert_int_equal(ibbe_admin_restart(a, &err), 0);
    assert_true(ibbe_admin_ready(a));
    assert_int_equal(ibbe_admin_add(a, "g", &ids[7], 1, &err), 0);
    user_key(a, ids[7], &usk7);
    assert_int_equal(ibbe_client_group_key(dir, "g", ids[7], &usk7, again, &epoch, &err), 0);
    assert_memory_equal(gk, again, IBBE_KEY_LEN); /* add keeps gk */
    assert_int_equal(ibbe_client_group_key(dir, "g", ids[6], &usk6, again, &epoch, &err), 0);
    assert_memory_equal(gk, again, IBBE_KEY_LEN);
    ibbe_admin_close(a);

    /* A new enclave on the same store: γ restored by ibbe_admin_open. */
    a = admin(backend);
    assert_true(ibbe_admin_ready(a));
    uint8_t *old_file, *new_file, *pt;
    size_t old_len, new_len, ptlen;
    assert_int_equal(ibbe_admin_seal(a, "g", (const uint8_t *)"old", 3, &old_file, &old_len, &err),
                     0);
    assert_int_equal(ibbe_admin_remove(a, "g", &ids[6], 1, &err), 0);
    assert_int_equal(ibbe_admin_seal(a, "g", (const uint8_t *)"new", 3, &new_file, &new_len, &err),
                     0);
    /* The admin opens the new file, and the old one by key regression. */
    assert_int_equal(ibbe_admin_open_file(a, new_file, new_len, &pt, &ptlen, &err), 0);
    assert_int_equal(ptlen, 3);
    assert_memory_equal(pt, "new", 3);
    free(pt);
    assert_int_equal(ibbe_admin_open_file(a, old_file, old_len, &pt, &ptlen, &err), 0);
    assert_int_equal(ptlen, 3);
    free(pt);

    /* Members: m0 gets the new gk at epoch 2 and opens the new file; m6 gets nothing, and the
     * group key it held before its removal does not open the new file either. */
    struct ibbe_file_header h;
    uint8_t key[IBBE_KEY_LEN];
    assert_int_equal(ibbe_file_parse(&h, new_file, new_len, &err), 0);
    assert_int_equal(h.epoch, 2);
    assert_int_equal(ibbe_client_group_key(dir, "g", ids[0], &usk0, again, &epoch, &err), 0);
    assert_int_equal(epoch, 2);
    assert_memory_not_equal(gk, again, IBBE_KEY_LEN);
    assert_int_equal(ibbe_file_key(key, again, &h), 0);
    assert_int_equal(ibbe_file_open(key, new_file, new_len, &pt, &ptlen, &err), 0);
    free(pt);
    assert_int_equal(ibbe_client_group_key(dir, "g", ids[6], &usk6, again, &epoch, &err),
                     CLOISTER_E_NOT_FOUND);
    assert_int_equal(ibbe_file_key(key, gk, &h), 0);
    assert_int_equal(ibbe_file_open(key, new_file, new_len, &pt, &ptlen, &err), CLOISTER_E_DENIED);
    free(old_file);
    free(new_file);
    ibbe_admin_close(a);
}

static void restart_proc(void **state)
{
    restart_and_remove("proc");
}

static void restart_sim(void **state)
{
    restart_and_remove("sim");
}

static void flip(const char *name, long from_end)
{
    char path[PATH_MAX + 64];
    uint8_t *data;
    size_t len;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(file_read_all(path, 1 << 24, &data, &len), 0);
    data[from_end < 0 ? len + (size_t)from_end : (size_t)from_end] ^= 0x01;
    assert_int_equal(file_write_atomic(path, data, len, 0644), 0);
    free(data);
}

/* An add forces the enclave to load (and check) the group from the store: refused with code. */
static void add_refused(int code, const char *why)
{
    ibbe_admin *a = admin("sim");
    struct cloister_err err;
    assert_int_equal(ibbe_admin_add(a, "g", &ids[7], 1, &err), code);
    if (!strstr(err.msg, why))
        fail_msg("'%s' does not say '%s'", err.msg, why);
    ibbe_admin_close(a);
}

static void tampering(void **state)
{
    fresh_store("tamper");
    ibbe_admin *a = admin("sim");
    struct cloister_err err;
    assert_int_equal(ibbe_admin_setup(a, 3, &err), 0);
    assert_int_equal(ibbe_admin_create(a, "g", ids, MEMBERS, &err), 0);
    ibbe_admin_close(a);

    /* A member renamed in the list ("m2@x" -> "m3@x"... last byte of p0 is in "m2@x"). */
    flip("groups/g/p0", -2);
    add_refused(CLOISTER_E_DENIED,
                "tampered metadata: a partition's C3 does not match its member list");
    flip("groups/g/p0", -2);
    /* The wrapped gk of partition 1 (just before its member count and list). */
    flip("groups/g/p1", 6 + 1 + 8 + IBBE_HEADER_BYTES + 20);
    add_refused(CLOISTER_E_DENIED, "tampered metadata: a partition's group key does not open");
    flip("groups/g/p1", 6 + 1 + 8 + IBBE_HEADER_BYTES + 20);
    /* C2 of partition 0 (a valid point is unlikely after a flip: refused on decoding or on
     * opening). */
    flip("groups/g/p0", 6 + 1 + 8 + BLS_G2_BYTES + 10);
    add_refused(CLOISTER_E_INVALID, "group load");
    flip("groups/g/p0", 6 + 1 + 8 + BLS_G2_BYTES + 10);

    /* Untampered again: the add goes through. */
    a = admin("sim");
    assert_int_equal(ibbe_admin_add(a, "g", &ids[7], 1, &err), 0);
    ibbe_admin_close(a);

    /* The sealed master secret, then a public key from another setup. */
    struct ibbe_admin_options o = {.backend = "sim", .enclave = &tee_enclave_ibbe};
    flip("ibbe.msk.sealed", -3);
    assert_int_equal(ibbe_admin_open(dir, &o, &a, &err), CLOISTER_E_DENIED);
    assert_non_null(strstr(err.msg, "sealed master secret refused"));
    flip("ibbe.msk.sealed", -3);
    char other[PATH_MAX + 16], cmd[3 * PATH_MAX];
    snprintf(other, sizeof other, "%s-other", dir);
    assert_int_equal(file_remove_tree(other), 0);
    assert_int_equal(ibbe_admin_open(other, &o, &a, &err), 0);
    assert_int_equal(ibbe_admin_setup(a, 3, &err), 0);
    ibbe_admin_close(a);
    snprintf(cmd, sizeof cmd, "cp '%s/ibbe.pk' '%s/ibbe.pk'", other, dir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(ibbe_admin_open(dir, &o, &a, &err), CLOISTER_E_DENIED);
    assert_non_null(strstr(err.msg, "refused"));
}

static void shell(const char *fmt, const char *a, const char *b)
{
    char cmd[4 * PATH_MAX];
    snprintf(cmd, sizeof cmd, fmt, a, b, a, b);
    assert_int_equal(system(cmd), 0);
}

/* Rolling the store back: an old copy of the group directory, taken before a removal, is put
 * back. The removed member is listed again and could read the old gk, but the enclave refuses
 * to seal or update under the old epoch: the daemon-like admin that did the removal, and a new
 * enclave that knows only the sealed epoch table in the store. */
static void rollback(void **state)
{
    fresh_store("rollback");
    ibbe_admin *a = admin("proc"), *b;
    struct cloister_err err;
    uint8_t *out;
    size_t len;
    const char *want = "group g is at epoch 1 in the store, but this enclave wrote epoch 2";
    assert_int_equal(ibbe_admin_setup(a, 3, &err), 0);
    assert_int_equal(ibbe_admin_create(a, "g", ids, MEMBERS, &err), 0);
    shell("cp -a '%s/groups/g' '%s/old-g'", dir, dir);
    assert_int_equal(ibbe_admin_remove(a, "g", &ids[6], 1, &err), 0);
    shell("cp -a '%s/groups/g' '%s/new-g'", dir, dir);
    shell("rm -rf '%s/groups/g' && cp -a '%s/old-g' '%s/groups/g'", dir, dir);

    assert_int_equal(ibbe_admin_seal(a, "g", (const uint8_t *)"x", 1, &out, &len, &err),
                     CLOISTER_E_DENIED);
    assert_string_equal(err.msg, "group g is at epoch 1 in the store, but this enclave wrote "
                                 "epoch 2: an older copy of the group was restored (refused)");
    b = admin("sim");
    assert_int_equal(ibbe_admin_seal(b, "g", (const uint8_t *)"x", 1, &out, &len, &err),
                     CLOISTER_E_DENIED);
    assert_non_null(strstr(err.msg, want));
    assert_int_equal(ibbe_admin_add(b, "g", &ids[7], 1, &err), CLOISTER_E_DENIED);
    assert_non_null(strstr(err.msg, want));
    assert_int_equal(ibbe_admin_remove(b, "g", &ids[5], 1, &err), CLOISTER_E_DENIED);
    ibbe_admin_close(b);

    /* The current state put back: both go on. */
    shell("rm -rf '%s/groups/g' && cp -a '%s/new-g' '%s/groups/g'", dir, dir);
    assert_int_equal(ibbe_admin_add(a, "g", &ids[6], 1, &err), 0);
    b = admin("sim");
    assert_int_equal(ibbe_admin_seal(b, "g", (const uint8_t *)"x", 1, &out, &len, &err), 0);
    free(out);
    ibbe_admin_close(b);
    ibbe_admin_close(a);
}

/* A removal by another process that crashes after `step` steps of the store's update (the
 * store's CLOISTER_TEST_IBBE_CRASH_AFTER hook): before the swap the group stays at the old epoch
 * while the epoch table already names the new one pending; after it, the group is at the new
 * epoch while the table has not yet committed it. Either way a new enclave accepts the group
 * as the crash left it: the table never bricks a group. */
static void crash_between_tables(void **state)
{
    fresh_store("crash-tables");
    ibbe_admin *a = admin("sim");
    struct cloister_err err;
    uint8_t *out;
    size_t len;
    assert_int_equal(ibbe_admin_setup(a, 3, &err), 0);
    assert_int_equal(ibbe_admin_create(a, "g", ids, MEMBERS, &err), 0);
    ibbe_admin_close(a);
    /* m6, alone in p2, removed: p0, p1, the group record, the swap, the old version deleted */
    const int steps[] = {1, 4};
    const uint64_t epochs[] = {1, 2};
    for (int i = 0; i < 2; i++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            char after[16];
            snprintf(after, sizeof after, "%d", steps[i]);
            setenv("CLOISTER_TEST_IBBE_CRASH_AFTER", after, 1);
            ibbe_admin *b = admin("sim");
            ibbe_admin_remove(b, "g", &ids[6], 1, NULL);
            _exit(3); /* not reached: the hook kills the process */
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status));
        a = admin("sim");
        assert_int_equal(ibbe_admin_seal(a, "g", (const uint8_t *)"x", 1, &out, &len, &err), 0);
        struct ibbe_file_header h;
        assert_int_equal(ibbe_file_parse(&h, out, len, &err), 0);
        assert_int_equal(h.epoch, epochs[i]);
        free(out);
        ibbe_admin_close(a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(restart_proc),
        cmocka_unit_test(restart_sim),
        cmocka_unit_test(tampering),
        cmocka_unit_test(rollback),
        cmocka_unit_test(crash_between_tables),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
