/* test_cyclosa_tls.c -- Cyclosa's relays asking the engine over HTTPS, the TLS session inside
 * their enclaves.
 *
 * The nodes run the real enclave image (proc backend: OpenSSL under the enclave's seccomp sandbox).
 * The test's engine (plain HTTP) sits behind a TLS front on 127.0.0.1 whose certificate (naming
 * 127.0.0.1) the test issues from a CA it makes at start. The front records every byte it
 * receives from the relays' hosts, before decryption: those are the bytes a relay's host forwards.
 *
 * - A search over https gets exactly the engine's own hits (what a relay gets over http); the
 *   front decrypted the query, and the ciphertext the hosts forwarded never holds it.
 * - Nodes given another CA refuse the engine, saying its certificate is the matter. */
#include <cloister/cyclosa_node.h>
#include <cloister/search_engine.h>
#include <cloister/tee_enclave.h>
#include <cloister/xsearch.h>

#include <arpa/inet.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "cyclosa_testbed.h"
#include "http/http.h"

TEE_ENCLAVE_DECLARE(cyclosa);

#define NODES 3

static struct cyc_testbed tb;
static char ca_pem[PATH_MAX + 16], other_pem[PATH_MAX + 16], front_ep[64];
static SSL_CTX *front_ctx;
static int front_fd = -1;
static pthread_t front_thread;
static pthread_mutex_t cap_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t *captured; /* the ciphertext the relays' hosts sent the front */
static size_t ncaptured;
static char requests[1 << 14]; /* the front's decrypted request lines */

/* A self-signed CA certificate naming IP 127.0.0.1 (the front's), its key in *key. */
static X509 *make_cert(EVP_PKEY **key, const char *cn)
{
    X509 *x = X509_new();
    *key = EVP_EC_gen("P-256");
    assert_non_null(x);
    assert_non_null(*key);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, *key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
    const char *ext[][2] = {{"basicConstraints", "critical,CA:TRUE"},
                            {"subjectAltName", "IP:127.0.0.1"}};
    for (size_t i = 0; i < 2; i++) {
        X509_EXTENSION *e = X509V3_EXT_conf(NULL, &v3, ext[i][0], ext[i][1]);
        assert_non_null(e);
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
    assert_true(X509_sign(x, *key, EVP_sha256()) > 0);
    return x;
}

static void write_pem(const char *path, X509 *x)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(PEM_write_X509(f, x), 1);
    fclose(f);
}

static long capture(BIO *b, int oper, const char *argp, size_t len, int argi, long argl, int ret,
                    size_t *processed)
{
    (void)b, (void)len, (void)argi, (void)argl;
    if (oper == (BIO_CB_READ | BIO_CB_RETURN) && ret > 0 && processed) {
        pthread_mutex_lock(&cap_lock);
        uint8_t *p = realloc(captured, ncaptured + *processed);
        if (p) {
            memcpy(p + ncaptured, argp, *processed);
            captured = p;
            ncaptured += *processed;
        }
        pthread_mutex_unlock(&cap_lock);
    }
    return ret;
}

/* One connection: the request line, the engine's answer from the relay's own address. */
static void front_serve(int fd)
{
    struct sockaddr_in peer;
    socklen_t plen = sizeof peer;
    char ip[16], req[8192], *reply = NULL, path[4096];
    size_t got = 0;
    unsigned status = 0;
    struct cloister_err err;
    getpeername(fd, (struct sockaddr *)&peer, &plen);
    inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip);
    SSL *ssl = SSL_new(front_ctx);
    BIO *b = BIO_new_socket(fd, BIO_CLOSE);
    BIO_set_callback_ex(b, capture);
    SSL_set_bio(ssl, b, b);
    if (SSL_accept(ssl) == 1) {
        int r;
        while (got < sizeof req - 1 && !memmem(req, got, "\r\n\r\n", 4) &&
               (r = SSL_read(ssl, req + got, (int)(sizeof req - 1 - got))) > 0)
            got += (size_t)r;
        req[got] = 0;
        if (sscanf(req, "GET %4095s HTTP/1.1", path) == 1 &&
            http_call_from(ip, tb.engine_ep, "GET", path, NULL, NULL, 0, 1 << 22, &status, &reply,
                           &err) == CLOISTER_OK) {
            char head[256];
            int n = snprintf(head, sizeof head,
                             "HTTP/1.1 %u OK\r\nContent-Type: application/json\r\n"
                             "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                             status, strlen(reply));
            SSL_write(ssl, head, n);
            SSL_write(ssl, reply, (int)strlen(reply));
            pthread_mutex_lock(&cap_lock);
            size_t at = strlen(requests);
            snprintf(requests + at, sizeof requests - at, "%s\n", path);
            pthread_mutex_unlock(&cap_lock);
        }
        free(reply);
        SSL_shutdown(ssl);
    }
    ERR_clear_error();
    SSL_free(ssl);
}

static void *front_main(void *arg)
{
    (void)arg;
    int fd;
    while ((fd = accept(front_fd, NULL, NULL)) >= 0)
        front_serve(fd);
    return NULL;
}

static void front_start(void)
{
    EVP_PKEY *key, *other_key;
    X509 *x = make_cert(&key, "cyclosa test engine CA"), *other = make_cert(&other_key, "other");
    write_pem(ca_pem, x);
    write_pem(other_pem, other);
    front_ctx = SSL_CTX_new(TLS_server_method());
    assert_int_equal(SSL_CTX_use_certificate(front_ctx, x), 1);
    assert_int_equal(SSL_CTX_use_PrivateKey(front_ctx, key), 1);
    X509_free(x);
    X509_free(other);
    EVP_PKEY_free(key);
    EVP_PKEY_free(other_key);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    front_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(bind(front_fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(front_fd, 64), 0);
    getsockname(front_fd, (struct sockaddr *)&a, &alen);
    snprintf(front_ep, sizeof front_ep, "127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
    assert_int_equal(pthread_create(&front_thread, NULL, front_main, NULL), 0);
}

static int setup(void **state)
{
    (void)state;
    cyc_testbed_start(&tb, "cyclosa-tls", 2, 300);
    snprintf(ca_pem, sizeof ca_pem, "%s/engine-ca.pem", tb.dir);
    snprintf(other_pem, sizeof other_pem, "%s/other-ca.pem", tb.dir);
    front_start();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    shutdown(front_fd, SHUT_RDWR);
    pthread_join(front_thread, NULL);
    close(front_fd);
    SSL_CTX_free(front_ctx);
    cyc_testbed_stop(&tb);
    free(captured);
    return 0;
}

/* NODES nodes on 127.0.0.(first..), asking the front under the CA in ca; their views full. */
static void start_nodes(int first, const char *ca, cyclosa_node **nodes)
{
    const char *popular[] = {"weather", "news today", "cheap flights"};
    struct cyclosa_node_options o = {.engine = front_ep,
                                     .engine_ca = ca,
                                     .popular = popular,
                                     .npopular = 3,
                                     .backend = "proc",
                                     .enclave = &tee_enclave_cyclosa,
                                     .table = 100,
                                     .view = 4,
                                     .gossip_ms = 50,
                                     .blacklist_ms = 60000};
    uint64_t rng = 1;
    struct cloister_err err;
    if (cyclosa_nodes_start(&o, "127.0.0", first, NULL, NODES, &rng, nodes, &err) != CLOISTER_OK)
        fail_msg("nodes: %s", err.msg);
    struct cyclosa_peer v[CYCLOSA_VIEW_MAX];
    for (int t = 0; t < 200 && cyclosa_node_view(nodes[0], v, CYCLOSA_VIEW_MAX) < NODES - 1; t++)
        usleep(20000);
}

static void stop_nodes(cyclosa_node **nodes)
{
    for (int i = 0; i < NODES; i++)
        cyclosa_node_stop(nodes[i]);
}

static void test_https(void **state)
{
    (void)state;
    cyclosa_node *nodes[NODES];
    start_nodes(10, ca_pem, nodes);
    const char *q = tb.log.q[tb.log.n / 2].text;
    char canon[SEARCH_QUERY_MAX + 1], want[1 << 14], got[1 << 14];
    assert_true(search_canonical(q, strlen(q), canon, sizeof canon) > 0);
    struct cyclosa_result r;
    struct cloister_err err;
    if (cyclosa_node_search(nodes[0], q, 1, NULL, &r, &err) != CLOISTER_OK)
        fail_msg("search: %s", err.msg);
    cyc_engine_answer(&tb, q, want, sizeof want);
    cyc_urls_of(&r.hits, got, sizeof got);
    assert_true(r.hits.n > 0);
    assert_string_equal(got, want);
    search_hits_free(&r.hits);
    stop_nodes(nodes);
    /* the front got the query (decrypted), the hosts only forwarded ciphertext */
    char term[SEARCH_QUERY_MAX + 1] = "", *save = NULL;
    for (char *t = strtok_r(canon, " ", &save); t; t = strtok_r(NULL, " ", &save))
        if (strlen(t) > strlen(term))
            snprintf(term, sizeof term, "%s", t); /* the longest term: clear under any encoding */
    assert_true(strlen(term) >= 4);               /* too long to turn up in ciphertext by chance */
    pthread_mutex_lock(&cap_lock);
    assert_non_null(strstr(requests, term));
    assert_true(ncaptured > 0);
    assert_null(memmem(captured, ncaptured, term, strlen(term)));
    assert_null(memmem(captured, ncaptured, "/search", 7));
    pthread_mutex_unlock(&cap_lock);
}

static void test_wrong_ca(void **state)
{
    (void)state;
    cyclosa_node *nodes[NODES];
    start_nodes(20, other_pem, nodes);
    struct cyclosa_result r;
    struct cloister_err err = {0};
    assert_int_not_equal(cyclosa_node_search(nodes[0], "weather tomorrow", 1, NULL, &r, &err),
                         CLOISTER_OK);
    print_message("refused: %s\n", err.msg);
    assert_non_null(strstr(err.msg, "the engine's certificate is not trusted"));
    search_hits_free(&r.hits);
    stop_nodes(nodes);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_https),
                                       cmocka_unit_test(test_wrong_ca)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
