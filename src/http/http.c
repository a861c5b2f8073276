/* http.c -- the HTTP plumbing every service shares (http.h).
 *
 * Server: libmicrohttpd with its own thread, or a pool of them for a service whose handler is
 * safe to call from several threads (the services answer small JSON requests; their work is
 * bounded by the body limit, which is enforced while the body arrives). IBBE's admin daemon
 * runs its own libmicrohttpd (a thread pool, a token checked before the body) but collects
 * bodies and checks tokens with the same two helpers. The token is checked
 * in constant time; the handler decides what needs it (every request that changes anything).
 * Memory: a body grows geometrically up to its bound (body_max + 1 with the NUL), and every
 * growth is charged to the server-wide budget of bytes in flight first; a body the budget cannot
 * take is dropped as it arrives and answered 503, so 256 connections cannot hold 256 bodies of
 * body_max. The charge is given back when the request completes. A body that announces its
 * length (Content-Length, at most body_max) gets its whole buffer at its first chunk, so a large
 * body is copied once, from libmicrohttpd's buffer into its own; the announced length is
 * charged then, which a client could claim without sending it, but no more than the bytes it
 * could send within the budget anyway.
 * Client: http_call speaks HTTP/1.0 with Connection: close over one TCP socket, so the reply
 * ends at EOF; http_conn keeps one HTTP/1.1 connection for many requests and reads each answer
 * by its Content-Length. Both read at most max_reply bytes and give up after 10 s of silence. */
#include "http/http.h"

#include <cloister/crypto.h>

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/hex.h"

#define IO_TIMEOUT_MS 10000
#define ANSWER_HEAD_MAX 16384 /* bytes of an answer's status line and headers */

struct http_server {
    struct MHD_Daemon *d;
    char *token;
    size_t body_max, budget;
    atomic_size_t in_flight; /* bytes of bodies being collected, charged to budget */
    http_handler handler;
    void *arg;
    uint16_t port;
};

/* A request being collected: its body and what it holds of the server's budget. */
struct pending {
    struct http_body body;
    size_t charged;
    bool refused; /* over the server's budget: dropped, answered 503 */
};

size_t http_body_grown_cap(const struct http_body *b, size_t n, size_t max)
{
    size_t want = b->len + n + 1, cap = b->cap ? b->cap : 4096;
    if (want <= b->cap)
        return b->cap;
    if (b->expect && b->expect <= max && want <= b->expect + 1)
        return b->expect + 1;
    while (cap < want)
        cap = cap > (max + 1) / 2 ? max + 1 : 2 * cap;
    return cap;
}

int http_body_add(struct http_body *b, const char *upload, size_t n, size_t max)
{
    if (b->too_big || b->len + n > max) {
        b->too_big = true;
        return 0;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = http_body_grown_cap(b, n, max);
        char *grown = realloc(b->data, cap);
        if (!grown)
            return -1;
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, upload, n);
    b->len += n;
    b->data[b->len] = 0;
    return 0;
}

void http_body_free(struct http_body *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

char *http_error_json(const char *msg)
{
    json_t *j = json_pack("{s:s}", "error", msg);
    char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return s;
}

json_t *http_json_hex(const uint8_t *p, size_t n)
{
    char *hex = malloc(2 * n + 1);
    if (!hex)
        return NULL;
    hex_encode(hex, p, n);
    json_t *j = json_string(hex);
    free(hex);
    return j;
}

uint8_t *http_json_unhex(json_t *j, const char *key, size_t *len)
{
    const char *hex = json_string_value(json_object_get(j, key));
    size_t n = hex ? strlen(hex) : 0;
    uint8_t *out = hex && n % 2 == 0 ? malloc(n / 2 + 1) : NULL;
    long got = out ? hex_decode(out, n / 2, hex, n) : -1;
    if (got < 0 || (size_t)got != n / 2) {
        free(out);
        return NULL;
    }
    *len = (size_t)got;
    return out;
}

enum MHD_Result http_reply(struct MHD_Connection *c, unsigned status, char *body, const char *type)
{
    return http_reply_len(c, status, body, body ? strlen(body) : 0, type);
}

enum MHD_Result http_reply_len(struct MHD_Connection *c, unsigned status, char *body, size_t len,
                               const char *type)
{
    if (!body)
        body = strdup("");
    if (!body)
        return MHD_NO;
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type ? type : "application/json");
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

bool http_bearer_ok(struct MHD_Connection *c, const char *token)
{
    if (!token)
        return true;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    size_t want = strlen(token);
    if (!h || strncmp(h, "Bearer ", 7) != 0 || strlen(h + 7) != want)
        return false;
    return crypto_memeq(h + 7, token, want);
}

/* Charges the growth of p's body for n more bytes to the server's budget: false when the
 * budget cannot take it. */
static bool budget_charge(struct http_server *s, struct pending *p, size_t n)
{
    size_t grow = http_body_grown_cap(&p->body, n, s->body_max) - p->body.cap;
    size_t used = atomic_load(&s->in_flight);
    do {
        if (grow > s->budget || used > s->budget - grow)
            return false;
    } while (!atomic_compare_exchange_weak(&s->in_flight, &used, used + grow));
    p->charged += grow;
    return true;
}

static enum MHD_Result collect(struct http_server *s, struct pending *p, const char *upload,
                               size_t n)
{
    struct http_body *b = &p->body;
    if (p->refused)
        return MHD_YES;
    if (b->too_big || b->len + n > s->body_max) {
        b->too_big = true;
        return MHD_YES;
    }
    if (!budget_charge(s, p, n)) {
        p->refused = true;
        http_body_free(b);
        return MHD_YES;
    }
    return http_body_add(b, upload, n, s->body_max) == 0 ? MHD_YES : MHD_NO;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    (void)version;
    struct http_server *s = cls;
    struct pending *p = *con_cls;
    if (!p) {
        if (!(p = calloc(1, sizeof *p)))
            return MHD_NO;
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        unsigned long long n = cl ? strtoull(cl, NULL, 10) : 0;
        p->body.expect = n <= s->body_max ? (size_t)n : 0;
        *con_cls = p;
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        return collect(s, p, upload, n);
    }
    if (p->refused)
        return http_reply(c, MHD_HTTP_SERVICE_UNAVAILABLE,
                          http_error_json("the server holds too many request bytes; try again"),
                          NULL);
    if (p->body.too_big) {
        char msg[64];
        snprintf(msg, sizeof msg, "request body over %zu bytes", s->body_max);
        return http_reply(c, MHD_HTTP_CONTENT_TOO_LARGE, http_error_json(msg), NULL);
    }
    unsigned status = MHD_HTTP_INTERNAL_SERVER_ERROR;
    char *body = NULL;
    const char *type = NULL;
    size_t len = SIZE_MAX;
    struct http_request r = {
        method, url, p->body.data ? p->body.data : "", p->body.len, http_bearer_ok(c, s->token),
        c,      &len};
    s->handler(s->arg, &r, &status, &body, &type);
    return http_reply_len(c, status, body, len != SIZE_MAX ? len : body ? strlen(body) : 0, type);
}

const char *http_arg(const struct http_request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_header(const struct http_request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)c;
    (void)toe;
    struct http_server *s = cls;
    struct pending *p = *con_cls;
    if (p) {
        atomic_fetch_sub(&s->in_flight, p->charged);
        http_body_free(&p->body);
        free(p);
        *con_cls = NULL;
    }
}

static int parse_ipv4(const char *endpoint, struct sockaddr_in *sa, struct cloister_err *err)
{
    char host[64];
    unsigned port;
    int used = 0;
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    if (!endpoint || sscanf(endpoint, "%63[0-9.]:%u%n", host, &port, &used) != 2 ||
        endpoint[used] != '\0' || port > 65535 || inet_pton(AF_INET, host, &sa->sin_addr) != 1)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "endpoint '%.64s': expected IPv4:PORT, e.g. 127.0.0.1:8080",
                             endpoint ? endpoint : "");
    sa->sin_port = htons((uint16_t)port);
    return CLOISTER_OK;
}

int http_server_start(const char *listen, const char *token, size_t body_max, http_handler handler,
                      void *arg, struct http_server **out, struct cloister_err *err)
{
    return http_server_start_pool(listen, token, body_max, 0, 1, handler, arg, out, err);
}

int http_server_start_pool(const char *listen, const char *token, size_t body_max, size_t budget,
                           unsigned threads, http_handler handler, void *arg,
                           struct http_server **out, struct cloister_err *err)
{
    struct sockaddr_in sa;
    int rc = parse_ipv4(listen, &sa, err);
    if (rc != CLOISTER_OK)
        return rc;
    struct http_server *s = calloc(1, sizeof *s);
    if (!s || (token && !(s->token = strdup(token)))) {
        free(s);
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    }
    s->body_max = body_max;
    s->budget = budget ? budget : HTTP_BUDGET_DEFAULT * (body_max + 1);
    atomic_init(&s->in_flight, 0);
    s->handler = handler;
    s->arg = arg;
    s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC,
                            ntohs(sa.sin_port), NULL, NULL, handle, s, MHD_OPTION_SOCK_ADDR,
                            (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, completed, s,
                            MHD_OPTION_CONNECTION_LIMIT, 256u, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                            64u, MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_THREAD_POOL_SIZE,
                            threads > 1 ? threads : 0u, MHD_OPTION_END);
    if (!s->d) {
        int why = errno;
        http_server_stop(s);
        return cloister_errf(err, CLOISTER_E_SYSTEM, "cannot listen on %s: %s", listen,
                             why ? strerror(why) : "address in use, or not a local address");
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : ntohs(sa.sin_port);
    *out = s;
    return CLOISTER_OK;
}

uint16_t http_server_port(const struct http_server *s)
{
    return s->port;
}

size_t http_server_in_flight(struct http_server *s)
{
    return atomic_load(&s->in_flight);
}

void http_server_stop(struct http_server *s)
{
    if (!s)
        return;
    if (s->d)
        MHD_stop_daemon(s->d);
    if (s->token)
        crypto_wipe(s->token, strlen(s->token));
    free(s->token);
    free(s);
}

static int io_wait(int fd, short events)
{
    struct pollfd p = {.fd = fd, .events = events};
    int n;
    while ((n = poll(&p, 1, IO_TIMEOUT_MS)) < 0 && errno == EINTR)
        ;
    return n > 0 ? 0 : -1;
}

/* flags MSG_MORE: more follows at once (the head of a request before its body). */
static int send_all(int fd, const char *buf, size_t len, int flags)
{
    while (len) {
        if (io_wait(fd, POLLOUT) != 0)
            return -1;
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | flags);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* A request's head then its body. The head goes with MSG_MORE only when a body follows: a corked
 * head alone would wait for the kernel's 200 ms uncork timer. */
static int send_request(int fd, const char *head, size_t headlen, const char *body, size_t len)
{
    return send_all(fd, head, headlen, len ? MSG_MORE : 0) == 0 && send_all(fd, body, len, 0) == 0
               ? 0
               : -1;
}

/* Reads to EOF, at most max bytes. Grows by copy-and-wipe rather than realloc: an answer may
 * carry what its caller must not leave behind in freed memory (X-Search's proxy host). */
static int recv_all(int fd, size_t max, char **out, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        if (io_wait(fd, POLLIN) != 0)
            break;
        ssize_t r = recv(fd, buf + n, cap - n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            break;
        if (r == 0) {
            buf[n] = 0;
            *out = buf;
            *len = n;
            return 0;
        }
        n += (size_t)r;
        if (n == cap) {
            if (cap >= max)
                break;
            char *g = malloc(2 * cap + 1);
            if (!g)
                break;
            memcpy(g, buf, n);
            crypto_wipe(buf, cap + 1);
            free(buf);
            buf = g;
            cap *= 2;
        }
    }
    if (buf)
        crypto_wipe(buf, cap + 1);
    free(buf);
    return -1;
}

unsigned http_status_of(int rc)
{
    switch (rc) {
    case CLOISTER_E_INVALID: return 400;
    case CLOISTER_E_DENIED: return 403;
    case CLOISTER_E_NOT_FOUND: return 404;
    case CLOISTER_E_STATE: return 409;
    case CLOISTER_E_TOO_BIG: return 413;
    case CLOISTER_E_BUSY: return 429;
    case CLOISTER_E_FAILED:
    case CLOISTER_E_PROTOCOL:
    case CLOISTER_E_SYSTEM: return 502;
    default: return 500;
    }
}

size_t http_url_encode(const char *q, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    char *o = out;
    for (; *q; q++) {
        unsigned char c = (unsigned char)*q;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
            *o++ = (char)c;
        } else if (c == ' ') {
            *o++ = '+';
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = 0;
    return (size_t)(o - out);
}

int http_call(const char *endpoint, const char *method, const char *path, const char *token,
              const char *body, size_t len, size_t max_reply, unsigned *status, char **reply,
              struct cloister_err *err)
{
    return http_call_from(NULL, endpoint, method, path, token, body, len, max_reply, status, reply,
                          err);
}

/* Binds fd to source (an IPv4 address, any port); 0 when done or when source is NULL. */
static int bind_source(int fd, const char *source)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    if (!source)
        return 0;
    return inet_pton(AF_INET, source, &sa.sin_addr) == 1 &&
                   bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0
               ? 0
               : -1;
}

/* One HTTP/1.0 request with the header lines headers (each ending in CRLF); the answer's body
 * NUL-terminated in *reply, its length in *reply_len. */
static int call_once(const char *source, const char *endpoint, const char *method, const char *path,
                     const char *headers, const void *body, size_t len, size_t max_reply,
                     unsigned *status, char **reply, size_t *reply_len, struct cloister_err *err)
{
    struct sockaddr_in sa;
    int rc = parse_ipv4(endpoint, &sa, err);
    if (rc != CLOISTER_OK)
        return rc;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind_source(fd, source) != 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        int why = errno;
        if (fd >= 0)
            close(fd);
        return cloister_errf(err, CLOISTER_E_SYSTEM, "cannot reach %s: %s", endpoint,
                             strerror(why));
    }
    /* The path may be long (a search engine's OR-ed query): the head is sized to it. */
    size_t cap = strlen(method) + strlen(path) + strlen(endpoint) +
                 (headers ? strlen(headers) : 0) + 128;
    char *head = malloc(cap);
    int hn = head ? snprintf(head, cap,
                             "%s %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n%s"
                             "Content-Length: %zu\r\n\r\n",
                             method, path, endpoint, headers ? headers : "", len)
                  : -1;
    char *raw = NULL;
    size_t rawlen = 0;
    rc = hn > 0 && (size_t)hn < cap &&
                 send_request(fd, head, (size_t)hn, body ? body : "", len) == 0 &&
                 recv_all(fd, max_reply, &raw, &rawlen) == 0
             ? CLOISTER_OK
             : cloister_errf(err, CLOISTER_E_SYSTEM, "%s %s on %s: no complete answer", method,
                             path, endpoint);
    if (head)
        crypto_wipe(head, cap);
    free(head);
    close(fd);
    if (rc != CLOISTER_OK)
        return rc;
    char *sep = strstr(raw, "\r\n\r\n");
    if (sscanf(raw, "HTTP/%*u.%*u %u", status) != 1 || !sep) {
        free(raw);
        return cloister_errf(err, CLOISTER_E_PROTOCOL, "%s: not an HTTP answer", endpoint);
    }
    size_t headlen = (size_t)(sep + 4 - raw);
    memmove(raw, sep + 4, rawlen - headlen + 1);
    crypto_wipe(raw + rawlen - headlen + 1, headlen); /* the tail still held the body's end */
    *reply = raw;
    *reply_len = rawlen - headlen;
    return CLOISTER_OK;
}

/* The header lines of a JSON request with the bearer token (NULL: none), malloc'd (NULL when
 * out of memory); *cap its size, to wipe it. */
static char *json_headers(const char *token, size_t *cap)
{
    *cap = (token ? strlen(token) : 0) + 96;
    char *h = malloc(*cap);
    if (h)
        snprintf(h, *cap, "%s%s%sContent-Type: application/json\r\n",
                 token ? "Authorization: Bearer " : "", token ? token : "", token ? "\r\n" : "");
    return h;
}

int http_call_from(const char *source, const char *endpoint, const char *method, const char *path,
                   const char *token, const char *body, size_t len, size_t max_reply,
                   unsigned *status, char **reply, struct cloister_err *err)
{
    size_t cap, got;
    char *headers = json_headers(token, &cap);
    int rc = headers ? call_once(source, endpoint, method, path, headers, body, len, max_reply,
                                 status, reply, &got, err)
                     : cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    if (headers)
        crypto_wipe(headers, cap);
    free(headers);
    return rc;
}

int http_call_bin(const char *endpoint, const char *method, const char *path, const char *headers,
                  const void *body, size_t len, size_t max_reply, unsigned *status, char **reply,
                  size_t *reply_len, struct cloister_err *err)
{
    return http_call_bin_from(NULL, endpoint, method, path, headers, body, len, max_reply, status,
                              reply, reply_len, err);
}

int http_call_bin_from(const char *source, const char *endpoint, const char *method,
                       const char *path, const char *headers, const void *body, size_t len,
                       size_t max_reply, unsigned *status, char **reply, size_t *reply_len,
                       struct cloister_err *err)
{
    return call_once(source, endpoint, method, path, headers, body, len, max_reply, status, reply,
                     reply_len, err);
}

/* ---- keep-alive client ------------------------------------------------------------------------ */

struct http_conn {
    struct sockaddr_in sa;
    char endpoint[64];
    int fd; /* -1: not connected */
};

int http_conn_open(const char *endpoint, struct http_conn **out, struct cloister_err *err)
{
    struct http_conn *c = calloc(1, sizeof *c);
    if (!c)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    int rc = parse_ipv4(endpoint, &c->sa, err);
    if (rc != CLOISTER_OK) {
        free(c);
        return rc;
    }
    snprintf(c->endpoint, sizeof c->endpoint, "%s", endpoint);
    c->fd = -1;
    *out = c;
    return CLOISTER_OK;
}

void http_conn_close(struct http_conn *c)
{
    if (!c)
        return;
    if (c->fd >= 0)
        close(c->fd);
    free(c);
}

static void conn_drop(struct http_conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

static int conn_connect(struct http_conn *c, struct cloister_err *err)
{
    if (c->fd >= 0)
        return CLOISTER_OK;
    int one = 1; /* a kept connection's small requests must not wait for delayed ACKs */
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
        connect(c->fd, (struct sockaddr *)&c->sa, sizeof c->sa) != 0) {
        int why = errno;
        conn_drop(c);
        return cloister_errf(err, CLOISTER_E_SYSTEM, "cannot reach %s: %s", c->endpoint,
                             strerror(why));
    }
    return CLOISTER_OK;
}

/* The value of header name in the head (NUL-terminated, ending at its blank line), or NULL. */
static const char *head_value(const char *head, const char *name)
{
    size_t n = strlen(name);
    for (const char *l = strstr(head, "\r\n"); l && l[2] != '\r'; l = strstr(l + 2, "\r\n"))
        if (strncasecmp(l + 2, name, n) == 0 && l[2 + n] == ':')
            return l + 3 + n + strspn(l + 3 + n, " \t");
    return NULL;
}

/* Reads one answer: the head, then Content-Length bytes of body (*reply NUL-terminated, its
 * length in *reply_len). *got: bytes read at all (0: the server had closed the connection
 * before answering). */
static int read_answer(int fd, size_t max, unsigned *status, char **reply, size_t *reply_len,
                       bool *keep, size_t *got)
{
    size_t cap = 4096, n = 0, head = 0, total = SIZE_MAX;
    char *buf = malloc(cap + 1), *sep;
    *got = 0;
    while (buf && n < total) {
        if (n == cap) {
            char *g = cap < max + ANSWER_HEAD_MAX ? realloc(buf, 2 * cap + 1) : NULL;
            if (!g)
                break;
            buf = g;
            cap *= 2;
        }
        if (io_wait(fd, POLLIN) != 0)
            break;
        ssize_t r = recv(fd, buf + n, (total == SIZE_MAX ? cap : total) - n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
        *got = n;
        buf[n] = 0;
        if (head || !(sep = strstr(buf, "\r\n\r\n"))) {
            if (!head && n > ANSWER_HEAD_MAX)
                break;
            continue;
        }
        head = (size_t)(sep + 4 - buf);
        const char *cl = head_value(buf, "Content-Length"), *conn = head_value(buf, "Connection");
        unsigned long long len = cl ? strtoull(cl, NULL, 10) : ULLONG_MAX;
        if (sscanf(buf, "HTTP/%*u.%*u %u", status) != 1 || len > max)
            break;
        *keep = !conn || strncasecmp(conn, "close", 5) != 0;
        total = head + (size_t)len;
        if (total > cap) {
            char *g = realloc(buf, total + 1);
            if (!g)
                break;
            buf = g;
            cap = total;
        }
    }
    if (!buf || n != total) {
        free(buf);
        return -1;
    }
    buf[n] = 0;
    memmove(buf, buf + head, n - head + 1);
    *reply = buf;
    *reply_len = n - head;
    return 0;
}

int http_conn_call_bin(struct http_conn *c, const char *method, const char *path,
                       const char *headers, const void *body, size_t len, size_t max_reply,
                       unsigned *status, char **reply, size_t *reply_len, struct cloister_err *err)
{
    size_t cap = strlen(method) + strlen(path) + strlen(c->endpoint) +
                 (headers ? strlen(headers) : 0) + 96;
    char *head = malloc(cap);
    int hn = head ? snprintf(head, cap,
                             "%s %s HTTP/1.1\r\nHost: %s\r\n%sContent-Length: %zu\r\n\r\n", method,
                             path, c->endpoint, headers ? headers : "", len)
                  : -1;
    int rc = hn > 0 && (size_t)hn < cap ? CLOISTER_OK
                                        : cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    /* A kept connection the server closed meanwhile fails before any byte of an answer: that
     * request is sent again once, on a new connection. */
    for (int attempt = 0; rc == CLOISTER_OK && attempt < 2; attempt++) {
        bool reused = c->fd >= 0, keep = false;
        size_t got = 0;
        if ((rc = conn_connect(c, err)) != CLOISTER_OK)
            break;
        if (send_request(c->fd, head, (size_t)hn, body ? body : "", len) == 0 &&
            read_answer(c->fd, max_reply, status, reply, reply_len, &keep, &got) == 0) {
            if (!keep)
                conn_drop(c);
            break;
        }
        conn_drop(c);
        if (!reused || got)
            rc = cloister_errf(err, CLOISTER_E_SYSTEM, "%s %s on %s: no complete answer", method,
                               path, c->endpoint);
    }
    if (head)
        crypto_wipe(head, cap);
    free(head);
    return rc;
}

int http_conn_call(struct http_conn *c, const char *method, const char *path, const char *token,
                   const char *body, size_t len, size_t max_reply, unsigned *status, char **reply,
                   struct cloister_err *err)
{
    size_t cap, n = 0;
    char *headers = json_headers(token, &cap);
    int rc = headers ? http_conn_call_bin(c, method, path, headers, body, len, max_reply, status,
                                          reply, &n, err)
                     : cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    if (headers)
        crypto_wipe(headers, cap);
    free(headers);
    return rc;
}
