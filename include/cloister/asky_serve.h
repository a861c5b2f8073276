/* asky_serve.h -- A-Sky's access service over HTTP+JSON (`cloister asky serve`, docs/asky.md)
 * and its remote client (`cloister asky put|get --server`).
 *
 * A member's request never crosses the host in clear: the client asks for an offer (the
 * enclave's fresh HPKE key in evidence binding the client's nonce), verifies the evidence
 * against its policy (MRENCLAVE or MRSIGNER pinned, the platform CA), and seals its request to
 * that key; the enclave checks membership and answers with the envelope (and a write ticket)
 * sealed under a key of the request. The member builds the object itself and uploads it with
 * the ticket; the host stores it once the enclave has recognised the ticket. Readers fetch
 * objects and need no enclave. Membership changes (admin) need the bearer token.
 *
 *   GET  /v1/info                         the enclave's identity (informational: pin your own)
 *   POST /v1/offer     {"nonce": hex}                        -> {"offer": hex}
 *   POST /v1/envelope  {"package": hex}                      -> {"reply": hex}
 *   PUT  /v1/objects/NAME  the object's bytes, X-Asky-Ticket: hex   -> 201 {"name": NAME}
 *   GET  /v1/objects                                         -> {"objects": [...]}
 *   GET  /v1/objects/NAME                                    -> the object's bytes
 *   POST /v1/groups/G/create|add|remove {"user": U}          (token)
 *   POST /v1/users/add {"package": hex}  -> {"delivery": hex} (token; the user's name and HPKE
 *                                     public key sealed to the enclave, its key HPKE-encrypted)
 *   POST /v1/users/U/remove                                  (token) */
#ifndef CLOISTER_ASKY_SERVE_H
#define CLOISTER_ASKY_SERVE_H

#include <cloister/asky.h>
#include <cloister/asky_host.h>
#include <cloister/error.h>
#include <cloister/export.h>

#include <stdbool.h>
#include <stdint.h>

#define ASKY_SERVE_LISTEN "127.0.0.1:8470"
#define ASKY_TOKEN_MIN 16
#define ASKY_BODY_MAX ((size_t)64 << 20)   /* bytes of a request, and of an object */
#define ASKY_TICKET_HEADER "X-Asky-Ticket" /* of PUT /v1/objects/NAME: the write ticket, hex */

typedef struct asky_server asky_server;

/* Serves s (not owned) on IPv4:PORT (port 0: any free one) until asky_server_stop, with
 * threads request threads (0: 1). */
CLOISTER_API int asky_server_start(asky_service *s, const char *listen, const char *token,
                                   size_t body_max, unsigned threads, asky_server **out,
                                   struct cloister_err *err);
CLOISTER_API uint16_t asky_server_port(const asky_server *srv);
CLOISTER_API void asky_server_stop(asky_server *srv);

/* What a remote client trusts: the platform CA (NULL: this machine's) and the enclave's
 * identity (MRENCLAVE or MRSIGNER, at least one). */
struct asky_remote {
    const char *server; /* IPv4:PORT */
    const char *ca;
    const uint8_t *mrenclave, *mrsigner; /* 32 bytes each, or NULL */
    bool allow_simulated;
};

CLOISTER_API int asky_remote_put(const struct asky_remote *r, const char *group, const char *user,
                                 const uint8_t key[ASKY_KEY_LEN], const char *in, const char *name,
                                 enum asky_kind kind, unsigned pad, struct cloister_err *err);
/* asky_rekey through the service: get, then put again for the group's current members. */
CLOISTER_API int asky_remote_rekey(const struct asky_remote *r, const char *group, const char *user,
                                   const uint8_t key[ASKY_KEY_LEN], const char *name,
                                   enum asky_kind kind, unsigned pad, struct cloister_err *err);
/* The upload of an object built by the member (PUT /v1/objects/NAME, its bytes the body), which
 * the service stores only with the write ticket of the envelope inside it. */
CLOISTER_API int asky_remote_object_put(const char *server, const char *name, const uint8_t *obj,
                                        size_t len, const uint8_t ticket[ASKY_TICKET_LEN],
                                        struct cloister_err *err);
CLOISTER_API int asky_remote_get(const char *server, const uint8_t key[ASKY_KEY_LEN],
                                 const char *name, const char *out, struct cloister_err *err);
/* An envelope of the group for the member (its name and key), end to end: the request sealed
 * to the verified enclave, the envelope and its write ticket opened with the reply key (*env
 * malloc'd). asky_remote_put is this, the object built here, and its upload. */
CLOISTER_API int asky_remote_envelope(const struct asky_remote *r, const char *group,
                                      const char *user, const uint8_t key[ASKY_KEY_LEN],
                                      enum asky_kind kind, unsigned pad, uint8_t **env,
                                      size_t *envlen, uint8_t ticket[ASKY_TICKET_LEN],
                                      struct cloister_err *err);
/* A session with the service's enclave: one offer verified as above and a fresh 32-byte key
 * sealed to it, then requests sealed under that key (numbered: a replayed one is refused) on
 * one kept-alive connection, with no offer or evidence each. For one thread at a time; the
 * enclave keeps the most recently used sessions (1024): an expired one is refused ("no such
 * session"), and the client opens another. */
typedef struct asky_session asky_session;
CLOISTER_API int asky_remote_session_open(const struct asky_remote *r, asky_session **out,
                                          struct cloister_err *err);
CLOISTER_API int asky_remote_session_envelope(asky_session *sn, const char *group, const char *user,
                                              const uint8_t key[ASKY_KEY_LEN], enum asky_kind kind,
                                              unsigned pad, uint8_t **env, size_t *envlen,
                                              uint8_t ticket[ASKY_TICKET_LEN],
                                              struct cloister_err *err);
CLOISTER_API void asky_remote_session_close(asky_session *sn);
/* A new user through the service: its name and a fresh HPKE public key sealed to the verified
 * enclave, its key drawn there and delivered encrypted to that public key (token: admin's). */
CLOISTER_API int asky_remote_user_add(const struct asky_remote *r, const char *token,
                                      const char *user, uint8_t key[ASKY_KEY_LEN],
                                      struct cloister_err *err);
/* A membership change: op is "create", "add", "remove" (of group) or "user-remove". */
CLOISTER_API int asky_remote_admin(const char *server, const char *token, const char *op,
                                   const char *group, const char *user, struct cloister_err *err);

#endif
