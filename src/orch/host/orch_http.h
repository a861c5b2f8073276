/* orch_http.h -- the HTTP of the orchestration's services (node agent, extender): a small
 * libmicrohttpd server that collects a bounded body and hands each request to one handler, and
 * a loopback HTTP/1.0 client for the CLI verbs that talk to them. Internal to src/orch/host. */
#ifndef CLOISTER_ORCH_HTTP_H
#define CLOISTER_ORCH_HTTP_H

#include <cloister/error.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct orch_http;

/* One request: authorized says whether it carried the server's bearer token (always true when
 * the server has none). The handler sets *status, *body (malloc'd, NULL for none) and *type. */
struct orch_http_request {
    const char *method, *url;
    const char *body;
    size_t len;
    bool authorized;
};
typedef void (*orch_http_handler)(void *arg, const struct orch_http_request *r, unsigned *status,
                                  char **body, const char **type);

/* Listens on IPv4:PORT (port 0: any free one); token NULL: no authentication. */
int orch_http_start(const char *listen, const char *token, size_t body_max,
                    orch_http_handler handler, void *arg, struct orch_http **out,
                    struct cloister_err *err);
uint16_t orch_http_port(const struct orch_http *s);
void orch_http_stop(struct orch_http *s);
/* A JSON error body {"error": msg} (malloc'd). */
char *orch_http_error(const char *msg);

/* One request to IPv4:PORT; *reply is malloc'd (NUL-terminated), *status the HTTP status.
 * token NULL: none sent. Bodies up to max_reply bytes. */
int orch_http_call(const char *endpoint, const char *method, const char *path, const char *token,
                   const char *body, size_t len, size_t max_reply, unsigned *status, char **reply,
                   struct cloister_err *err);

#endif
