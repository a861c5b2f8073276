/* ibbe_serve.h -- the IBBE-SGX admin daemon: the operations of ibbe_admin.h as HTTP+JSON
 * (libmicrohttpd), with the enclave kept warm between requests (groups stay open in it).
 *
 * Every request carries "Authorization: Bearer <token>" (compared in constant time). Requests
 * are served one at a time on the daemon's thread, so the admin is never used concurrently.
 *
 *   GET    /v1/groups/G                       the group: epoch, members, partitions, bytes
 *   POST   /v1/groups        {"group": G, "members": [ids]}         201 + the group
 *   POST   /v1/groups/G/add  {"users": [ids]}                        200 + the group
 *   POST   /v1/groups/G/remove {"users": [ids]}                      200 + the group
 *   POST   /v1/extract       {"user": id, "to": hex HPKE public key (optional)}
 *                            200 {"user": id, "key": hex of the "CIUK" record or "CHPM" message}
 *
 * Errors are JSON {"error": "..."}: 400 malformed request, 401 missing or wrong token, 404 no
 * such route or group, 405 wrong method, 409 refused (already exists, not a member, ...),
 * 413 body over 64 MiB, 500 enclave or store failure.
 *
 * The daemon is the one part of IBBE needing libmicrohttpd, so it is its own library,
 * libcloister_ibbe_serve (installed next to libcloister; link both and libmicrohttpd). */
#ifndef CLOISTER_IBBE_SERVE_H
#define CLOISTER_IBBE_SERVE_H

#include <cloister/ibbe_admin.h>

#include <stdint.h>

#define IBBE_TOKEN_MIN 16 /* bytes of a token */

typedef struct ibbe_server ibbe_server;

/* Listens on "IPv4:PORT" (PORT 0: any free port); the admin must outlive the server. */
CLOISTER_API int ibbe_server_start(ibbe_admin *a, const char *listen, const char *token,
                                   ibbe_server **out, struct cloister_err *err);
CLOISTER_API uint16_t ibbe_server_port(const ibbe_server *s);
CLOISTER_API void ibbe_server_stop(ibbe_server *s);

#endif
