/* ibbe_enclave.c -- the `ibbe` enclave image: IBBE-SGX's master secret γ and its group
 * management behind the ecalls of src/ibbe/common/ecalls.h.
 *
 * State (one per enclave instance, behind a lock since handlers may run on several workers):
 * the master key (γ with its fixed-base tables) and public key, and up to IBBE_ENCLAVE_CACHE
 * open groups (members, headers and gk), evicted least recently used. Nothing from the host is
 * trusted: the public key is decoded and checked against γ (w = g^γ), group records are decoded
 * with every bound and point checked, then opened by admin decryption, which checks each C3
 * against its member list and that every partition wraps the same gk. γ and gk leave only
 * sealed or wrapped; a handler that fails leaves the state as it was or drops the group from
 * the cache (the host reloads it from the store). */
#include <cloister/crypto.h>
#include <cloister/hpke.h>
#include <cloister/tee_enclave.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/hpke_wire.h"
#include "ibbe/common/ecalls.h"
#include "ibbe/enclave/epochs.h"
#include "ibbe/enclave/secret.h"

#define PK_RECORD_MAX ((size_t)8 << 20)
#define SEALED_MAX 4096

struct cached {
    ibbe_group *g;
    uint64_t used;
};

struct ibbe_state {
    pthread_mutex_t lock;
    ibbe_pk *pk;
    ibbe_msk *msk;
    struct cached cache[IBBE_ENCLAVE_CACHE];
    uint64_t clock;
    ibbe_group *pending; /* GROUP_LOAD in progress */
    size_t pending_next;
    struct ibbe_epochs epochs; /* the latest epoch of every group written (epochs.h) */
};

static void drop_keys(struct ibbe_state *st)
{
    ibbe_msk_free(st->msk); /* borrows pk: first */
    ibbe_pk_free(st->pk);
    st->msk = NULL;
    st->pk = NULL;
}

static void drop_groups(struct ibbe_state *st)
{
    for (size_t i = 0; i < IBBE_ENCLAVE_CACHE; i++) {
        ibbe_group_free(st->cache[i].g);
        st->cache[i].g = NULL;
    }
    ibbe_group_free(st->pending);
    st->pending = NULL;
}

static int ibbe_on_start(struct tee_env *env)
{
    struct ibbe_state *st = tee_env_state(env);
    return pthread_mutex_init(&st->lock, NULL) == 0 ? CLOISTER_OK : CLOISTER_E_SYSTEM;
}

static void ibbe_on_stop(struct tee_env *env)
{
    struct ibbe_state *st = tee_env_state(env);
    drop_groups(st);
    drop_keys(st);
    ibbe_epochs_free(&st->epochs);
    pthread_mutex_destroy(&st->lock);
}

/* ---- master key ----------------------------------------------------------------------------- */

/* Replaces the keys (and forgets the groups opened under the old ones). */
static void install_keys(struct ibbe_state *st, ibbe_pk *pk, ibbe_msk *msk)
{
    pthread_mutex_lock(&st->lock);
    drop_groups(st);
    drop_keys(st);
    st->pk = pk;
    st->msk = msk;
    pthread_mutex_unlock(&st->lock);
}

static void msk_aad(uint8_t aad[sizeof IBBE_MSK_AAD - 1 + CRYPTO_SHA256_LEN], const uint8_t *pk,
                    size_t pklen)
{
    memcpy(aad, IBBE_MSK_AAD, sizeof IBBE_MSK_AAD - 1);
    crypto_sha256(aad + sizeof IBBE_MSK_AAD - 1, pk, pklen);
}

static int ecall_setup(struct tee_env *env, const uint8_t *in, size_t inlen,
                       struct wire_writer *out)
{
    struct ibbe_state *st = tee_env_state(env);
    struct wire_reader r;
    wire_reader_init(&r, in, inlen);
    uint64_t n = wire_get_varint(&r);
    if (wire_reader_finish(&r) != 0 || n < 1 || n > IBBE_PARTITION_MAX)
        return tee_fail(env, CLOISTER_E_INVALID, "setup: partition size must be 1..%d",
                        IBBE_PARTITION_MAX);
    ibbe_msk *msk;
    ibbe_pk *pk;
    if (ibbe_setup(n, &msk, &pk) != 0)
        return tee_fail(env, CLOISTER_E_FAILED, "setup: key generation failed");
    uint8_t *pkrec = NULL, gamma[BLS_FR_BYTES], blob[tee_sealed_size(BLS_FR_BYTES)];
    uint8_t aad[sizeof IBBE_MSK_AAD - 1 + CRYPTO_SHA256_LEN];
    size_t pklen = 0, bloblen;
    int rc = CLOISTER_OK;
    ibbe_msk_to_bytes(gamma, msk);
    if (ibbe_pk_encode(pk, &pkrec, &pklen) != 0)
        rc = tee_fail(env, CLOISTER_E_NO_MEMORY, "setup: cannot encode the public key");
    if (rc == CLOISTER_OK) {
        msk_aad(aad, pkrec, pklen);
        if (tee_seal(tee_env_self(env), TEE_SEAL_MRSIGNER, aad, sizeof aad, gamma, sizeof gamma,
                     blob, sizeof blob, &bloblen, NULL) != 0)
            rc = tee_fail(env, CLOISTER_E_FAILED, "setup: sealing the master secret failed");
    }
    crypto_wipe(gamma, sizeof gamma);
    if (rc != CLOISTER_OK) {
        free(pkrec);
        ibbe_msk_free(msk);
        ibbe_pk_free(pk);
        return rc;
    }
    wire_put_bytes(out, blob, bloblen);
    wire_put_bytes(out, pkrec, pklen);
    free(pkrec);
    install_keys(st, pk, msk);
    return CLOISTER_OK;
}

static int ecall_load(struct tee_env *env, const uint8_t *in, size_t inlen, struct wire_writer *out)
{
    struct ibbe_state *st = tee_env_state(env);
    struct wire_reader r;
    size_t bloblen, pklen;
    wire_reader_init(&r, in, inlen);
    const uint8_t *blob = wire_get_bytes(&r, SEALED_MAX, &bloblen);
    const uint8_t *pkrec = wire_get_bytes(&r, PK_RECORD_MAX, &pklen);
    if (wire_reader_finish(&r) != 0)
        return tee_fail(env, CLOISTER_E_INVALID, "load: %s", wire_reader_error(&r));
    struct cloister_err why;
    ibbe_pk *pk;
    if (ibbe_pk_decode(&pk, pkrec, pklen, &why) != 0)
        return tee_fail(env, CLOISTER_E_INVALID, "load: %s", why.msg);
    uint8_t aad[sizeof IBBE_MSK_AAD - 1 + CRYPTO_SHA256_LEN], gamma[BLS_FR_BYTES];
    size_t glen = 0;
    struct cloister_err err = {0};
    msk_aad(aad, pkrec, pklen);
    ibbe_msk *msk = NULL;
    int rc = CLOISTER_OK;
    if (tee_unseal(tee_env_self(env), blob, bloblen, aad, sizeof aad, gamma, sizeof gamma, &glen,
                   &err) != 0)
        rc = tee_fail(env, CLOISTER_E_DENIED, "load: sealed master secret refused: %s", err.msg);
    else if (glen != sizeof gamma || ibbe_msk_from_bytes(&msk, gamma, pk) != 0)
        rc = tee_fail(env, CLOISTER_E_DENIED,
                      "load: the master secret does not belong to this public key");
    crypto_wipe(gamma, sizeof gamma);
    if (rc != CLOISTER_OK) {
        ibbe_pk_free(pk);
        return rc;
    }
    wire_put_varint(out, ibbe_pk_capacity(pk));
    install_keys(st, pk, msk);
    return CLOISTER_OK;
}

/* ---- extract -------------------------------------------------------------------------------- */

/* One user key: the "CIUK" record, HPKE-sealed to the user when a public key is given. */
static int put_user_key(struct tee_env *env, const ibbe_msk *msk, const char *id, const uint8_t *to,
                        size_t tolen, struct wire_writer *out)
{
    struct ibbe_usk usk;
    uint8_t *rec = NULL;
    size_t reclen = 0;
    if (ibbe_extract(msk, id, &usk) != 0 || ibbe_usk_encode(id, &usk, &rec, &reclen) != 0) {
        crypto_wipe(&usk, sizeof usk);
        return tee_fail(env, CLOISTER_E_INVALID, "extract: invalid identity '%.64s'", id);
    }
    crypto_wipe(&usk, sizeof usk);
    int rc = CLOISTER_OK;
    if (tolen == 0) {
        wire_put_bytes(out, rec, reclen);
    } else {
        struct hpke_message m = {.aead = HPKE_AEAD_AES256GCM, .mode = HPKE_MODE_BASE};
        uint8_t *ct = malloc(reclen + HPKE_TAG_LEN);
        struct wire_writer msg;
        wire_writer_init(&msg);
        if (!ct || hpke_seal(m.enc, ct, m.aead, to, IBBE_USK_INFO, strlen(IBBE_USK_INFO), id,
                             strlen(id), rec, reclen, NULL) != 0) {
            rc = tee_fail(env, CLOISTER_E_INVALID, "extract: cannot seal to the given public key");
        } else {
            m.ct = ct;
            m.ct_len = reclen + HPKE_TAG_LEN;
            hpke_wire_put_message(&msg, &m);
            wire_put_bytes(out, msg.buf, msg.len);
        }
        wire_writer_free(&msg);
        free(ct);
    }
    crypto_wipe(rec, reclen);
    free(rec);
    return rc;
}

static int ecall_extract(struct tee_env *env, const uint8_t *in, size_t inlen,
                         struct wire_writer *out)
{
    struct ibbe_state *st = tee_env_state(env);
    struct wire_reader r;
    wire_reader_init(&r, in, inlen);
    size_t count = wire_get_count(&r, 2, TEE_BATCH_MAX);
    int rc = CLOISTER_OK;
    pthread_mutex_lock(&st->lock);
    if (!st->msk)
        rc = tee_fail(env, CLOISTER_E_STATE, "extract: no master secret loaded");
    for (size_t i = 0; rc == CLOISTER_OK && i < count; i++) {
        char id[IBBE_ID_MAX + 1];
        size_t tolen;
        wire_get_str(&r, id, sizeof id);
        const uint8_t *to = wire_get_bytes(&r, HPKE_PUBLIC_LEN, &tolen);
        if (!wire_reader_ok(&r) || (tolen != 0 && tolen != HPKE_PUBLIC_LEN))
            rc = tee_fail(env, CLOISTER_E_INVALID, "extract: malformed request");
        else
            rc = put_user_key(env, st->msk, id, to, tolen, out);
    }
    if (rc == CLOISTER_OK && wire_reader_finish(&r) != 0)
        rc = tee_fail(env, CLOISTER_E_INVALID, "extract: %s", wire_reader_error(&r));
    pthread_mutex_unlock(&st->lock);
    return rc;
}

/* ---- group cache ---------------------------------------------------------------------------- */

static struct cached *cache_find(struct ibbe_state *st, const char *name)
{
    for (size_t i = 0; i < IBBE_ENCLAVE_CACHE; i++)
        if (st->cache[i].g && strcmp(ibbe_group_name(st->cache[i].g), name) == 0) {
            st->cache[i].used = ++st->clock;
            return &st->cache[i];
        }
    return NULL;
}

/* Puts g in the cache: in place of the same name, else an empty slot, else the least recently
 * used group. */
static void cache_put(struct ibbe_state *st, ibbe_group *g)
{
    struct cached *c = cache_find(st, ibbe_group_name(g));
    for (size_t i = 0; !c && i < IBBE_ENCLAVE_CACHE; i++)
        if (!st->cache[i].g)
            c = &st->cache[i];
    if (!c) {
        c = &st->cache[0];
        for (size_t i = 1; i < IBBE_ENCLAVE_CACHE; i++)
            if (st->cache[i].used < c->used)
                c = &st->cache[i];
    }
    ibbe_group_free(c->g);
    c->g = g;
    c->used = ++st->clock;
}

static void cache_drop(struct cached *c)
{
    ibbe_group_free(c->g);
    c->g = NULL;
}

/* Writes CHANGES (ecalls.h) for g; changed: a flag per partition, NULL for all; from: the epoch
 * before the update (0 for a new group), so that the epoch table follows a change of epoch. */
static int put_changes(struct tee_env *env, struct ibbe_state *st, const ibbe_group *g,
                       const bool *changed, uint64_t from, struct wire_writer *out)
{
    size_t m = ibbe_group_partitions(g), k = 0;
    uint8_t *buf;
    size_t len;
    for (size_t i = 0; i < m; i++)
        k += !changed || changed[i];
    if (ibbe_group_encode_meta(g, &buf, &len) != 0)
        return tee_fail(env, CLOISTER_E_NO_MEMORY, "cannot encode the group record");
    wire_put_varint(out, m);
    wire_put_bytes(out, buf, len);
    free(buf);
    wire_put_varint(out, k);
    for (size_t i = 0; i < m; i++) {
        if (changed && !changed[i])
            continue;
        if (ibbe_group_encode_partition(g, i, &buf, &len) != 0)
            return tee_fail(env, CLOISTER_E_NO_MEMORY, "cannot encode partition %zu", i);
        wire_put_varint(out, i);
        wire_put_bytes(out, buf, len);
        free(buf);
    }
    if (from == ibbe_group_epoch(g)) {
        wire_put_bytes(out, NULL, 0);
        wire_put_bytes(out, NULL, 0);
    } else {
        int rc = ibbe_epochs_advance(env, &st->epochs, ibbe_group_name(g), from,
                                     ibbe_group_epoch(g), out);
        if (rc != CLOISTER_OK)
            return rc;
    }
    return wire_writer_ok(out) ? CLOISTER_OK
                               : tee_fail(env, CLOISTER_E_TOO_BIG, "group records too large");
}

static int ecall_group_load(struct tee_env *env, const uint8_t *in, size_t inlen,
                            struct wire_writer *out)
{
    struct ibbe_state *st = tee_env_state(env);
    struct wire_reader r;
    size_t metalen, len;
    struct cloister_err why;
    wire_reader_init(&r, in, inlen);
    const uint8_t *meta = wire_get_bytes(&r, inlen, &metalen);
    uint64_t first = wire_get_varint(&r);
    size_t k = wire_get_count(&r, 1, inlen);
    if (!wire_reader_ok(&r))
        return tee_fail(env, CLOISTER_E_INVALID, "group load: %s", wire_reader_error(&r));
    int rc = CLOISTER_OK;
    pthread_mutex_lock(&st->lock);
    if (!st->msk) {
        rc = tee_fail(env, CLOISTER_E_STATE, "group load: no master secret loaded");
        goto out;
    }
    if (first == 0) {
        ibbe_group_free(st->pending);
        st->pending = NULL;
        st->pending_next = 0;
        if (ibbe_group_decode_meta(&st->pending, meta, metalen, &why) != CLOISTER_OK) {
            rc = tee_fail(env, why.code, "group load: %s", why.msg);
            goto out;
        }
    } else if (!st->pending || first != st->pending_next) {
        rc = tee_fail(env, CLOISTER_E_INVALID, "group load: partitions out of order");
        goto out;
    }
    for (size_t i = 0; i < k; i++) {
        const uint8_t *rec = wire_get_bytes(&r, inlen, &len);
        if (!wire_reader_ok(&r)) {
            rc = tee_fail(env, CLOISTER_E_INVALID, "group load: partition %zu: %s",
                          st->pending_next, wire_reader_error(&r));
            goto fail;
        }
        if (ibbe_group_decode_partition(st->pending, st->pending_next, rec, len, &why) != 0) {
            rc = tee_fail(env, why.code, "group load: partition %zu: %s", st->pending_next,
                          why.msg);
            goto fail;
        }
        st->pending_next++;
    }
    if (wire_reader_finish(&r) != 0) {
        rc = tee_fail(env, CLOISTER_E_INVALID, "group load: %s", wire_reader_error(&r));
        goto fail;
    }
    bool complete = st->pending_next == ibbe_group_partitions(st->pending);
    if (complete) {
        if (ibbe_group_admin_open(st->msk, st->pending, &why) != CLOISTER_OK) {
            rc = tee_fail(env, why.code, "group %s: %s", ibbe_group_name(st->pending), why.msg);
            goto fail;
        }
        if ((rc = ibbe_epochs_check(env, &st->epochs, ibbe_group_name(st->pending),
                                    ibbe_group_epoch(st->pending))) != CLOISTER_OK)
            goto fail;
        cache_put(st, st->pending);
        st->pending = NULL;
    }
    wire_put_u8(out, complete);
    goto out;
fail:
    ibbe_group_free(st->pending);
    st->pending = NULL;
out:
    pthread_mutex_unlock(&st->lock);
    return rc;
}

/* Reads "str group, varint count, count × str id" into a malloc'd array of strings. */
static int read_members(struct tee_env *env, const uint8_t *in, size_t inlen, char *name,
                        char ***ids, size_t *count)
{
    struct wire_reader r;
    wire_reader_init(&r, in, inlen);
    wire_get_str(&r, name, IBBE_NAME_MAX + 1);
    size_t n = wire_get_count(&r, 2, inlen);
    char **v = calloc(n ? n : 1, sizeof *v);
    char id[IBBE_ID_MAX + 1];
    if (!v)
        return tee_fail(env, CLOISTER_E_NO_MEMORY, "out of memory");
    for (size_t i = 0; i < n && wire_get_str(&r, id, sizeof id) == 0; i++)
        if (!(v[i] = strdup(id)))
            wire_reader_fail(&r, "out of memory");
    if (wire_reader_finish(&r) != 0 || !ibbe_group_name_valid(name)) {
        for (size_t i = 0; i < n; i++)
            free(v[i]);
        free(v);
        return tee_fail(env, CLOISTER_E_INVALID, "malformed group request: %s",
                        wire_reader_ok(&r) ? "invalid group name" : wire_reader_error(&r));
    }
    *ids = v;
    *count = n;
    return CLOISTER_OK;
}

static void free_members(char **ids, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(ids[i]);
    free(ids);
}

enum group_op { OP_CREATE, OP_ADD, OP_REMOVE };

static int group_op(struct tee_env *env, const uint8_t *in, size_t inlen, struct wire_writer *out,
                    enum group_op op)
{
    static const char *const names[] = {"group create", "group add", "group remove"};
    struct ibbe_state *st = tee_env_state(env);
    char name[IBBE_NAME_MAX + 1];
    char **ids = NULL;
    size_t count = 0;
    int rc = read_members(env, in, inlen, name, &ids, &count);
    if (rc != CLOISTER_OK)
        return rc;
    struct cloister_err why;
    bool *changed = NULL;
    pthread_mutex_lock(&st->lock);
    struct cached *c = op == OP_CREATE ? NULL : cache_find(st, name);
    if (!st->msk) {
        rc = tee_fail(env, CLOISTER_E_STATE, "%s: no master secret loaded", names[op]);
    } else if (op == OP_CREATE) {
        ibbe_group *g;
        if (ibbe_group_create_at(st->msk, name, (const char *const *)ids, count,
                                 ibbe_epochs_next(&st->epochs, name), &g, &why) != 0)
            rc = tee_fail(env, why.code, "%s", why.msg);
        else if ((rc = put_changes(env, st, g, NULL, 0, out)) == CLOISTER_OK)
            cache_put(st, g);
        else
            ibbe_group_free(g);
    } else if (!c) {
        rc = tee_fail(env, CLOISTER_E_STATE, "%s: group '%s' is not open", names[op], name);
    } else if (op == OP_REMOVE) {
        uint64_t from = ibbe_group_epoch(c->g);
        if (ibbe_group_remove_many(st->msk, c->g, (const char *const *)ids, count, &why) != 0)
            rc = tee_fail(env, why.code, "%s", why.msg);
        else
            rc = put_changes(env, st, c->g, NULL, from, out);
    } else {
        for (size_t i = 0; rc == CLOISTER_OK && i < count; i++)
            if (ibbe_group_add(st->msk, c->g, ids[i], &why) != 0)
                rc = tee_fail(env, why.code, "%s", why.msg);
        if (rc == CLOISTER_OK && !(changed = calloc(ibbe_group_partitions(c->g), sizeof *changed)))
            rc = tee_fail(env, CLOISTER_E_NO_MEMORY, "%s: out of memory", names[op]);
        for (size_t i = 0; rc == CLOISTER_OK && i < count; i++)
            changed[ibbe_group_find(c->g, ids[i])] = true;
        if (rc == CLOISTER_OK)
            rc = put_changes(env, st, c->g, changed, ibbe_group_epoch(c->g), out);
    }
    /* A refused add or remove may have changed part of the cached group (earlier ids of a
     * batch): drop it; the host reloads the group from the store, which it did not write. */
    if (rc != CLOISTER_OK && c)
        cache_drop(c);
    pthread_mutex_unlock(&st->lock);
    free(changed);
    free_members(ids, count);
    return rc;
}

static int ecall_group_create(struct tee_env *env, const uint8_t *in, size_t inlen,
                              struct wire_writer *out)
{
    return group_op(env, in, inlen, out, OP_CREATE);
}

static int ecall_group_add(struct tee_env *env, const uint8_t *in, size_t inlen,
                           struct wire_writer *out)
{
    return group_op(env, in, inlen, out, OP_ADD);
}

static int ecall_group_remove(struct tee_env *env, const uint8_t *in, size_t inlen,
                              struct wire_writer *out)
{
    return group_op(env, in, inlen, out, OP_REMOVE);
}

/* ---- the epoch table ------------------------------------------------------------------------ */

static int ecall_epochs(struct tee_env *env, const uint8_t *in, size_t inlen,
                        struct wire_writer *out)
{
    struct ibbe_state *st = tee_env_state(env);
    struct wire_reader r;
    size_t len;
    (void)out;
    wire_reader_init(&r, in, inlen);
    const uint8_t *blob = wire_get_bytes(&r, inlen, &len);
    if (wire_reader_finish(&r) != 0)
        return tee_fail(env, CLOISTER_E_INVALID, "epochs: %s", wire_reader_error(&r));
    pthread_mutex_lock(&st->lock);
    int rc = ibbe_epochs_merge(env, &st->epochs, blob, len);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

/* ---- file keys -------------------------------------------------------------------------------- */

static int ecall_file_key(struct tee_env *env, const uint8_t *in, size_t inlen,
                          struct wire_writer *out)
{
    struct ibbe_state *st = tee_env_state(env);
    struct ibbe_file_header h;
    struct wire_reader r;
    wire_reader_init(&r, in, inlen);
    wire_get_str(&r, h.group, sizeof h.group);
    bool fresh = wire_get_u8(&r) != 0;
    if (!fresh) {
        h.epoch = wire_get_u64(&r);
        wire_get_raw_into(&r, h.salt, sizeof h.salt);
    }
    if (wire_reader_finish(&r) != 0)
        return tee_fail(env, CLOISTER_E_INVALID, "file key: %s", wire_reader_error(&r));
    if (fresh && crypto_random(h.salt, sizeof h.salt) != 0)
        return tee_fail(env, CLOISTER_E_FAILED, "file key: random number generator failed");
    uint8_t gk[IBBE_KEY_LEN], key[IBBE_KEY_LEN];
    int rc = CLOISTER_OK;
    pthread_mutex_lock(&st->lock);
    struct cached *c = cache_find(st, h.group);
    if (!c) {
        rc = tee_fail(env, CLOISTER_E_STATE, "file key: group '%s' is not open", h.group);
    } else {
        struct cloister_err why;
        if (fresh)
            h.epoch = ibbe_group_epoch(c->g);
        if (ibbe_group_key(c->g, gk) != 0)
            rc = tee_fail(env, CLOISTER_E_STATE, "group '%s' is not open", h.group);
        else if (ibbe_group_key_regress(c->g, gk, h.epoch, gk, &why) != CLOISTER_OK)
            rc = tee_fail(env, why.code, "%s", why.msg);
        else if (ibbe_file_key(key, gk, &h) != 0)
            rc = tee_fail(env, CLOISTER_E_FAILED, "file key: derivation failed");
    }
    pthread_mutex_unlock(&st->lock);
    if (rc == CLOISTER_OK) {
        wire_put_u64(out, h.epoch);
        wire_put_raw(out, h.salt, sizeof h.salt);
        wire_put_raw(out, key, sizeof key);
    }
    crypto_wipe(gk, sizeof gk);
    crypto_wipe(key, sizeof key);
    return rc;
}

#define IBBE_ECALLS(X)                                                                             \
    X(IBBE_ECALL_SETUP, setup)                                                                     \
    X(IBBE_ECALL_LOAD, load)                                                                       \
    X(IBBE_ECALL_EXTRACT, extract)                                                                 \
    X(IBBE_ECALL_GROUP_LOAD, group_load)                                                           \
    X(IBBE_ECALL_GROUP_CREATE, group_create)                                                       \
    X(IBBE_ECALL_GROUP_ADD, group_add)                                                             \
    X(IBBE_ECALL_GROUP_REMOVE, group_remove)                                                       \
    X(IBBE_ECALL_FILE_KEY, file_key)                                                               \
    X(IBBE_ECALL_EPOCHS, epochs)
TEE_ENCLAVE_DEFINE_WITH(ibbe, IBBE_ECALLS, .state_size = sizeof(struct ibbe_state),
                        .on_start = ibbe_on_start, .on_stop = ibbe_on_stop);
