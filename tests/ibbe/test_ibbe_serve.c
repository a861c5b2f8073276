/* test_ibbe_serve.c -- the admin daemon (ibbe_serve.h) on a loopback port the test picks, with
 * the ibbe enclave (sim backend) behind it, driven with libcurl: create, add, remove, show and
 * extract as JSON; a member decrypts gk from the store with the extracted key; no token, a
 * wrong token, malformed JSON, unknown routes and groups, wrong methods and refused operations
 * get the documented 4xx with a JSON error. */
#include <cloister/ibbe_serve.h>
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
#include <curl/curl.h>
#include <jansson.h>

#include "util/fileio.h"
#include "util/hex.h"

TEE_ENCLAVE_DECLARE(ibbe);

#define TOKEN "0123456789abcdef-test-token"

static char base[64];

struct answer {
    char body[8192];
    size_t len;
};

static size_t collect(char *data, size_t size, size_t n, void *arg)
{
    struct answer *a = arg;
    size_t len = size * n;
    if (a->len + len >= sizeof a->body)
        return 0;
    memcpy(a->body + a->len, data, len);
    a->len += len;
    a->body[a->len] = '\0';
    return len;
}

/* One request; returns the status and the parsed JSON answer in *out. */
static long request(const char *method, const char *path, const char *body, const char *token,
                    json_t **out)
{
    CURL *c = curl_easy_init();
    assert_non_null(c);
    char url[256], auth[128];
    struct answer a = {.len = 0};
    struct curl_slist *h = NULL;
    snprintf(url, sizeof url, "%s%s", base, path);
    if (token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    long status;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    json_error_t err;
    *out = json_loads(a.body, 0, &err);
    if (!json_is_object(*out))
        fail_msg("answer to %s %s is not a JSON object: '%s'", method, path, a.body);
    return status;
}

/* The status, and that an error answer carries {"error": ...}. */
static void expect(long want, const char *method, const char *path, const char *body,
                   const char *token)
{
    json_t *j;
    long got = request(method, path, body, token, &j);
    if (got != want)
        fail_msg("%s %s: status %ld, want %ld", method, path, got, want);
    if (want >= 400)
        assert_non_null(json_string_value(json_object_get(j, "error")));
    json_decref(j);
}

static long long field(json_t *j, const char *name)
{
    return json_integer_value(json_object_get(j, name));
}

static void http_api(void **state)
{
    const char *home = getenv("CLOISTER_HOME");
    struct cloister_err err;
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/ibbe-serve", home ? home : "/tmp/cloister-test");
    assert_int_equal(file_remove_tree(dir), 0);
    struct ibbe_admin_options o = {.backend = "sim", .enclave = &tee_enclave_ibbe};
    ibbe_admin *a;
    ibbe_server *s;
    assert_int_equal(ibbe_admin_open(dir, &o, &a, &err), 0);
    assert_int_equal(ibbe_admin_setup(a, 2, &err), 0);
    assert_int_equal(ibbe_server_start(a, "127.0.0.1:0", "short", &s, &err), CLOISTER_E_INVALID);
    assert_int_equal(ibbe_server_start(a, "localhost:80", TOKEN, &s, &err), CLOISTER_E_INVALID);
    assert_int_equal(ibbe_server_start(a, "127.0.0.1:0", TOKEN, &s, &err), 0);
    snprintf(base, sizeof base, "http://127.0.0.1:%u", (unsigned)ibbe_server_port(s));
    curl_global_init(CURL_GLOBAL_DEFAULT);

    json_t *j;
    assert_int_equal(request("POST", "/v1/groups",
                             "{\"group\": \"web\", \"members\": [\"a@x\", \"b@x\", \"c@x\"]}",
                             TOKEN, &j),
                     201);
    assert_int_equal(field(j, "members"), 3);
    assert_int_equal(field(j, "partitions"), 2);
    assert_int_equal(field(j, "epoch"), 1);
    json_decref(j);
    assert_int_equal(
        request("POST", "/v1/groups/web/add", "{\"users\": [\"d@x\", \"e@x\"]}", TOKEN, &j), 200);
    assert_int_equal(field(j, "members"), 5);
    json_decref(j);
    assert_int_equal(request("POST", "/v1/groups/web/remove", "{\"users\": [\"b@x\"]}", TOKEN, &j),
                     200);
    assert_int_equal(field(j, "members"), 4);
    assert_int_equal(field(j, "epoch"), 2);
    json_decref(j);
    assert_int_equal(request("GET", "/v1/groups/web", NULL, TOKEN, &j), 200);
    assert_int_equal(field(j, "members"), 4);
    assert_true(field(j, "bytes") > 0);
    json_decref(j);

    /* The extracted key lets its member decrypt gk from the store; the removed one cannot. */
    uint8_t rec[1024], gk[IBBE_KEY_LEN];
    struct ibbe_usk usk;
    char id[IBBE_ID_MAX + 1];
    uint64_t epoch;
    const char *members[2] = {"d@x", "b@x"};
    for (int m = 0; m < 2; m++) {
        char body[64];
        snprintf(body, sizeof body, "{\"user\": \"%s\"}", members[m]);
        assert_int_equal(request("POST", "/v1/extract", body, TOKEN, &j), 200);
        const char *hex = json_string_value(json_object_get(j, "key"));
        long len = hex_decode(rec, sizeof rec, hex, strlen(hex));
        assert_true(len > 0);
        assert_int_equal(ibbe_usk_decode(id, &usk, rec, (size_t)len, &err), 0);
        json_decref(j);
        ibbe_group *g = NULL;
        int rc = ibbe_store_load_member(ibbe_admin_store(a), "web", members[m], &g, &err);
        if (rc == 0)
            rc = ibbe_group_decrypt(ibbe_admin_pk(a), g, members[m], &usk, gk, &epoch, &err);
        assert_int_equal(rc, m == 0 ? CLOISTER_OK : CLOISTER_E_NOT_FOUND);
        ibbe_group_free(g);
    }

    /* Refusals. */
    expect(401, "GET", "/v1/groups/web", NULL, NULL);
    expect(401, "GET", "/v1/groups/web", NULL, "0123456789abcdef-test-tokeN");
    expect(400, "POST", "/v1/groups", "{\"group\": \"x\", \"members\": [", TOKEN);
    expect(400, "POST", "/v1/groups", "{\"group\": \"x\", \"members\": []}", TOKEN);
    expect(400, "POST", "/v1/groups", "{\"group\": \"../x\", \"members\": [\"a\"]}", TOKEN);
    expect(400, "POST", "/v1/extract", "{\"user\": \"a@x\", \"to\": \"zz\"}", TOKEN);
    expect(404, "GET", "/v1/groups/nosuch", NULL, TOKEN);
    expect(404, "POST", "/v1/groups/nosuch/add", "{\"users\": [\"a@x\"]}", TOKEN);
    expect(404, "GET", "/v1/nothing", NULL, TOKEN);
    expect(405, "DELETE", "/v1/groups/web", NULL, TOKEN);
    expect(405, "GET", "/v1/extract", NULL, TOKEN);
    expect(409, "POST", "/v1/groups", "{\"group\": \"web\", \"members\": [\"a@x\"]}", TOKEN);
    expect(409, "POST", "/v1/groups/web/remove", "{\"users\": [\"nobody@x\"]}", TOKEN);
    expect(409, "POST", "/v1/groups/web/add", "{\"users\": [\"a@x\"]}", TOKEN);

    /* Still serving after the refusals. */
    assert_int_equal(request("GET", "/v1/groups/web", NULL, TOKEN, &j), 200);
    assert_int_equal(field(j, "members"), 4);
    json_decref(j);

    /* Another writer (a process, as the CLI would be) changes the group under the daemon, which
     * keeps it open in its enclave: the daemon's next update builds on that change, not on its
     * old copy. */
    assert_int_equal(request("POST", "/v1/groups/web/add", "{\"users\": [\"w@x\"]}", TOKEN, &j),
                     200);
    json_decref(j);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct ibbe_admin_options po = {.backend = "proc", .enclave = &tee_enclave_ibbe};
        ibbe_admin *other;
        const char *x = "x@x", *c = "c@x";
        _exit(ibbe_admin_open(dir, &po, &other, NULL) != 0 ||
              ibbe_admin_add(other, "web", &x, 1, NULL) != 0 ||
              ibbe_admin_remove(other, "web", &c, 1, NULL) != 0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(request("POST", "/v1/groups/web/add", "{\"users\": [\"y@x\"]}", TOKEN, &j),
                     200);
    assert_int_equal(field(j, "members"), 6);
    assert_int_equal(field(j, "epoch"), 3);
    json_decref(j);
    const char *expect_in[] = {"w@x", "x@x", "y@x", "c@x"};
    for (int m = 0; m < 4; m++) {
        ibbe_group *g = NULL;
        assert_int_equal(ibbe_store_load_member(ibbe_admin_store(a), "web", expect_in[m], &g, &err),
                         m < 3 ? CLOISTER_OK : CLOISTER_E_NOT_FOUND);
        ibbe_group_free(g);
    }
    curl_global_cleanup();
    ibbe_server_stop(s);
    ibbe_admin_close(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(http_api)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
