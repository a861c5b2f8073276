/* epochs.c -- the enclave's sealed table of group epochs (see epochs.h): lookups are linear
 * (the table is small and walked once per operation, beside the O(m) work of loading a group),
 * sealing re-encodes the whole table ("CIET" v1: varint count, count × (str name, u64
 * committed, u64 pending)). */
#include "ibbe/enclave/epochs.h"

#include <cloister/crypto.h>
#include <cloister/tee_trust.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ibbe_epochs_free(struct ibbe_epochs *t)
{
    free(t->v);
    t->v = NULL;
    t->count = 0;
}

static struct ibbe_epoch *find(const struct ibbe_epochs *t, const char *group)
{
    for (size_t i = 0; i < t->count; i++)
        if (strcmp(t->v[i].name, group) == 0)
            return &t->v[i];
    return NULL;
}

/* The entry of group, added (epochs 0) when missing; NULL when the table is full. */
static struct ibbe_epoch *entry(struct ibbe_epochs *t, const char *group)
{
    struct ibbe_epoch *e = find(t, group);
    if (e)
        return e;
    if (t->count == IBBE_EPOCHS_MAX)
        return NULL;
    struct ibbe_epoch *v = realloc(t->v, (t->count + 1) * sizeof *v);
    if (!v)
        return NULL;
    t->v = v;
    e = &v[t->count++];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", group);
    return e;
}

static uint64_t latest(const struct ibbe_epoch *e)
{
    return e->pending > e->committed ? e->pending : e->committed;
}

/* Moves e forward to (committed, pending), never back. */
static void raise_to(struct ibbe_epoch *e, uint64_t committed, uint64_t pending)
{
    if (committed > e->committed)
        e->committed = committed;
    if (pending > e->pending)
        e->pending = pending;
    if (e->pending <= e->committed)
        e->pending = 0;
}

int ibbe_epochs_merge(struct tee_env *env, struct ibbe_epochs *t, const uint8_t *blob, size_t len)
{
    if (len == 0)
        return CLOISTER_OK;
    if (len < TEE_SEAL_OVERHEAD)
        return tee_fail(env, CLOISTER_E_DENIED, "the epoch table in the store is truncated");
    uint8_t *pt = malloc(len - TEE_SEAL_OVERHEAD + 1);
    size_t ptlen = 0;
    struct cloister_err why = {0};
    if (!pt)
        return tee_fail(env, CLOISTER_E_NO_MEMORY, "out of memory");
    int rc = CLOISTER_OK;
    if (tee_unseal(tee_env_self(env), blob, len, IBBE_EPOCHS_AAD, strlen(IBBE_EPOCHS_AAD), pt,
                   len - TEE_SEAL_OVERHEAD, &ptlen, &why) != 0) {
        free(pt);
        return tee_fail(env, CLOISTER_E_DENIED, "the epoch table in the store does not unseal: %s",
                        why.msg);
    }
    struct wire_reader r;
    wire_reader_init(&r, pt, ptlen);
    wire_get_header(&r, "CIET", 1);
    size_t count = wire_get_count(&r, 18, IBBE_EPOCHS_MAX);
    for (size_t i = 0; i < count && rc == CLOISTER_OK && wire_reader_ok(&r); i++) {
        char name[IBBE_NAME_MAX + 1];
        wire_get_str(&r, name, sizeof name);
        uint64_t committed = wire_get_u64(&r), pending = wire_get_u64(&r);
        struct ibbe_epoch *e = wire_reader_ok(&r) ? entry(t, name) : NULL;
        if (e)
            raise_to(e, committed, pending);
        else if (wire_reader_ok(&r))
            rc = tee_fail(env, CLOISTER_E_NO_MEMORY, "the epoch table is full");
    }
    if (rc == CLOISTER_OK && wire_reader_finish(&r) != 0)
        rc = tee_fail(env, CLOISTER_E_DENIED, "the epoch table is malformed: %s",
                      wire_reader_error(&r));
    free(pt);
    return rc;
}

int ibbe_epochs_check(struct tee_env *env, struct ibbe_epochs *t, const char *group, uint64_t epoch)
{
    struct ibbe_epoch *e = entry(t, group);
    if (!e)
        return tee_fail(env, CLOISTER_E_NO_MEMORY, "the epoch table is full");
    if (epoch < e->committed || (epoch < latest(e) && epoch != e->committed))
        return tee_fail(env, CLOISTER_E_DENIED,
                        "group %s is at epoch %llu in the store, but this enclave wrote epoch "
                        "%llu: an older copy of the group was restored (refused)",
                        group, (unsigned long long)epoch, (unsigned long long)latest(e));
    if (epoch > e->committed) {
        e->committed = epoch;
        if (e->pending <= epoch)
            e->pending = 0;
    }
    return CLOISTER_OK;
}

uint64_t ibbe_epochs_next(const struct ibbe_epochs *t, const char *group)
{
    const struct ibbe_epoch *e = find(t, group);
    return e ? latest(e) + 1 : 1;
}

/* Appends the table sealed (as bytes) to out. */
static int put_sealed(struct tee_env *env, const struct ibbe_epochs *t, struct wire_writer *out)
{
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_header(&w, "CIET", 1);
    wire_put_varint(&w, t->count);
    for (size_t i = 0; i < t->count; i++) {
        wire_put_str(&w, t->v[i].name);
        wire_put_u64(&w, t->v[i].committed);
        wire_put_u64(&w, t->v[i].pending);
    }
    size_t cap = tee_sealed_size(w.len), len = 0;
    uint8_t *blob = wire_writer_ok(&w) ? malloc(cap) : NULL;
    int rc = CLOISTER_OK;
    if (!blob)
        rc = tee_fail(env, CLOISTER_E_NO_MEMORY, "out of memory");
    else if (tee_seal(tee_env_self(env), TEE_SEAL_MRSIGNER, IBBE_EPOCHS_AAD,
                      strlen(IBBE_EPOCHS_AAD), w.buf, w.len, blob, cap, &len, NULL) != 0)
        rc = tee_fail(env, CLOISTER_E_FAILED, "sealing the epoch table failed");
    else
        wire_put_bytes(out, blob, len);
    free(blob);
    wire_writer_free(&w);
    return rc;
}

int ibbe_epochs_advance(struct tee_env *env, struct ibbe_epochs *t, const char *group,
                        uint64_t from, uint64_t to, struct wire_writer *out)
{
    struct ibbe_epoch *e = entry(t, group);
    if (!e)
        return tee_fail(env, CLOISTER_E_NO_MEMORY, "the epoch table is full");
    struct ibbe_epoch before = {.committed = from, .pending = to};
    e->committed = from;
    e->pending = to;
    int rc = put_sealed(env, t, out);
    e->committed = to;
    e->pending = 0;
    if (rc == CLOISTER_OK)
        rc = put_sealed(env, t, out);
    /* until the host's write is seen (a load at `to`, or the table it wrote), both are fine */
    e->committed = before.committed;
    e->pending = before.pending;
    return rc;
}
