/* ibbe_admin.h -- the IBBE-SGX administrator: the host side that drives the `ibbe` enclave
 * (src/ibbe/enclave) through tee_create/tee_ecall and keeps the untrusted store up to date.
 *
 *     struct ibbe_admin_options o = {0};           // backend from CLOISTER_TEE, else proc
 *     o.enclave = &tee_enclave_ibbe;               // TEE_ENCLAVE_DECLARE(ibbe): for --tee sim
 *     ibbe_admin *a;
 *     struct cloister_err err;
 *     if (ibbe_admin_open("store", &o, &a, &err) != CLOISTER_OK) ...
 *     ibbe_admin_setup(a, 1000, &err);             // γ drawn in the enclave, sealed in the store
 *     ibbe_admin_create(a, "team", ids, n, &err);  // O(N) in the enclave, records to the store
 *
 * The store directory (ibbe.h) gains one admin file, DIR/ibbe.msk.sealed: γ sealed by the
 * enclave (MRSIGNER policy) to the platform of $CLOISTER_HOME; with DIR/ibbe.pk it lets any
 * later enclave of the same signer on the same platform restore γ (ibbe_admin_open does).
 * The enclave image is found with tee_image_path("ibbe"); its signature is `signature`, else
 * IMAGE.sig when present, else a development signature made (and refreshed when the image
 * changes) under $CLOISTER_HOME/ibbe/ with a signer key created there on first use.
 *
 * Groups are opened in the enclave on first use (their records checked there) and stay open
 * while the admin lives (`cloister ibbe serve` keeps it warm). One admin per store at a time.
 * Functions return CLOISTER_OK or a negative CLOISTER_E_* code with err filled (error.h):
 * codes from the store (NOT_FOUND: no such group; SYSTEM: I/O), from the enclave's checks
 * (INVALID, EXISTS, NOT_FOUND: not a member, DENIED: tampered records or sealed γ) and from
 * the runtime (DEAD, IMAGE, ...); STATE before setup. */
#ifndef CLOISTER_IBBE_ADMIN_H
#define CLOISTER_IBBE_ADMIN_H

#include <cloister/ibbe.h>
#include <cloister/tee.h>

struct ibbe_admin_options {
    const char *backend;                   /* "proc" or "sim"; NULL: CLOISTER_TEE, else proc */
    const struct tee_enclave_def *enclave; /* the trusted code for sim (&tee_enclave_ibbe) */
    const char *image;                     /* NULL: tee_image_path("ibbe") */
    const char *signature;                 /* NULL: see above */
    const char *home;                      /* NULL: tee_home_dir() */
};

typedef struct ibbe_admin ibbe_admin;

/* Opens (creating) the store and starts the enclave; restores γ when the store has one. */
CLOISTER_API int ibbe_admin_open(const char *store_dir, const struct ibbe_admin_options *o,
                                 ibbe_admin **out, struct cloister_err *err);
CLOISTER_API void ibbe_admin_close(ibbe_admin *a);
/* Restarts the enclave (a fresh process: no γ, no open group) and restores γ from the store. */
CLOISTER_API int ibbe_admin_restart(ibbe_admin *a, struct cloister_err *err);
CLOISTER_API bool ibbe_admin_ready(const ibbe_admin *a); /* γ loaded */
CLOISTER_API tee_enclave *ibbe_admin_enclave(ibbe_admin *a);
CLOISTER_API ibbe_store *ibbe_admin_store(ibbe_admin *a);
/* The public key (owned by the admin), or NULL before setup. */
CLOISTER_API const ibbe_pk *ibbe_admin_pk(const ibbe_admin *a);

/* Setup with partition size n; refused when the store already has a master secret. */
CLOISTER_API int ibbe_admin_setup(ibbe_admin *a, size_t n, struct cloister_err *err);

/* User keys for count identities in one crossing. to[i]: NULL, or an HPKE public key
 * (HPKE_PUBLIC_LEN bytes) to seal the key to. out[i], len[i]: malloc'd "CIUK" record or
 * "CHPM" message. */
CLOISTER_API int ibbe_admin_extract(ibbe_admin *a, const char *const *ids, const uint8_t *const *to,
                                    size_t count, uint8_t **out, size_t *len,
                                    struct cloister_err *err);

/* Group operations; each writes the changed records to the store. add and remove take a batch
 * (one crossing; removals share one re-keying). */
CLOISTER_API int ibbe_admin_create(ibbe_admin *a, const char *group, const char *const *ids,
                                   size_t count, struct cloister_err *err);
CLOISTER_API int ibbe_admin_add(ibbe_admin *a, const char *group, const char *const *ids,
                                size_t count, struct cloister_err *err);
CLOISTER_API int ibbe_admin_remove(ibbe_admin *a, const char *group, const char *const *ids,
                                   size_t count, struct cloister_err *err);

/* A file sealed for the group's current epoch (the enclave derives the file key; gk stays in
 * it), and the admin's opening of one sealed at the current epoch. Buffers are malloc'd. */
CLOISTER_API int ibbe_admin_seal(ibbe_admin *a, const char *group, const uint8_t *pt, size_t len,
                                 uint8_t **out, size_t *outlen, struct cloister_err *err);
CLOISTER_API CLOISTER_MUST_CHECK int ibbe_admin_open_file(ibbe_admin *a, const uint8_t *buf,
                                                          size_t len, uint8_t **pt, size_t *ptlen,
                                                          struct cloister_err *err);

#endif
