/* test_ibbe_serve.c -- the admin daemon (ibbe_serve.h) on a loopback port the test picks, with
 * the ibbe enclave (sim backend) behind it, driven with libcurl: create, add, remove, show, list
 * and extract as JSON; a member decrypts gk from the store with the extracted key; no token, a
 * wrong token, malformed JSON, unknown routes and groups, wrong methods and refused operations
 * get the documented 4xx with a JSON error. Its limits (a proc enclave behind it): 1,100 idle
 * connections from other loopback addresses do not shut out a client with the token, one
 * address gets at most per_ip connections, an idle one is closed after the timeout, bodies and
 * identity lists over the limits get 413, reads are answered while an update runs, and an
 * enclave killed with -9 is restarted for the next operation. No answer ever shows an absolute
 * path or a process id. */
#include <cloister/ibbe_serve.h>
#include <cloister/tee_enclave.h>

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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
static char home[PATH_MAX]; /* no answer may show it */

struct answer {
    char body[1 << 16];
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
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L); /* a daemon that shuts us out fails, not hangs */
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK)
        fail_msg("%s %s: %s", method, path, curl_easy_strerror(rc));
    if (strstr(a.body, home) || strstr(a.body, "pid"))
        fail_msg("%s %s answers a host path or process: '%s'", method, path, a.body);
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
    struct cloister_err err;
    char dir[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/ibbe-serve", home);
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
    expect(405, "DELETE", "/v1/groups", NULL, TOKEN);
    expect(405, "GET", "/v1/extract", NULL, TOKEN);
    expect(409, "POST", "/v1/groups", "{\"group\": \"web\", \"members\": [\"a@x\"]}", TOKEN);
    expect(409, "POST", "/v1/groups/web/remove", "{\"users\": [\"nobody@x\"]}", TOKEN);
    expect(409, "POST", "/v1/groups/web/add", "{\"users\": [\"a@x\"]}", TOKEN);

    /* Still serving after the refusals. */
    assert_int_equal(request("GET", "/v1/groups/web", NULL, TOKEN, &j), 200);
    assert_int_equal(field(j, "members"), 4);
    assert_int_equal(field(j, "oldest_epoch"), 1);
    json_decref(j);
    assert_int_equal(
        request("POST", "/v1/groups", "{\"group\": \"app\", \"members\": [\"a@x\"]}", TOKEN, &j),
        201);
    json_decref(j);
    assert_int_equal(request("GET", "/v1/groups", NULL, TOKEN, &j), 200);
    json_t *list = json_object_get(j, "groups");
    assert_int_equal(json_array_size(list), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 0), "group")),
                        "app");
    assert_int_equal(field(json_array_get(list, 1), "members"), 4);
    assert_int_equal(field(json_array_get(list, 1), "epoch"), 2);
    json_decref(j);
    expect(401, "GET", "/v1/groups", NULL, NULL);

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
    ibbe_server_stop(s);
    ibbe_admin_close(a);
}

/* A TCP connection to the daemon from the loopback address from (127.0.0.x), left idle. */
static int idle_connection(const char *from, uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET};
    assert_true(fd >= 0);
    assert_int_equal(inet_pton(AF_INET, from, &src.sin_addr), 1);
    assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr), 1);
    dst.sin_port = htons(port);
    assert_int_equal(bind(fd, (struct sockaddr *)&src, sizeof src), 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&dst, sizeof dst), 0);
    return fd;
}

/* How many of the connections the daemon has closed within ms (each polled once). */
static int closed_by_daemon(const int *fds, int n, int ms)
{
    int closed = 0;
    for (int i = 0; i < n; i++) {
        struct pollfd p = {.fd = fds[i], .events = POLLIN};
        char c;
        if (poll(&p, 1, i == 0 ? ms : 0) == 1 && read(fds[i], &c, 1) <= 0)
            closed++;
    }
    return closed;
}

struct background {
    const char *body;
    long status;
    volatile int done;
};

static void *post_in_background(void *arg)
{
    struct background *b = arg;
    json_t *j;
    b->status = request("POST", "/v1/groups", b->body, TOKEN, &j);
    json_decref(j);
    b->done = 1;
    return NULL;
}

/* A create request of count members u<i>@x for group name (malloc'd). */
static char *create_body(const char *name, size_t count)
{
    size_t cap = 64 + count * 24, len;
    char *body = malloc(cap);
    assert_non_null(body);
    len = (size_t)snprintf(body, cap, "{\"group\": \"%s\", \"members\": [", name);
    for (size_t i = 0; i < count; i++)
        len += (size_t)snprintf(body + len, cap - len, "%s\"u%zu@x\"", i ? "," : "", i);
    snprintf(body + len, cap - len, "]}");
    return body;
}

static void limits(void **state)
{
    struct cloister_err err;
    char dir[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/ibbe-serve-limits", home);
    assert_int_equal(file_remove_tree(dir), 0);
    struct ibbe_admin_options ao = {.backend = "proc", .enclave = &tee_enclave_ibbe};
    struct ibbe_server_options o;
    ibbe_admin *a;
    ibbe_server *s;
    json_t *j;
    assert_int_equal(ibbe_admin_open(dir, &ao, &a, &err), 0);
    assert_int_equal(ibbe_admin_setup(a, 64, &err), 0);
    ibbe_server_options_init(&o);
    o.listen = "127.0.0.1:0";
    o.token = TOKEN;
    o.per_ip = 250;
    o.members_max = 20000;
    o.body_max = 1 << 20;
    assert_int_equal(ibbe_server_start_with(a, &o, &s, &err), 0);
    uint16_t port = ibbe_server_port(s);
    snprintf(base, sizeof base, "http://127.0.0.1:%u", (unsigned)port);

    /* 1,100 idle connections (220 from each of five addresses): the client with the token is
     * still served, and reads the list. 300 from one more address: 50 are closed at once. */
    enum { IDLE = 1100, FROM = 220, CROWD = 300 };
    int idle[IDLE], crowd[CROWD];
    for (int i = 0; i < IDLE; i++) {
        char from[32];
        snprintf(from, sizeof from, "127.0.0.%d", 2 + i / FROM);
        idle[i] = idle_connection(from, port);
    }
    assert_int_equal(
        request("POST", "/v1/groups", "{\"group\": \"g\", \"members\": [\"a@x\"]}", TOKEN, &j),
        201);
    json_decref(j);
    assert_int_equal(request("GET", "/v1/groups", NULL, TOKEN, &j), 200);
    json_decref(j);
    for (int i = 0; i < CROWD; i++)
        crowd[i] = idle_connection("127.0.0.9", port);
    assert_true(closed_by_daemon(crowd, CROWD, 2000) >= CROWD - 250);
    assert_int_equal(closed_by_daemon(idle, IDLE, 0), 0);
    for (int i = 0; i < IDLE; i++)
        close(idle[i]);
    for (int i = 0; i < CROWD; i++)
        close(crowd[i]);

    /* Bounded requests: too many identities, too many bytes. */
    char *big = create_body("huge", 20001);
    expect(413, "POST", "/v1/groups", big, TOKEN);
    free(big);
    big = create_body("huge", 60000); /* about 1 MiB */
    expect(413, "POST", "/v1/groups", big, TOKEN);
    free(big);

    /* Reads are answered while an update runs: the list, several times, during a create of
     * 20,000 members. */
    struct background b = {.body = create_body("big", 20000)};
    pthread_t t;
    int answered_during = 0;
    assert_int_equal(pthread_create(&t, NULL, post_in_background, &b), 0);
    while (!b.done) {
        assert_int_equal(request("GET", "/v1/groups/g", NULL, TOKEN, &j), 200);
        json_decref(j);
        answered_during += !b.done;
    }
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(b.status, 201);
    assert_true(answered_during >= 1);
    free((char *)b.body);

    /* The enclave killed with -9: the next operation restarts it and succeeds. */
    struct tee_info info;
    assert_int_equal(tee_get_info(ibbe_admin_enclave(a), &info), 0);
    assert_true(info.pid > 0);
    assert_int_equal(kill(info.pid, SIGKILL), 0); /* the runtime reaps it */
    assert_int_equal(
        request("POST", "/v1/groups/g/add", "{\"users\": [\"b@x\", \"c@x\"]}", TOKEN, &j), 200);
    assert_int_equal(field(j, "members"), 3);
    json_decref(j);
    assert_int_equal(tee_get_info(ibbe_admin_enclave(a), &info), 0);
    assert_int_equal(kill(info.pid, SIGKILL), 0); /* killed again, and left a moment: the same */
    usleep(200000);
    assert_int_equal(request("POST", "/v1/groups/g/remove", "{\"users\": [\"b@x\"]}", TOKEN, &j),
                     200);
    assert_int_equal(field(j, "epoch"), 2);
    json_decref(j);

    /* An idle connection is closed after the timeout. */
    ibbe_server_stop(s);
    o.timeout_s = 1;
    assert_int_equal(ibbe_server_start_with(a, &o, &s, &err), 0);
    int quiet = idle_connection("127.0.0.3", ibbe_server_port(s));
    assert_int_equal(closed_by_daemon(&quiet, 1, 10000), 1);
    close(quiet);
    ibbe_server_stop(s);
    ibbe_admin_close(a);
}

int main(void)
{
    const char *h = getenv("CLOISTER_HOME");
    snprintf(home, sizeof home, "%s", h ? h : "/tmp/cloister-test");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {cmocka_unit_test(http_api), cmocka_unit_test(limits)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
