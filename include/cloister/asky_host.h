/* asky_host.h -- A-Sky's access service as a library (docs/asky.md): the driver of the `asky`
 * enclave over a membership store and a store directory:
 *
 *   membership store   SQLite at DIR/asky.db (the default), or PostgreSQL (options.db, a libpq
 *                      conninfo) shared by several replicas: the sealed master secret, the
 *                      epoch record, one record per group and per user (src/asky/host/store.h)
 *   DIR/objects/<name>                     the file objects (asky.h)
 *   DIR/signer.key, DIR/asky.enclave.sig   the development signature of the image
 *
 * Ids are HMACs of the names under a key only the enclave holds: the store holds no user or
 * group name and no key in clear. A membership change is one transaction, committed only if no
 * other replica changed the records meanwhile (retried otherwise). A service may be called from
 * several threads at once. */
#ifndef CLOISTER_ASKY_HOST_H
#define CLOISTER_ASKY_HOST_H

#include <cloister/asky.h>
#include <cloister/error.h>
#include <cloister/export.h>
#include <cloister/tee_enclave.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct asky_service_options {
    const char *backend;                   /* "proc" (default) or "sim" */
    const struct tee_enclave_def *enclave; /* the trusted code, for sim */
    const char *home;                      /* platform home; NULL: the default */
    const char *db;   /* PostgreSQL conninfo ("postgresql://...", "host=... dbname=..."); NULL:
                         SQLite at DIR/asky.db */
    unsigned workers; /* enclave threads (concurrent calls); 0: 1 */
};

typedef struct asky_service asky_service;

/* Opens (creating on first use: a fresh master secret) the store and starts the enclave with
 * every user loaded. */
CLOISTER_API int asky_service_open(const char *dir, const struct asky_service_options *o,
                                   asky_service **out, struct cloister_err *err);
CLOISTER_API void asky_service_close(asky_service *s);

/* A new user. Its 32-byte key is drawn in the enclave and leaves it only encrypted by HPKE
 * (X25519, AES-256-GCM, AAD the user's name) to the public key pk the user gave: delivery is
 * enc 32 ‖ ciphertext 48, opened by the user with asky_user_key_open. */
#define ASKY_USER_DELIVERY_LEN 80
CLOISTER_API int asky_user_deliver(asky_service *s, const char *user,
                                   const uint8_t pk[ASKY_KEY_LEN],
                                   uint8_t delivery[ASKY_USER_DELIVERY_LEN],
                                   struct cloister_err *err);
/* The same requested by a remote admin: a provisioning package (tee_verify.h) sealed to an
 * offer of the enclave (asky_sealed_offer), holding the secret "asky:user" = str user ‖ pk. */
CLOISTER_API int asky_user_add_sealed(asky_service *s, const uint8_t *package, size_t len,
                                      uint8_t delivery[ASKY_USER_DELIVERY_LEN],
                                      struct cloister_err *err);
CLOISTER_API int asky_user_key_open(uint8_t key[ASKY_KEY_LEN],
                                    const uint8_t delivery[ASKY_USER_DELIVERY_LEN],
                                    const uint8_t sk[ASKY_KEY_LEN], const char *user,
                                    struct cloister_err *err);
/* The embedded path: a key pair made here for the delivery, the key opened into key. */
CLOISTER_API int asky_user_add(asky_service *s, const char *user, uint8_t key[ASKY_KEY_LEN],
                               struct cloister_err *err);
/* Deletes the user's record: new envelopes leave it out of every group. */
CLOISTER_API int asky_user_remove(asky_service *s, const char *user, struct cloister_err *err);

CLOISTER_API int asky_group_create(asky_service *s, const char *group, const char *creator,
                                   struct cloister_err *err);
CLOISTER_API int asky_group_add(asky_service *s, const char *group, const char *user,
                                struct cloister_err *err);
CLOISTER_API int asky_group_remove(asky_service *s, const char *group, const char *user,
                                   struct cloister_err *err);

/* An envelope for the group's current members, for a requester proving membership
 * (asky_request_proof); *env malloc'd. */
CLOISTER_API int asky_envelope_request(asky_service *s, const char *group, const char *user,
                                       const uint8_t nonce[ASKY_REQ_NONCE_LEN],
                                       const uint8_t proof[32], enum asky_kind kind, unsigned pad,
                                       uint8_t **env, size_t *envlen, struct cloister_err *err);

/* Requests sealed by a remote client to the enclave (the access service): an offer of the
 * enclave's attested HPKE key for the client's nonce (tee_verify.h), then the client's package
 * (its request as the secret "asky:request") answered with the envelope sealed under the reply
 * key of the request. The host sees neither names nor the envelope. */
CLOISTER_API int asky_sealed_offer(asky_service *s, const uint8_t *nonce, size_t len,
                                   uint8_t **offer, size_t *offer_len, struct cloister_err *err);
CLOISTER_API int asky_sealed_envelope(asky_service *s, const uint8_t *package, size_t len,
                                      uint8_t **reply, size_t *reply_len, struct cloister_err *err);
/* Sessions: one package (as above) holding the secret "asky:session" (a 32-byte key) opens a
 * session named by id; each request of it (id ‖ be64 seq ‖ the request under the session key)
 * is then answered as a sealed one, without an offer or evidence per request. */
CLOISTER_API int asky_session_open(asky_service *s, const uint8_t *package, size_t len,
                                   uint8_t id[ASKY_SESSION_ID_LEN], struct cloister_err *err);
CLOISTER_API int asky_session_envelope(asky_service *s, const uint8_t *msg, size_t len,
                                       uint8_t **reply, size_t *reply_len,
                                       struct cloister_err *err);

/* Stores an object a remote member built (atomically) once the enclave has checked the write
 * ticket of its envelope: only envelopes the enclave built for a member have one. */
CLOISTER_API int asky_object_store(asky_service *s, const char *name, const uint8_t *obj,
                                   size_t len, const uint8_t ticket[ASKY_TICKET_LEN],
                                   struct cloister_err *err);

/* The enclave the service drives (its identity: tee_get_info). */
CLOISTER_API tee_enclave *asky_service_enclave(asky_service *s);

/* "sqlite" or "postgresql". */
CLOISTER_API const char *asky_service_store_kind(const asky_service *s);

/* The store directory of the service. */
CLOISTER_API const char *asky_service_dir(const asky_service *s);

/* The S3 object store (docs/asky.md): a store directory whose DIR/s3.url names a bucket
 * ("http://HOST:PORT/BUCKET"; credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) keeps
 * its objects there, under a versioned manifest written last and authenticated by DIR/s3.key.
 * asky_objects_open gives NULL (and CLOISTER_OK) for a store whose objects are in DIR/objects. */
typedef struct asky_objects asky_objects;
struct asky_object_update {
    const char *name;
    FILE *body; /* read from its current position */
    uint64_t len;
};
/* Points the store directory at the bucket (created when missing) and draws DIR/s3.key. */
CLOISTER_API int asky_objects_init(const char *dir, const char *url, struct cloister_err *err);
CLOISTER_API int asky_objects_open(const char *dir, asky_objects **out, struct cloister_err *err);
/* A reader with only the bucket's URL: no manifest MAC or rollback check, no writes. */
CLOISTER_API int asky_objects_open_url(const char *url, asky_objects **out,
                                       struct cloister_err *err);
CLOISTER_API void asky_objects_close(asky_objects *o);
/* The object's bytes into out (CLOISTER_E_NOT_FOUND when the manifest has no such name). */
CLOISTER_API int asky_objects_fetch(asky_objects *o, const char *name, FILE *out,
                                    struct cloister_err *err);
CLOISTER_API int asky_objects_list(asky_objects *o, char ***names, size_t *n,
                                   struct cloister_err *err);
/* Replaces or adds the n objects at once: all or none (CLOISTER_E_BUSY when a concurrent
 * writer got there first, CLOISTER_E_DENIED when the store was rolled back or tampered). */
CLOISTER_API int asky_objects_commit(asky_objects *o, const struct asky_object_update *u, size_t n,
                                     struct cloister_err *err);
/* A store directory's objects (dircommit.c): writers take DIR/objects.lock, shared for a put
 * of one object, exclusive for a commit of several and the reads it was made from (rekey);
 * the fd, or -1 with err set. A commit interrupted by a crash is finished first. */
CLOISTER_API int asky_objects_lock(const char *dir, bool exclusive, struct cloister_err *err);
CLOISTER_API void asky_objects_unlock(int fd);
/* Finishes a commit a crash interrupted, if any (takes the lock only then). */
CLOISTER_API int asky_objects_recover(const char *dir, struct cloister_err *err);
/* Replaces or adds the n objects of DIR/objects at once, all or none, surviving kill -9 (a
 * redo journal); the exclusive lock held. */
CLOISTER_API int asky_dir_commit(const char *dir, const struct asky_object_update *u, size_t n,
                                 struct cloister_err *err);
/* The whole object (at most max bytes, malloc'd) from either kind of store. */
CLOISTER_API int asky_object_load(const char *dir, const char *name, size_t max, uint8_t **obj,
                                  size_t *len, struct cloister_err *err);
/* A manifest's decoder, MAC checked when mac_key (32 bytes) is given (fuzz target). */
CLOISTER_API int asky_manifest_decode(const uint8_t *buf, size_t len, const uint8_t *mac_key,
                                      uint64_t *version, size_t *entries, struct cloister_err *err);

/* The path of an object in the store's object directory (DIR/objects/name), checking that name is a valid object name
 * is valid (1..ASKY_NAME_MAX of [A-Za-z0-9._-], not starting with '.'). */
CLOISTER_API int asky_object_path(const char *dir, const char *name, char *out, size_t cap,
                                  struct cloister_err *err);

#endif
