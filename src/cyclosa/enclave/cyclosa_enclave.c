/* cyclosa_enclave.c -- the `cyclosa` enclave image: a node's trusted core, behind the ecalls of
 * src/cyclosa/common/cyclosa_msg.h.
 *
 * State (behind one lock: the host calls from its server, gossip and search threads): the
 * verifier (the platform CA given at INIT, MRENCLAVE pinned to this enclave's own), the handshakes
 * under way, the sessions with attested peers, and the relay table of queries received from
 * others (a ring: O(1) insert, O(1) uniform pick), bootstrapped from popular queries.
 *
 * Replays: each session remembers the ids of the messages it opened (open addressing); once
 * SESSION_MESSAGES have been opened the session is dropped, so an older message can no longer be
 * opened at all and the peer attests again. The table and the sessions are bounded: a new session
 * past SESSIONS_MAX replaces the least recently used one.
 *
 * Whether a simulated (or debug) peer is acceptable is not the host's to say: the enclave checks
 * its own evidence at INIT and accepts peers of the same kind as itself. */
#include <cloister/crypto.h>
#include <cloister/tee_enclave.h>
#include <cloister/tee_trust.h>
#include <cloister/tee_verify.h>
#include <cloister/wire.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cyclosa/common/cyclosa_msg.h"
#include "engine_tls.h"

#define SESSIONS_MAX 256
#define PENDING_MAX 64
#define SEEN_SLOTS 1024
#define SESSION_MESSAGES (SEEN_SLOTS / 2)
#define CONNS_MAX 64 /* engine requests under way; a new one past it replaces the oldest */

struct session {
    uint64_t sid, used; /* used: the tick of the last use; 0 = free slot */
    uint8_t send[32], recv[32];
    uint8_t (*seen)[CYCLOSA_ID_LEN];
    unsigned nseen;
};

struct pending {
    uint8_t pk[32], sk[32];
    bool live;
};

struct cyc_state {
    pthread_mutex_t lock;
    bool ready, simulated, debug;
    uint8_t mrenclave[32];
    tee_verifier *v;
    struct search_history table;
    struct session s[SESSIONS_MAX];
    struct pending p[PENDING_MAX];
    unsigned pnext;
    uint64_t tick;
    struct etls_ctx *tls; /* NULL: the host asks the engine over plain HTTP */
    struct etls *conn[CONNS_MAX];
    uint64_t nconns; /* handle of conn[i]: the last h with h % CONNS_MAX == i */
};

static int cyc_on_start(struct tee_env *env)
{
    struct cyc_state *st = tee_env_state(env);
    return pthread_mutex_init(&st->lock, NULL) == 0 ? CLOISTER_OK : CLOISTER_E_SYSTEM;
}

static void session_clear(struct session *s)
{
    free(s->seen);
    crypto_wipe(s, sizeof *s);
}

static void cyc_on_stop(struct tee_env *env)
{
    struct cyc_state *st = tee_env_state(env);
    for (size_t i = 0; i < SESSIONS_MAX; i++)
        session_clear(&st->s[i]);
    crypto_wipe(st->p, sizeof st->p);
    search_history_free(&st->table);
    for (size_t i = 0; i < CONNS_MAX; i++)
        etls_free(st->conn[i]);
    etls_ctx_free(st->tls);
    tee_verifier_free(st->v);
    pthread_mutex_destroy(&st->lock);
}

static uint64_t csprng(void)
{
    uint64_t v = 0;
    if (crypto_random(&v, sizeof v) != 0)
        abort(); /* no randomness: no relay nor fake can be drawn safely */
    return v;
}

/* Verifies evidence under the policy: MRENCLAVE this enclave's, report data rd. */
static int verify(struct cyc_state *st, const uint8_t *ev, size_t evlen,
                  const uint8_t rd[TEE_REPORT_DATA_LEN], struct tee_claims *c,
                  struct cloister_err *err)
{
    struct tee_policy p;
    tee_policy_default(&p);
    p.mrenclave = (const uint8_t(*)[TEE_HASH_LEN])st->mrenclave;
    p.n_mrenclave = 1;
    p.allow_simulated = st->simulated;
    p.allow_debug = st->debug;
    p.report_data = rd;
    return tee_verify_evidence(st->v, ev, evlen, &p, c, err) == 0 ? CLOISTER_OK : CLOISTER_E_DENIED;
}

/* Evidence binding key to label (len bytes) into out as bytes. */
static int evidence(struct tee_env *env, const uint8_t key[32], const void *label, size_t len,
                    struct wire_writer *out)
{
    uint8_t rd[TEE_REPORT_DATA_LEN], *ev = NULL;
    size_t evlen = 0;
    struct cloister_err err = {0};
    tee_bind_report_data(rd, key, 32, label, len);
    if (tee_evidence_make(tee_env_self(env), rd, &ev, &evlen, &err) != 0)
        return tee_fail(env, CLOISTER_E_FAILED, "evidence: %s", err.msg);
    wire_put_raw(out, key, 32);
    wire_put_bytes(out, ev, evlen);
    free(ev);
    return CLOISTER_OK;
}

/* At INIT: this enclave's evidence checked by its own verifier, which says what kind it is. */
static int self_check(struct tee_env *env, struct cyc_state *st)
{
    struct wire_writer w;
    struct wire_reader r;
    uint8_t key[32] = {0}, rd[TEE_REPORT_DATA_LEN];
    struct tee_claims c = {0};
    struct cloister_err err = {0};
    size_t evlen = 0;
    wire_writer_init(&w);
    int rc = evidence(env, key, "self", 4, &w);
    wire_reader_init(&r, w.buf, w.len);
    wire_get_raw(&r, 32);
    const uint8_t *ev = wire_get_bytes(&r, SIZE_MAX, &evlen);
    st->simulated = st->debug = true;
    tee_bind_report_data(rd, key, 32, "self", 4);
    if (rc == CLOISTER_OK && verify(st, ev, evlen, rd, &c, &err) != CLOISTER_OK)
        rc = tee_fail(env, CLOISTER_E_DENIED, "init: this enclave's own evidence: %s", err.msg);
    st->simulated = c.simulated;
    st->debug = c.debug;
    wire_writer_free(&w);
    return rc;
}

static int init_locked(struct tee_env *env, struct cyc_state *st, struct wire_reader *r)
{
    struct cloister_err err = {0};
    size_t calen = 0;
    uint64_t cap = wire_get_varint(r);
    const uint8_t *ca = wire_get_bytes(r, 1 << 20, &calen);
    size_t n = wire_get_count(r, 1, CYCLOSA_TABLE_MAX);
    if (!wire_reader_ok(r) || cap == 0 || cap > CYCLOSA_TABLE_MAX)
        return tee_fail(env, CLOISTER_E_INVALID, "init: table 1..%zu, a CA, popular queries",
                        CYCLOSA_TABLE_MAX);
    if (st->ready)
        return tee_fail(env, CLOISTER_E_STATE, "init: done already");
    memcpy(st->mrenclave, tee_self_identity(tee_env_self(env))->mrenclave, 32);
    if (!(st->v = tee_verifier_new(ca, calen, &err)))
        return tee_fail(env, CLOISTER_E_INVALID, "init: the platform CA: %s", err.msg);
    if (search_history_init(&st->table, (size_t)cap) != CLOISTER_OK)
        return tee_fail(env, CLOISTER_E_NO_MEMORY, "init: out of memory");
    for (size_t i = 0; i < n; i++) {
        size_t len = 0;
        const uint8_t *q = wire_get_bytes(r, SEARCH_QUERY_MAX, &len);
        if (!wire_reader_ok(r))
            break;
        if (len && search_history_add(&st->table, (const char *)q, len) != CLOISTER_OK)
            return tee_fail(env, CLOISTER_E_NO_MEMORY, "init: out of memory");
    }
    size_t elen = 0;
    const uint8_t *eca = wire_get_bytes(r, 1 << 20, &elen);
    char ip[16], msg[160];
    if (wire_get_str(r, ip, sizeof ip) != 0 || wire_reader_finish(r) != 0)
        return tee_fail(env, CLOISTER_E_INVALID, "init: %s", wire_reader_error(r));
    if (elen && !(st->tls = etls_ctx_new(eca, elen, ip, msg, sizeof msg)))
        return tee_fail(env, CLOISTER_E_INVALID, "init: %s", msg);
    int rc = self_check(env, st);
    st->ready = rc == CLOISTER_OK;
    return rc;
}

static int ecall_init(struct tee_env *env, const uint8_t *in, size_t inlen, struct wire_writer *out)
{
    struct cyc_state *st = tee_env_state(env);
    struct wire_reader r;
    wire_reader_init(&r, in, inlen);
    pthread_mutex_lock(&st->lock);
    int rc = init_locked(env, st, &r);
    pthread_mutex_unlock(&st->lock);
    if (rc == CLOISTER_OK)
        wire_put_raw(out, st->mrenclave, 32);
    return rc;
}

static int ecall_hello(struct tee_env *env, const uint8_t *in, size_t inlen,
                       struct wire_writer *out)
{
    (void)in;
    struct cyc_state *st = tee_env_state(env);
    uint8_t pk[32], sk[32];
    if (inlen != 0 || !st->ready)
        return tee_fail(env, CLOISTER_E_STATE, "hello: not initialised");
    if (crypto_x25519_keypair(pk, sk) != 0)
        return tee_fail(env, CLOISTER_E_FAILED, "hello: no key");
    pthread_mutex_lock(&st->lock);
    struct pending *p = &st->p[st->pnext++ % PENDING_MAX];
    memcpy(p->pk, pk, 32);
    memcpy(p->sk, sk, 32);
    p->live = true;
    pthread_mutex_unlock(&st->lock);
    crypto_wipe(sk, sizeof sk);
    struct wire_writer w;
    wire_writer_init(&w);
    int rc = evidence(env, pk, CYCLOSA_HELLO_LABEL, strlen(CYCLOSA_HELLO_LABEL), &w);
    if (rc == CLOISTER_OK)
        wire_put_bytes(out, w.buf, w.len);
    wire_writer_free(&w);
    return rc;
}

/* A hello or a reply: key and evidence, the evidence verified against the report data
 * tee_bind_report_data(key, label). */
static int check_peer(struct tee_env *env, struct cyc_state *st, const uint8_t *msg, size_t len,
                      const void *label, size_t labellen, uint8_t key[32])
{
    struct wire_reader r;
    struct cloister_err err = {0};
    struct tee_claims c;
    uint8_t rd[TEE_REPORT_DATA_LEN];
    size_t evlen = 0;
    wire_reader_init(&r, msg, len);
    wire_get_raw_into(&r, key, 32);
    const uint8_t *ev = wire_get_bytes(&r, CYCLOSA_HELLO_MAX, &evlen);
    if (wire_reader_finish(&r) != 0)
        return tee_fail(env, CLOISTER_E_INVALID, "attestation: %s", wire_reader_error(&r));
    tee_bind_report_data(rd, key, 32, label, labellen);
    if (verify(st, ev, evlen, rd, &c, &err) != CLOISTER_OK)
        return tee_fail(env, CLOISTER_E_DENIED, "the peer's enclave was refused: %s", err.msg);
    return CLOISTER_OK;
}

/* Installs the session of initiator key a and responder key b; sk is ours. */
static int install(struct cyc_state *st, const uint8_t a[32], const uint8_t b[32],
                   const uint8_t sk[32], bool initiator, uint64_t *sid)
{
    uint8_t shared[32], keys[64], both[64], h[32];
    memcpy(both, a, 32);
    memcpy(both + 32, b, 32);
    if (crypto_x25519(shared, sk, initiator ? b : a) != 0 ||
        crypto_hkdf(keys, sizeof keys, CYCLOSA_KDF_LABEL, strlen(CYCLOSA_KDF_LABEL), shared, 32,
                    both, 64) != 0)
        return CLOISTER_E_DENIED;
    crypto_wipe(shared, sizeof shared);
    crypto_sha256(h, both, 64);
    memcpy(sid, h, 8);
    size_t victim = 0;
    for (size_t i = 0; i < SESSIONS_MAX; i++)
        if (st->s[i].used < st->s[victim].used)
            victim = i;
    struct session *s = &st->s[victim];
    session_clear(s);
    if (!(s->seen = calloc(SEEN_SLOTS, CYCLOSA_ID_LEN))) {
        crypto_wipe(keys, sizeof keys);
        return CLOISTER_E_NO_MEMORY;
    }
    s->sid = *sid;
    s->used = ++st->tick;
    memcpy(s->send, keys + (initiator ? 0 : 32), 32);
    memcpy(s->recv, keys + (initiator ? 32 : 0), 32);
    crypto_wipe(keys, sizeof keys);
    return CLOISTER_OK;
}

static int ecall_accept(struct tee_env *env, const uint8_t *in, size_t inlen,
                        struct wire_writer *out)
{
    struct cyc_state *st = tee_env_state(env);
    struct wire_reader r;
    size_t len = 0;
    uint8_t peer[32], pk[32], sk[32];
    uint64_t sid = 0;
    wire_reader_init(&r, in, inlen);
    const uint8_t *hello = wire_get_bytes(&r, CYCLOSA_HELLO_MAX, &len);
    if (wire_reader_finish(&r) != 0 || !st->ready)
        return tee_fail(env, CLOISTER_E_INVALID, "accept: a hello");
    int rc = check_peer(env, st, hello, len, CYCLOSA_HELLO_LABEL, strlen(CYCLOSA_HELLO_LABEL),
                        peer);
    if (rc != CLOISTER_OK)
        return rc;
    if (crypto_x25519_keypair(pk, sk) != 0)
        return tee_fail(env, CLOISTER_E_FAILED, "accept: no key");
    pthread_mutex_lock(&st->lock);
    rc = install(st, peer, pk, sk, false, &sid);
    pthread_mutex_unlock(&st->lock);
    crypto_wipe(sk, sizeof sk);
    if (rc != CLOISTER_OK)
        return tee_fail(env, rc, "accept: no session");
    struct wire_writer w;
    wire_writer_init(&w);
    rc = evidence(env, pk, peer, 32, &w);
    if (rc == CLOISTER_OK) {
        wire_put_u64(out, sid);
        wire_put_bytes(out, w.buf, w.len);
    }
    wire_writer_free(&w);
    return rc;
}

static int ecall_finish(struct tee_env *env, const uint8_t *in, size_t inlen,
                        struct wire_writer *out)
{
    struct cyc_state *st = tee_env_state(env);
    struct wire_reader r;
    size_t hlen = 0, rlen = 0;
    uint8_t peer[32];
    uint64_t sid = 0;
    wire_reader_init(&r, in, inlen);
    const uint8_t *hello = wire_get_bytes(&r, CYCLOSA_HELLO_MAX, &hlen);
    const uint8_t *reply = wire_get_bytes(&r, CYCLOSA_HELLO_MAX, &rlen);
    if (wire_reader_finish(&r) != 0 || hlen < 32 || !st->ready)
        return tee_fail(env, CLOISTER_E_INVALID, "finish: own hello and the peer's reply");
    int rc = check_peer(env, st, reply, rlen, hello, 32, peer);
    if (rc != CLOISTER_OK)
        return rc;
    pthread_mutex_lock(&st->lock);
    rc = CLOISTER_E_STATE;
    for (size_t i = 0; i < PENDING_MAX && rc == CLOISTER_E_STATE; i++) {
        struct pending *p = &st->p[i];
        if (p->live && crypto_memeq(p->pk, hello, 32)) {
            rc = install(st, p->pk, peer, p->sk, true, &sid);
            crypto_wipe(p, sizeof *p); /* one session per hello */
        }
    }
    pthread_mutex_unlock(&st->lock);
    if (rc != CLOISTER_OK)
        return tee_fail(env, rc, "finish: no handshake of this hello under way");
    wire_put_u64(out, sid);
    return CLOISTER_OK;
}

static struct session *session_find(struct cyc_state *st, uint64_t sid)
{
    for (size_t i = 0; i < SESSIONS_MAX; i++)
        if (st->s[i].used && st->s[i].sid == sid) {
            st->s[i].used = ++st->tick;
            return &st->s[i];
        }
    return NULL;
}

static void aad_of(uint8_t aad[9], uint64_t sid, char kind)
{
    struct wire_writer w;
    wire_writer_init_fixed(&w, aad, 9);
    wire_put_u64(&w, sid);
    wire_put_u8(&w, (uint8_t)kind);
}

/* Seals plain (len bytes) as a frame of s into out. */
static int seal(const struct session *s, char kind, const uint8_t *plain, size_t len,
                struct wire_writer *out)
{
    uint8_t aad[9];
    uint8_t *f = malloc(CYCLOSA_FRAME_OVERHEAD + len);
    aad_of(aad, s->sid, kind);
    int rc = f && crypto_random(f + 8, 12) == 0 ? CLOISTER_OK : CLOISTER_E_NO_MEMORY;
    if (rc == CLOISTER_OK) {
        struct wire_writer h;
        wire_writer_init_fixed(&h, f, 8);
        wire_put_u64(&h, s->sid);
        crypto_aead_seal(CRYPTO_AES256_GCM, s->send, f + 8, aad, 9, plain, len, f + 20);
        wire_put_bytes(out, f, CYCLOSA_FRAME_OVERHEAD + len);
    }
    free(f);
    return rc;
}

/* Opens frame f of session s (plain bytes into pt). */
static int open_frame(const struct session *s, char kind, const struct cyclosa_frame *f,
                      size_t plain, uint8_t *pt)
{
    uint8_t aad[9];
    aad_of(aad, s->sid, kind);
    return crypto_aead_open(CRYPTO_AES256_GCM, s->recv, f->nonce, aad, 9, f->ct, plain + 16, pt) ==
                   0
               ? CLOISTER_OK
               : CLOISTER_E_DENIED;
}

/* Writes the k + 1 messages of one search (in: the query already canonical). */
static int query_locked(struct tee_env *env, struct cyc_state *st, const char *q, unsigned k,
                        uint64_t *sids, size_t n, struct wire_writer *out)
{
    uint8_t pt[CYCLOSA_QUERY_PLAIN], id[CYCLOSA_ID_LEN];
    for (size_t i = n; i > 1; i--) { /* a uniform choice of relays: Fisher-Yates */
        size_t j = (size_t)(csprng() % i);
        uint64_t t = sids[i - 1];
        sids[i - 1] = sids[j];
        sids[j] = t;
    }
    size_t m = (size_t)k + 1 < n ? (size_t)k + 1 : n;
    if (m == 0)
        return tee_fail(env, CLOISTER_E_STATE, "query: no attested peer to relay through");
    if (!st->table.n)
        m = 1; /* no past query to send as a fake */
    size_t real = (size_t)(csprng() % m);
    wire_put_u8(out, (uint8_t)real);
    wire_put_varint(out, m);
    for (size_t i = 0; i < m; i++) {
        struct session *s = session_find(st, sids[i]);
        const char *text = i == real ? q : st->table.q[csprng() % st->table.n];
        if (!s)
            return tee_fail(env, CLOISTER_E_STATE, "query: no session %016llx",
                            (unsigned long long)sids[i]);
        if (crypto_random(id, sizeof id) != 0 || cyclosa_query_encode(id, text, pt) != 0)
            return tee_fail(env, CLOISTER_E_FAILED, "query: cannot encode");
        wire_put_u64(out, s->sid);
        wire_put_raw(out, id, sizeof id);
        if (seal(s, CYCLOSA_KIND_QUERY, pt, sizeof pt, out) != CLOISTER_OK)
            return tee_fail(env, CLOISTER_E_NO_MEMORY, "query: out of memory");
    }
    crypto_wipe(pt, sizeof pt);
    return CLOISTER_OK;
}

static int ecall_query(struct tee_env *env, const uint8_t *in, size_t inlen,
                       struct wire_writer *out)
{
    struct cyc_state *st = tee_env_state(env);
    struct wire_reader r;
    char q[SEARCH_QUERY_MAX + 1], canon[SEARCH_QUERY_MAX + 1];
    uint64_t sids[SESSIONS_MAX];
    wire_reader_init(&r, in, inlen);
    int got = wire_get_str(&r, q, sizeof q);
    unsigned k = wire_get_u8(&r);
    size_t n = wire_get_count(&r, 8, SESSIONS_MAX);
    for (size_t i = 0; i < n; i++)
        sids[i] = wire_get_u64(&r);
    if (got != 0 || wire_reader_finish(&r) != 0 || k > SEARCH_K_MAX)
        return tee_fail(env, CLOISTER_E_INVALID, "query: a query, k, and peers");
    if (search_canonical(q, strlen(q), canon, sizeof canon) == 0)
        return tee_fail(env, CLOISTER_E_INVALID, "the query has no search term");
    pthread_mutex_lock(&st->lock);
    int rc = st->ready ? query_locked(env, st, canon, k, sids, n, out)
                       : tee_fail(env, CLOISTER_E_STATE, "query: not initialised");
    pthread_mutex_unlock(&st->lock);
    crypto_wipe(q, sizeof q);
    crypto_wipe(canon, sizeof canon);
    return rc;
}

/* Records id in s; false when it was seen already. */
static bool first_seen(struct session *s, const uint8_t id[CYCLOSA_ID_LEN])
{
    uint64_t h;
    memcpy(&h, id, sizeof h); /* ids are random: their bytes are uniform */
    for (size_t i = (size_t)(h % SEEN_SLOTS);; i = (i + 1) % SEEN_SLOTS) {
        static const uint8_t empty[CYCLOSA_ID_LEN];
        if (memcmp(s->seen[i], id, CYCLOSA_ID_LEN) == 0)
            return false;
        if (memcmp(s->seen[i], empty, CYCLOSA_ID_LEN) == 0) {
            memcpy(s->seen[i], id, CYCLOSA_ID_LEN);
            s->nseen++;
            return true;
        }
    }
}

static int relay_locked(struct tee_env *env, struct cyc_state *st, const struct cyclosa_frame *f,
                        uint8_t id[CYCLOSA_ID_LEN], char q[SEARCH_QUERY_MAX + 1])
{
    uint8_t pt[CYCLOSA_QUERY_PLAIN];
    struct cloister_err err = {0};
    struct session *s = session_find(st, f->sid);
    if (!s)
        return tee_fail(env, CLOISTER_E_STATE, "relay: no such session (attest again)");
    if (open_frame(s, CYCLOSA_KIND_QUERY, f, sizeof pt, pt) != CLOISTER_OK)
        return tee_fail(env, CLOISTER_E_DENIED, "relay: the message was tampered with");
    int rc = cyclosa_query_decode(pt, sizeof pt, id, q, &err);
    crypto_wipe(pt, sizeof pt);
    if (rc != CLOISTER_OK)
        return tee_fail(env, rc, "relay: %s", err.msg);
    if (!first_seen(s, id))
        return tee_fail(env, CLOISTER_E_DENIED, "relay: the message was replayed");
    if (s->nseen >= SESSION_MESSAGES)
        session_clear(s); /* worn out: its messages can no longer be opened */
    if (*q && search_history_add(&st->table, q, strlen(q)) != CLOISTER_OK)
        return tee_fail(env, CLOISTER_E_NO_MEMORY, "relay: out of memory");
    return CLOISTER_OK;
}

/* The engine's path for q: GET /search?n=HITS&q=Q, Q percent-encoded. */
static void engine_path(const char *q, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t at = (size_t)snprintf(out, cap, "/search?n=%d&q=", CYCLOSA_ENGINE_HITS);
    for (const unsigned char *p = (const unsigned char *)q; *p && at + 4 <= cap; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9') || strchr("-_.~", *p);
        if (plain) {
            out[at++] = (char)*p;
        } else {
            out[at++] = '%';
            out[at++] = hex[*p >> 4];
            out[at++] = hex[*p & 15];
        }
    }
    out[at] = 0;
}

/* With TLS to the engine: the connection asking the engine for q, its handle and first flight
 * appended to out (the query never leaves the enclave in clear). */
static int engine_open_locked(struct tee_env *env, struct cyc_state *st, const char *q,
                              struct wire_writer *out)
{
    char path[3 * SEARCH_QUERY_MAX + 64], msg[160];
    engine_path(q, path, sizeof path);
    uint64_t h = ++st->nconns;
    struct etls **slot = &st->conn[h % CONNS_MAX];
    etls_free(*slot);
    *slot = etls_new(st->tls, path);
    crypto_wipe(path, sizeof path);
    if (!*slot)
        return tee_fail(env, CLOISTER_E_NO_MEMORY, "relay: out of memory");
    wire_put_u64(out, h);
    if (etls_step(*slot, NULL, 0, false, out, msg, sizeof msg) == 0)
        return CLOISTER_OK; /* a first flight is never done */
    etls_free(*slot);
    *slot = NULL;
    return tee_fail(env, CLOISTER_E_FAILED, "relay: %s", msg);
}

static int ecall_relay(struct tee_env *env, const uint8_t *in, size_t inlen,
                       struct wire_writer *out)
{
    struct cyc_state *st = tee_env_state(env);
    struct wire_reader r;
    struct cyclosa_frame f;
    struct cloister_err err = {0};
    uint8_t id[CYCLOSA_ID_LEN];
    char q[SEARCH_QUERY_MAX + 1];
    size_t len = 0;
    wire_reader_init(&r, in, inlen);
    const uint8_t *frame = wire_get_bytes(&r, CYCLOSA_ANSWER_FRAME, &len);
    if (wire_reader_finish(&r) != 0)
        return tee_fail(env, CLOISTER_E_INVALID, "relay: %s", wire_reader_error(&r));
    int rc = cyclosa_frame_parse(frame, len, CYCLOSA_QUERY_PLAIN, &f, &err);
    if (rc != CLOISTER_OK)
        return tee_fail(env, rc, "relay: %s", err.msg);
    pthread_mutex_lock(&st->lock);
    rc = st->ready ? relay_locked(env, st, &f, id, q)
                   : tee_fail(env, CLOISTER_E_STATE, "relay: not initialised");
    if (rc == CLOISTER_OK) {
        wire_put_u64(out, f.sid);
        wire_put_raw(out, id, sizeof id);
        wire_put_str(out, st->tls ? "" : q);
        if (st->tls)
            rc = engine_open_locked(env, st, q, out);
    }
    pthread_mutex_unlock(&st->lock);
    crypto_wipe(q, sizeof q);
    return rc;
}

/* ENGINE: one step of a connection to the engine (in: handle, flags 1 = EOF 2 = drop, the
 * engine's bytes; out: the bytes to send, done, and once done the engine's body). */
static int ecall_engine(struct tee_env *env, const uint8_t *in, size_t inlen,
                        struct wire_writer *out)
{
    struct cyc_state *st = tee_env_state(env);
    struct wire_reader r;
    size_t len = 0;
    char msg[160];
    wire_reader_init(&r, in, inlen);
    uint64_t h = wire_get_u64(&r);
    uint8_t flags = wire_get_u8(&r);
    const uint8_t *bytes = wire_get_bytes(&r, (size_t)1 << 20, &len);
    if (wire_reader_finish(&r) != 0)
        return tee_fail(env, CLOISTER_E_INVALID, "engine: a handle, flags and bytes");
    pthread_mutex_lock(&st->lock);
    struct etls **slot = &st->conn[h % CONNS_MAX];
    int rc, step = 1;
    if (h == 0 || h > st->nconns || h + CONNS_MAX <= st->nconns || !*slot)
        rc = tee_fail(env, CLOISTER_E_STATE, "engine: no such connection");
    else if (!(flags & 2) &&
             (step = etls_step(*slot, bytes, len, flags & 1, out, msg, sizeof msg)) < 0)
        rc = tee_fail(env, CLOISTER_E_FAILED, "%s", msg);
    else
        rc = CLOISTER_OK;
    if (step != 0 && *slot) { /* dropped, done or failed */
        etls_free(*slot);
        *slot = NULL;
    }
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static int ecall_answer(struct tee_env *env, const uint8_t *in, size_t inlen,
                        struct wire_writer *out)
{
    struct cyc_state *st = tee_env_state(env);
    struct wire_reader r;
    uint8_t id[CYCLOSA_ID_LEN];
    size_t hlen = 0;
    wire_reader_init(&r, in, inlen);
    uint64_t sid = wire_get_u64(&r);
    wire_get_raw_into(&r, id, sizeof id);
    const uint8_t *hits = wire_get_bytes(&r, CYCLOSA_ANSWER_PLAIN, &hlen);
    uint8_t *pt = wire_reader_finish(&r) == 0 ? malloc(CYCLOSA_ANSWER_PLAIN) : NULL;
    if (!pt)
        return tee_fail(env, CLOISTER_E_INVALID, "answer: a session, an id and hits");
    int rc = cyclosa_answer_encode(id, hits, hlen, pt);
    if (rc != CLOISTER_OK) {
        free(pt);
        return tee_fail(env, rc, "answer: the hits do not fit in %zu bytes", CYCLOSA_ANSWER_PLAIN);
    }
    pthread_mutex_lock(&st->lock);
    struct session *s = session_find(st, sid);
    rc = !s ? tee_fail(env, CLOISTER_E_STATE, "answer: no such session")
         : seal(s, CYCLOSA_KIND_ANSWER, pt, CYCLOSA_ANSWER_PLAIN, out) != CLOISTER_OK
             ? tee_fail(env, CLOISTER_E_NO_MEMORY, "answer: out of memory")
             : CLOISTER_OK;
    pthread_mutex_unlock(&st->lock);
    free(pt);
    return rc;
}

static int ecall_open(struct tee_env *env, const uint8_t *in, size_t inlen, struct wire_writer *out)
{
    struct cyc_state *st = tee_env_state(env);
    struct wire_reader r;
    struct cyclosa_frame f;
    struct cloister_err err = {0};
    uint8_t id[CYCLOSA_ID_LEN];
    size_t len = 0, hlen = 0;
    const uint8_t *hits = NULL;
    wire_reader_init(&r, in, inlen);
    uint64_t sid = wire_get_u64(&r);
    const uint8_t *frame = wire_get_bytes(&r, CYCLOSA_ANSWER_FRAME, &len);
    if (wire_reader_finish(&r) != 0)
        return tee_fail(env, CLOISTER_E_INVALID, "open: %s", wire_reader_error(&r));
    int rc = cyclosa_frame_parse(frame, len, CYCLOSA_ANSWER_PLAIN, &f, &err);
    if (rc != CLOISTER_OK)
        return tee_fail(env, rc, "open: %s", err.msg);
    uint8_t *pt = malloc(CYCLOSA_ANSWER_PLAIN);
    if (!pt)
        return tee_fail(env, CLOISTER_E_NO_MEMORY, "open: out of memory");
    pthread_mutex_lock(&st->lock);
    struct session *s = f.sid == sid ? session_find(st, sid) : NULL;
    rc = !s ? tee_fail(env, CLOISTER_E_STATE, "open: no such session")
         : open_frame(s, CYCLOSA_KIND_ANSWER, &f, CYCLOSA_ANSWER_PLAIN, pt) != CLOISTER_OK
             ? tee_fail(env, CLOISTER_E_DENIED, "open: the answer was tampered with")
             : CLOISTER_OK;
    pthread_mutex_unlock(&st->lock);
    if (rc == CLOISTER_OK &&
        (rc = cyclosa_answer_decode(pt, CYCLOSA_ANSWER_PLAIN, id, &hits, &hlen, &err)) != 0)
        rc = tee_fail(env, rc, "open: %s", err.msg);
    if (rc == CLOISTER_OK) {
        wire_put_raw(out, id, sizeof id);
        wire_put_bytes(out, hits, hlen);
    }
    free(pt);
    return rc;
}

static int ecall_forget(struct tee_env *env, const uint8_t *in, size_t inlen,
                        struct wire_writer *out)
{
    (void)out;
    struct cyc_state *st = tee_env_state(env);
    struct wire_reader r;
    wire_reader_init(&r, in, inlen);
    uint64_t sid = wire_get_u64(&r);
    if (wire_reader_finish(&r) != 0)
        return tee_fail(env, CLOISTER_E_INVALID, "forget: a session id");
    pthread_mutex_lock(&st->lock);
    struct session *s = session_find(st, sid);
    if (s)
        session_clear(s);
    pthread_mutex_unlock(&st->lock);
    return CLOISTER_OK;
}

#define CYCLOSA_ECALLS(X)                                                                          \
    X(CYCLOSA_ECALL_INIT, init)                                                                    \
    X(CYCLOSA_ECALL_HELLO, hello)                                                                  \
    X(CYCLOSA_ECALL_ACCEPT, accept)                                                                \
    X(CYCLOSA_ECALL_FINISH, finish)                                                                \
    X(CYCLOSA_ECALL_QUERY, query)                                                                  \
    X(CYCLOSA_ECALL_RELAY, relay)                                                                  \
    X(CYCLOSA_ECALL_ANSWER, answer)                                                                \
    X(CYCLOSA_ECALL_OPEN, open)                                                                    \
    X(CYCLOSA_ECALL_FORGET, forget)                                                                \
    X(CYCLOSA_ECALL_ENGINE, engine)
TEE_ENCLAVE_DEFINE_WITH(cyclosa, CYCLOSA_ECALLS, .state_size = sizeof(struct cyc_state),
                        .on_start = cyc_on_start, .on_stop = cyc_on_stop);
