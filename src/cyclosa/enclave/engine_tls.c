/* engine_tls.c -- the relay's HTTPS request to the engine, driven inside the enclave.
 *
 * The TLS session (OpenSSL's libssl) lives here, over two memory BIOs: the host only carries
 * the records between an ecall and its socket to the engine, so it never sees the query it
 * relays. Each step feeds the engine's bytes in, runs the handshake, writes the request once it
 * is up, reads what the engine answered and hands back the records to send. The response is
 * complete at its Content-Length (or at the engine's close_notify or EOF without one).
 *
 * The context trusts the CA given at INIT only: no default verify paths (the enclave's sandbox
 * refuses open(), and the node's operator names the engine's CA), the engine's certificate must
 * name its IP address. */
#include "engine_tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct etls_ctx {
    SSL_CTX *ctx;
    char ip[16];
};

struct etls {
    SSL *ssl;
    BIO *net; /* our end of the pair: the records in and out */
    char *req;
    size_t reqlen, sent;
    uint8_t *reply; /* NUL-terminated */
    size_t len;
    bool closed;
};

static void ssl_msg(const char *what, char *msg, size_t cap)
{
    unsigned long e = ERR_get_error();
    snprintf(msg, cap, "%s: %s", what, e ? ERR_reason_error_string(e) : "failed");
    ERR_clear_error();
}

static int add_cas(X509_STORE *store, const uint8_t *pem, size_t len)
{
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    X509 *x;
    int n = 0;
    while (b && (x = PEM_read_bio_X509(b, NULL, NULL, NULL))) {
        n += X509_STORE_add_cert(store, x) == 1;
        X509_free(x);
    }
    BIO_free(b);
    ERR_clear_error(); /* the loop ends on "no start line" */
    return n;
}

struct etls_ctx *etls_ctx_new(const uint8_t *pem, size_t len, const char *ip, char *msg, size_t cap)
{
    struct etls_ctx *c = calloc(1, sizeof *c);
    if (!c || strlen(ip) >= sizeof c->ip || !(c->ctx = SSL_CTX_new(TLS_client_method()))) {
        snprintf(msg, cap, "the engine's TLS context: out of memory");
        etls_ctx_free(c);
        return NULL;
    }
    memcpy(c->ip, ip, strlen(ip) + 1);
    SSL_CTX_set_min_proto_version(c->ctx, TLS1_2_VERSION);
    SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
    if (len > INT_MAX || add_cas(SSL_CTX_get_cert_store(c->ctx), pem, len) == 0) {
        snprintf(msg, cap, "the engine's CA: no PEM certificate in it");
        etls_ctx_free(c);
        return NULL;
    }
    return c;
}

void etls_ctx_free(struct etls_ctx *c)
{
    if (!c)
        return;
    SSL_CTX_free(c->ctx);
    free(c);
}

struct etls *etls_new(struct etls_ctx *c, const char *path)
{
    struct etls *t = calloc(1, sizeof *t);
    BIO *inner = NULL;
    size_t cap = strlen(path) + strlen(c->ip) + 96;
    if (!t || !(t->req = malloc(cap)) || !(t->ssl = SSL_new(c->ctx)) ||
        !BIO_new_bio_pair(&inner, 1 << 16, &t->net, 1 << 16)) {
        etls_free(t);
        return NULL;
    }
    SSL_set_bio(t->ssl, inner, inner);
    SSL_set_connect_state(t->ssl);
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), c->ip);
    t->reqlen = (size_t)snprintf(
        t->req, cap, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, c->ip);
    return t;
}

void etls_free(struct etls *t)
{
    if (!t)
        return;
    SSL_free(t->ssl);
    BIO_free(t->net);
    if (t->req)
        OPENSSL_cleanse(t->req, t->reqlen);
    free(t->req);
    if (t->reply)
        OPENSSL_cleanse(t->reply, t->len);
    free(t->reply);
    free(t);
}

/* Whether the SSL call's result r is fine to wait on (more bytes from the engine). */
static int ssl_wait(struct etls *t, int r, char *msg, size_t cap)
{
    int e = SSL_get_error(t->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return 0;
    if (e == SSL_ERROR_ZERO_RETURN) {
        t->closed = true;
        return 0;
    }
    long v = SSL_get_verify_result(t->ssl);
    if (v != X509_V_OK)
        snprintf(msg, cap, "the engine's certificate is not trusted under the engine CA given (%s)",
                 X509_verify_cert_error_string(v));
    else
        ssl_msg("TLS with the engine", msg, cap);
    return -1;
}

/* Runs the session as far as it goes: handshake, request, response. */
static int drive(struct etls *t, char *msg, size_t cap)
{
    if (!SSL_is_init_finished(t->ssl)) {
        int r = SSL_do_handshake(t->ssl);
        if (r != 1)
            return ssl_wait(t, r, msg, cap);
    }
    while (t->sent < t->reqlen) {
        int r = SSL_write(t->ssl, t->req + t->sent, (int)(t->reqlen - t->sent));
        if (r <= 0)
            return ssl_wait(t, r, msg, cap);
        t->sent += (size_t)r;
    }
    uint8_t buf[16384];
    for (;;) {
        int r = SSL_read(t->ssl, buf, sizeof buf);
        if (r <= 0)
            return ssl_wait(t, r, msg, cap);
        if (t->len + (size_t)r > ETLS_REPLY_MAX) {
            snprintf(msg, cap, "the engine's answer exceeds %zu bytes", ETLS_REPLY_MAX);
            return -1;
        }
        uint8_t *p = realloc(t->reply, t->len + (size_t)r + 1);
        if (!p) {
            snprintf(msg, cap, "out of memory");
            return -1;
        }
        memcpy(p + t->len, buf, (size_t)r);
        t->reply = p;
        t->len += (size_t)r;
        p[t->len] = 0; /* strtol on the headers stops at the end */
    }
}

/* Where the body starts (0: headers incomplete); *clen its Content-Length, -1 without one. */
static size_t body_at(const struct etls *t, long *clen)
{
    const uint8_t *end = t->len ? memmem(t->reply, t->len, "\r\n\r\n", 4) : NULL;
    *clen = -1;
    if (!end)
        return 0;
    for (const char *h = (const char *)t->reply; h < (const char *)end; h++)
        if ((h == (const char *)t->reply || h[-1] == '\n') &&
            !strncasecmp(h, "content-length:", 15))
            *clen = strtol(h + 15, NULL, 10);
    return (size_t)(end - t->reply) + 4;
}

static int finish(struct etls *t, size_t at, struct wire_writer *out, char *msg, size_t cap)
{
    if (t->len < 12 || memcmp(t->reply, "HTTP/1.", 7) != 0 || memcmp(t->reply + 8, " 200", 4)) {
        snprintf(msg, cap, "the engine answered %.12s",
                 t->len >= 12 ? (char *)t->reply : "nothing");
        return -1;
    }
    wire_put_u8(out, 1);
    wire_put_bytes(out, t->reply + at, t->len - at);
    return 1;
}

int etls_step(struct etls *t, const uint8_t *in, size_t inlen, bool eof, struct wire_writer *out,
              char *msg, size_t cap)
{
    while (inlen) {
        int w = BIO_write(t->net, in, (int)(inlen < (1 << 16) ? inlen : (1 << 16)));
        if (w <= 0) {
            snprintf(msg, cap, "TLS with the engine: its bytes overflow the session's buffer");
            return -1;
        }
        in += w;
        inlen -= (size_t)w;
        if (drive(t, msg, cap) != 0)
            return -1;
    }
    if (drive(t, msg, cap) != 0)
        return -1;
    size_t pending = BIO_ctrl_pending(t->net);
    uint8_t *p = pending ? malloc(pending) : NULL;
    if (pending && (!p || BIO_read(t->net, p, (int)pending) != (int)pending)) {
        free(p);
        snprintf(msg, cap, "out of memory");
        return -1;
    }
    wire_put_bytes(out, p, pending);
    free(p);
    long clen;
    size_t at = body_at(t, &clen);
    if (at && (clen >= 0 ? t->len - at >= (size_t)clen : t->closed || eof))
        return finish(t, at, out, msg, cap);
    if (eof || t->closed) {
        snprintf(msg, cap, "the engine closed the connection before its answer");
        return -1;
    }
    wire_put_u8(out, 0);
    return 0;
}
