/* test_asky_s3.c -- A-Sky's S3 object store (asky_host.h, src/asky/host/objects.c and s3.c)
 * against a throwaway s3rver (tests/asky/s3rver.sh: node, on 127.0.0.1, stopped at the end),
 * with the enclave in-process (sim). The SigV4 signer is checked first against AWS's published
 * example (s3rver does not check V4 signatures). Then: members put and get through the bucket, a
 * non-member's get fails in the envelope; a member's put through the writer proxy (HTTP) lands
 * in the bucket; the bucket's files hold no user or group name; writers
 * on two threads (separate handles) are serialised and lose nothing; an update of several
 * objects whose last upload fails leaves none changed; a tampered manifest and a store rolled
 * back (its latest manifest deleted) are refused; rekey works on S3. Exit 77 (skipped, with
 * the reason) when node/npm or the s3rver package cannot be had. */
#include <cloister/asky_client.h>
#include <cloister/asky_serve.h>
#include <cloister/crypto.h>
#include <cloister/tee.h>
#include <cloister/tee_enclave.h>

#include <dirent.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "asky/host/s3.h"
#include "util/fileio.h"

TEE_ENCLAVE_DECLARE(asky);

static char tmp[] = "/tmp/cloister-asky-s3-XXXXXX";
static char store[PATH_MAX], url[128], srvdir[PATH_MAX];
static asky_service *svc;
static uint8_t keys[3][ASKY_KEY_LEN];
static const char *const users[3] = {"alice-s3user", "bob-s3user", "carol-s3user"};
#define GROUP "engineering-s3group"

static int server(const char *cmd, char *port, size_t cap)
{
    char line[PATH_MAX + 256];
    snprintf(line, sizeof line, "sh '%s/tests/asky/s3rver.sh' %s '%s'", CLOISTER_SOURCE_DIR, cmd,
             srvdir);
    FILE *p = popen(line, "r");
    if (!p)
        return -1;
    if (port && !fgets(port, (int)cap, p))
        port[0] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void write_text(const char *path, const char *text)
{
    assert_int_equal(file_write_atomic(path, text, strlen(text), 0600), 0);
}

static int get_as(int u, const char *name, const char *out)
{
    struct cloister_err err;
    return asky_get(store, keys[u], name, out, &err);
}

static void put_as(int u, const char *name, const char *text)
{
    char in[PATH_MAX + 8];
    struct cloister_err err;
    snprintf(in, sizeof in, "%s/in.txt", tmp);
    write_text(in, text);
    if (asky_put(svc, GROUP, users[u], keys[u], in, name, ASKY_INDEXED, 0, &err) != CLOISTER_OK)
        fail_msg("put %s: %s", name, err.msg);
}

static void expect_text(int u, const char *name, const char *text)
{
    char out[PATH_MAX + 8];
    uint8_t *data;
    size_t len;
    snprintf(out, sizeof out, "%s/out.txt", tmp);
    assert_int_equal(get_as(u, name, out), CLOISTER_OK);
    assert_int_equal(file_read_all(out, 1 << 20, &data, &len), 0);
    assert_int_equal(len, strlen(text));
    assert_memory_equal(data, text, len);
    free(data);
}

static int setup(void **state)
{
    (void)state;
    struct asky_service_options o = {.backend = "sim", .enclave = &tee_enclave_asky};
    struct cloister_err err;
    snprintf(store, sizeof store, "%s/store", tmp);
    if (asky_service_open(store, &o, &svc, &err) != CLOISTER_OK)
        fail_msg("asky_service_open: %s", err.msg);
    if (asky_objects_init(store, url, &err) != CLOISTER_OK)
        fail_msg("asky_objects_init: %s", err.msg);
    for (int i = 0; i < 3; i++)
        if (asky_user_add(svc, users[i], keys[i], &err) != CLOISTER_OK)
            fail_msg("user add: %s", err.msg);
    assert_int_equal(asky_group_create(svc, GROUP, users[0], &err), CLOISTER_OK);
    assert_int_equal(asky_group_add(svc, GROUP, users[1], &err), CLOISTER_OK);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    asky_service_close(svc);
    return 0;
}

/* AWS's example "GET Object" request (Signature Version 4 documentation, header-based auth). */
static void test_sigv4_vector(void **state)
{
    (void)state;
    struct s3_conf c = {.region = "us-east-1",
                        .access = "AKIAIOSFODNN7EXAMPLE",
                        .secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"};
    const char *empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    char headers[512], auth[512];
    snprintf(headers, sizeof headers,
             "host:examplebucket.s3.amazonaws.com\nrange:bytes=0-9\nx-amz-content-sha256:%s\n"
             "x-amz-date:20130524T000000Z\n",
             empty);
    assert_int_equal(s3_authorization(&c, "GET", "/test.txt", "", headers,
                                      "host;range;x-amz-content-sha256;x-amz-date", empty,
                                      "20130524T000000Z", auth, sizeof auth),
                     CLOISTER_OK);
    assert_string_equal(auth, "AWS4-HMAC-SHA256 "
                              "Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/"
                              "aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-"
                              "date,Signature="
                              "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
}

static void test_put_get(void **state)
{
    (void)state;
    char out[PATH_MAX + 8];
    put_as(0, "plan", "the plan, version 1");
    put_as(1, "notes", "bob's notes");
    expect_text(1, "plan", "the plan, version 1");
    expect_text(0, "notes", "bob's notes");
    snprintf(out, sizeof out, "%s/carol.txt", tmp);
    assert_int_equal(get_as(2, "plan", out), CLOISTER_E_DENIED);
    assert_int_not_equal(access(out, F_OK), 0);
    put_as(0, "plan", "the plan, version 2"); /* replaced: the old bytes are collected */
    expect_text(1, "plan", "the plan, version 2");
    char **names;
    size_t n;
    struct cloister_err err;
    assert_int_equal(asky_list(store, &names, &n, &err), CLOISTER_OK);
    assert_int_equal(n, 2);
    assert_string_equal(names[0], "notes");
    assert_string_equal(names[1], "plan");
    asky_names_free(names, n);
    assert_int_equal(get_as(0, "nothing", out), CLOISTER_E_NOT_FOUND);
}

/* No file of the bucket holds a user or group name. */
static void test_no_names(void **state)
{
    (void)state;
    char cmd[PATH_MAX + 128];
    snprintf(cmd, sizeof cmd, "grep -rqa -e s3user -e s3group '%s/data'", srvdir);
    assert_int_not_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "test -d '%s/data/asky/manifest'", srvdir); /* searched the bucket */
    assert_int_equal(system(cmd), 0);
}

/* The writer proxy on S3: a member's put through the service over HTTP (the service stores
 * the object in the bucket with its credentials), then a get through it. */
static void test_proxy(void **state)
{
    (void)state;
    asky_server *srv;
    struct cloister_err err;
    struct tee_info ti;
    char endpoint[32], in[PATH_MAX + 8], out[PATH_MAX + 8];
    assert_int_equal(
        asky_server_start(svc, "127.0.0.1:0", "token-0123456789abcdef", 0, 2, &srv, &err),
        CLOISTER_OK);
    assert_int_equal(tee_get_info(asky_service_enclave(svc), &ti), CLOISTER_OK);
    snprintf(endpoint, sizeof endpoint, "127.0.0.1:%u", (unsigned)asky_server_port(srv));
    struct asky_remote r = {.server = endpoint, .mrenclave = ti.mrenclave, .allow_simulated = true};
    snprintf(in, sizeof in, "%s/in.txt", tmp);
    snprintf(out, sizeof out, "%s/proxied.txt", tmp);
    write_text(in, "through the proxy");
    if (asky_remote_put(&r, GROUP, users[0], keys[0], in, "proxied", ASKY_INDEXED, 0, &err) !=
        CLOISTER_OK)
        fail_msg("remote put: %s", err.msg);
    assert_int_equal(asky_remote_get(endpoint, keys[1], "proxied", out, &err), CLOISTER_OK);
    asky_server_stop(srv);
    expect_text(1, "proxied", "through the proxy"); /* from the bucket directly */
}

struct writer {
    int id;
    int failures;
};

static void *writer_run(void *arg)
{
    struct writer *w = arg;
    asky_objects *o = NULL;
    struct cloister_err err;
    if (asky_objects_open(store, &o, &err) != CLOISTER_OK || !o) {
        w->failures = 100;
        return NULL;
    }
    for (int i = 0; i < 6; i++) {
        char name[32], body[32];
        snprintf(name, sizeof name, "w%d-%d", w->id, i);
        int len = snprintf(body, sizeof body, "body %d %d", w->id, i);
        FILE *f = fmemopen(body, (size_t)len, "rb");
        struct asky_object_update u = {name, f, (uint64_t)len};
        if (asky_objects_commit(o, &u, 1, &err) != CLOISTER_OK)
            w->failures++;
        fclose(f);
    }
    asky_objects_close(o);
    return NULL;
}

static void test_concurrent_writers(void **state)
{
    (void)state;
    pthread_t t[2];
    struct writer w[2] = {{0, 0}, {1, 0}};
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, writer_run, &w[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(w[0].failures + w[1].failures, 0);
    asky_objects *o;
    struct cloister_err err;
    assert_int_equal(asky_objects_open(store, &o, &err), CLOISTER_OK);
    for (int id = 0; id < 2; id++)
        for (int i = 0; i < 6; i++) {
            char name[32], want[32], *buf = NULL;
            size_t len = 0;
            snprintf(name, sizeof name, "w%d-%d", id, i);
            snprintf(want, sizeof want, "body %d %d", id, i);
            FILE *f = open_memstream(&buf, &len);
            assert_int_equal(asky_objects_fetch(o, name, f, &err), CLOISTER_OK);
            fclose(f);
            assert_int_equal(len, strlen(want));
            assert_memory_equal(buf, want, len);
            free(buf);
        }
    asky_objects_close(o);
}

/* Three objects at once, the last one's body shorter than announced: nothing changes. */
static void test_atomic_update(void **state)
{
    (void)state;
    asky_objects *o;
    struct cloister_err err;
    assert_int_equal(asky_objects_open(store, &o, &err), CLOISTER_OK);
    char a[] = "new a", b[] = "new b", c[] = "short";
    FILE *f[3] = {fmemopen(a, 5, "rb"), fmemopen(b, 5, "rb"), fmemopen(c, 5, "rb")};
    struct asky_object_update u[3] = {{"w0-0", f[0], 5}, {"w0-1", f[1], 5}, {"w0-2", f[2], 50}};
    assert_int_not_equal(asky_objects_commit(o, u, 3, &err), CLOISTER_OK);
    for (int i = 0; i < 3; i++)
        fclose(f[i]);
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    assert_int_equal(asky_objects_fetch(o, "w0-0", m, &err), CLOISTER_OK);
    fclose(m);
    assert_int_equal(len, strlen("body 0 0"));
    assert_memory_equal(buf, "body 0 0", len);
    free(buf);
    asky_objects_close(o);
}

static void test_rekey(void **state)
{
    (void)state;
    struct cloister_err err;
    char out[PATH_MAX + 8];
    snprintf(out, sizeof out, "%s/bob.txt", tmp);
    assert_int_equal(asky_group_remove(svc, GROUP, users[1], &err), CLOISTER_OK);
    expect_text(1, "plan", "the plan, version 2"); /* lazy revocation */
    assert_int_equal(asky_rekey(svc, GROUP, users[0], keys[0], "plan", ASKY_INDEXED, 0, &err),
                     CLOISTER_OK);
    assert_int_equal(get_as(1, "plan", out), CLOISTER_E_DENIED);
    expect_text(0, "plan", "the plan, version 2");
}

/* The bucket's files for the manifest versions, newest last (s3rver keeps key K as
 * DATA/BUCKET/K._S3rver_object). */
static void latest_manifest(char *path, size_t cap)
{
    char dirp[PATH_MAX + 32];
    snprintf(dirp, sizeof dirp, "%s/data/asky/manifest", srvdir);
    DIR *d = opendir(dirp);
    assert_non_null(d);
    char best[256] = "";
    struct dirent *de;
    while ((de = readdir(d)))
        if (strlen(de->d_name) > 15 &&
            strcmp(de->d_name + strlen(de->d_name) - 15, "._S3rver_object") == 0 &&
            strcmp(de->d_name, best) > 0)
            snprintf(best, sizeof best, "%s", de->d_name);
    closedir(d);
    assert_true(best[0]);
    snprintf(path, cap, "%s/%s", dirp, best);
}

static void test_tamper_and_rollback(void **state)
{
    (void)state;
    char path[PATH_MAX + 300], out[PATH_MAX + 8];
    uint8_t *data;
    size_t len;
    struct cloister_err err;
    snprintf(out, sizeof out, "%s/x.txt", tmp);
    latest_manifest(path, sizeof path);
    assert_int_equal(file_read_all(path, 1 << 20, &data, &len), 0);
    data[len / 2] ^= 1;
    assert_int_equal(file_write_atomic(path, data, len, 0600), 0);
    assert_int_equal(asky_get(store, keys[0], "plan", out, &err), CLOISTER_E_DENIED);
    assert_non_null(strstr(err.msg, "fails authentication"));
    data[len / 2] ^= 1;
    assert_int_equal(file_write_atomic(path, data, len, 0600), 0);
    free(data);
    expect_text(0, "plan", "the plan, version 2");
    assert_int_equal(unlink(path), 0); /* the store loses its latest version */
    assert_int_equal(asky_get(store, keys[0], "plan", out, &err), CLOISTER_E_DENIED);
    assert_non_null(strstr(err.msg, "rolled back"));
}

int main(void)
{
    char port[32];
    if (!mkdtemp(tmp))
        return 1;
    snprintf(srvdir, sizeof srvdir, "%s/s3rver", tmp);
    int rc = server("start", port, sizeof port);
    if (rc == 77) {
        fprintf(stderr, "test_asky_s3: skipped (see the reason above)\n");
        return 77;
    }
    if (rc != 0)
        return 1;
    port[strcspn(port, "\n")] = '\0';
    snprintf(url, sizeof url, "http://127.0.0.1:%s/asky", port);
    setenv("AWS_ACCESS_KEY_ID", "S3RVER", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "S3RVER", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigv4_vector),
        cmocka_unit_test(test_put_get),
        cmocka_unit_test(test_proxy),
        cmocka_unit_test(test_no_names),
        cmocka_unit_test(test_concurrent_writers),
        cmocka_unit_test(test_atomic_update),
        cmocka_unit_test(test_rekey),
        cmocka_unit_test(test_tamper_and_rollback),
    };
    rc = cmocka_run_group_tests(tests, setup, teardown);
    server("stop", NULL, 0);
    file_remove_tree(tmp);
    return rc;
}
