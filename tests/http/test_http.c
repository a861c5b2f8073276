/* test_http.c -- the shared HTTP plumbing (src/http/http.h).
 *
 * A pool server with bodies of at most 1 MiB and a budget of 1.5 MiB in flight: a body held
 * open on one connection (900 KiB of its 1 MiB sent) takes 1 MiB of the budget, so a second
 * 1 MiB request is refused with 503 while it arrives; once the first connection is gone, the
 * same request is served (the budget is given back, the server survived). A body over the bound
 * is 413 as before, and growth stops at the bound (the buffer never exceeds body_max + 1). The
 * keep-alive client makes several requests on one connection. A body of an announced length is
 * allocated once; binary bodies (NULs, every byte value) go and come back whole. The budget is reached
 * asynchronously (the server charges bytes as it reads them), so the refused and the served
 * request are each tried until they happen, for 5 s at most: no timing is asserted. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "http/http.h"

#define BODY_MAX ((size_t)1 << 20)
#define BUDGET (BODY_MAX + BODY_MAX / 2)

/* Answers {"len": N} with the length of the body it got. */
static void echo_len(void *arg, const struct http_request *r, unsigned *status, char **body,
                     const char **type)
{
    (void)arg;
    char buf[64];
    snprintf(buf, sizeof buf, "{\"len\":%zu}", r->len);
    *status = 200;
    *body = strdup(buf);
    *type = NULL;
}

/* Answers the body's bytes as they came (binary), prefixed with the X-Tag header's value. */
static void echo_bytes(void *arg, const struct http_request *r, unsigned *status, char **body,
                       const char **type)
{
    (void)arg;
    const char *tag = http_header(r, "X-Tag");
    size_t n = tag ? strlen(tag) : 0;
    *body = malloc(n + r->len);
    assert_non_null(*body);
    memcpy(*body, tag, n);
    memcpy(*body + n, r->body, r->len);
    *r->answer_len = n + r->len;
    *status = 200;
    *type = "application/octet-stream";
}

static struct http_server *start_with(char endpoint[32], http_handler handler)
{
    struct http_server *s = NULL;
    struct cloister_err err;
    assert_int_equal(
        http_server_start_pool("127.0.0.1:0", NULL, BODY_MAX, BUDGET, 2, handler, NULL, &s, &err),
        CLOISTER_OK);
    snprintf(endpoint, 32, "127.0.0.1:%u", (unsigned)http_server_port(s));
    return s;
}

static struct http_server *start(char endpoint[32])
{
    return start_with(endpoint, echo_len);
}

static unsigned post(const char *endpoint, const char *body, size_t len)
{
    unsigned status = 0;
    char *reply = NULL;
    struct cloister_err err;
    if (http_call(endpoint, "POST", "/", NULL, body, len, 4096, &status, &reply, &err) != 0)
        return 0;
    free(reply);
    return status;
}

/* Tries the request until it answers want (30 s at most: a loaded machine may take seconds to
 * notice a closed connection); the status it last got. */
static unsigned post_until(const char *endpoint, const char *body, size_t len, unsigned want)
{
    unsigned got = 0;
    for (int i = 0; i < 3000 && got != want; i++) {
        if (i)
            nanosleep(&(struct timespec){0, 10000000}, NULL);
        got = post(endpoint, body, len);
    }
    return got;
}

/* A connection that sends the head of a 1 MiB body and 900 KiB of it, then holds. */
static int hold_open(const char *endpoint, const char *body)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    unsigned port;
    assert_int_equal(sscanf(endpoint, "127.0.0.1:%u", &port), 1);
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    char head[128];
    int n = snprintf(head, sizeof head, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n",
                     BODY_MAX);
    assert_int_equal(send(fd, head, (size_t)n, 0), n);
    for (size_t sent = 0; sent < 900 * 1024;) {
        ssize_t k = send(fd, body + sent, 900 * 1024 - sent, 0);
        assert_true(k > 0);
        sent += (size_t)k;
    }
    return fd;
}

static void test_budget(void **state)
{
    (void)state;
    char endpoint[32], *body = malloc(BODY_MAX + 1);
    assert_non_null(body);
    memset(body, 'x', BODY_MAX + 1);
    struct http_server *s = start(endpoint);
    assert_int_equal(post(endpoint, body, BODY_MAX), 200);
    assert_int_equal(post(endpoint, body, BODY_MAX + 1), 413);
    int held = hold_open(endpoint, body);
    for (int i = 0; i < 3000 && http_server_in_flight(s) <= BODY_MAX; i++)
        nanosleep(&(struct timespec){0, 10000000}, NULL); /* the held body is charged first */
    assert_true(http_server_in_flight(s) > BODY_MAX);
    assert_int_equal(post(endpoint, body, BODY_MAX), 503);
    assert_int_equal(post(endpoint, "{}", 2), 200); /* small bodies still fit */
    close(held);
    assert_int_equal(post_until(endpoint, body, BODY_MAX, 200), 200);
    http_server_stop(s);
    free(body);
}

static void test_growth_capped(void **state)
{
    (void)state;
    struct http_body b = {0};
    char chunk[3000];
    memset(chunk, 'y', sizeof chunk);
    for (int i = 0; i < 20; i++)
        assert_int_equal(http_body_add(&b, chunk, sizeof chunk, 50000), 0);
    assert_true(b.too_big);
    assert_true(b.cap <= 50001);
    assert_int_equal(b.len, 48000);
    http_body_free(&b);
}

/* A body that announces its length gets its buffer at once (no growth, so no copy); an
 * announced length over the bound is not trusted. */
static void test_expect_presized(void **state)
{
    (void)state;
    struct http_body b = {.expect = 100000}, over = {.expect = 60000};
    char chunk[3000];
    memset(chunk, 'z', sizeof chunk);
    assert_int_equal(http_body_add(&b, chunk, sizeof chunk, 200000), 0);
    assert_int_equal(b.cap, 100001);
    char *first = b.data;
    while (b.len + sizeof chunk <= 100000)
        assert_int_equal(http_body_add(&b, chunk, sizeof chunk, 200000), 0);
    assert_ptr_equal(b.data, first);
    assert_int_equal(b.cap, 100001);
    assert_int_equal(http_body_add(&over, chunk, sizeof chunk, 50000), 0);
    assert_true(over.cap < 50001);
    http_body_free(&b);
    http_body_free(&over);
}

/* Binary bodies both ways: bytes with NULs and every value, headers of the caller's. */
static void test_binary(void **state)
{
    (void)state;
    char endpoint[32], *reply = NULL;
    struct http_server *s = start_with(endpoint, echo_bytes);
    struct cloister_err err;
    uint8_t body[70000];
    unsigned status = 0;
    size_t len = 0;
    for (size_t i = 0; i < sizeof body; i++)
        body[i] = (uint8_t)(i * 7);
    assert_int_equal(http_call_bin(endpoint, "PUT", "/x",
                                   "Content-Type: application/octet-stream\r\nX-Tag: tag\r\n", body,
                                   sizeof body, 1 << 20, &status, &reply, &len, &err),
                     CLOISTER_OK);
    assert_int_equal(status, 200);
    assert_int_equal(len, 3 + sizeof body);
    assert_memory_equal(reply, "tag", 3);
    assert_memory_equal(reply + 3, body, sizeof body);
    free(reply);
    http_server_stop(s);
}

static void test_keep_alive(void **state)
{
    (void)state;
    char endpoint[32];
    struct http_server *s = start(endpoint);
    struct http_conn *c = NULL;
    struct cloister_err err;
    assert_int_equal(http_conn_open(endpoint, &c, &err), CLOISTER_OK);
    for (int i = 0; i < 20; i++) {
        unsigned status = 0;
        char *reply = NULL, body[32], want[32];
        int n = snprintf(body, sizeof body, "{\"i\":%d}", i * 1000);
        snprintf(want, sizeof want, "{\"len\":%d}", n);
        assert_int_equal(
            http_conn_call(c, "POST", "/", NULL, body, (size_t)n, 4096, &status, &reply, &err),
            CLOISTER_OK);
        assert_int_equal(status, 200);
        assert_string_equal(reply, want);
        free(reply);
    }
    http_conn_close(c);
    http_server_stop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_budget),          cmocka_unit_test(test_growth_capped),
        cmocka_unit_test(test_expect_presized), cmocka_unit_test(test_binary),
        cmocka_unit_test(test_keep_alive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
