/* http.h -- the one HTTP+JSON plumbing of cloister's services (IBBE's admin daemon, the
 * orchestration's node agent and extender, A-Sky's access service): collecting a request body
 * up to a byte bound, checking a bearer token in constant time, a small libmicrohttpd server
 * that hands each complete request to one handler, and a loopback HTTP/1.0 client for the CLI
 * verbs that talk to them. Internal: the layers that serve include it. */
#ifndef CLOISTER_HTTP_H
#define CLOISTER_HTTP_H

#include <cloister/error.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

/* A request body being collected: at most max bytes are kept (NUL-terminated); past that,
 * too_big is set and the rest is dropped, so the answer can be a clear 413. expect: the length
 * the request announced (Content-Length; 0: none), which the buffer takes at once. */
struct http_body {
    char *data;
    size_t len;
    size_t cap;
    size_t expect;
    bool too_big;
};
/* Adds one upload chunk, growing the buffer to expect + 1 bytes at once when the chunk fits in
 * it, else geometrically (libmicrohttpd hands a body over in chunks of a few KiB: growing by
 * each chunk would copy a large body quadratically), never past max + 1 bytes; -1 when out of
 * memory. */
int http_body_add(struct http_body *b, const char *upload, size_t n, size_t max);
/* The capacity http_body_add would grow b to for n more bytes (b->cap when it fits). */
size_t http_body_grown_cap(const struct http_body *b, size_t n, size_t max);
void http_body_free(struct http_body *b);
/* Whether the connection carries "Authorization: Bearer <token>" (constant-time compare);
 * token NULL: no authentication, always true. */
bool http_bearer_ok(struct MHD_Connection *c, const char *token);

struct http_server;

/* One request: authorized says whether it carried the server's bearer token (always true when
 * the server has none). The handler sets *status, *body (malloc'd, NULL for none) and *type;
 * an answer that is not text (bytes that may hold NUL) also sets *answer_len, which is
 * otherwise the body's strlen. */
struct http_request {
    const char *method, *url;
    const char *body;
    size_t len;
    bool authorized;
    struct MHD_Connection *conn; /* for http_arg and http_header */
    size_t *answer_len;
};
/* The URL's query parameter name (percent-decoded), or NULL. */
const char *http_arg(const struct http_request *r, const char *name);
/* The request's header name (case-insensitive), or NULL. */
const char *http_header(const struct http_request *r, const char *name);
typedef void (*http_handler)(void *arg, const struct http_request *r, unsigned *status, char **body,
                             const char **type);

/* Listens on IPv4:PORT (port 0: any free one); token NULL: no authentication. */
int http_server_start(const char *listen, const char *token, size_t body_max, http_handler handler,
                      void *arg, struct http_server **out, struct cloister_err *err);
/* The same with a pool of threads (threads > 1): the handler is called from all of them.
 * budget bounds the bytes of every body being collected at once (0: HTTP_BUDGET_DEFAULT bodies
 * of body_max): a request whose body would take the server past it is refused with 503 while
 * it arrives (its bytes dropped), so that many connections cannot each hold body_max. */
#define HTTP_BUDGET_DEFAULT 4
int http_server_start_pool(const char *listen, const char *token, size_t body_max, size_t budget,
                           unsigned threads, http_handler handler, void *arg,
                           struct http_server **out, struct cloister_err *err);
uint16_t http_server_port(const struct http_server *s);
void http_server_stop(struct http_server *s);
/* Bytes of request bodies the server holds now (charged to its budget). */
size_t http_server_in_flight(struct http_server *s);
/* Queues body (malloc'd, taken; NULL: empty) as the answer, with Content-Type type (NULL:
 * application/json): for servers that drive libmicrohttpd themselves (the search engine). */
enum MHD_Result http_reply(struct MHD_Connection *c, unsigned status, char *body, const char *type);
/* The same for len bytes of body (binary), handed to libmicrohttpd without a copy. */
enum MHD_Result http_reply_len(struct MHD_Connection *c, unsigned status, char *body, size_t len,
                               const char *type);
/* A JSON error body {"error": msg} (malloc'd). */
char *http_error_json(const char *msg);

/* Binary fields of JSON bodies, as hex strings: a new string (NULL when out of memory), and the
 * string member key of j decoded (malloc'd; NULL when absent, odd or not hex). */
json_t *http_json_hex(const uint8_t *p, size_t n);
uint8_t *http_json_unhex(json_t *j, const char *key, size_t *len);

/* q as a URL parameter value (letters and digits kept, spaces as '+', the rest %XX): out has
 * room for 3 bytes per byte of q, plus one. Returns the length written. */
size_t http_url_encode(const char *q, char *out);

/* The HTTP status that answers an error code: 400 invalid, 403 denied, 404 not found, 409 state,
 * 413 too big, 429 busy, 502 a failure or a bad answer further on (an engine, a peer), 500 the
 * rest. */
unsigned http_status_of(int rc);

/* One request to IPv4:PORT; *reply is malloc'd (NUL-terminated), *status the HTTP status.
 * token NULL: none sent. Bodies up to max_reply bytes. */
int http_call(const char *endpoint, const char *method, const char *path, const char *token,
              const char *body, size_t len, size_t max_reply, unsigned *status, char **reply,
              struct cloister_err *err);
/* The same from the IPv4 address source (NULL: any), so that a server on 127.0.0.0/8 can tell
 * loopback clients apart (the search engine logs who asked). */
int http_call_from(const char *source, const char *endpoint, const char *method, const char *path,
                   const char *token, const char *body, size_t len, size_t max_reply,
                   unsigned *status, char **reply, struct cloister_err *err);

/* The same with the request's header lines given whole (each ending in "\r\n", a
 * Content-Type among them; NULL: none) and the answer's length in *reply_len, for binary bodies
 * both ways (A-Sky's objects). */
int http_call_bin(const char *endpoint, const char *method, const char *path, const char *headers,
                  const void *body, size_t len, size_t max_reply, unsigned *status, char **reply,
                  size_t *reply_len, struct cloister_err *err);
/* The same from the IPv4 address source (NULL: any), as http_call_from. */
int http_call_bin_from(const char *source, const char *endpoint, const char *method,
                       const char *path, const char *headers, const void *body, size_t len,
                       size_t max_reply, unsigned *status, char **reply, size_t *reply_len,
                       struct cloister_err *err);

/* A keep-alive client: one connection (HTTP/1.1) for many requests of one thread, opened at the
 * first call and again when the server closed it. Answers must carry a Content-Length (every
 * answer of http_reply does). */
struct http_conn;
int http_conn_open(const char *endpoint, struct http_conn **out, struct cloister_err *err);
int http_conn_call(struct http_conn *c, const char *method, const char *path, const char *token,
                   const char *body, size_t len, size_t max_reply, unsigned *status, char **reply,
                   struct cloister_err *err);
/* The same with the header lines given whole (each ending in "\r\n", a Content-Type among
 * them) and the answer's length in *reply_len, for binary bodies both ways. */
int http_conn_call_bin(struct http_conn *c, const char *method, const char *path,
                       const char *headers, const void *body, size_t len, size_t max_reply,
                       unsigned *status, char **reply, size_t *reply_len, struct cloister_err *err);
void http_conn_close(struct http_conn *c);

#endif
