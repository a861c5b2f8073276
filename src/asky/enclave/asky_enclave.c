/* asky_enclave.c -- the `asky` enclave image: A-Sky's access service, behind the ecalls of
 * src/asky/common/ecalls.h.
 *
 * State (behind a lock: handlers may run on several workers): the keys derived from the master
 * secret, every user's expanded keys (asky_member: HMAC midstates, AES key schedule and GHASH
 * key, built when the user is loaded or added; sorted by id), so an envelope of n members
 * costs n HMACs and n GCM seals and no key derivation or schedule, the epoch table (the version
 * of every group record as of the newest epoch record loaded: a change made here comes back
 * through EPOCH once the store has it) and the sealed requests waiting for their group record.
 * A user's key leaves only once, encrypted by HPKE to the user's public key. Nothing from the
 * host is trusted: every record is opened with the record key and its AAD (kind, id, version),
 * group records are checked against the epoch table, and an envelope is built only for a
 * requester whose proof verifies under its own key and whose id the group record lists. */
#include <cloister/asky.h>
#include <cloister/crypto.h>
#include <cloister/hpke.h>
#include <cloister/tee_enclave.h>
#include <cloister/tee_trust.h>
#include <cloister/wire.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "asky/common/ecalls.h"
#include "asky/common/sort.h"

#define GCM_OVERHEAD (12 + 16)
#define RECORD_MAX ((size_t)ASKY_MEMBERS_MAX * ASKY_ID_LEN + 64)

struct user {
    uint8_t id[ASKY_ID_LEN];
    struct asky_member m; /* the keys, expanded for envelopes when the user is loaded or added */
};

struct epoch {
    uint8_t gid[ASKY_ID_LEN];
    uint64_t version;
};

/* A sealed request: the ENVELOPE input without the record, the key its reply is sealed under,
 * and the handle the host names it by. */
struct pending {
    uint8_t handle[ASKY_HANDLE_LEN];
    uint8_t *req; /* NULL: a free slot */
    size_t len;
    uint8_t reply_key[ASKY_KEY_LEN];
    uint64_t born;
};

/* A session (docs/asky.md): a key a client sealed to a verified offer once, then its requests
 * sealed under that key, each with a sequence number above the last. */
struct session {
    uint8_t id[ASKY_SESSION_ID_LEN];
    uint8_t key[ASKY_KEY_LEN];
    uint64_t seq;  /* of the last request accepted */
    uint64_t used; /* clock of the last use: the least recently used is replaced */
    bool active;
};

struct asky_state {
    pthread_mutex_t lock;
    bool ready;
    uint8_t name_key[32], rec_key[32];
    struct user *users;
    size_t nusers, capusers;
    struct epoch *epochs;
    size_t nepochs;
    uint64_t counter; /* of the epoch record last loaded or written */
    /* Sealed requests opened by SEALED_OPEN, waiting for their group record (SEALED_ENVELOPE),
     * several at once (the service's workers): the oldest is dropped when all are taken. */
    struct pending pending[ASKY_PENDING_MAX];
    uint64_t pending_clock;
    struct session sessions[ASKY_SESSIONS_MAX];
    uint64_t session_clock;
};

static void pending_clear(struct pending *p)
{
    if (p->req)
        crypto_wipe(p->req, p->len);
    free(p->req);
    crypto_wipe(p, sizeof *p);
}

static int asky_on_start(struct tee_env *env)
{
    struct asky_state *st = tee_env_state(env);
    return pthread_mutex_init(&st->lock, NULL) == 0 ? CLOISTER_OK : CLOISTER_E_SYSTEM;
}

static void asky_on_stop(struct tee_env *env)
{
    struct asky_state *st = tee_env_state(env);
    if (st->users)
        crypto_wipe(st->users, st->capusers * sizeof *st->users);
    free(st->users);
    free(st->epochs);
    for (size_t i = 0; i < ASKY_PENDING_MAX; i++)
        pending_clear(&st->pending[i]);
    crypto_wipe(st->sessions, sizeof st->sessions);
    crypto_wipe(st->name_key, sizeof st->name_key);
    crypto_wipe(st->rec_key, sizeof st->rec_key);
    pthread_mutex_destroy(&st->lock);
}

static void install_master(struct asky_state *st, const uint8_t master[32])
{
    static const char nk[] = "CLOISTER-ASKY-V01 name key", rk[] = "CLOISTER-ASKY-V01 record key";
    crypto_hmac_sha256(st->name_key, master, 32, nk, sizeof nk - 1);
    crypto_hmac_sha256(st->rec_key, master, 32, rk, sizeof rk - 1);
    st->ready = true;
}

static void name_id(const struct asky_state *st, uint8_t what, const char *name,
                    uint8_t id[ASKY_ID_LEN])
{
    uint8_t msg[1 + ASKY_NAME_MAX];
    size_t len = strlen(name);
    msg[0] = what;
    memcpy(msg + 1, name, len);
    crypto_hmac_sha256(id, st->name_key, sizeof st->name_key, msg, 1 + len);
}

/* ---- records ---------------------------------------------------------------------------------- */

/* nonce ‖ GCM(rec key, pt, aad) appended to out. */
static int rec_seal(struct asky_state *st, const uint8_t *aad, size_t aadlen, const uint8_t *pt,
                    size_t ptlen, struct wire_writer *out)
{
    uint8_t *p = wire_writer_reserve(out, ptlen + GCM_OVERHEAD);
    if (!p || crypto_random(p, 12) != 0)
        return -1;
    crypto_aead_seal(CRYPTO_AES256_GCM, st->rec_key, p, aad, aadlen, pt, ptlen, p + 12);
    wire_writer_commit(out, ptlen + GCM_OVERHEAD);
    return 0;
}

/* Opens nonce ‖ ct into a malloc'd *pt. */
static int rec_open(struct asky_state *st, const uint8_t *aad, size_t aadlen, const uint8_t *in,
                    size_t len, uint8_t **pt, size_t *ptlen)
{
    *pt = NULL;
    if (len < GCM_OVERHEAD)
        return -1;
    *ptlen = len - GCM_OVERHEAD;
    if (!(*pt = malloc(*ptlen ? *ptlen : 1)))
        return -1;
    if (crypto_aead_open(CRYPTO_AES256_GCM, st->rec_key, in, aad, aadlen, in + 12, len - 12, *pt) !=
        0) {
        free(*pt);
        *pt = NULL;
        return -1;
    }
    return 0;
}

static void be64_put(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t be64_get(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* AAD of a group record: "group" ‖ id ‖ be64 version. */
static void group_aad(uint8_t aad[5 + ASKY_ID_LEN + 8], const uint8_t *gid, uint64_t version)
{
    memcpy(aad, "group", 5);
    memcpy(aad + 5, gid, ASKY_ID_LEN);
    be64_put(aad + 5 + ASKY_ID_LEN, version);
}

static struct epoch *epoch_find(struct asky_state *st, const uint8_t *gid)
{
    for (size_t i = 0; i < st->nepochs; i++)
        if (memcmp(st->epochs[i].gid, gid, ASKY_ID_LEN) == 0)
            return &st->epochs[i];
    return NULL;
}

/* The epoch record of the table with gid's version bumped (added at 1 when absent) and the
 * counter bumped. The enclave's own table moves only when the host gives the record back
 * (EPOCH) once stored: a change the store refused leaves it as it was. */
static int epoch_record(struct asky_state *st, const uint8_t *gid, uint64_t version,
                        struct wire_writer *out)
{
    bool found = epoch_find(st, gid) != NULL;
    size_t n = st->nepochs + !found, ptlen = n * (ASKY_ID_LEN + 8);
    uint8_t *pt = malloc(ptlen), head[8];
    if (!pt)
        return -1;
    for (size_t i = 0; i < st->nepochs; i++) {
        bool it = memcmp(st->epochs[i].gid, gid, ASKY_ID_LEN) == 0;
        memcpy(pt + i * (ASKY_ID_LEN + 8), st->epochs[i].gid, ASKY_ID_LEN);
        be64_put(pt + i * (ASKY_ID_LEN + 8) + ASKY_ID_LEN, it ? version : st->epochs[i].version);
    }
    if (!found) {
        memcpy(pt + st->nepochs * (ASKY_ID_LEN + 8), gid, ASKY_ID_LEN);
        be64_put(pt + st->nepochs * (ASKY_ID_LEN + 8) + ASKY_ID_LEN, version);
    }
    be64_put(head, st->counter + 1);
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_raw(&w, head, 8);
    int rc = rec_seal(st, head, 8, pt, ptlen, &w);
    if (rc == 0 && wire_writer_ok(&w))
        wire_put_bytes(out, w.buf, w.len);
    else
        rc = -1;
    wire_writer_free(&w);
    free(pt);
    return rc;
}

static int epochs_load(struct tee_env *env, struct asky_state *st, const uint8_t *rec, size_t len)
{
    uint8_t *pt = NULL;
    size_t ptlen = 0;
    if (len < 8 || rec_open(st, rec, 8, rec + 8, len - 8, &pt, &ptlen) != 0 ||
        ptlen % (ASKY_ID_LEN + 8) != 0) {
        free(pt);
        return tee_fail(env, CLOISTER_E_DENIED, "the epoch record is not authentic");
    }
    uint64_t counter = be64_get(rec);
    if (counter < st->counter) {
        free(pt);
        return tee_fail(env, CLOISTER_E_DENIED, "the epoch record was rolled back");
    }
    size_t n = ptlen / (ASKY_ID_LEN + 8);
    struct epoch *e = malloc((n ? n : 1) * sizeof *e);
    if (!e) {
        free(pt);
        return tee_fail(env, CLOISTER_E_NO_MEMORY, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        memcpy(e[i].gid, pt + i * (ASKY_ID_LEN + 8), ASKY_ID_LEN);
        e[i].version = be64_get(pt + i * (ASKY_ID_LEN + 8) + ASKY_ID_LEN);
    }
    free(pt);
    free(st->epochs);
    st->epochs = e;
    st->nepochs = n;
    st->counter = counter;
    return CLOISTER_OK;
}

/* Opens a group record of group gid, checked against the epoch table: members malloc'd. */
static int group_open(struct tee_env *env, struct asky_state *st, const uint8_t *gid,
                      const uint8_t *rec, size_t len, uint8_t **members, size_t *n)
{
    *members = NULL;
    *n = 0;
    if (len < ASKY_ID_LEN + 8 || memcmp(rec, gid, ASKY_ID_LEN) != 0)
        return tee_fail(env, CLOISTER_E_DENIED, "the group record is not this group's");
    uint64_t version = be64_get(rec + ASKY_ID_LEN);
    struct epoch *e = epoch_find(st, gid);
    if (!e)
        return tee_fail(env, CLOISTER_E_NOT_FOUND, "no such group");
    if (version < e->version)
        return tee_fail(env, CLOISTER_E_DENIED,
                        "the group record is stale (version %llu, expected %llu): rolled back",
                        (unsigned long long)version, (unsigned long long)e->version);
    uint8_t aad[5 + ASKY_ID_LEN + 8];
    group_aad(aad, gid, version);
    size_t ptlen;
    if (rec_open(st, aad, sizeof aad, rec + ASKY_ID_LEN + 8, len - ASKY_ID_LEN - 8, members,
                 &ptlen) != 0 ||
        ptlen % ASKY_ID_LEN != 0) {
        free(*members);
        *members = NULL;
        return tee_fail(env, CLOISTER_E_DENIED, "the group record is not authentic");
    }
    e->version = version; /* newer than the epoch loaded: another replica's, sealed by us */
    *n = ptlen / ASKY_ID_LEN;
    return CLOISTER_OK;
}

/* Writes CHANGE for the group's new member list: a new version, and the epoch record that
 * lists it. */
static int group_write(struct tee_env *env, struct asky_state *st, const uint8_t *gid,
                       const uint8_t *members, size_t n, struct wire_writer *out)
{
    struct epoch *e = epoch_find(st, gid);
    uint64_t version = (e ? e->version : 0) + 1;
    uint8_t aad[5 + ASKY_ID_LEN + 8];
    group_aad(aad, gid, version);
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_raw(&w, aad + 5, ASKY_ID_LEN + 8);
    int rc = rec_seal(st, aad, sizeof aad, members, n * ASKY_ID_LEN, &w);
    wire_put_raw(out, gid, ASKY_ID_LEN);
    if (rc == 0 && wire_writer_ok(&w))
        wire_put_bytes(out, w.buf, w.len);
    wire_writer_free(&w);
    if (rc != 0 || epoch_record(st, gid, version, out) != 0)
        return tee_fail(env, CLOISTER_E_NO_MEMORY, "out of memory");
    return CLOISTER_OK;
}

/* ---- users ------------------------------------------------------------------------------------ */

static int user_cmp(const void *a, const void *b)
{
    return memcmp(((const struct user *)a)->id, ((const struct user *)b)->id, ASKY_ID_LEN);
}

static struct user *user_find(struct asky_state *st, const uint8_t *id)
{
    struct user key;
    if (st->nusers == 0)
        return NULL;
    memcpy(key.id, id, ASKY_ID_LEN);
    return bsearch(&key, st->users, st->nusers, sizeof key, user_cmp);
}

/* Adds (or replaces) a user; keeps the array sorted when sort is set. */
static int user_put(struct asky_state *st, const uint8_t *id, const uint8_t key[32], bool sort)
{
    struct user *u = sort ? user_find(st, id) : NULL;
    if (!u) {
        if (st->nusers == st->capusers) {
            size_t cap = st->capusers ? 2 * st->capusers : 64;
            struct user *grown = malloc(cap * sizeof *grown);
            if (!grown)
                return -1;
            if (st->users)
                memcpy(grown, st->users, st->nusers * sizeof *grown);
            if (st->users)
                crypto_wipe(st->users, st->capusers * sizeof *st->users);
            free(st->users);
            st->users = grown;
            st->capusers = cap;
        }
        u = &st->users[st->nusers++];
        memcpy(u->id, id, ASKY_ID_LEN);
    }
    struct asky_user_keys k;
    asky_user_keys(&k, key);
    asky_member_prepare(&u->m, &k);
    asky_user_keys_wipe(&k);
    if (sort) { /* the new last one moves down into place */
        struct user t = *u;
        size_t i = (size_t)(u - st->users);
        for (; i > 0 && user_cmp(&st->users[i - 1], &t) > 0; i--)
            st->users[i] = st->users[i - 1];
        st->users[i] = t;
        crypto_wipe(&t, sizeof t);
    }
    return 0;
}

static void user_aad(uint8_t aad[4 + ASKY_ID_LEN], const uint8_t *id)
{
    memcpy(aad, "user", 4);
    memcpy(aad + 4, id, ASKY_ID_LEN);
}

/* ---- handlers --------------------------------------------------------------------------------- */

static int ecall_setup(struct tee_env *env, const uint8_t *in, size_t inlen,
                       struct wire_writer *out)
{
    struct asky_state *st = tee_env_state(env);
    uint8_t master[32], blob[tee_sealed_size(32)];
    size_t len;
    int rc = CLOISTER_OK;
    if (inlen != 0)
        return tee_fail(env, CLOISTER_E_INVALID, "setup takes no input");
    if (crypto_random(master, sizeof master) != 0 ||
        tee_seal(tee_env_self(env), TEE_SEAL_MRSIGNER, ASKY_MASTER_AAD, sizeof ASKY_MASTER_AAD - 1,
                 master, sizeof master, blob, sizeof blob, &len, NULL) != 0)
        rc = tee_fail(env, CLOISTER_E_FAILED, "setup: sealing the master secret failed");
    if (rc == CLOISTER_OK) {
        pthread_mutex_lock(&st->lock);
        install_master(st, master);
        pthread_mutex_unlock(&st->lock);
        wire_put_bytes(out, blob, len);
    }
    crypto_wipe(master, sizeof master);
    return rc;
}

static int ecall_load(struct tee_env *env, const uint8_t *in, size_t inlen, struct wire_writer *out)
{
    struct asky_state *st = tee_env_state(env);
    struct wire_reader r;
    size_t bloblen, eplen;
    wire_reader_init(&r, in, inlen);
    const uint8_t *blob = wire_get_bytes(&r, 4096, &bloblen);
    const uint8_t *ep = wire_get_bytes(&r, RECORD_MAX, &eplen);
    if (wire_reader_finish(&r) != 0)
        return tee_fail(env, CLOISTER_E_INVALID, "load: %s", wire_reader_error(&r));
    uint8_t master[64];
    size_t mlen;
    struct cloister_err why;
    if (tee_unseal(tee_env_self(env), blob, bloblen, ASKY_MASTER_AAD, sizeof ASKY_MASTER_AAD - 1,
                   master, sizeof master, &mlen, &why) != 0 ||
        mlen != 32)
        return tee_fail(env, CLOISTER_E_DENIED, "load: sealed master secret refused");
    pthread_mutex_lock(&st->lock);
    install_master(st, master);
    crypto_wipe(master, sizeof master);
    int rc = eplen ? epochs_load(env, st, ep, eplen) : CLOISTER_OK;
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static int ecall_users(struct tee_env *env, const uint8_t *in, size_t inlen,
                       struct wire_writer *out)
{
    struct asky_state *st = tee_env_state(env);
    struct wire_reader r;
    wire_reader_init(&r, in, inlen);
    size_t n = wire_get_count(&r, 1 + ASKY_USER_RECORD_LEN, ASKY_USERS_BATCH);
    int rc = CLOISTER_OK;
    pthread_mutex_lock(&st->lock);
    bool incremental = st->nusers > 0; /* users another replica added: kept sorted one by one */
    if (!st->ready)
        rc = tee_fail(env, CLOISTER_E_STATE, "users: not set up");
    for (size_t i = 0; i < n && rc == CLOISTER_OK; i++) {
        size_t len;
        const uint8_t *rec = wire_get_bytes(&r, ASKY_USER_RECORD_LEN, &len);
        uint8_t aad[4 + ASKY_ID_LEN], *key;
        size_t klen;
        if (!wire_reader_ok(&r) || len != ASKY_USER_RECORD_LEN)
            break;
        user_aad(aad, rec);
        if (rec_open(st, aad, sizeof aad, rec + ASKY_ID_LEN, len - ASKY_ID_LEN, &key, &klen) != 0 ||
            klen != 32)
            rc = tee_fail(env, CLOISTER_E_DENIED, "users: record %zu is not authentic", i);
        else if (user_put(st, rec, key, incremental) != 0)
            rc = tee_fail(env, CLOISTER_E_NO_MEMORY, "out of memory");
        if (key)
            crypto_wipe(key, 32);
        free(key);
    }
    if (rc == CLOISTER_OK && wire_reader_finish(&r) != 0)
        rc = tee_fail(env, CLOISTER_E_INVALID, "users: %s", wire_reader_error(&r));
    if (!incremental)
        asky_sort(st->users, st->nusers, sizeof *st->users, user_cmp);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

/* Reads a name (1..ASKY_NAME_MAX bytes). */
static bool get_name(struct wire_reader *r, char name[ASKY_NAME_MAX + 1])
{
    return wire_get_str(r, name, ASKY_NAME_MAX + 1) == 0 && name[0] != '\0';
}

static int ecall_name(struct tee_env *env, const uint8_t *in, size_t inlen, struct wire_writer *out)
{
    struct asky_state *st = tee_env_state(env);
    struct wire_reader r;
    char name[ASKY_NAME_MAX + 1];
    wire_reader_init(&r, in, inlen);
    uint8_t what = wire_get_u8(&r);
    if (!get_name(&r, name) || wire_reader_finish(&r) != 0 || what > 1)
        return tee_fail(env, CLOISTER_E_INVALID, "name: a name of 1..%d bytes", ASKY_NAME_MAX);
    uint8_t id[ASKY_ID_LEN];
    pthread_mutex_lock(&st->lock);
    int rc = st->ready ? CLOISTER_OK : tee_fail(env, CLOISTER_E_STATE, "not set up");
    if (rc == CLOISTER_OK)
        name_id(st, what, name, id);
    pthread_mutex_unlock(&st->lock);
    if (rc == CLOISTER_OK)
        wire_put_raw(out, id, sizeof id);
    return rc;
}

/* A new user: its key drawn here, sealed in its record for the store and delivered to the user
 * by HPKE to the public key pk it gave (AAD: its name), so it crosses the host encrypted. */
static int user_add(struct tee_env *env, struct asky_state *st, const char *name,
                    const uint8_t pk[HPKE_PUBLIC_LEN], struct wire_writer *out)
{
    uint8_t id[ASKY_ID_LEN], key[32], aad[4 + ASKY_ID_LEN], delivery[ASKY_DELIVERY_LEN];
    pthread_mutex_lock(&st->lock);
    int rc = st->ready ? CLOISTER_OK : tee_fail(env, CLOISTER_E_STATE, "not set up");
    if (rc == CLOISTER_OK) {
        name_id(st, 0, name, id);
        if (user_find(st, id))
            rc = tee_fail(env, CLOISTER_E_EXISTS, "the user exists");
    }
    if (rc == CLOISTER_OK) {
        user_aad(aad, id);
        wire_put_raw(out, id, sizeof id);
        struct wire_writer w;
        wire_writer_init(&w);
        wire_put_raw(&w, id, sizeof id);
        if (crypto_random(key, sizeof key) != 0 || rec_seal(st, aad, sizeof aad, key, 32, &w) ||
            !wire_writer_ok(&w) ||
            hpke_seal(delivery, delivery + HPKE_ENC_LEN, HPKE_AEAD_AES256GCM, pk,
                      ASKY_DELIVERY_INFO, strlen(ASKY_DELIVERY_INFO), name, strlen(name), key,
                      sizeof key, NULL) != 0 ||
            user_put(st, id, key, true) != 0)
            rc = tee_fail(env, CLOISTER_E_FAILED, "user: key generation or delivery failed");
        else {
            wire_put_bytes(out, w.buf, w.len);
            wire_put_raw(out, delivery, sizeof delivery);
        }
        wire_writer_free(&w);
    }
    pthread_mutex_unlock(&st->lock);
    crypto_wipe(key, sizeof key);
    return rc;
}

/* in: str user, raw public key 32. */
static int get_user_pk(struct wire_reader *r, char name[ASKY_NAME_MAX + 1],
                       uint8_t pk[HPKE_PUBLIC_LEN])
{
    bool ok = get_name(r, name);
    wire_get_raw_into(r, pk, HPKE_PUBLIC_LEN);
    return ok && wire_reader_finish(r) == 0 ? 0 : -1;
}

static int ecall_user_add(struct tee_env *env, const uint8_t *in, size_t inlen,
                          struct wire_writer *out)
{
    struct wire_reader r;
    char name[ASKY_NAME_MAX + 1];
    uint8_t pk[HPKE_PUBLIC_LEN];
    wire_reader_init(&r, in, inlen);
    if (get_user_pk(&r, name, pk) != 0)
        return tee_fail(env, CLOISTER_E_INVALID,
                        "user: a name of 1..%d bytes and a 32-byte public key", ASKY_NAME_MAX);
    return user_add(env, tee_env_state(env), name, pk, out);
}

/* The same, sealed by a remote admin to this enclave (the name never crosses the host). */
static int ecall_user_add_sealed(struct tee_env *env, const uint8_t *in, size_t inlen,
                                 struct wire_writer *out)
{
    struct asky_state *st = tee_env_state(env);
    tee_self *self = tee_env_self(env);
    uint8_t req[ASKY_NAME_MAX + 10 + HPKE_PUBLIC_LEN], pk[HPKE_PUBLIC_LEN];
    size_t len = 0;
    char name[ASKY_NAME_MAX + 1];
    struct cloister_err err = {0};
    struct wire_reader r;
    int rc = CLOISTER_OK;
    pthread_mutex_lock(&st->lock);
    if (!self)
        rc = tee_fail(env, CLOISTER_E_STATE, "sealed user: the enclave is not set up");
    else if (tee_prov_take(self, in, inlen, ASKY_USER_SECRET, req, sizeof req, &len, &err) != 0)
        rc = tee_fail(env, CLOISTER_E_DENIED, "sealed request refused: %s", err.msg);
    pthread_mutex_unlock(&st->lock);
    if (rc != CLOISTER_OK)
        return rc;
    wire_reader_init(&r, req, len);
    if (get_user_pk(&r, name, pk) != 0)
        return tee_fail(env, CLOISTER_E_INVALID, "sealed user: malformed");
    return user_add(env, st, name, pk, out);
}

static int ecall_user_forget(struct tee_env *env, const uint8_t *in, size_t inlen,
                             struct wire_writer *out)
{
    struct asky_state *st = tee_env_state(env);
    if (inlen != ASKY_ID_LEN)
        return tee_fail(env, CLOISTER_E_INVALID, "forget: a 32-byte user id");
    pthread_mutex_lock(&st->lock);
    struct user *u = user_find(st, in);
    if (u) { /* the last one moves into its place; the array is sorted again */
        size_t i = (size_t)(u - st->users);
        st->users[i] = st->users[--st->nusers];
        crypto_wipe(&st->users[st->nusers], sizeof *st->users);
        asky_sort(st->users, st->nusers, sizeof *st->users, user_cmp);
    }
    pthread_mutex_unlock(&st->lock);
    return CLOISTER_OK;
}

static int ecall_epoch(struct tee_env *env, const uint8_t *in, size_t inlen,
                       struct wire_writer *out)
{
    struct asky_state *st = tee_env_state(env);
    pthread_mutex_lock(&st->lock);
    int rc = st->ready ? epochs_load(env, st, in, inlen)
                       : tee_fail(env, CLOISTER_E_STATE, "not set up");
    pthread_mutex_unlock(&st->lock);
    return rc;
}

/* in: str group, str user, [bytes group record]; the ids of both. */
static int get_group_user(struct tee_env *env, struct asky_state *st, struct wire_reader *r,
                          char group[ASKY_NAME_MAX + 1], uint8_t gid[ASKY_ID_LEN],
                          uint8_t uid[ASKY_ID_LEN])
{
    char user[ASKY_NAME_MAX + 1];
    if (!get_name(r, group) || !get_name(r, user))
        return tee_fail(env, CLOISTER_E_INVALID, "names of 1..%d bytes", ASKY_NAME_MAX);
    if (!st->ready)
        return tee_fail(env, CLOISTER_E_STATE, "not set up");
    name_id(st, 1, group, gid);
    name_id(st, 0, user, uid);
    if (!user_find(st, uid))
        return tee_fail(env, CLOISTER_E_NOT_FOUND, "no such user");
    return CLOISTER_OK;
}

static bool has_member(const uint8_t *members, size_t n, const uint8_t *uid)
{
    bool found = false;
    for (size_t i = 0; i < n; i++)
        found |= crypto_memeq(members + i * ASKY_ID_LEN, uid, ASKY_ID_LEN);
    return found;
}

static int ecall_group_create(struct tee_env *env, const uint8_t *in, size_t inlen,
                              struct wire_writer *out)
{
    struct asky_state *st = tee_env_state(env);
    struct wire_reader r;
    char group[ASKY_NAME_MAX + 1];
    uint8_t gid[ASKY_ID_LEN], uid[ASKY_ID_LEN];
    wire_reader_init(&r, in, inlen);
    pthread_mutex_lock(&st->lock);
    int rc = get_group_user(env, st, &r, group, gid, uid);
    if (rc == CLOISTER_OK && wire_reader_finish(&r) != 0)
        rc = tee_fail(env, CLOISTER_E_INVALID, "group: %s", wire_reader_error(&r));
    if (rc == CLOISTER_OK && epoch_find(st, gid))
        rc = tee_fail(env, CLOISTER_E_EXISTS, "the group exists");
    if (rc == CLOISTER_OK)
        rc = group_write(env, st, gid, uid, 1, out);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

/* GROUP_ADD and GROUP_REMOVE. */
static int group_change(struct tee_env *env, const uint8_t *in, size_t inlen,
                        struct wire_writer *out, bool add)
{
    struct asky_state *st = tee_env_state(env);
    struct wire_reader r;
    char group[ASKY_NAME_MAX + 1];
    uint8_t gid[ASKY_ID_LEN], uid[ASKY_ID_LEN], *members = NULL;
    size_t n = 0, reclen;
    wire_reader_init(&r, in, inlen);
    pthread_mutex_lock(&st->lock);
    int rc = get_group_user(env, st, &r, group, gid, uid);
    const uint8_t *rec = wire_get_bytes(&r, RECORD_MAX, &reclen);
    if (rc == CLOISTER_OK && wire_reader_finish(&r) != 0)
        rc = tee_fail(env, CLOISTER_E_INVALID, "group: %s", wire_reader_error(&r));
    if (rc == CLOISTER_OK)
        rc = group_open(env, st, gid, rec, reclen, &members, &n);
    bool member = rc == CLOISTER_OK && has_member(members, n, uid);
    if (rc == CLOISTER_OK && add && member)
        rc = tee_fail(env, CLOISTER_E_EXISTS, "already a member");
    else if (rc == CLOISTER_OK && !add && !member)
        rc = tee_fail(env, CLOISTER_E_NOT_FOUND, "not a member");
    else if (rc == CLOISTER_OK && add && n >= ASKY_MEMBERS_MAX)
        rc = tee_fail(env, CLOISTER_E_TOO_BIG, "the group is full");
    if (rc == CLOISTER_OK && add) {
        uint8_t *grown = realloc(members, (n + 1) * ASKY_ID_LEN);
        if (!grown)
            rc = tee_fail(env, CLOISTER_E_NO_MEMORY, "out of memory");
        else {
            members = grown;
            memcpy(members + n++ * ASKY_ID_LEN, uid, ASKY_ID_LEN);
        }
    } else if (rc == CLOISTER_OK) {
        for (size_t i = 0; i < n; i++)
            if (memcmp(members + i * ASKY_ID_LEN, uid, ASKY_ID_LEN) == 0) {
                memmove(members + i * ASKY_ID_LEN, members + (n - 1) * ASKY_ID_LEN, ASKY_ID_LEN);
                n--;
                break;
            }
    }
    if (rc == CLOISTER_OK)
        rc = group_write(env, st, gid, members, n, out);
    pthread_mutex_unlock(&st->lock);
    free(members);
    return rc;
}

static int ecall_group_add(struct tee_env *env, const uint8_t *in, size_t inlen,
                           struct wire_writer *out)
{
    return group_change(env, in, inlen, out, true);
}

static int ecall_group_remove(struct tee_env *env, const uint8_t *in, size_t inlen,
                              struct wire_writer *out)
{
    return group_change(env, in, inlen, out, false);
}

/* The expanded keys of the members still registered (a removed user is left out). */
static struct asky_member *member_keys(struct asky_state *st, const uint8_t *members, size_t n,
                                       size_t *count)
{
    struct asky_member *k = malloc((n ? n : 1) * sizeof *k);
    *count = 0;
    for (size_t i = 0; k && i < n; i++) {
        struct user *u = user_find(st, members + i * ASKY_ID_LEN);
        if (u)
            k[(*count)++] = u->m;
    }
    return k;
}

static int ecall_envelope(struct tee_env *env, const uint8_t *in, size_t inlen,
                          struct wire_writer *out)
{
    struct asky_state *st = tee_env_state(env);
    struct wire_reader r;
    char group[ASKY_NAME_MAX + 1];
    uint8_t gid[ASKY_ID_LEN], uid[ASKY_ID_LEN], nonce[ASKY_REQ_NONCE_LEN], proof[32], want[32];
    uint8_t *members = NULL, *envl = NULL;
    size_t n = 0, reclen, envlen = 0, count = 0;
    wire_reader_init(&r, in, inlen);
    pthread_mutex_lock(&st->lock);
    int rc = get_group_user(env, st, &r, group, gid, uid);
    wire_get_raw_into(&r, nonce, sizeof nonce);
    wire_get_raw_into(&r, proof, sizeof proof);
    uint8_t kind = wire_get_u8(&r);
    uint64_t pad = wire_get_varint(&r);
    const uint8_t *rec = wire_get_bytes(&r, RECORD_MAX, &reclen);
    if (rc == CLOISTER_OK && (wire_reader_finish(&r) != 0 || pad > ASKY_MEMBERS_MAX))
        rc = tee_fail(env, CLOISTER_E_INVALID, "envelope: malformed request");
    if (rc == CLOISTER_OK) {
        asky_request_proof(want, &user_find(st, uid)->m.keys, group, nonce);
        if (!crypto_memeq(want, proof, sizeof want))
            rc = tee_fail(env, CLOISTER_E_DENIED, "envelope: the membership proof is wrong");
    }
    if (rc == CLOISTER_OK)
        rc = group_open(env, st, gid, rec, reclen, &members, &n);
    if (rc == CLOISTER_OK && !has_member(members, n, uid))
        rc = tee_fail(env, CLOISTER_E_DENIED, "envelope: the requester is not a member");
    struct asky_member *keys = rc == CLOISTER_OK ? member_keys(st, members, n, &count) : NULL;
    if (rc == CLOISTER_OK && !keys)
        rc = tee_fail(env, CLOISTER_E_NO_MEMORY, "out of memory");
    pthread_mutex_unlock(&st->lock);
    uint8_t file_key[ASKY_KEY_LEN];
    struct cloister_err why;
    if (rc == CLOISTER_OK && crypto_random(file_key, sizeof file_key) != 0)
        rc = tee_fail(env, CLOISTER_E_FAILED, "envelope: random number generator failed");
    if (rc == CLOISTER_OK &&
        asky_envelope_build_prepared((enum asky_kind)kind, keys, count, (unsigned)pad, file_key,
                                     &envl, &envlen, &why) != CLOISTER_OK)
        rc = tee_fail(env, why.code, "envelope: %s", why.msg);
    if (rc == CLOISTER_OK)
        wire_put_bytes(out, envl, envlen);
    crypto_wipe(file_key, sizeof file_key);
    if (keys)
        crypto_wipe(keys, count * sizeof *keys);
    free(keys);
    free(members);
    free(envl);
    return rc;
}

/* ---- requests sealed by the client to this enclave (the access service, docs/asky.md) ------
 * The client verified the evidence of an offer (the runtime's TEE_ECALL_PROV_OFFER) and sealed
 * its request to the offered key as the provisioned secret ASKY_REQUEST_SECRET; the host sees
 * neither the group, the user nor the envelope, only the group's id it must fetch. */

/* Keeps the request (group, user, nonce, proof, kind, pad) and its reply key in a slot (the
 * oldest when all are taken); *gid its group, handle the slot's name. */
static int pending_set(struct tee_env *env, struct asky_state *st, const uint8_t *req, size_t len,
                       uint8_t gid[ASKY_ID_LEN], uint8_t handle[ASKY_HANDLE_LEN])
{
    struct wire_reader r;
    char group[ASKY_NAME_MAX + 1], user[ASKY_NAME_MAX + 1];
    uint8_t key[ASKY_KEY_LEN];
    wire_reader_init(&r, req, len);
    bool ok = get_name(&r, group) && get_name(&r, user);
    wire_get_raw(&r, ASKY_REQ_NONCE_LEN + 32 + 1);
    wire_get_varint(&r);
    size_t head = r.off;
    wire_get_raw_into(&r, key, sizeof key);
    if (!ok || wire_reader_finish(&r) != 0)
        return tee_fail(env, CLOISTER_E_INVALID, "sealed request: malformed");
    struct pending *p = &st->pending[0];
    for (size_t i = 0; i < ASKY_PENDING_MAX && p->req; i++)
        if (!st->pending[i].req || st->pending[i].born < p->born)
            p = &st->pending[i];
    pending_clear(p);
    if (!(p->req = malloc(head)) || crypto_random(p->handle, sizeof p->handle) != 0) {
        pending_clear(p);
        return tee_fail(env, CLOISTER_E_NO_MEMORY, "out of memory");
    }
    memcpy(p->req, req, head);
    p->len = head;
    memcpy(p->reply_key, key, sizeof key);
    crypto_wipe(key, sizeof key);
    p->born = ++st->pending_clock;
    memcpy(handle, p->handle, ASKY_HANDLE_LEN);
    name_id(st, 1, group, gid);
    return CLOISTER_OK;
}

/* The slot of a handle, or NULL. */
static struct pending *pending_find(struct asky_state *st, const uint8_t *handle)
{
    for (size_t i = 0; handle && i < ASKY_PENDING_MAX; i++)
        if (st->pending[i].req && crypto_memeq(st->pending[i].handle, handle, ASKY_HANDLE_LEN))
            return &st->pending[i];
    return NULL;
}

/* The write ticket of an envelope: HMAC under a key derived from the name key, so only an
 * envelope this enclave built for a member gets one (the host checks it with TICKET_CHECK
 * before storing an object). */
static void ticket_of(const struct asky_state *st, const uint8_t *envl, size_t len,
                      uint8_t ticket[ASKY_TICKET_LEN])
{
    uint8_t tk[32], hash[32];
    crypto_hash *h = crypto_hash_new(CRYPTO_HASH_SHA256);
    crypto_hmac_sha256(tk, st->name_key, sizeof st->name_key, ASKY_TICKET_LABEL,
                       strlen(ASKY_TICKET_LABEL));
    if (h) {
        crypto_hash_update(h, envl, len);
        crypto_hash_final(h, hash);
    } else {
        memset(hash, 0, sizeof hash); /* a ticket nothing matches */
    }
    crypto_hmac_sha256(ticket, tk, sizeof tk, hash, sizeof hash);
    crypto_wipe(tk, sizeof tk);
}

static int ecall_ticket_check(struct tee_env *env, const uint8_t *in, size_t inlen,
                              struct wire_writer *out)
{
    struct asky_state *st = tee_env_state(env);
    struct wire_reader r;
    uint8_t ticket[ASKY_TICKET_LEN], want[ASKY_TICKET_LEN];
    size_t envlen;
    wire_reader_init(&r, in, inlen);
    const uint8_t *envl = wire_get_bytes(&r, SIZE_MAX, &envlen);
    wire_get_raw_into(&r, ticket, sizeof ticket);
    if (wire_reader_finish(&r) != 0)
        return tee_fail(env, CLOISTER_E_INVALID, "ticket: malformed");
    if (!st->ready)
        return tee_fail(env, CLOISTER_E_STATE, "not set up");
    ticket_of(st, envl, envlen, want);
    if (!crypto_memeq(want, ticket, sizeof want))
        return tee_fail(env, CLOISTER_E_DENIED,
                        "the object's write ticket is wrong (not an envelope this service built)");
    return CLOISTER_OK;
}

static int ecall_sealed_open(struct tee_env *env, const uint8_t *in, size_t inlen,
                             struct wire_writer *out)
{
    struct asky_state *st = tee_env_state(env);
    tee_self *self = tee_env_self(env);
    uint8_t req[ASKY_REQUEST_MAX], gid[ASKY_ID_LEN], handle[ASKY_HANDLE_LEN];
    size_t len = 0;
    struct cloister_err err = {0};
    int rc = CLOISTER_OK;
    pthread_mutex_lock(&st->lock);
    if (!self || !st->ready)
        rc = tee_fail(env, CLOISTER_E_STATE, "sealed request: the enclave is not set up");
    else if (tee_prov_take(self, in, inlen, ASKY_REQUEST_SECRET, req, sizeof req, &len, &err) != 0)
        rc = tee_fail(env, CLOISTER_E_DENIED, "sealed request refused: %s", err.msg);
    else if ((rc = pending_set(env, st, req, len, gid, handle)) == CLOISTER_OK) {
        wire_put_raw(out, gid, sizeof gid);
        wire_put_raw(out, handle, sizeof handle);
    }
    pthread_mutex_unlock(&st->lock);
    crypto_wipe(req, sizeof req);
    return rc;
}

/* A new session: its key provisioned to a verified offer (the secret ASKY_SESSION_SECRET),
 * kept in a free slot or in place of the least recently used one. */
static int ecall_session_open(struct tee_env *env, const uint8_t *in, size_t inlen,
                              struct wire_writer *out)
{
    struct asky_state *st = tee_env_state(env);
    tee_self *self = tee_env_self(env);
    uint8_t key[ASKY_KEY_LEN];
    size_t len = 0;
    struct cloister_err err = {0};
    int rc = CLOISTER_OK;
    pthread_mutex_lock(&st->lock);
    if (!self || !st->ready)
        rc = tee_fail(env, CLOISTER_E_STATE, "session: the enclave is not set up");
    else if (tee_prov_take(self, in, inlen, ASKY_SESSION_SECRET, key, sizeof key, &len, &err) !=
                 0 ||
             len != sizeof key)
        rc = tee_fail(env, CLOISTER_E_DENIED, "session refused: %s",
                      err.msg[0] ? err.msg : "the key is not 32 bytes");
    struct session *sn = &st->sessions[0];
    for (size_t i = 0; rc == CLOISTER_OK && i < ASKY_SESSIONS_MAX && sn->active; i++)
        if (!st->sessions[i].active || st->sessions[i].used < sn->used)
            sn = &st->sessions[i];
    if (rc == CLOISTER_OK && crypto_random(sn->id, sizeof sn->id) != 0)
        rc = tee_fail(env, CLOISTER_E_FAILED, "session: random number generator failed");
    if (rc == CLOISTER_OK) {
        memcpy(sn->key, key, sizeof key);
        sn->seq = 0;
        sn->used = ++st->session_clock;
        sn->active = true;
        wire_put_raw(out, sn->id, sizeof sn->id);
    }
    pthread_mutex_unlock(&st->lock);
    crypto_wipe(key, sizeof key);
    return rc;
}

/* A request of a session: opened with its key, its sequence number above the last one taken,
 * then kept as SEALED_OPEN keeps one. */
static int ecall_session_request(struct tee_env *env, const uint8_t *in, size_t inlen,
                                 struct wire_writer *out)
{
    struct asky_state *st = tee_env_state(env);
    uint8_t req[ASKY_REQUEST_MAX], gid[ASKY_ID_LEN], handle[ASKY_HANDLE_LEN];
    uint8_t nonce[CRYPTO_AEAD_NONCE_LEN] = {0}, aad[sizeof ASKY_SESSION_AAD - 1 + 16 + 8];
    size_t head = ASKY_SESSION_ID_LEN + 8;
    if (inlen < head + 16 || inlen - head - 16 > sizeof req)
        return tee_fail(env, CLOISTER_E_INVALID, "session request: malformed");
    uint64_t seq = be64_get(in + ASKY_SESSION_ID_LEN);
    size_t len = inlen - head - 16;
    memcpy(nonce + 4, in + ASKY_SESSION_ID_LEN, 8);
    memcpy(aad, ASKY_SESSION_AAD, sizeof ASKY_SESSION_AAD - 1);
    memcpy(aad + sizeof ASKY_SESSION_AAD - 1, in, head);
    pthread_mutex_lock(&st->lock);
    struct session *sn = NULL;
    for (size_t i = 0; i < ASKY_SESSIONS_MAX && !sn; i++)
        if (st->sessions[i].active && memcmp(st->sessions[i].id, in, ASKY_SESSION_ID_LEN) == 0)
            sn = &st->sessions[i];
    int rc = sn ? CLOISTER_OK
                : tee_fail(env, CLOISTER_E_STATE, "no such session (expired): open another");
    if (rc == CLOISTER_OK && seq <= sn->seq)
        rc = tee_fail(env, CLOISTER_E_DENIED,
                      "session request refused: not newer than the last one (replayed?)");
    if (rc == CLOISTER_OK && crypto_aead_open(CRYPTO_AES256_GCM, sn->key, nonce, aad, sizeof aad,
                                              in + head, inlen - head, req) != 0)
        rc = tee_fail(env, CLOISTER_E_DENIED, "session request refused: it fails authentication");
    if (rc == CLOISTER_OK) {
        sn->seq = seq;
        sn->used = ++st->session_clock;
        rc = pending_set(env, st, req, len, gid, handle);
    }
    if (rc == CLOISTER_OK) {
        wire_put_raw(out, gid, sizeof gid);
        wire_put_raw(out, handle, sizeof handle);
    }
    pthread_mutex_unlock(&st->lock);
    crypto_wipe(req, sizeof req);
    return rc;
}

static int ecall_sealed_envelope(struct tee_env *env, const uint8_t *in, size_t inlen,
                                 struct wire_writer *out)
{
    struct asky_state *st = tee_env_state(env);
    struct wire_reader r;
    struct wire_writer req, env_out;
    size_t reclen, envlen;
    uint8_t key[ASKY_KEY_LEN];
    wire_reader_init(&r, in, inlen);
    const uint8_t *handle = wire_get_raw(&r, ASKY_HANDLE_LEN);
    const uint8_t *rec = wire_get_bytes(&r, RECORD_MAX, &reclen);
    wire_writer_init(&req);
    wire_writer_init(&env_out);
    pthread_mutex_lock(&st->lock);
    struct pending *p = pending_find(st, handle);
    int rc = p ? CLOISTER_OK
               : tee_fail(env, CLOISTER_E_STATE, "sealed envelope: no such request pending");
    if (rc == CLOISTER_OK && wire_reader_finish(&r) != 0)
        rc = tee_fail(env, CLOISTER_E_INVALID, "sealed envelope: malformed");
    if (rc == CLOISTER_OK) {
        wire_put_raw(&req, p->req, p->len);
        wire_put_bytes(&req, rec, reclen);
        memcpy(key, p->reply_key, sizeof key);
    }
    if (p)
        pending_clear(p);
    pthread_mutex_unlock(&st->lock);
    if (rc == CLOISTER_OK && !wire_writer_ok(&req))
        rc = tee_fail(env, CLOISTER_E_NO_MEMORY, "out of memory");
    if (rc == CLOISTER_OK)
        rc = ecall_envelope(env, req.buf, req.len, &env_out);
    if (rc == CLOISTER_OK) {
        struct wire_reader er;
        wire_reader_init(&er, env_out.buf, env_out.len);
        const uint8_t *envl = wire_get_bytes(&er, SIZE_MAX, &envlen);
        size_t ptlen = envlen + ASKY_TICKET_LEN, total = ASKY_REPLY_OVERHEAD + ptlen;
        uint8_t *pt = malloc(ptlen), *sealed = malloc(total);
        if (!pt || !sealed || crypto_random(sealed, CRYPTO_AEAD_NONCE_LEN) != 0) {
            rc = tee_fail(env, CLOISTER_E_NO_MEMORY, "sealed envelope: out of memory");
        } else {
            memcpy(pt, envl, envlen);
            ticket_of(st, envl, envlen, pt + envlen);
            crypto_aead_seal(CRYPTO_AES256_GCM, key, sealed, ASKY_REPLY_AAD, strlen(ASKY_REPLY_AAD),
                             pt, ptlen, sealed + CRYPTO_AEAD_NONCE_LEN);
            wire_put_bytes(out, sealed, total);
        }
        free(pt);
        free(sealed);
    }
    crypto_wipe(key, sizeof key);
    if (req.buf)
        crypto_wipe(req.buf, req.len);
    wire_writer_free(&req);
    wire_writer_free(&env_out);
    return rc;
}

#define ASKY_ECALLS(X)                                                                             \
    X(ASKY_ECALL_SETUP, setup)                                                                     \
    X(ASKY_ECALL_LOAD, load)                                                                       \
    X(ASKY_ECALL_USERS, users)                                                                     \
    X(ASKY_ECALL_NAME, name)                                                                       \
    X(ASKY_ECALL_USER_ADD, user_add)                                                               \
    X(ASKY_ECALL_GROUP_CREATE, group_create)                                                       \
    X(ASKY_ECALL_GROUP_ADD, group_add)                                                             \
    X(ASKY_ECALL_GROUP_REMOVE, group_remove)                                                       \
    X(ASKY_ECALL_ENVELOPE, envelope)                                                               \
    X(ASKY_ECALL_USER_FORGET, user_forget)                                                         \
    X(ASKY_ECALL_SEALED_OPEN, sealed_open)                                                         \
    X(ASKY_ECALL_SEALED_ENVELOPE, sealed_envelope)                                                 \
    X(ASKY_ECALL_TICKET_CHECK, ticket_check)                                                       \
    X(ASKY_ECALL_EPOCH, epoch)                                                                     \
    X(ASKY_ECALL_USER_ADD_SEALED, user_add_sealed)                                                 \
    X(ASKY_ECALL_SESSION_OPEN, session_open)                                                       \
    X(ASKY_ECALL_SESSION_REQUEST, session_request)
TEE_ENCLAVE_DEFINE_WITH(asky, ASKY_ECALLS, .state_size = sizeof(struct asky_state),
                        .on_start = asky_on_start, .on_stop = asky_on_stop);
