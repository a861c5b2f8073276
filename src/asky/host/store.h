/* store.h -- A-Sky's membership store (docs/asky.md): where the access service keeps the
 * records the enclave makes. Two backends behind one interface: SQLite (DIR/asky.db, the
 * embedded default) and PostgreSQL through libpq (a conninfo such as "postgresql://..." or
 * "host=/tmp/pg dbname=asky"), which several replicas of the service share.
 *
 * The store holds opaque bytes: the sealed master secret, the epoch record, one record per
 * group (its version parsed from the record: id 32 ‖ be64 version ‖ ...) and one per user
 * (removals kept as tombstones, so a replica learns them). Users carry a change sequence
 * number, so a replica asks only for the users changed since it last looked. A membership
 * change is one transaction that writes the group record and the epoch record only if neither
 * moved since they were read (optimistic concurrency on the group's version and the epoch's
 * counter); otherwise CLOISTER_E_BUSY, and the caller reads again and retries. A store handle
 * may be used from several threads (a small pool of connections). */
#ifndef CLOISTER_ASKY_STORE_H
#define CLOISTER_ASKY_STORE_H

#include <cloister/error.h>

#include <stddef.h>
#include <stdint.h>

#define ASTORE_ID_LEN 32

struct astore;

/* conninfo NULL or "": SQLite at DIR/asky.db; otherwise PostgreSQL. */
int astore_open(const char *dir, const char *conninfo, struct astore **out,
                struct cloister_err *err);
void astore_close(struct astore *st);
/* "sqlite" or "postgresql". */
const char *astore_kind(const struct astore *st);

/* The sealed master secret (CLOISTER_E_NOT_FOUND: none yet); set once (CLOISTER_E_EXISTS:
 * another replica was first: read it). */
int astore_master_get(struct astore *st, uint8_t **blob, size_t *len, struct cloister_err *err);
int astore_master_set(struct astore *st, const uint8_t *blob, size_t len, struct cloister_err *err);

/* The epoch record (*len 0: none yet). */
int astore_epoch(struct astore *st, uint8_t **rec, size_t *len, struct cloister_err *err);
/* The epoch record, the group's record and the last user change's sequence number, read
 * together (one snapshot, one round trip); CLOISTER_E_NOT_FOUND when the group has none. */
int astore_group(struct astore *st, const uint8_t gid[ASTORE_ID_LEN], uint8_t **epoch, size_t *elen,
                 uint8_t **rec, size_t *len, uint64_t *users_seq, struct cloister_err *err);

/* CLOISTER_E_EXISTS when the user has a record. */
int astore_user_add(struct astore *st, const uint8_t uid[ASTORE_ID_LEN], const uint8_t *rec,
                    size_t len, struct cloister_err *err);
/* CLOISTER_E_NOT_FOUND when the user has none. */
int astore_user_remove(struct astore *st, const uint8_t uid[ASTORE_ID_LEN],
                       struct cloister_err *err);
/* Every user changed after *seq, in order: each(arg, id, record) (record NULL, len 0: removed);
 * *seq moves to the last one given. A non-zero return of each stops and is returned. */
typedef int (*astore_user_fn)(void *arg, const uint8_t *id, const uint8_t *rec, size_t len);
int astore_users_since(struct astore *st, uint64_t *seq, astore_user_fn each, void *arg,
                       struct cloister_err *err);

/* Writes the group record (whose version was old_version when read; 0: a new group) and the
 * epoch record (whose counter was old_counter; 0: none) in one transaction; CLOISTER_E_BUSY
 * when either moved meanwhile (nothing written). */
int astore_commit(struct astore *st, const uint8_t gid[ASTORE_ID_LEN], uint64_t old_version,
                  const uint8_t *grec, size_t glen, uint64_t old_counter, const uint8_t *erec,
                  size_t elen, struct cloister_err *err);

/* The be64 at p (the version of a group record at offset 32, the counter of an epoch record
 * at 0); 0 when len is too short. */
uint64_t astore_be64(const uint8_t *p, size_t len, size_t off);

#endif
