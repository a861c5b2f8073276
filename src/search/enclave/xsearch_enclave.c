/* xsearch_enclave.c -- the `xsearch` enclave image: X-Search's proxy core, behind the ecalls of
 * src/search/common/xsearch_ecalls.h.
 *
 * State (behind a lock: the host may call from several threads): an HPKE key pair whose public
 * half the client gets in evidence, the history table H of past queries of all users, the key
 * that seals tickets, and the set of request encapsulations seen under the current key pair.
 * A request is opened here and nowhere else; the host gets the OR-ed query (what the engine
 * sees anyway) and an opaque ticket, and hands back the engine's hits, of which the enclave
 * keeps those the client's filter selects and seals them for the client alone.
 *
 * Replays: every request carries a fresh encapsulation (enc); one seen before is refused. The
 * set holds XSEARCH_SEEN_SLOTS / 2 of them; when it is full the key pair is replaced and the set
 * emptied, so an old request can no longer be opened at all (clients fetch the new key). HPKE
 * opens outside the lock with a copy of the pair; the pair's generation, checked under the
 * lock with the replay set, refuses a request opened under a pair replaced meanwhile.
 *
 * Memory: H, the replay set and the cache of engine answers (xs_cache.c) are allocated in INIT
 * on the enclave's EPC heap (tee_malloc), the memory the signed config budgets. Unless the host
 * names sizes, H gets half the EPC budget (HISTORY_ENTRY bytes a query: about 750,000 queries in
 * SGX1's 93.5 MiB, the paper's "over a million in 90 MB" with shorter entries) and the cache an
 * eighth. An OR-ed query found in the cache is answered in OPEN itself: one ecall, and the host
 * sees no engine request. */
#include <cloister/crypto.h>
#include <cloister/tee_enclave.h>
#include <cloister/tee_trust.h>
#include <cloister/tee_verify.h>
#include <cloister/wire.h>
#include <cloister/xsearch.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "search/common/xsearch_ecalls.h"
#include "search/enclave/xs_cache.h"

#define HISTORY_MAX ((size_t)1 << 26)
#define HISTORY_ENTRY 64 /* bytes of EPC a query in H costs: pointer, string, allocator */

struct xs_state {
    pthread_mutex_t lock;
    bool ready;
    unsigned k_max;
    uint8_t pk[HPKE_PUBLIC_LEN], sk[HPKE_SECRET_LEN], ticket_key[32];
    struct search_history h;
    struct xs_cache cache;
    uint8_t (*seen)[HPKE_ENC_LEN]; /* open addressing; all-zero = empty */
    size_t nseen;
    uint64_t generation; /* of the key pair: a request opened under an older one is refused */
};

static int xs_on_start(struct tee_env *env)
{
    struct xs_state *st = tee_env_state(env);
    return pthread_mutex_init(&st->lock, NULL) == 0 ? CLOISTER_OK : CLOISTER_E_SYSTEM;
}

static void xs_on_stop(struct tee_env *env)
{
    struct xs_state *st = tee_env_state(env);
    search_history_free(&st->h);
    xs_cache_free(&st->cache);
    tee_free(st->seen);
    crypto_wipe(st->sk, sizeof st->sk);
    crypto_wipe(st->ticket_key, sizeof st->ticket_key);
    pthread_mutex_destroy(&st->lock);
}

static uint64_t csprng(void *arg)
{
    (void)arg;
    uint64_t v = 0;
    if (crypto_random(&v, sizeof v) != 0)
        abort(); /* no randomness: no fake query can be drawn safely */
    return v;
}

/* A new key pair; the requests seen under the old one are forgotten. */
static int new_keys(struct xs_state *st)
{
    memset(st->seen, 0, (size_t)XSEARCH_SEEN_SLOTS * sizeof *st->seen);
    st->nseen = 0;
    st->generation++;
    return hpke_keypair(st->pk, st->sk) == 0 ? CLOISTER_OK : CLOISTER_E_FAILED;
}

/* The EPC this enclave may keep resident (its heap when the budget is unlimited). */
static uint64_t epc_budget(struct tee_env *env)
{
    const struct tee_config *c = &tee_self_identity(tee_env_self(env))->config;
    return c->epc_budget == TEE_EPC_UNLIMITED ? c->heap_size : c->epc_budget;
}

static int init_locked(struct tee_env *env, struct xs_state *st, uint64_t cap, uint64_t cache)
{
    uint64_t budget = epc_budget(env), seed;
    if (cap == 0)
        cap = budget / 2 / HISTORY_ENTRY;
    if (cap == 0 || cap > HISTORY_MAX)
        return tee_fail(env, CLOISTER_E_INVALID, "init: a history of 1..%zu queries", HISTORY_MAX);
    if (cache == 0)
        cache = budget / 8;
    if (st->ready)
        return tee_fail(env, CLOISTER_E_STATE, "init: done already");
    if (crypto_random(&seed, sizeof seed) != 0)
        return tee_fail(env, CLOISTER_E_FAILED, "init: no randomness");
    if (!(st->seen = tee_calloc(XSEARCH_SEEN_SLOTS, sizeof *st->seen)) ||
        search_history_init_with(&st->h, (size_t)cap, tee_malloc, tee_free) != CLOISTER_OK ||
        xs_cache_init(&st->cache, (size_t)cache, seed) != CLOISTER_OK)
        return tee_fail(env, CLOISTER_E_NO_MEMORY, "init: out of memory");
    if (new_keys(st) != CLOISTER_OK || crypto_random(st->ticket_key, 32) != 0)
        return tee_fail(env, CLOISTER_E_FAILED, "init: no key pair");
    st->ready = true;
    return CLOISTER_OK;
}

static int ecall_init(struct tee_env *env, const uint8_t *in, size_t inlen, struct wire_writer *out)
{
    struct xs_state *st = tee_env_state(env);
    struct wire_reader r;
    wire_reader_init(&r, in, inlen);
    uint64_t cap = wire_get_varint(&r), kmax = wire_get_varint(&r), cache = wire_get_varint(&r);
    if (wire_reader_finish(&r) != 0 || kmax > SEARCH_K_MAX || cache > SIZE_MAX / 2)
        return tee_fail(env, CLOISTER_E_INVALID, "init: k max 0..%d", SEARCH_K_MAX);
    pthread_mutex_lock(&st->lock);
    st->k_max = (unsigned)kmax;
    int rc = init_locked(env, st, cap, cache);
    pthread_mutex_unlock(&st->lock);
    if (rc == CLOISTER_OK)
        wire_put_varint(out, st->h.cap);
    return rc;
}

static int ecall_key(struct tee_env *env, const uint8_t *in, size_t inlen, struct wire_writer *out)
{
    struct xs_state *st = tee_env_state(env);
    uint8_t rd[TEE_REPORT_DATA_LEN], pk[HPKE_PUBLIC_LEN], *ev = NULL;
    size_t evlen = 0;
    struct cloister_err err = {0};
    if (inlen != TEE_PROV_NONCE_LEN)
        return tee_fail(env, CLOISTER_E_INVALID, "key: a %d-byte nonce", TEE_PROV_NONCE_LEN);
    pthread_mutex_lock(&st->lock);
    memcpy(pk, st->pk, sizeof pk);
    bool ready = st->ready;
    pthread_mutex_unlock(&st->lock);
    if (!ready)
        return tee_fail(env, CLOISTER_E_STATE, "key: not initialised");
    tee_bind_report_data(rd, pk, sizeof pk, in, inlen);
    if (tee_evidence_make(tee_env_self(env), rd, &ev, &evlen, &err) != 0)
        return tee_fail(env, CLOISTER_E_FAILED, "key: %s", err.msg);
    wire_put_raw(out, pk, sizeof pk);
    wire_put_bytes(out, ev, evlen);
    free(ev);
    return CLOISTER_OK;
}

/* Records enc; false when it was seen already. A full set renews the key pair after. */
static bool first_seen(struct xs_state *st, const uint8_t enc[HPKE_ENC_LEN])
{
    uint64_t h;
    memcpy(&h, enc, sizeof h); /* enc is an X25519 public key: its bytes are uniform */
    for (size_t i = (size_t)(h % XSEARCH_SEEN_SLOTS);; i = (i + 1) % XSEARCH_SEEN_SLOTS) {
        static const uint8_t empty[HPKE_ENC_LEN];
        if (memcmp(st->seen[i], enc, HPKE_ENC_LEN) == 0)
            return false;
        if (memcmp(st->seen[i], empty, HPKE_ENC_LEN) == 0) {
            memcpy(st->seen[i], enc, HPKE_ENC_LEN);
            st->nseen++;
            return true;
        }
    }
}

static int seal_ticket(const struct xs_state *st, const struct xsearch_request *rq, unsigned pos,
                       const uint8_t enc[HPKE_ENC_LEN], const uint8_t key[32], const char *orq,
                       struct wire_writer *out)
{
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_u8(&w, (uint8_t)rq->filter);
    wire_put_u8(&w, (uint8_t)rq->n);
    wire_put_varint(&w, pos);
    wire_put_raw(&w, enc, HPKE_ENC_LEN);
    wire_put_raw(&w, key, 32);
    wire_put_str(&w, orq);
    uint8_t *t = wire_writer_ok(&w) ? malloc(12 + w.len + 16) : NULL;
    int rc = t && crypto_random(t, 12) == 0 &&
                     crypto_aead_seal(CRYPTO_AES256_GCM, st->ticket_key, t, XSEARCH_TICKET_AAD,
                                      strlen(XSEARCH_TICKET_AAD), w.buf, w.len, t + 12) == 0
                 ? CLOISTER_OK
                 : CLOISTER_E_NO_MEMORY;
    if (rc == CLOISTER_OK)
        wire_put_bytes(out, t, 12 + w.len + 16);
    free(t);
    if (w.buf)
        crypto_wipe(w.buf, w.len);
    wire_writer_free(&w);
    return rc;
}

struct ticket {
    enum search_filter filter;
    unsigned n;
    size_t pos;
    uint8_t enc[HPKE_ENC_LEN], key[32];
    char *orq;
};

/* Opens the request with a copy of the key pair, outside the lock (HPKE is the costliest step
 * of a search: the enclave's workers open requests in parallel); *generation names the pair. */
static int open_request(struct tee_env *env, struct xs_state *st, const uint8_t *req, size_t len,
                        struct xsearch_request *rq, uint8_t enc[HPKE_ENC_LEN], uint8_t key[32],
                        uint64_t *generation)
{
    uint8_t pk[HPKE_PUBLIC_LEN], sk[HPKE_SECRET_LEN];
    struct cloister_err err = {0};
    pthread_mutex_lock(&st->lock);
    bool ready = st->ready;
    memcpy(pk, st->pk, sizeof pk);
    memcpy(sk, st->sk, sizeof sk);
    *generation = st->generation;
    pthread_mutex_unlock(&st->lock);
    int rc = ready ? xsearch_request_open(pk, sk, req, len, rq, enc, key, &err) : CLOISTER_E_STATE;
    crypto_wipe(sk, sizeof sk);
    if (!ready)
        return tee_fail(env, CLOISTER_E_STATE, "search: not initialised");
    if (rc != CLOISTER_OK)
        return tee_fail(env, rc, "%s", err.msg);
    return CLOISTER_OK;
}

/* Checks the opened request under the lock: renews the key pair when the replay set is full;
 * on success the real query is canonical in rq->query and *orq is the OR-ed query. */
static int check_locked(struct tee_env *env, struct xs_state *st, uint64_t generation,
                        struct xsearch_request *rq, const uint8_t enc[HPKE_ENC_LEN], char **orq,
                        unsigned *pos)
{
    char canon[SEARCH_QUERY_MAX + 1];
    if (!st->ready || generation != st->generation) /* its replays were forgotten with its key */
        return tee_fail(env, CLOISTER_E_STATE, "search: the enclave's key was replaced");
    if (!first_seen(st, enc))
        return tee_fail(env, CLOISTER_E_DENIED, "search request replayed");
    if (st->nseen >= XSEARCH_SEEN_SLOTS / 2 && new_keys(st) != CLOISTER_OK)
        st->ready = false; /* no key: refuse everything rather than accept replays */
    if (rq->k > st->k_max)
        return tee_fail(env, CLOISTER_E_DENIED, "k = %u is over this proxy's maximum %u", rq->k,
                        st->k_max);
    if (search_canonical(rq->query, strlen(rq->query), canon, sizeof canon) == 0)
        return tee_fail(env, CLOISTER_E_INVALID, "the query has no search term");
    memcpy(rq->query, canon, sizeof canon);
    if (search_obfuscate(&st->h, rq->query, rq->k, csprng, NULL, orq, pos) != CLOISTER_OK)
        return tee_fail(env, CLOISTER_E_NO_MEMORY, "out of memory");
    return CLOISTER_OK;
}

static int open_ticket(const struct xs_state *st, const uint8_t *t, size_t len, struct ticket *k)
{
    if (len < 12 + 16)
        return CLOISTER_E_INVALID;
    size_t ptlen = len - 28;
    uint8_t *pt = malloc(ptlen);
    struct wire_reader r;
    int rc = pt && crypto_aead_open(CRYPTO_AES256_GCM, st->ticket_key, t, XSEARCH_TICKET_AAD,
                                    strlen(XSEARCH_TICKET_AAD), t + 12, len - 12, pt) == 0
                 ? CLOISTER_OK
                 : CLOISTER_E_DENIED;
    if (rc == CLOISTER_OK) {
        wire_reader_init(&r, pt, ptlen);
        k->filter = (enum search_filter)wire_get_u8(&r);
        k->n = wire_get_u8(&r);
        k->pos = (size_t)wire_get_varint(&r);
        wire_get_raw_into(&r, k->enc, HPKE_ENC_LEN);
        wire_get_raw_into(&r, k->key, 32);
        size_t qlen;
        const uint8_t *q = wire_get_bytes(&r, XSEARCH_OR_MAX, &qlen);
        if (wire_reader_finish(&r) != 0 || !(k->orq = malloc(qlen + 1)))
            rc = CLOISTER_E_INVALID;
        else {
            memcpy(k->orq, q, qlen);
            k->orq[qlen] = 0;
        }
    }
    if (pt)
        crypto_wipe(pt, ptlen);
    free(pt);
    return rc;
}

/* Keeps, in place, the hits the ticket's filter selects (at most n), redirects stripped. */
static void filter_hits(const struct ticket *k, struct search_hits *h)
{
    const char *subs[SEARCH_K_MAX + 1];
    size_t lens[SEARCH_K_MAX + 1];
    int nsubs = search_split_or(k->orq, strlen(k->orq), subs, lens, SEARCH_K_MAX + 1);
    size_t kept = 0;
    for (size_t i = 0; i < h->n; i++) {
        struct search_hit *x = &h->v[i];
        bool keep = nsubs > 0 && k->pos < (size_t)nsubs && kept < k->n &&
                    search_filter_keep(k->filter, x, subs, lens, (size_t)nsubs, k->pos);
        if (keep) {
            search_strip_redirect(x->url);
            struct search_hit tmp = h->v[kept];
            h->v[kept++] = *x;
            *x = tmp;
        }
    }
    for (size_t i = kept; i < h->n; i++)
        search_hit_clear(&h->v[i]);
    h->n = kept;
}

/* The answer for the client: of the engine's hits (encoded), those k's filter keeps, sealed
 * under k's key. store: the engine's answer is new, to be cached. */
static int answer(struct tee_env *env, struct xs_state *st, const struct ticket *k,
                  const uint8_t *hits, size_t hlen, bool store, struct wire_writer *out)
{
    struct search_hits h = {0};
    struct cloister_err err = {0};
    uint8_t *resp = NULL;
    size_t resplen = 0;
    int rc = xsearch_hits_decode(hits, hlen, &h, &err);
    if (rc != CLOISTER_OK)
        return tee_fail(env, rc, "filter: %s", err.msg);
    if (store) {
        pthread_mutex_lock(&st->lock);
        xs_cache_put(&st->cache, k->orq, k->n, hits, hlen);
        pthread_mutex_unlock(&st->lock);
    }
    filter_hits(k, &h);
    for (size_t i = 0; i < h.n; i++) /* the client needs no matched list */
        search_hit_clear_matched(&h.v[i]);
    if (xsearch_response_seal(k->key, k->enc, &h, &resp, &resplen) != CLOISTER_OK)
        rc = tee_fail(env, CLOISTER_E_NO_MEMORY, "filter: out of memory");
    else
        wire_put_bytes(out, resp, resplen);
    free(resp);
    search_hits_free(&h);
    return rc;
}

static int ecall_filter(struct tee_env *env, const uint8_t *in, size_t inlen,
                        struct wire_writer *out)
{
    struct xs_state *st = tee_env_state(env);
    struct wire_reader r;
    struct ticket k = {0};
    size_t tlen, hlen;
    wire_reader_init(&r, in, inlen);
    const uint8_t *t = wire_get_bytes(&r, XSEARCH_TICKET_MAX, &tlen);
    const uint8_t *hits = wire_get_bytes(&r, XSEARCH_HITS_BYTES_MAX, &hlen);
    if (wire_reader_finish(&r) != 0)
        return tee_fail(env, CLOISTER_E_INVALID, "filter: %s", wire_reader_error(&r));
    if (open_ticket(st, t, tlen, &k) != CLOISTER_OK)
        return tee_fail(env, CLOISTER_E_DENIED, "filter: not a ticket of this enclave");
    int rc = answer(env, st, &k, hits, hlen, true, out);
    crypto_wipe(k.key, sizeof k.key);
    free(k.orq);
    return rc;
}

/* OPEN: a cached engine answer is filtered and sealed at once (u8 1, bytes response); otherwise
 * the OR-ed query and the ticket go to the host (u8 0, str, u8 n, bytes ticket). */
static int ecall_open(struct tee_env *env, const uint8_t *in, size_t inlen, struct wire_writer *out)
{
    struct xs_state *st = tee_env_state(env);
    struct wire_reader r;
    size_t len, hlen = 0;
    wire_reader_init(&r, in, inlen);
    const uint8_t *req = wire_get_bytes(&r, XSEARCH_REQUEST_MAX, &len);
    if (wire_reader_finish(&r) != 0)
        return tee_fail(env, CLOISTER_E_INVALID, "search request: %s", wire_reader_error(&r));
    struct xsearch_request *rq = malloc(sizeof *rq);
    struct ticket k = {0};
    uint8_t *cached = NULL;
    unsigned pos = 0;
    if (!rq)
        return tee_fail(env, CLOISTER_E_NO_MEMORY, "out of memory");
    uint64_t generation = 0;
    int rc = open_request(env, st, req, len, rq, k.enc, k.key, &generation);
    bool hit = false;
    if (rc == CLOISTER_OK) {
        pthread_mutex_lock(&st->lock);
        rc = check_locked(env, st, generation, rq, k.enc, &k.orq, &pos);
        hit = rc == CLOISTER_OK && xs_cache_get(&st->cache, k.orq, rq->n, &cached, &hlen) == 0;
        pthread_mutex_unlock(&st->lock);
    }
    if (rc == CLOISTER_OK) {
        k.filter = rq->filter;
        k.n = rq->n;
        k.pos = pos;
    }
    if (rc == CLOISTER_OK && hit) {
        wire_put_u8(out, 1);
        rc = answer(env, st, &k, cached, hlen, false, out);
    } else if (rc == CLOISTER_OK) {
        wire_put_u8(out, 0);
        wire_put_str(out, k.orq);
        wire_put_u8(out, (uint8_t)rq->n);
        if (seal_ticket(st, rq, pos, k.enc, k.key, k.orq, out) != CLOISTER_OK)
            rc = tee_fail(env, CLOISTER_E_NO_MEMORY, "out of memory");
    }
    if (cached)
        crypto_wipe(cached, hlen);
    tee_free(cached);
    crypto_wipe(rq, sizeof *rq);
    crypto_wipe(k.key, sizeof k.key);
    free(rq);
    free(k.orq);
    return rc;
}

#define XSEARCH_ECALLS(X)                                                                          \
    X(XSEARCH_ECALL_INIT, init)                                                                    \
    X(XSEARCH_ECALL_KEY, key)                                                                      \
    X(XSEARCH_ECALL_OPEN, open)                                                                    \
    X(XSEARCH_ECALL_FILTER, filter)
TEE_ENCLAVE_DEFINE_WITH(xsearch, XSEARCH_ECALLS, .state_size = sizeof(struct xs_state),
                        .on_start = xs_on_start, .on_stop = xs_on_stop);
