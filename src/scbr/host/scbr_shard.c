/* scbr_shard.c -- a sharded SCBR router's traffic on NATS (docs/scbr.md, "Shards").
 *
 * The front is a router (its ZeroMQ endpoint, clients, queues and deliveries unchanged) whose
 * batches go through its enclave's forward ecalls instead of its own index: the enclave opens
 * the clients' envelopes and answers, per message, the records it sealed for the shards that
 * must see it. This file sends each shard its records as one request on
 * scbr.<cluster>.shard.<i>, waits (bounded) for the answers on scbr.<cluster>.front, and
 * merges them into the answer the router's own batch ecall would have given: a subscription
 * holds when every shard it went to registered it, an unsubscription when one shard owned it,
 * and a publication goes to the union of the subscribers the shards named, each once.
 *
 * Shards answer with their enclave's epoch, which the records must name: the front learns it
 * from every answer and from the announcement a shard makes when it (re)starts, so records
 * sealed for a dead instance are refused as stale and the next batch is sealed for the new
 * one. A shard that does not answer in time loses that batch (its publications' deliveries
 * from that shard, its subscriptions answered "failed"), as a router's crashed enclave does.
 *
 * The shard is a router too (provisioning, statistics and persistence on its own endpoint);
 * its loop calls scbr_shard_link_serve, which hands each request's batch to the shard
 * enclave's batch ecalls and posts the enclave's answer back as it is. Everything on NATS is
 * sealed records, sender ids, counts and sizes: no header or filter in clear. */
#include "scbr/host/scbr_shard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cloister/crypto.h>

#include "bus/bus.h"
#include "scbr/common/scbr_proto.h"

#define CLOG_MODULE "scbr"
#include "util/log.h"

#define SUBJECT_MAX 160
#define TIMEOUT_MS 2000
#define NAME_MAX_LEN 64

/* Batches and their answers are written to NATS at once: the front waits for them. */
static const struct bus_options asap = {.send_asap = true};

/* One shard's answer to a request in flight, and where its items start. */
struct answer {
    uint8_t *data; /* the whole message, malloc'd; NULL: none yet */
    struct scbr_shard_msg m;
    const uint8_t **items; /* per position in the shard's batch: its status byte */
    size_t nitems;
};

struct ref {
    uint32_t shard, pos;
};

struct fitem {
    uint8_t st;
    uint32_t id;
    size_t first, nrefs;
};

struct sender {
    const uint8_t *id;
    size_t len;
};

/* A request to some shards (counts[j] items for shard j) and their answers: a batch in flight,
 * or a control request (hello, split, absorb, prune). */
struct flight {
    uint64_t req; /* 0: none */
    uint8_t kind;
    uint64_t epoch;   /* a batch's: the front enclave's, from its answer */
    int64_t deadline; /* ms, monotonic */
    size_t n;         /* a batch's items */
    struct fitem *items;
    size_t items_cap;
    struct ref *refs;
    size_t nrefs, refs_cap;
    uint32_t counts[SCBR_SHARDS_MAX];
    struct answer ans[SCBR_SHARDS_MAX];
};

struct scbr_front {
    struct bus *b;
    struct bus_sub *answers;
    char cluster[NAME_MAX_LEN + 1];
    char key[SCBR_SHARD_KEY_MAX + 1];
    unsigned n, timeout_ms;
    uint64_t epochs[SCBR_SHARDS_MAX];
    uint64_t req, timeouts;
    uint64_t session; /* random, in every request: a shard checks the order per session */
    struct wire_writer in, msg, shard_batch[SCBR_SHARDS_MAX];
    struct flight fl[SCBR_FRONT_INFLIGHT]; /* batches, oldest at head */
    unsigned head, nfl;
    struct flight ctl; /* the control request in progress */
    struct sender *senders;
    size_t senders_cap;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * size);
    if (!q)
        return false;
    *p = q;
    *cap = n;
    return true;
}

static int check_cluster(const char *name, struct cloister_err *err)
{
    size_t len = strlen(name);
    bool ok = len >= 1 && len <= NAME_MAX_LEN;
    for (size_t i = 0; ok && i < len; i++)
        ok = (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= 'A' && name[i] <= 'Z') ||
             (name[i] >= '0' && name[i] <= '9') || name[i] == '_' || name[i] == '-';
    return ok ? 0
              : cloister_errf(err, CLOISTER_E_INVALID,
                              "bad cluster name '%s': 1 to 64 of A-Z a-z 0-9 _ -", name);
}

static void shard_subject(char *out, const char *cluster, unsigned i)
{
    snprintf(out, SUBJECT_MAX, "scbr.%s.shard.%u", cluster, i);
}

static void front_subject(char *out, const char *cluster)
{
    snprintf(out, SUBJECT_MAX, "scbr.%s.front", cluster);
}

/* Posts request kind (id req, body) to shard j. */
static int post_request(struct scbr_front *f, unsigned j, uint8_t kind, uint64_t req,
                        const void *body, size_t len, struct cloister_err *err)
{
    char subject[SUBJECT_MAX];
    struct scbr_shard_msg m =
        {.kind = kind, .req = req, .shard = j, .epoch = f->session, .body = body, .body_len = len};
    f->msg.len = 0;
    scbr_shard_msg_encode(&f->msg, &m);
    shard_subject(subject, f->cluster, j);
    if (!wire_writer_ok(&f->msg))
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "shard %u: out of memory", j);
    return bus_post(f->b, subject, f->msg.buf, f->msg.len, err);
}

static void answers_clear(struct flight *fl)
{
    for (unsigned j = 0; j < SCBR_SHARDS_MAX; j++) {
        free(fl->ans[j].data);
        free(fl->ans[j].items);
        memset(&fl->ans[j], 0, sizeof fl->ans[j]);
    }
    fl->req = 0;
}

static struct flight *flight_of(struct scbr_front *f, uint64_t req)
{
    for (unsigned k = 0; req && k < f->nfl; k++)
        if (f->fl[(f->head + k) % SCBR_FRONT_INFLIGHT].req == req)
            return &f->fl[(f->head + k) % SCBR_FRONT_INFLIGHT];
    return req && f->ctl.req == req ? &f->ctl : NULL;
}

/* Takes one answer: every answer tells its shard's epoch; one to a request in flight is kept. */
static void take_answer(struct scbr_front *f, uint8_t *data, size_t len)
{
    struct scbr_shard_msg m;
    struct cloister_err err;
    if (scbr_shard_msg_decode(&m, data, len, &err) != 0 || m.shard >= f->n) {
        clog_warn("a malformed shard answer was dropped: %s",
                  m.shard >= f->n ? "a shard out of range" : err.msg);
        free(data);
        return;
    }
    if (f->epochs[m.shard] != m.epoch)
        clog_info("shard %u has a new epoch", m.shard);
    f->epochs[m.shard] = m.epoch;
    struct flight *fl = flight_of(f, m.req);
    if (fl && !fl->ans[m.shard].data) {
        fl->ans[m.shard].data = data;
        fl->ans[m.shard].m = m;
        return;
    }
    free(data);
}

static bool complete(const struct scbr_front *f, const struct flight *fl)
{
    for (unsigned j = 0; j < f->n; j++)
        if (fl->counts[j] && !fl->ans[j].data)
            return false;
    return true;
}

/* Reads answers until every shard fl asked answered, or until deadline (ms, monotonic); with
 * fl NULL, only what is queued now. */
static void read_answers(struct scbr_front *f, struct flight *fl, int64_t deadline)
{
    while (!fl || !complete(f, fl)) {
        int64_t wait = fl ? deadline - now_ms() : 0;
        uint8_t *data = NULL;
        size_t len;
        struct cloister_err err;
        if (wait < 0 || bus_sub_next(f->answers, wait, NULL, 0, &data, &len, &err) != 0 || !data)
            return;
        take_answer(f, data, len);
    }
}

/* Sends control request kind with body (per shard: bodies[j]) to the shards with
 * ctl.counts[j] set, and waits for their answers. CLOISTER_OK when every one answered and its
 * ecall succeeded. */
static int ask_shards(struct scbr_front *f, uint8_t kind, struct wire_writer *bodies,
                      const char *what, struct cloister_err *err)
{
    f->ctl.req = ++f->req;
    for (unsigned j = 0; j < SCBR_SHARDS_MAX; j++)
        if (f->ctl.counts[j] &&
            post_request(f, j, kind, f->ctl.req, bodies[j].buf, bodies[j].len, err) != 0)
            return cloister_errf(err, CLOISTER_E_SYSTEM, "%s: cannot reach shard %u", what, j);
    read_answers(f, &f->ctl, now_ms() + f->timeout_ms);
    for (unsigned j = 0; j < SCBR_SHARDS_MAX; j++)
        if (f->ctl.counts[j] && (!f->ctl.ans[j].data || f->ctl.ans[j].m.status != 0))
            return cloister_errf(err, f->ctl.ans[j].data ? CLOISTER_E_FAILED : CLOISTER_E_TIMEOUT,
                                 "%s: shard %u %s", what, j,
                                 f->ctl.ans[j].data ? "failed" : "did not answer");
    return CLOISTER_OK;
}

int scbr_front_open(const struct scbr_front_config *c, struct scbr_front **out,
                    struct cloister_err *err)
{
    const char *cluster = c->cluster ? c->cluster : "main";
    const char *key = c->key ? c->key : "";
    if (check_cluster(cluster, err) != 0)
        return CLOISTER_E_INVALID;
    if (c->nshards == 0 || c->nshards > SCBR_SHARDS_MAX || strlen(key) > SCBR_SHARD_KEY_MAX)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "a front needs 1 to %d shards and a key of at most %d bytes",
                             SCBR_SHARDS_MAX, SCBR_SHARD_KEY_MAX);
    struct scbr_front *f = calloc(1, sizeof *f);
    if (!f)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    snprintf(f->cluster, sizeof f->cluster, "%s", cluster);
    snprintf(f->key, sizeof f->key, "%s", key);
    f->n = c->nshards;
    f->timeout_ms = c->timeout_ms ? c->timeout_ms : TIMEOUT_MS;
    if (crypto_random(&f->session, sizeof f->session) != 0) {
        scbr_front_close(f);
        return cloister_errf(err, CLOISTER_E_SYSTEM, "no randomness");
    }
    wire_writer_init(&f->in);
    wire_writer_init(&f->msg);
    for (unsigned j = 0; j < SCBR_SHARDS_MAX; j++)
        wire_writer_init(&f->shard_batch[j]);
    char subject[SUBJECT_MAX];
    front_subject(subject, f->cluster);
    if (!(f->b = bus_connect(c->nats, &asap, err)) ||
        !(f->answers = bus_subscribe(f->b, subject, err))) {
        scbr_front_close(f);
        return err->code;
    }
    for (unsigned j = 0; j < f->n; j++) /* hello: every shard's epoch */
        f->ctl.counts[j] = 1;
    struct cloister_err e;
    if (ask_shards(f, SCBR_SHARD_HELLO, f->shard_batch, "hello", &e) != 0)
        clog_warn("not every shard answered yet (they will announce themselves): %s", e.msg);
    answers_clear(&f->ctl);
    memset(f->ctl.counts, 0, sizeof f->ctl.counts);
    *out = f;
    return CLOISTER_OK;
}

/* Reads the front enclave's answer: per item its status, id and records, which are appended
 * to their shards' batches. */
static int plan_items(struct scbr_front *f, struct flight *fl, struct wire_reader *r)
{
    fl->nrefs = 0;
    memset(fl->counts, 0, sizeof fl->counts);
    for (unsigned j = 0; j < f->n; j++)
        f->shard_batch[j].len = 0;
    if (!grow((void **)&fl->items, &fl->items_cap, fl->n, sizeof *fl->items))
        return CLOISTER_E_NO_MEMORY;
    for (size_t i = 0; i < fl->n && wire_reader_ok(r); i++) {
        struct fitem *it = &fl->items[i];
        it->st = wire_get_u8(r);
        it->id = wire_get_u32(r);
        it->nrefs = wire_get_count(r, 6, SCBR_SHARDS_MAX);
        it->first = fl->nrefs;
        if (!grow((void **)&fl->refs, &fl->refs_cap, fl->nrefs + it->nrefs, sizeof *fl->refs))
            return CLOISTER_E_NO_MEMORY;
        for (size_t k = 0; k < it->nrefs && wire_reader_ok(r); k++) {
            uint32_t shard = wire_get_u32(r);
            size_t flen, rlen;
            const uint8_t *front = wire_get_bytes(r, 8, &flen);
            const uint8_t *rec = wire_get_bytes(r, SCBR_BODY_MAX + 64, &rlen);
            if (wire_reader_ok(r) && shard >= f->n) {
                wire_reader_fail(r, "a record for a shard out of range");
                break;
            }
            wire_put_bytes(&f->shard_batch[shard], front, flen);
            wire_put_bytes(&f->shard_batch[shard], rec, rlen);
            fl->refs[fl->nrefs++] = (struct ref){shard, fl->counts[shard]++};
        }
    }
    return wire_reader_finish(r) == 0 ? CLOISTER_OK : CLOISTER_E_PROTOCOL;
}

/* Each shard with records gets them as one batch: one NATS message per shard and batch. */
static void post_batches(struct scbr_front *f, const struct flight *fl)
{
    for (unsigned j = 0; j < f->n; j++) {
        if (!fl->counts[j])
            continue;
        struct cloister_err err;
        f->in.len = 0;
        wire_put_varint(&f->in, fl->counts[j]);
        wire_put_raw(&f->in, f->shard_batch[j].buf, f->shard_batch[j].len);
        if (!wire_writer_ok(&f->in) ||
            post_request(f, j, fl->kind, fl->req, f->in.buf, f->in.len, &err) != 0)
            clog_warn("cannot send shard %u its batch", j);
    }
}

/* Indexes shard j's answer: where each item's status byte is (publications: then its
 * subscribers). A malformed answer counts as none. */
static void index_answer(struct answer *a, uint8_t kind, uint32_t count)
{
    struct wire_reader r;
    if (!a->data || a->m.status != 0 || !(a->items = calloc(count, sizeof *a->items)))
        return;
    wire_reader_init(&r, a->m.body, a->m.body_len);
    wire_get_u64(&r);
    if (wire_get_count(&r, 1, SCBR_BATCH_MAX) != count)
        wire_reader_fail(&r, "wrong item count");
    for (uint32_t i = 0; i < count && wire_reader_ok(&r); i++) {
        a->items[i] = a->m.body + (a->m.body_len - wire_reader_remaining(&r));
        wire_get_u8(&r);
        size_t k = kind == SCBR_MSG_PUBLISH ? wire_get_count(&r, 2, SIZE_MAX) : 0, len;
        for (size_t s = 0; s < k && wire_reader_ok(&r); s++)
            wire_get_bytes(&r, SCBR_SENDER_MAX, &len);
    }
    if (wire_reader_finish(&r) == 0) {
        a->nitems = count;
        return;
    }
    clog_warn("a shard's answer is malformed: %s", wire_reader_error(&r));
    free(a->items);
    a->items = NULL;
}

/* The status shard ref gave its item (FAILED when it did not answer). */
static uint8_t ref_status(const struct flight *fl, const struct ref *ref)
{
    const struct answer *a = &fl->ans[ref->shard];
    return ref->pos < a->nitems ? a->items[ref->pos][0] : SCBR_ST_FAILED;
}

static int sender_cmp(const void *a, const void *b)
{
    const struct sender *x = a, *y = b;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1;
    return memcmp(x->id, y->id, x->len);
}

/* The distinct subscribers every shard named for a publication. */
static void merge_senders(struct scbr_front *f, const struct flight *fl, const struct fitem *it,
                          struct wire_writer *o)
{
    size_t n = 0;
    for (size_t k = 0; k < it->nrefs; k++) {
        const struct ref *ref = &fl->refs[it->first + k];
        if (ref_status(fl, ref) != SCBR_ST_OK)
            continue;
        const struct answer *a = &fl->ans[ref->shard];
        struct wire_reader r;
        const uint8_t *at = a->items[ref->pos];
        wire_reader_init(&r, at, a->m.body_len - (size_t)(at - a->m.body));
        wire_get_u8(&r);
        size_t m = wire_get_count(&r, 2, SIZE_MAX);
        if (!grow((void **)&f->senders, &f->senders_cap, n + m, sizeof *f->senders))
            break;
        for (size_t s = 0; s < m; s++, n++)
            f->senders[n].id = wire_get_bytes(&r, SCBR_SENDER_MAX, &f->senders[n].len);
    }
    if (n > 1)
        qsort(f->senders, n, sizeof *f->senders, sender_cmp);
    size_t k = 0;
    for (size_t s = 0; s < n; s++)
        if (s == 0 || sender_cmp(&f->senders[s - 1], &f->senders[s]) != 0)
            f->senders[k++] = f->senders[s];
    wire_put_varint(o, k);
    for (size_t s = 0; s < k; s++)
        wire_put_bytes(o, f->senders[s].id, f->senders[s].len);
}

/* A subscription holds when every shard it went to took it; an unsubscription when one did
 * (the others never had it). */
static uint8_t merge_status(const struct flight *fl, const struct fitem *it)
{
    if (it->st != SCBR_ST_OK || fl->kind == SCBR_MSG_PUBLISH)
        return it->st;
    uint8_t st = fl->kind == SCBR_MSG_UNSUBSCRIBE ? SCBR_ST_DENIED : SCBR_ST_OK;
    for (size_t k = 0; k < it->nrefs; k++) {
        uint8_t s = ref_status(fl, &fl->refs[it->first + k]);
        if (fl->kind == SCBR_MSG_UNSUBSCRIBE && (s == SCBR_ST_OK || st == SCBR_ST_DENIED))
            st = s;
        else if (fl->kind == SCBR_MSG_SUBSCRIBE && s != SCBR_ST_OK)
            return s;
    }
    return st;
}

int scbr_front_submit(struct scbr_front *f, scbr_call_fn call, void *arg, uint8_t kind,
                      const uint8_t *batch, size_t len)
{
    static const uint32_t ecall_of[] = {[SCBR_MSG_SUBSCRIBE] = SCBR_ECALL_FWD_SUBSCRIBE,
                                        [SCBR_MSG_UNSUBSCRIBE] = SCBR_ECALL_FWD_UNSUBSCRIBE,
                                        [SCBR_MSG_PUBLISH] = SCBR_ECALL_FWD_PUBLISH};
    if (f->nfl == SCBR_FRONT_INFLIGHT)
        return CLOISTER_E_BUSY;
    read_answers(f, NULL, 0); /* announcements and answers: the shards' current epochs */
    f->in.len = 0;
    wire_put_varint(&f->in, f->n);
    for (unsigned j = 0; j < f->n; j++)
        wire_put_u64(&f->in, f->epochs[j]);
    wire_put_bytes(&f->in, f->key, strlen(f->key));
    wire_put_bytes(&f->in, batch, len);
    uint8_t *fo = NULL;
    size_t folen = 0;
    int rc = wire_writer_ok(&f->in) ? call(arg, ecall_of[kind], f->in.buf, f->in.len, &fo, &folen)
                                    : CLOISTER_E_NO_MEMORY;
    struct flight *fl = &f->fl[(f->head + f->nfl) % SCBR_FRONT_INFLIGHT];
    struct wire_reader r;
    wire_reader_init(&r, fo, folen);
    fl->kind = kind;
    fl->epoch = wire_get_u64(&r);
    fl->n = wire_get_count(&r, 6, SCBR_BATCH_MAX);
    if (rc == CLOISTER_OK)
        rc = plan_items(f, fl, &r);
    free(fo);
    if (rc != CLOISTER_OK)
        return rc;
    fl->req = ++f->req;
    fl->deadline = now_ms() + f->timeout_ms;
    post_batches(f, fl);
    f->nfl++;
    return CLOISTER_OK;
}

size_t scbr_front_inflight(const struct scbr_front *f)
{
    return f->nfl;
}

/* The oldest batch's answer, merged as the router's own batch ecall would give it. */
static int merge(struct scbr_front *f, struct flight *fl, uint8_t **out, size_t *outlen)
{
    for (unsigned j = 0; j < f->n; j++) {
        if (fl->counts[j] && !fl->ans[j].data)
            f->timeouts++;
        index_answer(&fl->ans[j], fl->kind, fl->counts[j]);
    }
    struct wire_writer o;
    wire_writer_init(&o);
    wire_put_u64(&o, fl->epoch);
    wire_put_varint(&o, fl->n);
    for (size_t i = 0; i < fl->n; i++) {
        uint8_t st = merge_status(fl, &fl->items[i]);
        wire_put_u8(&o, st);
        if (fl->kind == SCBR_MSG_SUBSCRIBE)
            wire_put_u32(&o, st == SCBR_ST_OK ? fl->items[i].id : 0);
        else if (fl->kind == SCBR_MSG_PUBLISH && st == SCBR_ST_OK)
            merge_senders(f, fl, &fl->items[i], &o);
        else if (fl->kind == SCBR_MSG_PUBLISH)
            wire_put_varint(&o, 0);
    }
    return wire_writer_finish(&o, out, outlen) == 0 ? CLOISTER_OK : CLOISTER_E_NO_MEMORY;
}

int scbr_front_collect(struct scbr_front *f, int64_t wait_ms, uint8_t **out, size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    if (!f->nfl)
        return 0;
    struct flight *fl = &f->fl[f->head];
    int64_t now = now_ms();
    read_answers(f, fl, wait_ms < fl->deadline - now ? now + wait_ms : fl->deadline);
    if (!complete(f, fl) && now_ms() < fl->deadline)
        return 0;
    int rc = merge(f, fl, out, outlen);
    answers_clear(fl);
    f->head = (f->head + 1) % SCBR_FRONT_INFLIGHT;
    f->nfl--;
    return rc == CLOISTER_OK ? 1 : rc;
}

static void plan_encode(struct scbr_front *f, struct wire_writer *w, unsigned old_n, unsigned new_n,
                        unsigned self)
{
    w->len = 0;
    wire_put_varint(w, old_n);
    wire_put_varint(w, new_n);
    wire_put_u32(w, self);
    wire_put_bytes(w, f->key, strlen(f->key));
    for (unsigned j = 0; j < new_n; j++)
        wire_put_u64(w, f->epochs[j]);
}

/* Splits every old shard's subscriptions into moves, queued per target in shard_batch; the
 * counts become the targets' numbers of moves. */
static int split(struct scbr_front *f, unsigned new_n, struct cloister_err *err)
{
    for (unsigned j = 0; j < SCBR_SHARDS_MAX; j++)
        f->ctl.counts[j] = j < f->n;
    for (unsigned j = 0; j < f->n; j++)
        plan_encode(f, &f->shard_batch[j], f->n, new_n, j);
    int rc = ask_shards(f, SCBR_SHARD_SPLIT, f->shard_batch, "split", err);
    for (unsigned j = 0; j < new_n; j++)
        f->shard_batch[j].len = 0;
    uint32_t moves[SCBR_SHARDS_MAX] = {0};
    for (unsigned j = 0; rc == CLOISTER_OK && j < f->n; j++) {
        struct wire_reader r;
        wire_reader_init(&r, f->ctl.ans[j].m.body, f->ctl.ans[j].m.body_len);
        wire_get_u64(&r);
        size_t m = wire_get_count(&r, 6, SCBR_SHARDS_MAX);
        for (size_t k = 0; k < m && wire_reader_ok(&r); k++) {
            size_t slen, mlen;
            uint32_t t = wire_get_u32(&r);
            const uint8_t *src = wire_get_bytes(&r, 8, &slen);
            const uint8_t *move = wire_get_bytes(&r, SIZE_MAX, &mlen);
            if (wire_reader_ok(&r) && t >= new_n)
                wire_reader_fail(&r, "a move to a shard out of range");
            if (wire_reader_ok(&r)) {
                wire_put_bytes(&f->shard_batch[t], src, slen);
                wire_put_bytes(&f->shard_batch[t], move, mlen);
                moves[t]++;
            }
        }
        if (wire_reader_finish(&r) != 0)
            rc = cloister_errf(err, CLOISTER_E_PROTOCOL, "split: shard %u's answer: %s", j,
                               wire_reader_error(&r));
    }
    answers_clear(&f->ctl);
    memcpy(f->ctl.counts, moves, sizeof moves);
    return rc;
}

/* Hands each target its moves (one batch); every move must be taken. */
static int absorb(struct scbr_front *f, unsigned new_n, struct cloister_err *err)
{
    for (unsigned t = 0; t < new_n; t++) {
        f->in.len = 0;
        wire_put_varint(&f->in, f->ctl.counts[t]);
        wire_put_raw(&f->in, f->shard_batch[t].buf, f->shard_batch[t].len);
        f->shard_batch[t].len = 0;
        wire_put_raw(&f->shard_batch[t], f->in.buf, f->in.len);
    }
    int rc = ask_shards(f, SCBR_SHARD_ABSORB, f->shard_batch, "absorb", err);
    for (unsigned t = 0; rc == CLOISTER_OK && t < new_n; t++) {
        struct answer *a = &f->ctl.ans[t];
        index_answer(a, SCBR_MSG_SUBSCRIBE, f->ctl.counts[t]);
        for (uint32_t k = 0; k < f->ctl.counts[t]; k++)
            if (k >= a->nitems || a->items[k][0] != SCBR_ST_OK)
                rc = cloister_errf(
                    err, CLOISTER_E_FAILED, "absorb: shard %u refused a move: %s", t,
                    scbr_status_name(k < a->nitems ? a->items[k][0] : SCBR_ST_FAILED));
    }
    answers_clear(&f->ctl);
    return rc;
}

/* Every shard of n drops what the partition into `to` shards does not give it. */
static int prune(struct scbr_front *f, unsigned n, unsigned to, struct cloister_err *err)
{
    for (unsigned j = 0; j < SCBR_SHARDS_MAX; j++)
        f->ctl.counts[j] = j < n;
    for (unsigned j = 0; j < n; j++)
        plan_encode(f, &f->shard_batch[j], n, to, j);
    int rc = ask_shards(f, SCBR_SHARD_PRUNE, f->shard_batch, "prune", err);
    answers_clear(&f->ctl);
    return rc;
}

/* Asks shards n..most-1 (beyond the partition in force) their epochs. */
static int hello_beyond(struct scbr_front *f, unsigned n, unsigned most, struct cloister_err *err)
{
    for (unsigned j = 0; j < SCBR_SHARDS_MAX; j++) {
        f->ctl.counts[j] = j >= n && j < most;
        f->shard_batch[j].len = 0;
    }
    f->n = most; /* answers from every shard involved are taken */
    int rc = ask_shards(f, SCBR_SHARD_HELLO, f->shard_batch, "the new shards", err);
    answers_clear(&f->ctl);
    f->n = n;
    return rc;
}

int scbr_front_prune(struct scbr_front *f, unsigned holders, struct cloister_err *err)
{
    unsigned n = f->n, most = holders > n ? holders : n;
    if (f->nfl)
        return cloister_errf(err, CLOISTER_E_STATE, "prune: batches are in flight");
    int rc = hello_beyond(f, n, most, err);
    f->n = most;
    if (rc == CLOISTER_OK)
        rc = prune(f, most, n, err);
    f->n = n;
    memset(f->ctl.counts, 0, sizeof f->ctl.counts);
    return rc;
}

static int journal_write(scbr_journal_fn journal, void *arg, unsigned in_force, unsigned others,
                         struct cloister_err *err)
{
    return journal ? journal(arg, in_force, others, err) : CLOISTER_OK;
}

int scbr_front_reshard(struct scbr_front *f, unsigned new_n, scbr_journal_fn journal, void *arg,
                       struct cloister_err *err)
{
    if (new_n == 0 || new_n > SCBR_SHARDS_MAX)
        return cloister_errf(err, CLOISTER_E_INVALID, "reshard: 1 to %d shards", SCBR_SHARDS_MAX);
    if (f->nfl)
        return cloister_errf(err, CLOISTER_E_STATE, "reshard: batches are in flight");
    unsigned old_n = f->n, most = new_n > old_n ? new_n : old_n, in_force = old_n;
    int rc = hello_beyond(f, old_n, most, err);
    if (rc == CLOISTER_OK) /* the targets may take copies from now on */
        rc = journal_write(journal, arg, old_n, new_n, err);
    if (rc == CLOISTER_OK && (rc = split(f, new_n, err)) == CLOISTER_OK) {
        f->n = most;
        rc = absorb(f, new_n, err);
        if (rc == CLOISTER_OK) /* every target holds its part: the new partition is in force */
            rc = journal_write(journal, arg, new_n, old_n, err);
        struct cloister_err e;
        if (rc == CLOISTER_OK) {
            in_force = new_n; /* a failed prune leaves copies, pruned at the next start */
            if ((rc = prune(f, most, new_n, err)) == CLOISTER_OK)
                rc = journal_write(journal, arg, new_n, 0, err);
        } else if (prune(f, most, old_n, &e) == CLOISTER_OK) { /* the copies go */
            journal_write(journal, arg, old_n, 0, &e);
        }
    }
    f->n = in_force;
    memset(f->ctl.counts, 0, sizeof f->ctl.counts);
    if (rc == CLOISTER_OK)
        clog_info("resharded from %u to %u shards", old_n, new_n);
    return rc;
}

unsigned scbr_front_shards(const struct scbr_front *f)
{
    return f->n;
}

void scbr_front_drop(struct scbr_front *f, const void *id, size_t len)
{
    struct cloister_err err;
    uint64_t req = ++f->req;
    for (unsigned j = 0; j < f->n; j++)
        post_request(f, j, SCBR_SHARD_DROP, req, id, len, &err);
}

uint64_t scbr_front_timeouts(const struct scbr_front *f)
{
    return f->timeouts;
}

void scbr_front_close(struct scbr_front *f)
{
    if (!f)
        return;
    answers_clear(&f->ctl);
    for (unsigned k = 0; k < SCBR_FRONT_INFLIGHT; k++) {
        answers_clear(&f->fl[k]);
        free(f->fl[k].refs);
        free(f->fl[k].items);
    }
    bus_sub_close(f->answers);
    bus_close(f->b);
    wire_writer_free(&f->in);
    wire_writer_free(&f->msg);
    for (unsigned j = 0; j < SCBR_SHARDS_MAX; j++)
        wire_writer_free(&f->shard_batch[j]);
    free(f->senders);
    free(f);
}

/* ---- the shard's side ---- */

struct scbr_shard_link {
    struct bus *b;
    struct bus_sub *requests;
    char answers[SUBJECT_MAX];
    unsigned index;
    struct wire_writer w;
    uint64_t session, last_req; /* the front's, as the last request said */
};

static void post_answer(struct scbr_shard_link *l, uint8_t kind, uint64_t req, uint64_t epoch,
                        uint8_t status, const void *body, size_t len)
{
    struct cloister_err err;
    struct scbr_shard_msg m = {.kind = kind,
                               .req = req,
                               .shard = l->index,
                               .epoch = epoch,
                               .status = status,
                               .body = body,
                               .body_len = len};
    l->w.len = 0;
    scbr_shard_msg_encode(&l->w, &m);
    if (!wire_writer_ok(&l->w) || bus_post(l->b, l->answers, l->w.buf, l->w.len, &err) != 0)
        clog_warn("cannot answer the front");
}

void scbr_shard_link_announce(struct scbr_shard_link *l, uint64_t epoch)
{
    post_answer(l, SCBR_SHARD_HELLO, 0, epoch, 0, NULL, 0);
}

int scbr_shard_link_open(const char *nats, const char *cluster, unsigned index, uint64_t epoch,
                         struct scbr_shard_link **out, struct cloister_err *err)
{
    cluster = cluster ? cluster : "main";
    if (check_cluster(cluster, err) != 0)
        return CLOISTER_E_INVALID;
    if (index >= SCBR_SHARDS_MAX)
        return cloister_errf(err, CLOISTER_E_INVALID, "shard %u: at most %d shards", index,
                             SCBR_SHARDS_MAX);
    struct scbr_shard_link *l = calloc(1, sizeof *l);
    if (!l)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    char subject[SUBJECT_MAX];
    l->index = index;
    wire_writer_init(&l->w);
    front_subject(l->answers, cluster);
    shard_subject(subject, cluster, index);
    if (!(l->b = bus_connect(nats, &asap, err)) ||
        !(l->requests = bus_subscribe(l->b, subject, err))) {
        scbr_shard_link_close(l);
        return err->code;
    }
    scbr_shard_link_announce(l, epoch);
    *out = l;
    return CLOISTER_OK;
}

int scbr_shard_link_serve(struct scbr_shard_link *l, scbr_call_fn call, int (*persist)(void *arg),
                          void *arg, int64_t ms, uint64_t *epoch, bool *changed)
{
    static const uint32_t ecall_of[] = {[SCBR_MSG_SUBSCRIBE] = SCBR_ECALL_SHARD_SUBSCRIBE,
                                        [SCBR_MSG_UNSUBSCRIBE] = SCBR_ECALL_SHARD_UNSUBSCRIBE,
                                        [SCBR_MSG_PUBLISH] = SCBR_ECALL_SHARD_MATCH,
                                        [SCBR_SHARD_DROP] = SCBR_ECALL_DROP,
                                        [SCBR_SHARD_SPLIT] = SCBR_ECALL_SHARD_SPLIT,
                                        [SCBR_SHARD_ABSORB] = SCBR_ECALL_SHARD_ABSORB,
                                        [SCBR_SHARD_PRUNE] = SCBR_ECALL_SHARD_PRUNE};
    uint8_t *data = NULL, *out = NULL;
    size_t len, outlen = 0;
    struct cloister_err err;
    struct scbr_shard_msg m;
    if (bus_sub_next(l->requests, ms, NULL, 0, &data, &len, &err) != 0 || !data)
        return 0;
    if (scbr_shard_msg_decode(&m, data, len, &err) != 0 ||
        (m.shard != l->index &&
         cloister_errf(&err, CLOISTER_E_PROTOCOL, "sent to shard %u", m.shard) != 0)) {
        clog_warn("a malformed shard request was dropped: %s", err.msg);
        free(data);
        return 1;
    }
    if (m.epoch == l->session && m.req <= l->last_req) /* records would be refused as replays */
        clog_warn("the front's request %llu arrived after its request %llu: NATS reordered them",
                  (unsigned long long)m.req, (unsigned long long)l->last_req);
    else
        l->session = m.epoch, l->last_req = m.req;
    int rc = CLOISTER_OK;
    if (m.kind != SCBR_SHARD_HELLO)
        rc = call(arg, ecall_of[m.kind], m.body, m.body_len, &out, &outlen);
    bool epoch_first = m.kind != SCBR_SHARD_HELLO && m.kind != SCBR_SHARD_DROP &&
                       m.kind != SCBR_SHARD_PRUNE; /* the others' answers start with it */
    if (rc == CLOISTER_OK && epoch_first && outlen >= 8) {
        *epoch = 0;
        for (int i = 0; i < 8; i++)
            *epoch = *epoch << 8 | out[i];
    }
    *changed |= rc == CLOISTER_OK && m.kind != SCBR_MSG_PUBLISH && m.kind != SCBR_SHARD_HELLO &&
                m.kind != SCBR_SHARD_SPLIT;
    if (rc == CLOISTER_OK && persist && (m.kind == SCBR_SHARD_ABSORB || m.kind == SCBR_SHARD_PRUNE))
        rc = persist(arg);
    post_answer(l, m.kind, m.req, *epoch, rc == CLOISTER_OK ? 0 : 1, out, outlen);
    free(out);
    free(data);
    return 1;
}

void scbr_shard_link_close(struct scbr_shard_link *l)
{
    if (!l)
        return;
    bus_sub_close(l->requests);
    bus_close(l->b);
    wire_writer_free(&l->w);
    free(l);
}
