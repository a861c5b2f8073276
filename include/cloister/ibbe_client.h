/* ibbe_client.h -- an IBBE-SGX member: what a user does with the public key, the untrusted store
 * and their own user key, without an enclave and without the admin.
 *
 *     struct ibbe_usk usk;
 *     struct cloister_err err;
 *     if (ibbe_client_load_key("alice.key", NULL, "alice@x", &usk, &err) != CLOISTER_OK ||
 *         ibbe_client_open_file("store", "team", "alice@x", &usk, buf, len, &pt, &ptlen,
 *                               &err) != CLOISTER_OK)
 *         fprintf(stderr, "%s\n", err.msg);
 *
 * A member reads the public key, the group record and only its own partition (O(n) work for a
 * partition of n members), recovers the group key gk of the current epoch and derives the key of
 * a file from it. Errors as in ibbe.h: NOT_FOUND (no such group, not a member), DENIED (the key,
 * the store's records or the file do not open: wrong key, tampered data, a file of an older
 * epoch), INVALID (a malformed key or file, a key of another identity, a file of another
 * group), SYSTEM (I/O). The caller wipes the user key and gk once done (crypto_wipe). */
#ifndef CLOISTER_IBBE_CLIENT_H
#define CLOISTER_IBBE_CLIENT_H

#include <cloister/ibbe.h>

/* Loads the user key of id from a key file made by `cloister ibbe extract`: a "CIUK" record, or
 * one HPKE-sealed to the user (--to), opened with the HPKE secret key file `secret` (NULL when
 * the key is not sealed; DENIED for a sealed key without it, or with the wrong one). Refuses a
 * key of another identity. */
CLOISTER_API CLOISTER_MUST_CHECK int ibbe_client_load_key(const char *path, const char *secret,
                                                          const char *id, struct ibbe_usk *usk,
                                                          struct cloister_err *err);

/* The group key of the group's current epoch, recovered as member id. */
CLOISTER_API CLOISTER_MUST_CHECK int
ibbe_client_group_key(const char *store, const char *group, const char *id,
                      const struct ibbe_usk *usk, uint8_t gk[IBBE_KEY_LEN], uint64_t *epoch,
                      struct cloister_err *err);

/* Opens a file sealed for group (ibbe_admin_seal): *pt is malloc'd. A current member opens files
 * of the current epoch and, by key regression (ibbe_group_key_regress), of any earlier epoch
 * the group record keeps; a removed member recovers no key of an epoch after the removal. */
CLOISTER_API CLOISTER_MUST_CHECK int
ibbe_client_open_file(const char *store, const char *group, const char *id,
                      const struct ibbe_usk *usk, const uint8_t *buf, size_t len, uint8_t **pt,
                      size_t *ptlen, struct cloister_err *err);

#endif
