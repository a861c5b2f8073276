/* epochs.h -- the enclave's table of the latest epoch of every group it has written, the
 * defence against a store rolled back to an older copy of a group (docs/ibbe.md, section 4).
 *
 * An entry is (group, committed, pending): the store holds the group at `committed`, or at
 * `pending` when an update in flight reached it. A group loaded at an older epoch is refused.
 * The table leaves the enclave only sealed ("CIET" v1, tee_seal MRSIGNER, AAD IBBE_EPOCHS_AAD):
 * the host writes it into the store before an update that moves an epoch (with the new epoch
 * pending) and after it (committed), so that a crash between the writes still accepts the group
 * as it is. Several admins share the store: the host hands the stored table to the enclave
 * before each operation, and the enclave merges it (per group, the higher epochs win: the table
 * only moves forward). */
#ifndef CLOISTER_IBBE_EPOCHS_H
#define CLOISTER_IBBE_EPOCHS_H

#include <cloister/ibbe.h>
#include <cloister/tee_enclave.h>
#include <cloister/wire.h>

#define IBBE_EPOCHS_AAD "CLOISTER-IBBE-V01 epoch table"
#define IBBE_EPOCHS_MAX (1u << 16) /* groups an enclave tracks */

struct ibbe_epoch {
    char name[IBBE_NAME_MAX + 1];
    uint64_t committed, pending; /* pending 0: none */
};

struct ibbe_epochs {
    struct ibbe_epoch *v;
    size_t count;
};

void ibbe_epochs_free(struct ibbe_epochs *t);
/* Merges the sealed table blob (len 0: none) into t; DENIED when it does not unseal. */
int ibbe_epochs_merge(struct tee_env *env, struct ibbe_epochs *t, const uint8_t *blob, size_t len);
/* Whether group may be loaded at epoch: DENIED (with the message) when the table knows a later
 * one; else the table records epoch as committed. */
int ibbe_epochs_check(struct tee_env *env, struct ibbe_epochs *t, const char *group,
                      uint64_t epoch);
/* The epoch a group created now starts at: one past any the table knows, else 1. */
uint64_t ibbe_epochs_next(const struct ibbe_epochs *t, const char *group);
/* An update moves group from epoch `from` (0: a new group) to `to`: appends to out the table
 * sealed with `to` pending, then sealed with `to` committed (ecalls.h, CHANGES), and keeps
 * both epochs acceptable in t until the host's write is seen. */
int ibbe_epochs_advance(struct tee_env *env, struct ibbe_epochs *t, const char *group,
                        uint64_t from, uint64_t to, struct wire_writer *out);

#endif
