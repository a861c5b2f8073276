/* scbr_enclave.c -- the trusted half of the SCBR router (enclave image "scbr").
 *
 * It holds the subscription index (naive, poset or fast, chosen by the init ecall) on the
 * enclave heap, and the header key derived from SK, the secret "scbr-sk" that the data provider
 * provisioned through the runtime's attested provisioning (so SK is restored, sealed, at every
 * start). Each batch ecall opens the envelopes of many messages: the epoch first, then
 * authentication (AES-256-GCM, AAD bound to kind, sender, sequence number and epoch), then the
 * per-sender replay check, so every refusal is counted under the right name. Per sender it keeps
 * the last accepted sequence number and which subscriptions it owns.
 *
 * The epoch (64 random bits, drawn at init) makes forgetting safe: an envelope must name the
 * current one, so after a restart (whatever state was imported) every message sealed before is
 * stale, and when the sender table is full the senders owning no subscription are evicted and
 * a new epoch starts, so their forgotten sequence numbers cannot be replayed under.
 *
 * Matching answers, per publication, the distinct senders (ZeroMQ routing ids) of the matching
 * subscriptions; the host only learns who receives what, never a filter or a header.
 *
 * The state (senders with their sequence numbers, subscriptions as plaintext records) can be
 * exported sealed to MRENCLAVE for the host to persist, and imported by a fresh instance. It
 * belongs to one SK: when SK is re-provisioned (by the pinned provider once one is, see
 * docs/tee.md), the subscriptions registered under the old key are dropped, so a new key holder
 * cannot probe them with publications of its own; an export records a check value of its key
 * and is imported only under the same SK. The key ecall tells anyone whether a key is held and
 * the pinned provider's public key, and a holder of the same SK (only) the number of
 * subscriptions; and the host, right after a provisioning, which subscribers lost their
 * subscriptions to a new SK.
 *
 * The same image is also a front (a router whose subscriptions live in shards: it re-seals its
 * clients' messages as records for them) or a shard (it takes only a front's records, and
 * splits, absorbs and prunes its partition when resharded): the section "Fronts and shards". */
#include <cloister/crypto.h>
#include <cloister/scbr.h>
#include <cloister/tee_enclave.h>

#include <pthread.h>
#include <string.h>

#include "scbr/common/scbr_idtab.h"
#include "scbr/common/scbr_proto.h"
#include "scbr/enclave/scbr_heap.h"

#define OWNERS_MAX SCBR_SENDERS_MAX /* the sender table's default and largest size */
#define SUBS_MAX (1u << 24)         /* subscription ids: 16.7M, far past any EPC budget */
#define NO_ID UINT32_MAX
static const char STATE_AAD[] = "cloister-scbr-state-v1";
static const uint8_t NO_KEY_CHECK[32]; /* the key check of a state made before any SK */

struct owner {
    struct scbr_ident who; /* first: scbr_idtab indexes it */
    uint32_t nsubs;
    uint64_t last_seq;
    uint64_t stamp; /* the last publication that listed it: one delivery per publication */
};

struct subrec {
    uint8_t *enc; /* the subscription's "CSBS" record; NULL: a free id */
    uint32_t len;
    uint32_t owner; /* owner index, or the next free id when free */
};

/* A front's forward ecall: how many shards, their epochs, how subscriptions are partitioned. */
struct shard_plan {
    uint32_t nshards;
    uint64_t epochs[SCBR_SHARDS_MAX];
    char key[SCBR_SHARD_KEY_MAX + 1]; /* the partition attribute; empty: by subscription id */
    size_t key_len;
};

struct state {
    pthread_mutex_t lock;
    bool ready;
    scbr_index *idx;
    crypto_aead *aead;
    crypto_aead *shard_aead; /* the shard key's: records between a front and its shards */
    uint8_t *secret;         /* secret memory: cached SK | scratch SK | header key | shard key */
    bool has_key;            /* the state belongs to the cached SK */
    uint8_t key_check[32];   /* HMAC(header key, label): names the key in exports */
    struct owner *owners;
    size_t nowners, owners_cap;
    struct scbr_idtab by_id;
    struct subrec *subs;
    uint32_t nids, subs_cap, free_head; /* ids below nids are live or on the free list */
    uint32_t *ids;
    size_t ids_cap;
    uint8_t *pt;
    size_t pt_cap;
    uint64_t stamp;
    uint64_t epoch;         /* envelopes must carry it: drawn at start and at every eviction */
    uint32_t next_id;       /* a front's next subscription id (its shards keep the records) */
    uint64_t fwd_seq;       /* a front's last record sequence number (every shard's replay check) */
    struct shard_plan plan; /* the forward ecall in progress */
    size_t owners_limit;    /* senders at most (init; OWNERS_MAX by default) */
    bool shard;             /* a shard (init): only a front's records, never clients' messages */
    uint8_t provider[32];   /* the control ecall in progress: the pinned provider's key */
    bool pinned;
    struct scbr_enclave_stats st;
};

/* Grows *p (elements of size) to at least need; false when out of memory. */
static bool grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap : 16;
    while (n < need)
        n *= 2;
    void *q = tee_realloc(*p, n * size);
    if (!q)
        return false;
    *p = q;
    *cap = n;
    return true;
}

static struct owner *owner_find(struct state *s, const uint8_t *id, size_t len)
{
    long i = scbr_idtab_find(&s->by_id, s->owners, sizeof *s->owners, id, len);
    return i < 0 ? NULL : &s->owners[i];
}

/* A fresh session epoch: every envelope sealed before it is refused as stale. */
static void new_epoch(struct state *s)
{
    uint64_t old = s->epoch;
    while (s->epoch == old || s->epoch == 0)
        if (crypto_random(&s->epoch, sizeof s->epoch) != 0)
            s->epoch = old + 1;
}

/* The sender table is full: forgets every sender that owns no subscription (publishers,
 * providers, subscribers gone), then starts a new epoch, so that the forgotten senders' old
 * messages, whose sequence numbers are no longer known, are refused as stale rather than taken
 * for new. Subscription owners are renumbered. */
static void evict_idle(struct state *s)
{
    size_t kept = 0;
    uint32_t *to = tee_malloc((s->nowners ? s->nowners : 1) * sizeof *to);
    if (!to)
        return;
    for (size_t i = 0; i < s->nowners; i++) {
        to[i] = (uint32_t)kept;
        if (s->owners[i].nsubs)
            s->owners[kept++] = s->owners[i];
    }
    for (uint32_t id = 0; id < s->nids; id++)
        if (s->subs[id].enc)
            s->subs[id].owner = to[s->subs[id].owner];
    tee_free(to);
    if (kept == s->nowners) /* nobody to evict: the table is full of subscribers */
        return;
    s->st.senders_evicted += s->nowners - kept;
    s->nowners = kept;
    s->st.senders = kept;
    scbr_idtab_rebuild(&s->by_id, s->owners, sizeof *s->owners, s->nowners, s->by_id.nslots,
                       &scbr_tee_heap);
    new_epoch(s);
}

/* A new sender (the caller checked it is absent); NULL when full. */
static struct owner *owner_add(struct state *s, const uint8_t *id, size_t len)
{
    if (s->nowners >= s->owners_limit)
        evict_idle(s);
    if (s->nowners >= s->owners_limit ||
        !grow((void **)&s->owners, &s->owners_cap, s->nowners + 1, sizeof *s->owners))
        return NULL;
    if (2 * (s->nowners + 1) > s->by_id.nslots &&
        scbr_idtab_rebuild(&s->by_id, s->owners, sizeof *s->owners, s->nowners,
                           2 * (s->nowners + 1), &scbr_tee_heap) != 0)
        return NULL;
    struct owner *o = &s->owners[s->nowners];
    memset(o, 0, sizeof *o);
    memcpy(o->who.id, id, len);
    o->who.len = (uint8_t)len;
    scbr_idtab_add(&s->by_id, s->owners, sizeof *s->owners, (uint32_t)s->nowners++);
    s->st.senders = s->nowners;
    return o;
}

static void count_refusal(struct state *s, int status)
{
    if (status == SCBR_ST_TAMPERED)
        s->st.refused_tampered++;
    else if (status == SCBR_ST_REPLAYED)
        s->st.refused_replayed++;
    else if (status == SCBR_ST_TRUNCATED)
        s->st.refused_truncated++;
    else if (status == SCBR_ST_STALE)
        s->st.refused_stale++;
    else if (status != SCBR_ST_OK)
        s->st.refused_other++;
}

/* Forgets every subscription and sender (SK changed). */
static void reset(struct state *s)
{
    for (uint32_t id = 0; id < s->nids; id++)
        if (s->subs[id].enc) {
            scbr_index_remove(s->idx, id, NULL);
            tee_free(s->subs[id].enc);
        }
    s->nids = 0;
    s->free_head = NO_ID;
    s->nowners = 0;
    s->st.subscriptions = 0;
    s->st.senders = 0;
    if (s->by_id.nslots)
        memset(s->by_id.slots, 0, s->by_id.nslots * sizeof *s->by_id.slots);
}

/* Makes the header key from the provisioned SK, again whenever SK was re-provisioned. */
static int load_key(struct tee_env *env, struct state *s)
{
    uint8_t *cached = s->secret, *cur = s->secret + 32, *key = s->secret + 64,
            *shard_key = s->secret + 96;
    size_t len = 0;
    int rc = tee_secret_get(tee_env_self(env), SCBR_SECRET_NAME, cur, 32, &len, NULL);
    if (rc != 0 || len != SCBR_SK_LEN)
        return SCBR_ST_NO_KEY;
    bool same = s->has_key && crypto_memeq(cur, cached, SCBR_SK_LEN);
    if (same && s->aead) {
        crypto_wipe(cur, 32);
        return SCBR_ST_OK;
    }
    if (s->has_key && !same)
        reset(s);
    crypto_aead_free(s->aead);
    crypto_aead_free(s->shard_aead);
    s->aead = s->shard_aead = NULL;
    if (scbr_derive_key(key, cur, SCBR_KEY_HEADER) == 0)
        s->aead = crypto_aead_new(CRYPTO_AES256_GCM, key);
    if (scbr_derive_key(shard_key, cur, SCBR_KEY_SHARD) == 0)
        s->shard_aead = crypto_aead_new(CRYPTO_AES256_GCM, shard_key);
    crypto_wipe(shard_key, 32);
    scbr_key_check(s->key_check, key);
    memcpy(cached, cur, 32);
    s->has_key = true;
    crypto_wipe(cur, 64);
    return s->aead && s->shard_aead ? SCBR_ST_OK : SCBR_ST_FAILED;
}

struct item {
    const uint8_t *sender;
    size_t sender_len;
    size_t pt_len;
    struct owner *owner;
};

/* Reads one batch item and opens its envelope into s->pt; on SCBR_ST_OK the sender's sequence
 * number has advanced (creating the sender on its first message). Limits are checked per item,
 * not by the reader, so that one oversized item is refused alone (the batch's framing is
 * checked by the caller before any item is applied). An envelope of another epoch is stale:
 * sealed before the enclave (re)started or evicted senders, it may be a replay whose sequence
 * number is no longer known, so it is refused before anything else. */
static int open_item(struct state *s, crypto_aead *aead, struct wire_reader *r, uint8_t kind,
                     int key_status, struct item *it)
{
    size_t env_len;
    it->sender = wire_get_bytes(r, SIZE_MAX, &it->sender_len);
    const uint8_t *env = wire_get_bytes(r, SIZE_MAX, &env_len);
    if (key_status != SCBR_ST_OK)
        return key_status;
    if (it->sender_len == 0 || it->sender_len > SCBR_SENDER_MAX || env_len > SCBR_BODY_MAX)
        return SCBR_ST_TOO_BIG;
    struct scbr_envelope e;
    int st = scbr_envelope_decode(&e, env, env_len);
    if (st != SCBR_ST_OK)
        return st;
    if (e.epoch != s->epoch)
        return SCBR_ST_STALE;
    if (!grow((void **)&s->pt, &s->pt_cap, e.ct_len, 1))
        return SCBR_ST_FAILED;
    st = scbr_envelope_open(aead, kind, it->sender, it->sender_len, &e, s->pt);
    if (st != SCBR_ST_OK)
        return st;
    it->pt_len = e.ct_len - SCBR_TAG_LEN;
    it->owner = owner_find(s, it->sender, it->sender_len);
    if (it->owner && e.seq <= it->owner->last_seq)
        return SCBR_ST_REPLAYED;
    if (!it->owner && !(it->owner = owner_add(s, it->sender, it->sender_len)))
        return SCBR_ST_FULL;
    it->owner->last_seq = e.seq;
    return SCBR_ST_OK;
}

static uint32_t take_id(struct state *s)
{
    if (s->free_head != NO_ID) {
        uint32_t id = s->free_head;
        s->free_head = s->subs[id].owner;
        return id;
    }
    size_t cap = s->subs_cap;
    if (s->nids >= SUBS_MAX || !grow((void **)&s->subs, &cap, s->nids + 1, sizeof *s->subs))
        return NO_ID;
    s->subs_cap = (uint32_t)cap;
    s->subs[s->nids] = (struct subrec){0};
    return s->nids++;
}

static void release_id(struct state *s, uint32_t id)
{
    tee_free(s->subs[id].enc);
    s->subs[id] = (struct subrec){NULL, 0, s->free_head};
    s->free_head = id;
}

/* Registers the subscription record enc for owner under the free id. */
static int add_sub(struct state *s, const uint8_t *enc, size_t len, uint32_t owner, uint32_t id)
{
    struct cloister_err err;
    struct scbr_sub *sub = scbr_sub_decode(enc, len, &err);
    if (!sub)
        return SCBR_ST_INVALID;
    int st = SCBR_ST_FAILED;
    uint8_t *copy = tee_malloc(len ? len : 1);
    if (copy && scbr_index_insert(s->idx, sub, id, NULL) == 0) {
        memcpy(copy, enc, len);
        s->subs[id] = (struct subrec){copy, (uint32_t)len, owner};
        s->owners[owner].nsubs++;
        s->st.subscriptions++;
        copy = NULL;
        st = SCBR_ST_OK;
    }
    tee_free(copy);
    scbr_sub_free(sub);
    return st;
}

static void remove_sub(struct state *s, uint32_t id)
{
    scbr_index_remove(s->idx, id, NULL);
    s->owners[s->subs[id].owner].nsubs--;
    s->st.subscriptions--;
    release_id(s, id);
}

static struct state *ready_state(struct tee_env *env)
{
    struct state *s = tee_env_state(env);
    pthread_mutex_lock(&s->lock);
    if (s->ready)
        return s;
    pthread_mutex_unlock(&s->lock);
    tee_fail(env, CLOISTER_E_STATE, "scbr: not initialised (init ecall first)");
    return NULL;
}

static int ecall_init(struct tee_env *env, const uint8_t *in, size_t inlen, struct wire_writer *out)
{
    struct state *s = tee_env_state(env);
    struct wire_reader r;
    wire_reader_init(&r, in, inlen);
    uint8_t kind = wire_get_u8(&r);
    uint32_t limit = wire_reader_remaining(&r) ? wire_get_u32(&r) : OWNERS_MAX;
    uint8_t role = wire_reader_remaining(&r) ? wire_get_u8(&r) : SCBR_ROLE_ROUTER;
    if (wire_reader_finish(&r) != 0 || kind > SCBR_INDEX_FAST || limit == 0 || limit > OWNERS_MAX ||
        role > SCBR_ROLE_SHARD)
        return tee_fail(env, CLOISTER_E_INVALID,
                        "scbr init: expected an index kind byte, a sender limit and a role");
    pthread_mutex_lock(&s->lock);
    int rc = CLOISTER_OK;
    if (s->ready)
        rc = tee_fail(env, CLOISTER_E_STATE, "scbr init: already initialised");
    else if (!(s->idx = scbr_index_create((enum scbr_index_kind)kind, &scbr_tee_heap)))
        rc = tee_fail(env, CLOISTER_E_NO_MEMORY, "scbr init: cannot create the index");
    s->ready = rc == CLOISTER_OK;
    s->owners_limit = limit;
    s->shard = role == SCBR_ROLE_SHARD;
    new_epoch(s);
    wire_put_u64(out, s->epoch);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* The shape every batch ecall shares: count, then per item open + handle. */
typedef void (*item_fn)(struct state *s, struct item *it, int status, struct wire_writer *out);

/* The batch's framing (count, then n x (bytes, bytes), nothing after): checked before any item
 * is applied, so a batch either fails whole and changes nothing, or answers every item. */
static size_t batch_count(struct wire_reader *r, const uint8_t *in, size_t inlen)
{
    wire_reader_init(r, in, inlen);
    size_t n = wire_get_count(r, 2, SCBR_BATCH_MAX), len;
    for (size_t i = 0; wire_reader_ok(r) && i < 2 * n; i++)
        wire_get_bytes(r, SIZE_MAX, &len);
    wire_reader_finish(r);
    return n;
}

/* Runs fn on every item of the batch in (opened with the header key, or with the shard key for
 * a shard's records), s locked by the caller. The framing is checked before any item is
 * applied. */
static int batch_locked(struct tee_env *env, struct state *s, const uint8_t *in, size_t inlen,
                        struct wire_writer *out, uint8_t kind, bool shard, item_fn fn)
{
    struct wire_reader r;
    size_t n = batch_count(&r, in, inlen);
    if (!wire_reader_ok(&r))
        return tee_fail(env, CLOISTER_E_INVALID, "scbr batch: %s", wire_reader_error(&r));
    if (s->shard != shard) /* a shard's ids come from its front: take_id would reuse them */
        return tee_fail(env, CLOISTER_E_STATE, "scbr batch: %s",
                        s->shard ? "this is a shard" : "this is no shard");
    wire_reader_init(&r, in, inlen);
    wire_get_count(&r, 2, SCBR_BATCH_MAX);
    int key_status = load_key(env, s);
    crypto_aead *aead = shard ? s->shard_aead : s->aead;
    size_t epoch_at = out->len;
    wire_put_u64(out, 0); /* the epoch, known at the end: an eviction may start a new one */
    wire_put_varint(out, n);
    for (size_t i = 0; i < n; i++) {
        struct item it;
        int st = open_item(s, aead, &r, kind, key_status, &it);
        fn(s, &it, st, out);
        if (st == SCBR_ST_OK)
            crypto_wipe(s->pt, it.pt_len);
    }
    for (int i = 0; wire_writer_ok(out) && i < 8; i++)
        out->buf[epoch_at + i] = (uint8_t)(s->epoch >> (56 - 8 * i));
    return CLOISTER_OK;
}

static int run_batch_as(struct tee_env *env, const uint8_t *in, size_t inlen,
                        struct wire_writer *out, uint8_t kind, bool shard, item_fn fn)
{
    struct state *s = ready_state(env);
    if (!s)
        return CLOISTER_E_STATE;
    int rc = batch_locked(env, s, in, inlen, out, kind, shard, fn);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int run_batch(struct tee_env *env, const uint8_t *in, size_t inlen, struct wire_writer *out,
                     uint8_t kind, item_fn fn)
{
    return run_batch_as(env, in, inlen, out, kind, false, fn);
}

static int shard_batch(struct tee_env *env, const uint8_t *in, size_t inlen,
                       struct wire_writer *out, uint8_t kind, item_fn fn)
{
    return run_batch_as(env, in, inlen, out, kind, true, fn);
}

/* An ecall that runs `runner` (run_batch, forward, shard_batch) with fn on each item. */
#define BATCH_ECALL(name, runner, kind, fn)                                                        \
    static int ecall_##name(struct tee_env *env, const uint8_t *in, size_t inlen,                  \
                            struct wire_writer *out)                                               \
    {                                                                                              \
        return runner(env, in, inlen, out, kind, fn);                                              \
    }

static void do_subscribe(struct state *s, struct item *it, int st, struct wire_writer *out)
{
    uint32_t id = 0;
    if (st == SCBR_ST_OK && (id = take_id(s)) == NO_ID)
        st = SCBR_ST_FULL;
    if (st == SCBR_ST_OK &&
        (st = add_sub(s, s->pt, it->pt_len, (uint32_t)(it->owner - s->owners), id)) != SCBR_ST_OK)
        release_id(s, id);
    if (st == SCBR_ST_OK)
        s->st.subscribed++;
    count_refusal(s, st);
    wire_put_u8(out, (uint8_t)st);
    wire_put_u32(out, st == SCBR_ST_OK ? id : 0);
}

static void do_unsubscribe(struct state *s, struct item *it, int st, struct wire_writer *out)
{
    if (st == SCBR_ST_OK && it->pt_len != 4)
        st = SCBR_ST_INVALID;
    if (st == SCBR_ST_OK) {
        uint32_t id = (uint32_t)s->pt[0] << 24 | (uint32_t)s->pt[1] << 16 |
                      (uint32_t)s->pt[2] << 8 | s->pt[3];
        if (id < s->nids && s->subs[id].enc && &s->owners[s->subs[id].owner] == it->owner) {
            remove_sub(s, id);
            s->st.unsubscribed++;
        } else {
            st = SCBR_ST_DENIED;
        }
    }
    count_refusal(s, st);
    wire_put_u8(out, (uint8_t)st);
}

/* Matches the publication record pt and writes u8 status, then varint k and the k distinct
 * subscribers (none unless accepted). */
static void match_write(struct state *s, const uint8_t *pt, size_t len, int st,
                        struct wire_writer *out)
{
    struct cloister_err err;
    struct scbr_pub *pub = NULL;
    if (st == SCBR_ST_OK && !(pub = scbr_pub_decode(pt, len, &err)))
        st = SCBR_ST_INVALID;
    if (st == SCBR_ST_OK && !grow((void **)&s->ids, &s->ids_cap, s->nids + 1, sizeof *s->ids))
        st = SCBR_ST_FAILED;
    count_refusal(s, st);
    wire_put_u8(out, (uint8_t)st);
    if (st != SCBR_ST_OK) {
        scbr_pub_free(pub);
        wire_put_varint(out, 0);
        return;
    }
    s->st.published++;
    size_t n = scbr_index_match(s->idx, pub, s->ids, s->ids_cap), k = 0;
    scbr_pub_free(pub);
    s->stamp++;
    for (size_t i = 0; i < n; i++) { /* ids -> distinct owners, in place */
        struct owner *o = &s->owners[s->subs[s->ids[i]].owner];
        if (o->stamp != s->stamp) {
            o->stamp = s->stamp;
            s->ids[k++] = s->subs[s->ids[i]].owner;
        }
    }
    s->st.matched += k;
    wire_put_varint(out, k);
    for (size_t i = 0; i < k; i++)
        wire_put_bytes(out, s->owners[s->ids[i]].who.id, s->owners[s->ids[i]].who.len);
}

static void do_match(struct state *s, struct item *it, int st, struct wire_writer *out)
{
    match_write(s, s->pt, it->pt_len, st, out);
}

/* ---- Fronts and shards (docs/scbr.md, "Shards") ----
 *
 * A front is a router whose subscriptions live in N shards. It opens its clients' envelopes
 * as above (epoch, authentication, replay), gives each subscription its id, and re-seals each
 * message's plaintext for the shards that must see it under the shard key HKDF(SK, "shard
 * key"): a record is an envelope of the message's kind whose sender is the front's epoch (8
 * bytes), sealed for the shard's epoch, numbered by the front's record counter. A shard opens
 * records as a router opens envelopes: a record sealed for a previous instance of the shard is
 * stale, a record seen before (per front epoch) is a replay. Record plaintext: bytes subscriber
 * | u32 subscription id | body (the subscription or publication record; empty to unsubscribe).
 *
 * Partitioning: by subscription id (a hash of it) by default, a publication going to every
 * shard; or by the value of a key attribute: a subscription with an equality on it goes to the
 * value's shard, one without to every shard, and a publication to its value's shard (shard 0
 * without the attribute), so each publication is matched once per subscriber's shard. */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* The shard of a value: numbers that compare equal land together (an integral double as the
 * integer), a string by its bytes. */
static uint32_t value_shard(const struct scbr_value *v, uint32_t n)
{
    uint64_t h = 1469598103934665603ull;
    if (v->type == SCBR_STRING) {
        for (uint32_t i = 0; i < v->u.s.len; i++)
            h = (h ^ (uint8_t)v->u.s.ptr[i]) * 1099511628211ull;
        return (uint32_t)(mix64(h) % n);
    }
    double d = v->u.d;
    if (v->type == SCBR_INT)
        h = (uint64_t)v->u.i;
    else if (d >= -9.2e18 && d <= 9.2e18 && (double)(int64_t)d == d)
        h = (uint64_t)(int64_t)d;
    else
        memcpy(&h, &d, sizeof h), h = ~h;
    return (uint32_t)(mix64(h + 1) % n);
}

static uint32_t id_shard(uint32_t id, uint32_t n)
{
    return (uint32_t)(mix64(id) % n);
}

#define ALL_SHARDS UINT32_MAX

/* The shard of subscription id among n: one, or ALL_SHARDS (by attribute, without an
 * equality on it). */
static uint32_t sub_shard(const char *key, size_t key_len, const struct scbr_sub *sub, uint32_t id,
                          uint32_t n)
{
    if (!key_len)
        return id_shard(id, n);
    uint32_t one = ALL_SHARDS;
    for (size_t i = 0; i < sub->n; i++)
        if (sub->preds[i].op == SCBR_EQ && strcmp(sub->preds[i].name, key) == 0)
            one = value_shard(&sub->preds[i].value, n);
    return one;
}

/* Seals one record for shard and writes u32 shard | bytes front epoch | bytes record: the
 * last two are the shard's batch item as they are. */
static void put_record(struct state *s, uint8_t kind, const struct item *it, uint32_t id,
                       const uint8_t *body, size_t len, uint32_t shard, struct wire_writer *out)
{
    uint8_t front[8], nonce[SCBR_NONCE_LEN];
    for (int i = 0; i < 8; i++)
        front[i] = (uint8_t)(s->epoch >> (56 - 8 * i));
    struct wire_writer pt, rec;
    wire_writer_init(&pt);
    wire_writer_init(&rec);
    wire_put_bytes(&pt, it->sender, it->sender_len);
    wire_put_u32(&pt, id);
    wire_put_raw(&pt, body, len);
    if (!wire_writer_ok(&pt) || crypto_random(nonce, sizeof nonce) != 0 ||
        scbr_envelope_seal(s->shard_aead, kind, front, sizeof front, s->plan.epochs[shard],
                           ++s->fwd_seq, nonce, pt.buf, pt.len, &rec) != 0)
        out->failed = true; /* the ecall fails: the host answers every item "failed" */
    wire_put_u32(out, shard);
    wire_put_bytes(out, front, sizeof front);
    wire_put_bytes(out, rec.buf, rec.len);
    crypto_wipe(pt.buf, pt.len);
    wire_writer_free(&pt);
    wire_writer_free(&rec);
}

/* Writes u8 status | u32 id | varint t | t x (a record, put_record): the item's records
 * for the shards from `one` (or every shard when one is UINT32_MAX). */
static void put_forward(struct state *s, uint8_t kind, const struct item *it, int st, uint32_t id,
                        const uint8_t *body, size_t len, uint32_t one, struct wire_writer *out)
{
    count_refusal(s, st);
    wire_put_u8(out, (uint8_t)st);
    wire_put_u32(out, st == SCBR_ST_OK ? id : 0);
    uint32_t n = st != SCBR_ST_OK ? 0 : one == UINT32_MAX ? s->plan.nshards : 1;
    wire_put_varint(out, n);
    for (uint32_t i = 0; i < n; i++)
        put_record(s, kind, it, id, body, len, n == 1 && one != UINT32_MAX ? one : i, out);
}

static void fwd_subscribe(struct state *s, struct item *it, int st, struct wire_writer *out)
{
    struct cloister_err err;
    struct scbr_sub *sub = NULL;
    uint32_t id = s->next_id, one = 0;
    if (st == SCBR_ST_OK && !(sub = scbr_sub_decode(s->pt, it->pt_len, &err)))
        st = SCBR_ST_INVALID;
    if (st == SCBR_ST_OK && id >= SUBS_MAX)
        st = SCBR_ST_FULL;
    if (st == SCBR_ST_OK)
        one = sub_shard(s->plan.key, s->plan.key_len, sub, id, s->plan.nshards);
    scbr_sub_free(sub);
    if (st == SCBR_ST_OK) {
        s->next_id++;
        s->st.subscribed++;
    }
    put_forward(s, SCBR_MSG_SUBSCRIBE, it, st, id, s->pt, it->pt_len, one, out);
}

static void fwd_unsubscribe(struct state *s, struct item *it, int st, struct wire_writer *out)
{
    uint32_t id = 0;
    if (st == SCBR_ST_OK && it->pt_len != 4)
        st = SCBR_ST_INVALID;
    if (st == SCBR_ST_OK)
        id = (uint32_t)s->pt[0] << 24 | (uint32_t)s->pt[1] << 16 | (uint32_t)s->pt[2] << 8 |
             s->pt[3];
    uint32_t one = s->plan.key_len ? UINT32_MAX : id_shard(id, s->plan.nshards);
    put_forward(s, SCBR_MSG_UNSUBSCRIBE, it, st, id, NULL, 0, one, out);
}

static void fwd_publish(struct state *s, struct item *it, int st, struct wire_writer *out)
{
    struct cloister_err err;
    struct scbr_pub *pub = NULL;
    uint32_t one = UINT32_MAX;
    if (st == SCBR_ST_OK && !(pub = scbr_pub_decode(s->pt, it->pt_len, &err)))
        st = SCBR_ST_INVALID;
    if (st == SCBR_ST_OK && s->plan.key_len) {
        const struct scbr_value *v = scbr_pub_get(pub, s->plan.key);
        one = v ? value_shard(v, s->plan.nshards) : 0;
    }
    scbr_pub_free(pub);
    if (st == SCBR_ST_OK)
        s->st.published++;
    put_forward(s, SCBR_MSG_PUBLISH, it, st, 0, s->pt, it->pt_len, one, out);
}

/* in: varint nshards | nshards x u64 shard epoch | bytes key attribute (empty: by id) | bytes
 * batch; out: u64 epoch | varint n | n x what put_forward writes. */
static int forward(struct tee_env *env, const uint8_t *in, size_t inlen, struct wire_writer *out,
                   uint8_t kind, item_fn fn)
{
    struct wire_reader r;
    struct shard_plan plan = {0};
    wire_reader_init(&r, in, inlen);
    plan.nshards = (uint32_t)wire_get_count(&r, 8, SCBR_SHARDS_MAX);
    for (uint32_t i = 0; i < plan.nshards; i++)
        plan.epochs[i] = wire_get_u64(&r);
    const uint8_t *key = wire_get_bytes(&r, SCBR_SHARD_KEY_MAX, &plan.key_len);
    size_t blen;
    const uint8_t *batch = wire_get_bytes(&r, SIZE_MAX, &blen);
    if (wire_reader_finish(&r) != 0 || plan.nshards == 0 || memchr(key, 0, plan.key_len))
        return tee_fail(env, CLOISTER_E_INVALID, "scbr forward: %s",
                        wire_reader_ok(&r) ? "no shard, or a key with a NUL"
                                           : wire_reader_error(&r));
    memcpy(plan.key, key, plan.key_len);
    struct state *s = ready_state(env);
    if (!s)
        return CLOISTER_E_STATE;
    s->plan = plan;
    int rc = batch_locked(env, s, batch, blen, out, kind, false, fn);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* A record's plaintext, in s->pt. */
struct record {
    const uint8_t *who, *body;
    size_t who_len, body_len;
    uint32_t id;
};

static int record_decode(struct state *s, const struct item *it, int st, struct record *rec)
{
    if (st != SCBR_ST_OK)
        return st;
    struct wire_reader r;
    wire_reader_init(&r, s->pt, it->pt_len);
    rec->who = wire_get_bytes(&r, SCBR_SENDER_MAX, &rec->who_len);
    rec->id = wire_get_u32(&r);
    rec->body_len = wire_reader_remaining(&r);
    rec->body = wire_get_raw(&r, rec->body_len);
    return wire_reader_ok(&r) && rec->who_len && rec->id < SUBS_MAX ? SCBR_ST_OK : SCBR_ST_INVALID;
}

/* Registers the subscription record enc of who under the id its front gave it. */
static int place_sub(struct state *s, const uint8_t *who, size_t who_len, uint32_t id,
                     const uint8_t *enc, size_t len)
{
    struct owner *o;
    size_t cap = s->subs_cap;
    if (id < s->nids && s->subs[id].enc)
        return SCBR_ST_DENIED; /* the id is taken: a front restarted from an older state */
    if (!(o = owner_find(s, who, who_len)) && !(o = owner_add(s, who, who_len)))
        return SCBR_ST_FULL;
    if (!grow((void **)&s->subs, &cap, (size_t)id + 1, sizeof *s->subs))
        return SCBR_ST_FAILED;
    s->subs_cap = (uint32_t)cap;
    for (; s->nids <= id; s->nids++)
        s->subs[s->nids] = (struct subrec){NULL, 0, NO_ID};
    return add_sub(s, enc, len, (uint32_t)(o - s->owners), id);
}

static void shard_sub(struct state *s, struct item *it, int st, struct wire_writer *out)
{
    struct record rec;
    st = record_decode(s, it, st, &rec);
    if (st == SCBR_ST_OK)
        st = place_sub(s, rec.who, rec.who_len, rec.id, rec.body, rec.body_len);
    if (st == SCBR_ST_OK)
        s->st.subscribed++;
    count_refusal(s, st);
    wire_put_u8(out, (uint8_t)st);
}

static void shard_unsub(struct state *s, struct item *it, int st, struct wire_writer *out)
{
    struct record rec;
    st = record_decode(s, it, st, &rec);
    struct owner *o = st == SCBR_ST_OK ? owner_find(s, rec.who, rec.who_len) : NULL;
    if (st == SCBR_ST_OK && o && rec.id < s->nids && s->subs[rec.id].enc &&
        &s->owners[s->subs[rec.id].owner] == o) {
        remove_sub(s, rec.id);
        s->st.unsubscribed++;
    } else if (st == SCBR_ST_OK) {
        st = SCBR_ST_DENIED;
    }
    count_refusal(s, st);
    wire_put_u8(out, (uint8_t)st);
}

static void shard_pub(struct state *s, struct item *it, int st, struct wire_writer *out)
{
    struct record rec;
    st = record_decode(s, it, st, &rec);
    match_write(s, rec.body, st == SCBR_ST_OK ? rec.body_len : 0, st, out);
}

/* ---- Resharding: N shards become N' (the front paused meanwhile) ----
 *
 * Each shard `split`s: for every subscription that a shard t of the new partition must hold
 * and did not hold under the old one, it seals the subscription (id, owner, record) into a
 * move for t (only the lowest old holder of a subscription every shard held sends it); the
 * targets `absorb` the moves; then every shard `prune`s what the new partition does not give
 * it. A move is an envelope under the shard key of kind SCBR_SHARD_MOVE, sender the source's
 * epoch, sealed for the target's epoch and numbered by the source's counter, so a target takes
 * each once. Until the prune, a subscription is held twice at most, never lost. */

struct reshard {
    uint32_t old_n, new_n, self;
    char key[SCBR_SHARD_KEY_MAX + 1];
    size_t key_len;
    uint64_t epochs[SCBR_SHARDS_MAX]; /* the new partition's shards */
};

/* in: varint old n | varint new n | u32 self | bytes key | new n x u64 epoch */
static int reshard_decode(struct tee_env *env, const uint8_t *in, size_t inlen, struct reshard *p)
{
    struct wire_reader r;
    wire_reader_init(&r, in, inlen);
    p->old_n = (uint32_t)wire_get_count(&r, 0, SCBR_SHARDS_MAX);
    p->new_n = (uint32_t)wire_get_count(&r, 8, SCBR_SHARDS_MAX);
    p->self = wire_get_u32(&r);
    const uint8_t *key = wire_get_bytes(&r, SCBR_SHARD_KEY_MAX, &p->key_len);
    for (uint32_t i = 0; i < p->new_n; i++)
        p->epochs[i] = wire_get_u64(&r);
    if (wire_reader_finish(&r) != 0 || !p->old_n || !p->new_n || p->self >= p->old_n ||
        memchr(key, 0, p->key_len))
        return tee_fail(env, CLOISTER_E_INVALID, "scbr reshard: a malformed plan");
    memcpy(p->key, key, p->key_len);
    p->key[p->key_len] = 0;
    return CLOISTER_OK;
}

static bool holds(uint32_t shard_of, uint32_t t)
{
    return shard_of == ALL_SHARDS || shard_of == t;
}

/* Decodes the plan in, then locks a shard's ready state holding SK: NULL (and *rc, the ecall's
 * failure) otherwise. */
static struct state *plan_state(struct tee_env *env, const uint8_t *in, size_t inlen,
                                struct reshard *p, int *rc)
{
    if ((*rc = reshard_decode(env, in, inlen, p)) != CLOISTER_OK)
        return NULL;
    struct state *s = ready_state(env);
    if (s && s->shard && load_key(env, s) == SCBR_ST_OK)
        return s;
    if (s)
        pthread_mutex_unlock(&s->lock);
    *rc = tee_fail(env, CLOISTER_E_STATE, "scbr reshard: not a shard holding SK");
    return NULL;
}

/* The subscription at id, decoded (NULL when the id is free). */
static struct scbr_sub *sub_at(const struct state *s, uint32_t id)
{
    struct cloister_err err;
    return s->subs[id].enc ? scbr_sub_decode(s->subs[id].enc, s->subs[id].len, &err) : NULL;
}

/* Writes each move: u32 target | bytes source epoch | bytes move. */
static void put_moves(struct state *s, const struct reshard *p, struct wire_writer *moves,
                      struct wire_writer *out)
{
    uint8_t self[8], nonce[SCBR_NONCE_LEN];
    for (int i = 0; i < 8; i++)
        self[i] = (uint8_t)(s->epoch >> (56 - 8 * i));
    size_t n = 0;
    for (uint32_t t = 0; t < p->new_n; t++)
        n += moves[t].len > 0;
    wire_put_u64(out, s->epoch);
    wire_put_varint(out, n);
    for (uint32_t t = 0; t < p->new_n; t++) {
        if (!moves[t].len)
            continue;
        struct wire_writer env;
        wire_writer_init(&env);
        if (!wire_writer_ok(&moves[t]) || crypto_random(nonce, sizeof nonce) != 0 ||
            scbr_envelope_seal(s->shard_aead, SCBR_SHARD_MOVE, self, sizeof self, p->epochs[t],
                               ++s->fwd_seq, nonce, moves[t].buf, moves[t].len, &env) != 0)
            out->failed = true;
        wire_put_u32(out, t);
        wire_put_bytes(out, self, sizeof self);
        wire_put_bytes(out, env.buf, env.len);
        wire_writer_free(&env);
    }
}

/* in: a plan; out: u64 epoch | varint m | m x (u32 target | bytes source | bytes move) */
static int ecall_shard_split(struct tee_env *env, const uint8_t *in, size_t inlen,
                             struct wire_writer *out)
{
    struct reshard p;
    int rc;
    struct state *s = plan_state(env, in, inlen, &p, &rc);
    if (!s)
        return rc;
    struct wire_writer *moves = tee_malloc(p.new_n * sizeof *moves);
    if (!moves) {
        pthread_mutex_unlock(&s->lock);
        return tee_fail(env, CLOISTER_E_NO_MEMORY, "scbr split: out of memory");
    }
    for (uint32_t t = 0; t < p.new_n; t++)
        wire_writer_init(&moves[t]);
    for (uint32_t id = 0; id < s->nids; id++) {
        struct scbr_sub *sub = sub_at(s, id);
        if (!sub)
            continue;
        uint32_t was = sub_shard(p.key, p.key_len, sub, id, p.old_n),
                 now = sub_shard(p.key, p.key_len, sub, id, p.new_n);
        scbr_sub_free(sub);
        if (p.self != (was == ALL_SHARDS ? 0 : was))
            continue; /* its lowest old holder sends it */
        const struct owner *o = &s->owners[s->subs[id].owner];
        for (uint32_t t = 0; t < p.new_n; t++) {
            if (!holds(now, t) || (t < p.old_n && holds(was, t)))
                continue;
            wire_put_u32(&moves[t], id); /* a move: n x (u32 id | bytes owner | bytes record) */
            wire_put_bytes(&moves[t], o->who.id, o->who.len);
            wire_put_bytes(&moves[t], s->subs[id].enc, s->subs[id].len);
        }
    }
    put_moves(s, &p, moves, out);
    pthread_mutex_unlock(&s->lock);
    for (uint32_t t = 0; t < p.new_n; t++)
        wire_writer_free(&moves[t]);
    tee_free(moves);
    return wire_writer_ok(out) ? CLOISTER_OK
                               : tee_fail(env, CLOISTER_E_NO_MEMORY, "scbr split: out of memory");
}

/* A move: subscriptions to hold (those already held are skipped). */
static void absorb(struct state *s, struct item *it, int st, struct wire_writer *out)
{
    struct wire_reader r;
    wire_reader_init(&r, s->pt, st == SCBR_ST_OK ? it->pt_len : 0);
    while (st == SCBR_ST_OK && wire_reader_ok(&r) && wire_reader_remaining(&r)) {
        size_t who_len, len;
        uint32_t id = wire_get_u32(&r);
        const uint8_t *who = wire_get_bytes(&r, SCBR_SENDER_MAX, &who_len);
        const uint8_t *enc = wire_get_bytes(&r, SCBR_HEADER_MAX, &len);
        if (wire_reader_ok(&r) && (!who_len || id >= SUBS_MAX))
            wire_reader_fail(&r, "bad subscription");
        if (wire_reader_ok(&r) && !(id < s->nids && s->subs[id].enc))
            st = place_sub(s, who, who_len, id, enc, len);
    }
    if (st == SCBR_ST_OK && !wire_reader_ok(&r))
        st = SCBR_ST_INVALID;
    count_refusal(s, st);
    wire_put_u8(out, (uint8_t)st);
}

/* in: a plan; out: varint subscriptions removed (those the new partition gives others). */
static int ecall_shard_prune(struct tee_env *env, const uint8_t *in, size_t inlen,
                             struct wire_writer *out)
{
    struct reshard p;
    int rc;
    struct state *s = plan_state(env, in, inlen, &p, &rc);
    if (!s)
        return rc;
    size_t removed = 0;
    for (uint32_t id = 0; id < s->nids; id++) {
        struct scbr_sub *sub = sub_at(s, id);
        if (sub && !holds(sub_shard(p.key, p.key_len, sub, id, p.new_n), p.self)) {
            remove_sub(s, id);
            removed++;
        }
        scbr_sub_free(sub);
    }
    pthread_mutex_unlock(&s->lock);
    wire_put_varint(out, removed);
    return CLOISTER_OK;
}

/* A subscriber left (bye, or silent past the host's timeout): its subscriptions go; its
 * sequence number stays, so its old messages cannot be replayed. */
static int ecall_drop(struct tee_env *env, const uint8_t *in, size_t inlen, struct wire_writer *out)
{
    struct state *s = ready_state(env);
    if (!s)
        return CLOISTER_E_STATE;
    struct owner *o = inlen && inlen <= SCBR_SENDER_MAX ? owner_find(s, in, inlen) : NULL;
    size_t removed = 0;
    for (uint32_t id = 0; o && o->nsubs && id < s->nids; id++)
        if (s->subs[id].enc && &s->owners[s->subs[id].owner] == o) {
            remove_sub(s, id);
            removed++;
        }
    pthread_mutex_unlock(&s->lock);
    wire_put_varint(out, removed);
    return CLOISTER_OK;
}

static int ecall_export(struct tee_env *env, const uint8_t *in, size_t inlen,
                        struct wire_writer *out)
{
    struct state *s = ready_state(env);
    if (!s)
        return CLOISTER_E_STATE;
    load_key(env, s);
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_header(&w, "CSRX", 1);
    wire_put_raw(&w, s->has_key ? s->key_check : NO_KEY_CHECK, 32);
    wire_put_varint(&w, s->nowners);
    for (size_t i = 0; i < s->nowners; i++) {
        wire_put_bytes(&w, s->owners[i].who.id, s->owners[i].who.len);
        wire_put_u64(&w, s->owners[i].last_seq);
    }
    wire_put_varint(&w, s->st.subscriptions);
    for (uint32_t id = 0; id < s->nids; id++)
        if (s->subs[id].enc) {
            wire_put_u32(&w, id);
            wire_put_varint(&w, s->subs[id].owner);
            wire_put_bytes(&w, s->subs[id].enc, s->subs[id].len);
        }
    wire_put_u32(&w, s->next_id);
    pthread_mutex_unlock(&s->lock);
    int rc = wire_writer_ok(&w) ? CLOISTER_OK
                                : tee_fail(env, CLOISTER_E_NO_MEMORY, "scbr export: out of memory");
    size_t cap = tee_sealed_size(w.len), len;
    uint8_t *blob = rc == CLOISTER_OK ? wire_writer_reserve(out, cap) : NULL;
    if (rc == CLOISTER_OK && !blob)
        rc = tee_fail(env, CLOISTER_E_TOO_BIG, "scbr export: %zu bytes do not fit", cap);
    if (rc == CLOISTER_OK && tee_seal(tee_env_self(env), TEE_SEAL_MRENCLAVE, STATE_AAD,
                                      sizeof STATE_AAD, w.buf, w.len, blob, cap, &len, NULL) != 0)
        rc = tee_fail(env, CLOISTER_E_FAILED, "scbr export: sealing failed");
    if (rc == CLOISTER_OK)
        wire_writer_commit(out, len);
    wire_writer_free(&w);
    return rc;
}

/* Decodes an exported state into the (empty) instance, keyed by check. */
static int import_state(struct state *s, const uint8_t *check, const uint8_t *pt, size_t len,
                        struct wire_reader *r)
{
    wire_reader_init(r, pt, len);
    wire_get_header(r, "CSRX", 1);
    const uint8_t *sealed_check = wire_get_raw(r, 32);
    if (wire_reader_ok(r) && !crypto_memeq(sealed_check, check, 32)) {
        wire_reader_fail(r, "the state was exported under another SK (provision that SK, or "
                            "remove the state to start empty)");
        return CLOISTER_E_DENIED;
    }
    size_t n = wire_get_count(r, 9, s->owners_limit);
    for (size_t i = 0; wire_reader_ok(r) && i < n; i++) {
        size_t idlen;
        const uint8_t *id = wire_get_bytes(r, SCBR_SENDER_MAX, &idlen);
        uint64_t seq = wire_get_u64(r);
        struct owner *o = NULL;
        if (wire_reader_ok(r) && (!idlen || owner_find(s, id, idlen)))
            wire_reader_fail(r, "empty or repeated sender");
        else if (wire_reader_ok(r) && !(o = owner_add(s, id, idlen)))
            return CLOISTER_E_NO_MEMORY;
        if (o)
            o->last_seq = seq;
    }
    size_t nsubs = wire_get_count(r, 6, SUBS_MAX);
    for (size_t i = 0; wire_reader_ok(r) && i < nsubs; i++) {
        uint32_t id = wire_get_u32(r);
        uint64_t owner = wire_get_varint(r);
        size_t elen;
        const uint8_t *enc = wire_get_bytes(r, SCBR_HEADER_MAX, &elen);
        size_t cap = s->subs_cap;
        if (wire_reader_ok(r) &&
            (owner >= s->nowners || id >= SUBS_MAX || (id < s->nids && s->subs[id].enc)))
            wire_reader_fail(r, "bad owner or repeated subscription id");
        else if (wire_reader_ok(r) &&
                 !grow((void **)&s->subs, &cap, (size_t)id + 1, sizeof *s->subs))
            return CLOISTER_E_NO_MEMORY;
        s->subs_cap = (uint32_t)cap;
        for (; wire_reader_ok(r) && s->nids <= id; s->nids++) /* ids keep their numbers */
            s->subs[s->nids] = (struct subrec){NULL, 0, NO_ID};
        if (wire_reader_ok(r) && add_sub(s, enc, elen, (uint32_t)owner, id) != SCBR_ST_OK)
            wire_reader_fail(r, "a stored subscription is invalid");
    }
    if (wire_reader_remaining(r) == 4) /* a front's next id (absent in older states) */
        s->next_id = wire_get_u32(r);
    for (uint32_t id = s->nids; id-- > 0;) /* the ids in between are free */
        if (!s->subs[id].enc) {
            s->subs[id].owner = s->free_head;
            s->free_head = id;
        }
    return wire_reader_finish(r) == 0 ? CLOISTER_OK : CLOISTER_E_INVALID;
}

static int ecall_import(struct tee_env *env, const uint8_t *in, size_t inlen,
                        struct wire_writer *out)
{
    struct state *s = ready_state(env);
    if (!s)
        return CLOISTER_E_STATE;
    int rc = CLOISTER_OK;
    uint8_t *pt = NULL;
    size_t len = 0;
    struct cloister_err err = {0};
    struct wire_reader r = {0};
    load_key(env, s);
    if (s->nowners || s->nids)
        rc = tee_fail(env, CLOISTER_E_STATE, "scbr import: the instance is not empty");
    else if (inlen < TEE_SEAL_OVERHEAD || !(pt = tee_malloc(inlen - TEE_SEAL_OVERHEAD + 1)))
        rc = tee_fail(env, CLOISTER_E_INVALID, "scbr import: no room or not a sealed blob");
    else if (tee_unseal(tee_env_self(env), in, inlen, STATE_AAD, sizeof STATE_AAD, pt,
                        inlen - TEE_SEAL_OVERHEAD, &len, &err) != 0)
        rc = tee_fail(env, CLOISTER_E_DENIED, "scbr import: %s", err.msg);
    else if ((rc = import_state(s, s->has_key ? s->key_check : NO_KEY_CHECK, pt, len, &r)) !=
             CLOISTER_OK)
        rc = tee_fail(env, rc, "scbr import: %s", wire_reader_error(&r));
    if (pt) {
        crypto_wipe(pt, len);
        tee_free(pt);
    }
    if (rc == CLOISTER_OK) { /* the host watches these subscribers for silence again */
        wire_put_varint(out, s->st.subscriptions);
        size_t n = 0;
        for (size_t i = 0; i < s->nowners; i++)
            n += s->owners[i].nsubs > 0;
        wire_put_varint(out, n);
        for (size_t i = 0; i < s->nowners; i++)
            if (s->owners[i].nsubs)
                wire_put_bytes(out, s->owners[i].who.id, s->owners[i].who.len);
    }
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* What a provider may learn before provisioning, and the host right after: whether a key is
 * held, the pinned provider's public key (public anyway), and -- sealed under the header key
 * for the asker's nonce, so only a holder of the same SK reads it and a host cannot replay an
 * old answer -- the number of subscriptions. A stranger learns no key check value and no
 * count. Then, when SK was just replaced, the senders whose subscriptions went (for the host).
 *
 *   in: the asker's nonce (16 to 32 bytes), or nothing (the host)
 *   out: u8 has key | bytes provider key (0 or 32) | bytes sealed count (an envelope of kind
 *        SCBR_MSG_KEY, sender = the nonce, seq 0, plaintext u64 subscriptions; empty without
 *        key or nonce) | varint n, n x bytes sender dropped */
static void key_answer(struct tee_env *env, struct state *s, const uint8_t *nonce, size_t len,
                       struct wire_writer *out)
{
    uint8_t provider[32], iv[SCBR_NONCE_LEN], count[8];
    size_t plen = 0;
    tee_secret_get(tee_env_self(env), TEE_PROVIDER_SECRET, provider, sizeof provider, &plen, NULL);
    wire_put_u8(out, s->has_key);
    wire_put_bytes(out, provider, plen == 32 ? 32 : 0);
    struct wire_writer sealed;
    wire_writer_init(&sealed);
    for (int i = 0; i < 8; i++)
        count[i] = (uint8_t)(s->st.subscriptions >> (56 - 8 * i));
    if (s->has_key && s->aead && len >= 16 && len <= SCBR_SENDER_MAX &&
        crypto_random(iv, sizeof iv) == 0)
        scbr_envelope_seal(s->aead, SCBR_MSG_KEY, nonce, len, s->epoch, 0, iv, count, sizeof count,
                           &sealed);
    wire_put_bytes(out, sealed.buf, sealed.len);
    wire_writer_free(&sealed);
}

static int ecall_key(struct tee_env *env, const uint8_t *in, size_t inlen, struct wire_writer *out)
{
    struct state *s = ready_state(env);
    if (!s)
        return CLOISTER_E_STATE;
    struct wire_writer owners;
    wire_writer_init(&owners);
    size_t n = 0;
    for (size_t i = 0; i < s->nowners; i++)
        if (s->owners[i].nsubs) {
            wire_put_bytes(&owners, s->owners[i].who.id, s->owners[i].who.len);
            n++;
        }
    uint8_t before[32];
    memcpy(before, s->key_check, 32);
    bool had = s->has_key, replaced = load_key(env, s) == SCBR_ST_OK && had &&
                                      !crypto_memeq(before, s->key_check, 32);
    key_answer(env, s, in, inlen, out);
    wire_put_varint(out, replaced ? n : 0);
    if (replaced)
        wire_put_raw(out, owners.buf, owners.len);
    pthread_mutex_unlock(&s->lock);
    int rc = wire_writer_ok(&owners)
                 ? CLOISTER_OK
                 : tee_fail(env, CLOISTER_E_NO_MEMORY, "scbr key: out of memory");
    wire_writer_free(&owners);
    return rc;
}

/* A reshard command: authentic under SK (the envelope), and signed by the pinned provider for
 * this very connection, epoch and sequence number (scbr_reshard_signed), so that neither a
 * client holding SK nor the host, replaying or re-sending it, can move a front's shards. The
 * enclave only judges it; the host does the move. */
static void do_reshard(struct state *s, struct item *it, int st, struct wire_writer *out)
{
    uint32_t shards = 0;
    if (st == SCBR_ST_OK && it->pt_len != SCBR_RESHARD_CMD_LEN)
        st = SCBR_ST_INVALID;
    if (st == SCBR_ST_OK) {
        uint8_t msg[SCBR_RESHARD_SIGNED_MAX];
        shards = (uint32_t)s->pt[0] << 24 | (uint32_t)s->pt[1] << 16 | (uint32_t)s->pt[2] << 8 |
                 s->pt[3];
        size_t len = scbr_reshard_signed(msg, it->sender, it->sender_len, s->epoch,
                                         it->owner->last_seq, shards);
        if (!s->pinned || crypto_ed25519_verify(s->pt + 4, msg, len, s->provider) != 0)
            st = SCBR_ST_DENIED;
        if (st == SCBR_ST_OK && (shards == 0 || shards > SCBR_SHARDS_MAX))
            st = SCBR_ST_INVALID;
    }
    count_refusal(s, st);
    wire_put_u8(out, (uint8_t)st);
    wire_put_u32(out, st == SCBR_ST_OK ? shards : 0);
}

static int control_batch(struct tee_env *env, const uint8_t *in, size_t inlen,
                         struct wire_writer *out, uint8_t kind, item_fn fn)
{
    struct state *s = ready_state(env);
    if (!s)
        return CLOISTER_E_STATE;
    size_t len = 0;
    s->pinned = tee_secret_get(tee_env_self(env), TEE_PROVIDER_SECRET, s->provider,
                               sizeof s->provider, &len, NULL) == 0 &&
                len == sizeof s->provider;
    int rc = batch_locked(env, s, in, inlen, out, kind, false, fn);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static int ecall_stats(struct tee_env *env, const uint8_t *in, size_t inlen,
                       struct wire_writer *out)
{
    struct state *s = ready_state(env);
    if (!s)
        return CLOISTER_E_STATE;
    scbr_enclave_stats_encode(out, &s->st);
    pthread_mutex_unlock(&s->lock);
    return CLOISTER_OK;
}

static int scbr_start(struct tee_env *env)
{
    struct state *s = tee_env_state(env);
    pthread_mutex_init(&s->lock, NULL);
    s->free_head = NO_ID;
    s->secret = tee_secret_alloc(128);
    return s->secret ? CLOISTER_OK : tee_fail(env, CLOISTER_E_NO_MEMORY, "scbr: no secret memory");
}

static void scbr_stop(struct tee_env *env)
{
    struct state *s = tee_env_state(env);
    for (uint32_t id = 0; id < s->nids; id++)
        if (s->subs[id].enc)
            tee_free(s->subs[id].enc);
    scbr_index_destroy(s->idx);
    crypto_aead_free(s->aead);
    crypto_aead_free(s->shard_aead);
    tee_secret_free(s->secret, 128);
    tee_free(s->owners);
    scbr_idtab_free(&s->by_id, &scbr_tee_heap);
    tee_free(s->subs);
    tee_free(s->ids);
    tee_free(s->pt);
    pthread_mutex_destroy(&s->lock);
}

BATCH_ECALL(subscribe, run_batch, SCBR_MSG_SUBSCRIBE, do_subscribe)
BATCH_ECALL(unsubscribe, run_batch, SCBR_MSG_UNSUBSCRIBE, do_unsubscribe)
BATCH_ECALL(match, run_batch, SCBR_MSG_PUBLISH, do_match)
BATCH_ECALL(fwd_subscribe, forward, SCBR_MSG_SUBSCRIBE, fwd_subscribe)
BATCH_ECALL(fwd_unsubscribe, forward, SCBR_MSG_UNSUBSCRIBE, fwd_unsubscribe)
BATCH_ECALL(fwd_publish, forward, SCBR_MSG_PUBLISH, fwd_publish)
BATCH_ECALL(shard_subscribe, shard_batch, SCBR_MSG_SUBSCRIBE, shard_sub)
BATCH_ECALL(shard_unsubscribe, shard_batch, SCBR_MSG_UNSUBSCRIBE, shard_unsub)
BATCH_ECALL(shard_match, shard_batch, SCBR_MSG_PUBLISH, shard_pub)
BATCH_ECALL(shard_absorb, shard_batch, SCBR_SHARD_MOVE, absorb)
BATCH_ECALL(control, control_batch, SCBR_MSG_RESHARD, do_reshard)

/* clang-format off: one ecall a line (clang-format 14 re-wraps X-macro lists on every run) */
#define SCBR_ECALLS(X)                                                                             \
    X(SCBR_ECALL_INIT, init)                                                                       \
    X(SCBR_ECALL_SUBSCRIBE, subscribe)                                                             \
    X(SCBR_ECALL_UNSUBSCRIBE, unsubscribe)                                                         \
    X(SCBR_ECALL_MATCH, match)                                                                     \
    X(SCBR_ECALL_DROP, drop)                                                                       \
    X(SCBR_ECALL_EXPORT, export)                                                                   \
    X(SCBR_ECALL_IMPORT, import)                                                                   \
    X(SCBR_ECALL_STATS, stats)                                                                     \
    X(SCBR_ECALL_KEY, key)                                                                         \
    X(SCBR_ECALL_FWD_SUBSCRIBE, fwd_subscribe)                                                     \
    X(SCBR_ECALL_FWD_UNSUBSCRIBE, fwd_unsubscribe)                                                 \
    X(SCBR_ECALL_FWD_PUBLISH, fwd_publish)                                                         \
    X(SCBR_ECALL_SHARD_SUBSCRIBE, shard_subscribe)                                                 \
    X(SCBR_ECALL_SHARD_UNSUBSCRIBE, shard_unsubscribe)                                             \
    X(SCBR_ECALL_SHARD_MATCH, shard_match)                                                         \
    X(SCBR_ECALL_SHARD_SPLIT, shard_split)                                                         \
    X(SCBR_ECALL_SHARD_ABSORB, shard_absorb)                                                       \
    X(SCBR_ECALL_SHARD_PRUNE, shard_prune)                                                         \
    X(SCBR_ECALL_CONTROL, control)
/* clang-format on */
TEE_ENCLAVE_DEFINE_WITH(scbr, SCBR_ECALLS, .state_size = sizeof(struct state),
                        .on_start = scbr_start, .on_stop = scbr_stop);
