/* test_ibbe_store.c -- the untrusted store: malformed, truncated, tampered, swapped and replayed
 * files are refused with errors naming the file and the reason; tampering that still decodes
 * (member lists, wrapped keys) is caught by the admin's checks and by members' decryption. A
 * writer killed at any moment of an update leaves the old or the new group whole, and symbolic
 * links planted in the store redirect nothing. */
#include <cloister/ibbe.h>

#include "ibbe/enclave/msk.h"
#include "util/fileio.h"

#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define N 4
#define MEMBERS 10
#define BIG 200 /* members of the group the crash test updates: 50 partitions */

/* The per-test directory ctest provides (CLOISTER_HOME), or the build tree. */
static const char *test_home(void)
{
    const char *home = getenv("CLOISTER_HOME");
    return home && *home ? home : CLOISTER_BINARY_DIR;
}

static ibbe_msk *msk;
static ibbe_pk *pk;
static char ids[MEMBERS][32];
static const char *idp[MEMBERS];
static struct ibbe_usk usk[MEMBERS];
static char dir[512];
static ibbe_store *st;
static ibbe_group *group;

static int setup_all(void **state)
{
    struct cloister_err err;
    if (ibbe_setup(N, &msk, &pk) != 0)
        return -1;
    for (int i = 0; i < MEMBERS; i++) {
        snprintf(ids[i], sizeof ids[i], "member-%02d", i);
        idp[i] = ids[i];
        if (ibbe_extract(msk, ids[i], &usk[i]) != 0)
            return -1;
    }
    snprintf(dir, sizeof dir, "%s/store", test_home());
    if (ibbe_store_open(dir, &st, &err) != 0 || ibbe_store_save_pk(st, pk, &err) != 0)
        return -1;
    return ibbe_group_create(msk, "g", idp, MEMBERS, &group, &err);
}

static int free_all(void **state)
{
    ibbe_group_free(group);
    ibbe_store_close(st);
    ibbe_msk_free(msk);
    ibbe_pk_free(pk);
    return 0;
}

/* Each test starts from the pristine saved group. */
static int save_group(void **state)
{
    struct cloister_err err;
    return ibbe_store_save_group(st, group, &err);
}

static void file_path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/groups/g/%s", dir, name);
}

static void read_file(const char *name, uint8_t **buf, size_t *len)
{
    char path[700];
    file_path(path, sizeof path, name);
    assert_int_equal(file_read_all(path, 1 << 20, buf, len), 0);
}

static void write_file(const char *name, const uint8_t *buf, size_t len)
{
    char path[700];
    file_path(path, sizeof path, name);
    assert_int_equal(file_write_atomic(path, buf, len, 0644), 0);
}

/* Loading fails with code and the error names the file and contains reason. */
static void load_refused(int code, const char *file, const char *reason)
{
    ibbe_group *g = NULL;
    struct cloister_err err;
    assert_int_equal(ibbe_store_load_group(st, "g", &g, &err), code);
    assert_int_equal(err.code, code);
    assert_null(g);
    if (!strstr(err.msg, file) || !strstr(err.msg, reason))
        fail_msg("unexpected error: %s", err.msg);
}

static void round_trip(void **state)
{
    ibbe_group *g;
    struct cloister_err err;
    assert_int_equal(ibbe_store_load_group(st, "g", &g, &err), 0);
    assert_int_equal(ibbe_group_partitions(g), 3);
    assert_int_equal(ibbe_group_size(g), MEMBERS);
    uint8_t gk[IBBE_KEY_LEN], want[IBBE_KEY_LEN];
    assert_int_equal(ibbe_group_key(group, want), 0);
    for (int i = 0; i < MEMBERS; i++) {
        assert_int_equal(ibbe_group_decrypt(pk, g, ids[i], &usk[i], gk, NULL, &err), 0);
        assert_memory_equal(gk, want, IBBE_KEY_LEN);
    }
    assert_int_equal(ibbe_group_admin_open(msk, g, &err), 0);
    ibbe_group_free(g);
    assert_int_equal(ibbe_store_load_group(st, "nope", &g, &err), CLOISTER_E_NOT_FOUND);
    assert_non_null(strstr(err.msg, "missing"));
    assert_int_equal(ibbe_store_load_group(st, "../g", &g, &err), CLOISTER_E_INVALID);
    assert_string_equal(err.msg, "invalid group name");
}

static void missing_and_truncated(void **state)
{
    char path[700];
    uint8_t *buf;
    size_t len;
    read_file("p1", &buf, &len);
    file_path(path, sizeof path, "p1");
    unlink(path);
    load_refused(CLOISTER_E_NOT_FOUND, "p1", "missing");
    for (size_t cut = 0; cut < len; cut += 37) {
        write_file("p1", buf, cut);
        load_refused(CLOISTER_E_INVALID, "p1", "partition record");
    }
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, buf, len);
    longer[len] = 0;
    write_file("p1", longer, len + 1);
    load_refused(CLOISTER_E_INVALID, "p1", "trailing bytes");
    free(longer);
    buf[0] ^= 1;
    write_file("p1", buf, len);
    load_refused(CLOISTER_E_INVALID, "p1", "wrong magic");
    buf[0] ^= 1;
    buf[5] = 9;
    write_file("p1", buf, len);
    load_refused(CLOISTER_E_INVALID, "p1", "version");
    free(buf);

    read_file("group", &buf, &len);
    write_file("group", buf, len - 1);
    load_refused(CLOISTER_E_INVALID, "group", "truncated");
    free(buf);
}

static void swapped_and_replayed(void **state)
{
    uint8_t *p0, *p1;
    size_t l0, l1;
    read_file("p0", &p0, &l0);
    read_file("p1", &p1, &l1);
    write_file("p0", p1, l1);
    load_refused(CLOISTER_E_INVALID, "p0", "index does not match");
    write_file("p0", p0, l0);

    /* a removal moves the group to the next epoch; the old p1 put back is refused */
    struct cloister_err err;
    ibbe_group *g;
    assert_int_equal(ibbe_store_load_group(st, "g", &g, &err), 0);
    assert_int_equal(ibbe_group_admin_open(msk, g, &err), 0);
    assert_int_equal(ibbe_group_remove(msk, g, ids[9], &err), 0);
    assert_int_equal(ibbe_store_save_group(st, g, &err), 0);
    write_file("p1", p1, l1);
    load_refused(CLOISTER_E_INVALID, "p1", "epoch differs");
    ibbe_group_free(g);
    free(p0);
    free(p1);
}

/* Edits that still decode: members and admin both notice. */
static void tampered_contents(void **state)
{
    uint8_t *buf;
    size_t len;
    struct cloister_err err;
    ibbe_group *g;
    uint8_t gk[IBBE_KEY_LEN];
    read_file("p0", &buf, &len);
    size_t wrap_off = 6 + 1 + 8 + IBBE_HEADER_BYTES;

    /* the wrapped key: every member of the partition fails to open it */
    buf[wrap_off + 20] ^= 1;
    write_file("p0", buf, len);
    assert_int_equal(ibbe_store_load_group(st, "g", &g, &err), 0);
    assert_int_equal(ibbe_group_decrypt(pk, g, ids[0], &usk[0], gk, NULL, &err), CLOISTER_E_DENIED);
    assert_non_null(strstr(err.msg, "does not open"));
    assert_int_equal(ibbe_group_admin_open(msk, g, &err), CLOISTER_E_DENIED);
    assert_non_null(strstr(err.msg, "does not open"));
    ibbe_group_free(g);
    buf[wrap_off + 20] ^= 1;

    /* a member renamed in the clear list: C3 no longer matches, decryption fails */
    uint8_t *name = memmem(buf, len, "member-01", 9);
    assert_non_null(name);
    name[8] = 'x';
    write_file("p0", buf, len);
    assert_int_equal(ibbe_store_load_group(st, "g", &g, &err), 0);
    assert_int_equal(ibbe_group_admin_open(msk, g, &err), CLOISTER_E_DENIED);
    assert_non_null(strstr(err.msg, "C3 does not match"));
    assert_int_equal(ibbe_group_decrypt(pk, g, ids[0], &usk[0], gk, NULL, &err), CLOISTER_E_DENIED);
    ibbe_group_free(g);
    name[8] = '1';

    /* a header point changed: refused as a point or by the checks */
    for (size_t off = 6 + 1 + 8; off < wrap_off; off += 40) {
        buf[off + 3] ^= 0x10;
        write_file("p0", buf, len);
        if (ibbe_store_load_group(st, "g", &g, &err) == 0) {
            assert_int_equal(ibbe_group_admin_open(msk, g, &err), CLOISTER_E_DENIED);
            assert_int_not_equal(ibbe_group_decrypt(pk, g, ids[0], &usk[0], gk, NULL, &err),
                                 CLOISTER_OK);
            ibbe_group_free(g);
        } else {
            assert_non_null(strstr(err.msg, "p0: header"));
        }
        buf[off + 3] ^= 0x10;
    }
    free(buf);
}

static void bad_public_key(void **state)
{
    char path[700];
    uint8_t *buf;
    size_t len;
    struct cloister_err err;
    ibbe_pk *p;
    snprintf(path, sizeof path, "%s/ibbe.pk", dir);
    assert_int_equal(file_read_all(path, 1 << 20, &buf, &len), 0);
    assert_int_equal(file_write_atomic(path, buf, len - 5, 0644), 0);
    assert_int_equal(ibbe_store_load_pk(st, &p, &err), CLOISTER_E_INVALID);
    assert_non_null(strstr(err.msg, "ibbe.pk: public key"));
    assert_int_equal(file_write_atomic(path, buf, len, 0644), 0);
    assert_int_equal(ibbe_store_load_pk(st, &p, &err), 0);
    ibbe_pk_free(p);
    free(buf);
}

/* Entries of directory rel under base, "." and ".." aside. */
static int entries(const char *base, const char *rel)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s", base, rel);
    DIR *d = opendir(path);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* Group "big" at epoch 1 (BIG members) or, removed one member, at epoch 2. */
static ibbe_group *big_group(bool removed)
{
    static char big[BIG][32];
    static const char *bigp[BIG];
    struct cloister_err err;
    ibbe_group *g;
    for (int i = 0; i < BIG; i++) {
        snprintf(big[i], sizeof big[i], "big-%04d", i);
        bigp[i] = big[i];
    }
    assert_int_equal(ibbe_group_create(msk, "big", bigp, BIG, &g, &err), 0);
    if (removed)
        assert_int_equal(ibbe_group_remove(msk, g, big[7], &err), 0);
    return g;
}

/* A crash (SIGKILL) after chosen steps of a removal's write (every partition re-keyed: each file
 * put, the group record, the swap, the deletion of the old version; the store's
 * CLOISTER_TEST_IBBE_CRASH_AFTER hook), and no crash: the group opens afterwards, entirely old or entirely new, and the next writer removes
 * what the crash left. */
static void crash_mid_update(void **state)
{
    struct cloister_err err;
    ibbe_group *old = big_group(false), *new = big_group(true);
    size_t m = ibbe_group_partitions(new), steps = m + 1 + 2; /* partitions, record, swap, delete */
    const size_t moments[] = {1, 2, m / 2, m, m + 1, m + 2, m + 3, m + 4};
    for (size_t i = 0; i < sizeof moments / sizeof moments[0]; i++) {
        size_t k = moments[i];
        assert_int_equal(ibbe_store_save_group(st, old, &err), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            char after[32];
            snprintf(after, sizeof after, "%zu", k);
            setenv("CLOISTER_TEST_IBBE_CRASH_AFTER", after, 1);
            _exit(ibbe_store_save_group(st, new, NULL) == 0 ? 0 : 1);
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (k <= steps)
            assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        else
            assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        ibbe_group *g;
        if (ibbe_store_load_group(st, "big", &g, &err) != 0)
            fail_msg("killed after step %zu of %zu of the update: %s", k, steps, err.msg);
        uint64_t epoch = ibbe_group_epoch(g);
        assert_true(epoch == (k < steps - 1 ? 1 : 2)); /* new from the swap on */
        assert_int_equal(ibbe_group_size(g), epoch == 1 ? BIG : BIG - 1);
        ibbe_group_free(g);
    }
    assert_int_equal(ibbe_store_save_group(st, new, &err), 0);
    ibbe_store_settle(st); /* the old version's deletion runs in the background */
    assert_int_equal(entries(dir, "groups"), 2); /* g and big: no staging or old version left */
    assert_int_equal(entries(dir, "groups/big"), 1 + ibbe_group_partitions(new));
    ibbe_group_free(old);
    ibbe_group_free(new);
}

/* Makes store path rel a symbolic link to target. */
static void plant_link(const char *rel, const char *target)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    unlink(path);
    assert_int_equal(symlink(target, path), 0);
}

/* Links to a directory outside the store (a group's, or groups/ itself) and to a file outside it
 * (a partition's) are refused, never followed: the outside stays as it was. */
static void planted_symlinks(void **state)
{
    char outside[600], victim[700], path[700];
    struct cloister_err err;
    ibbe_group *g, *evil;
    snprintf(outside, sizeof outside, "%s/outside", test_home());
    snprintf(victim, sizeof victim, "%s/p1", outside);
    assert_int_equal(file_remove_tree(outside), 0);
    assert_int_equal(file_mkdirs(outside, 0755), 0);
    assert_int_equal(file_write_atomic(victim, "keep", 4, 0644), 0);

    assert_int_equal(ibbe_group_create(msk, "evil", idp, MEMBERS, &evil, &err), 0);
    plant_link("groups/evil", outside);
    assert_int_equal(ibbe_store_save_group(st, evil, &err), CLOISTER_E_DENIED);
    assert_non_null(strstr(err.msg, "groups/evil: a symbolic link"));
    assert_int_equal(ibbe_store_load_group(st, "evil", &g, &err), CLOISTER_E_DENIED);

    plant_link("groups/g/p1", victim);
    load_refused(CLOISTER_E_DENIED, "groups/g/p1", "symbolic link");
    assert_int_equal(ibbe_store_save_partition(st, group, 1, &err), 0);
    assert_int_equal(ibbe_store_load_group(st, "g", &g, &err), 0);
    ibbe_group_free(g);

    snprintf(path, sizeof path, "%s/groups", dir);
    assert_int_equal(file_remove_tree(path), 0);
    plant_link("groups", outside);
    assert_int_equal(ibbe_store_save_group(st, group, &err), CLOISTER_E_DENIED);
    assert_int_equal(unlink(path), 0);

    uint8_t *buf;
    size_t len;
    assert_int_equal(file_read_all(victim, 1 << 20, &buf, &len), 0);
    assert_int_equal(len, 4);
    assert_memory_equal(buf, "keep", 4);
    free(buf);
    assert_int_equal(entries(test_home(), "outside"), 1);
    ibbe_group_free(evil);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(round_trip, save_group),
        cmocka_unit_test_setup(missing_and_truncated, save_group),
        cmocka_unit_test_setup(swapped_and_replayed, save_group),
        cmocka_unit_test_setup(tampered_contents, save_group),
        cmocka_unit_test_setup(bad_public_key, save_group),
        cmocka_unit_test_setup(crash_mid_update, save_group),
        cmocka_unit_test_setup(planted_symlinks, save_group),
    };
    return cmocka_run_group_tests(tests, setup_all, free_all);
}
