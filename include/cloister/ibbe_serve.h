/* ibbe_serve.h -- the IBBE-SGX admin daemon: the operations of ibbe_admin.h as HTTP+JSON
 * (libmicrohttpd), with the enclave kept warm between requests (groups stay open in it).
 *
 * Every request carries "Authorization: Bearer <token>" (compared in constant time). The daemon
 * polls with epoll on a few threads; operations on the admin run one at a time, reads of the
 * store (GET) beside them. Connections are bounded in number, per client address and in idle
 * time; a request in body bytes and in identities (ibbe_server_options).
 *
 *   GET    /v1/groups                         {"groups": [each group as below]}
 *   GET    /v1/groups/G                       the group: epoch, oldest_epoch (the earliest whose
 *                                             key members still reach), members, partitions,
 *                                             partition_size, bytes
 *   POST   /v1/groups        {"group": G, "members": [ids]}         201 + the group
 *   POST   /v1/groups/G/add  {"users": [ids]}                        200 + the group
 *   POST   /v1/groups/G/remove {"users": [ids]}                      200 + the group
 *   POST   /v1/extract       {"user": id, "to": hex HPKE public key (optional)}
 *                            200 {"user": id, "key": hex of the "CIUK" record or "CHPM" message}
 *
 * Errors are JSON {"error": "..."}: 400 malformed request, 401 missing or wrong token, 404 no
 * such route or group, 405 wrong method, 409 refused (already exists, not a member, ...),
 * 413 body over body_max or more than members_max identities, 500 enclave or store failure
 * (the body names the kind of failure only; the detail goes to the log), 503 stopping.
 *
 * The daemon is the one part of IBBE needing libmicrohttpd, so it is its own library,
 * libcloister_ibbe_serve (installed next to libcloister; link both and libmicrohttpd). */
#ifndef CLOISTER_IBBE_SERVE_H
#define CLOISTER_IBBE_SERVE_H

#include <cloister/ibbe_admin.h>

#include <stdint.h>

#define IBBE_TOKEN_MIN 16 /* bytes of a token */

typedef struct ibbe_server ibbe_server;

#define IBBE_SERVE_LISTEN "127.0.0.1:8080" /* the default: loopback only */

struct ibbe_server_options {
    const char *listen;   /* "IPv4:PORT" (PORT 0: any free port) */
    const char *token;    /* at least IBBE_TOKEN_MIN bytes */
    unsigned threads;     /* polling threads (default 4) */
    unsigned connections; /* connections at once (4096) */
    unsigned per_ip;      /* connections at once from one address (256) */
    unsigned timeout_s;   /* an idle connection is closed after this (30 s) */
    size_t body_max;      /* request body bytes (32 MiB) */
    size_t members_max;   /* identities per request (262,144) */
};
CLOISTER_API void ibbe_server_options_init(struct ibbe_server_options *o);

/* Listens as o says; the admin must outlive the server. */
CLOISTER_API int ibbe_server_start_with(ibbe_admin *a, const struct ibbe_server_options *o,
                                        ibbe_server **out, struct cloister_err *err);
/* The same with the default limits. */
CLOISTER_API int ibbe_server_start(ibbe_admin *a, const char *listen, const char *token,
                                   ibbe_server **out, struct cloister_err *err);
CLOISTER_API uint16_t ibbe_server_port(const ibbe_server *s);
/* Stops accepting, lets a running operation finish, stops. */
CLOISTER_API void ibbe_server_stop(ibbe_server *s);
/* The same, waiting at most ms for a running operation: CLOISTER_E_BUSY when it still runs,
 * the server then left running it (the caller exits the process: the store keeps the group as
 * it was before, as after a crash); CLOISTER_OK when stopped and freed. */
CLOISTER_API int ibbe_server_stop_within(ibbe_server *s, unsigned ms);

#endif
