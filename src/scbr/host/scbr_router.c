/* scbr_router.c -- the untrusted half of the SCBR router: a ZeroMQ ROUTER socket in front of
 * the scbr enclave.
 *
 * Loop: wait for input (100 ms at most, to notice the stop flag), then drain what is queued,
 * up to `batch` messages. Consecutive subscribe, unsubscribe or publish messages are collected
 * into one batch and handed to the enclave in one ecall; any other kind of message first
 * flushes the batch, so each sender's messages are processed in the order sent (the enclave's
 * replay check relies on it). A matched publication's payload is sent, untouched, to every
 * subscriber the enclave named; a refused one is answered to its publisher (REFUSED), and a
 * SYNC, answered after what came before it, tells a publisher that nothing else was refused.
 *
 * Queue policy: the ROUTER socket has ZMQ_ROUTER_MANDATORY and a send high-water mark of
 * `queue` messages per subscriber, and the bytes each subscriber has queued are counted: a
 * delivery is handed to ZeroMQ without a copy (zmq_msg_init_data), one buffer shared by all its
 * subscribers, and ZeroMQ's free callback (run by its I/O thread once the bytes left for the
 * kernel, or the peer is gone) counts them down. A delivery that would take a subscriber past
 * `queue_bytes`, or all of them past `total_bytes`, or finds the queue full (ZMQ_DONTWAIT), is
 * dropped and counted (drop-newest). A slow subscriber never blocks the router nor grows its
 * memory past the bounds; when it disconnects, ZeroMQ frees what it had queued.
 *
 * Provisioning offers are rate-limited per sender (a few, then one a second), so that a flood
 * costs the enclave little; the enclave itself answers only the pinned provider once one is
 * pinned (docs/tee.md), so a stranger's flood cannot void the provider's offer.
 *
 * Subscribers are tracked by routing id: one that says bye, or is silent for idle_timeout_ms,
 * loses its subscriptions (ecall drop). Subscriptions are persisted as the enclave's sealed
 * export under state_dir, written atomically within 200 ms of a change and at stop; a new
 * router imports it. If the enclave dies, it is restarted at once (the loop checks every turn)
 * and reloaded from that file. Sequence numbers need no persisting: every enclave start draws a
 * new epoch, which every reply carries and every envelope must name, so a message sealed before
 * a restart is refused as stale however old the persisted state is.
 *
 * Sharded (scbr_shard.c): a front hands its batches to scbr_front_submit instead of its own
 * batch ecalls and settles them as their shards answer (up to SCBR_FRONT_INFLIGHT in flight,
 * in order; a message that is not batched waits until every one is), and reshards between
 * two batches when asked; a shard's loop waits on NATS for
 * its front's requests, and polls its ZeroMQ socket (provisioning, statistics) between them. */
#include <cloister/scbr_host.h>
#include <cloister/tee_trust.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "scbr/common/scbr_idtab.h"
#include "scbr/common/scbr_proto.h"
#include "scbr/host/scbr_shard.h"
#include "util/fileio.h"
#include "util/hex.h"

#define CLOG_MODULE "scbr"
#include "util/log.h"

#define STATE_FILE "subscriptions.sealed"
#define PARTITION_FILE "partition" /* a front's: "N KEY\n", KEY "-" by id */
#define STATE_MAX ((size_t)1 << 30)
#define PERSIST_EVERY_MS 200             /* after a subscription change */
#define QUEUE_BYTES ((uint64_t)64 << 20) /* per subscriber, by default */
#define TOTAL_BYTES ((uint64_t)1 << 30)  /* for all subscribers, by default */
#define OFFER_SLOTS 256                  /* rate-limit buckets, by a hash of the sender */
#define OFFER_BURST 4 /* offers a sender may ask for at once, then one a second */
#define MAX_MESSAGE ((size_t)64 << 20)
#define CALL_TIMEOUT_MS 60000

struct pending {
    zmq_msg_t id, body;
    struct scbr_msg m;
};

/* What a subscriber has queued in ZeroMQ, in bytes; shared with ZeroMQ's I/O thread, freed by
 * whoever drops the last reference (the peer's, or one per queued delivery). */
struct account {
    _Atomic uint64_t bytes;
    _Atomic unsigned refs;
};

/* One delivery's bytes, shared by the messages queued for each of its subscribers. */
struct shared_frame {
    _Atomic unsigned refs;
    _Atomic uint64_t *total; /* the router's queued bytes */
    size_t len;
    struct held {
        struct shared_frame *f;
        struct account *a;
    } * held; /* one per subscriber it is queued for */
    uint8_t data[];
};

struct peer {
    struct scbr_ident who; /* first: scbr_idtab indexes it */
    int64_t seen_ms;
    struct account *acct;
};

struct offer_bucket {
    uint8_t id[SCBR_SENDER_MAX];
    size_t len;
    double tokens;
    int64_t ms;
};

struct scbr_router {
    struct scbr_router_options opt;
    char *state_path;
    char *partition_path; /* a front with a state directory */
    char endpoint[256];
    tee_enclave *e;
    struct cloister_err tee_err; /* why the last ecall failed */
    void *ctx, *sock;
    struct pending *slots; /* a front: one batch's worth per batch in flight and one more */
    struct pending *batch; /* the batch being collected: a part of slots */
    size_t nbatch, batch_bytes;
    uint8_t batch_kind;
    struct flown {
        struct pending *p;
        size_t n;
        uint8_t kind;
    } flown[SCBR_FRONT_INFLIGHT]; /* a front's batches in flight, oldest at flown_head */
    unsigned flown_head, nflown;
    struct wire_writer in, frame, body;
    struct peer *peers;
    size_t npeers, peers_cap;
    struct scbr_idtab by_id;
    bool dirty;              /* subscriptions changed since the last persist */
    uint64_t epoch;          /* the enclave's: every reply carries it */
    _Atomic uint64_t queued; /* bytes of deliveries in ZeroMQ's queues */
    struct offer_bucket offers[OFFER_SLOTS];
    uint64_t offers_refused_logged;
    int64_t offers_logged_ms;
    struct scbr_front *front;     /* a front: its shards */
    struct scbr_shard_link *link; /* a shard: its front */
    _Atomic unsigned reshard_to;  /* a front: asked to reshard to this many shards */
    int reshard_rc;
    struct cloister_err reshard_err;
    pthread_t thread; /* scbr_router_start */
    bool started;
    volatile sig_atomic_t halt;
    int run_rc;
    struct cloister_err run_err;
    int64_t persisted_ms, swept_ms;
    struct scbr_host_stats st;
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void scbr_router_options_init(struct scbr_router_options *o)
{
    memset(o, 0, sizeof *o);
    struct tee_options t;
    tee_options_init(&t);
    o->listen = "tcp://127.0.0.1:*";
    o->backend = t.backend;
    o->wait = TEE_WAIT_BLOCK;
    o->index = SCBR_INDEX_FAST;
}

int scbr_router_sign(const char *image, const uint8_t seed[32], uint64_t epc_budget,
                     uint64_t heap_size, const char *sig_path, struct cloister_err *err)
{
    return tee_sign_file_sized(image, heap_size ? heap_size : (uint64_t)256 << 20, epc_budget, seed,
                               sig_path, err);
}

static int call(scbr_router *r, uint32_t number, const void *in, size_t inlen, uint8_t **out,
                size_t *outlen)
{
    r->st.ecalls++;
    int rc = tee_ecall(r->e, number, in, inlen, out, outlen, &r->tee_err);
    if (rc != CLOISTER_OK)
        clog_warn("ecall %u: %s", number, r->tee_err.msg);
    return rc;
}

/* scbr_call_fn, for the shard traffic. */
static int call_fn(void *arg, uint32_t number, const void *in, size_t inlen, uint8_t **out,
                   size_t *outlen)
{
    return call(arg, number, in, inlen, out, outlen);
}

static void peer_add(scbr_router *r, const void *id, size_t len);
static void drain(scbr_router *r);
static void account_release(struct account *a);

/* Initialises the enclave's index and loads the persisted subscriptions, if any. */
static int load_enclave(scbr_router *r, struct cloister_err *err)
{
    uint8_t init[6] = {(uint8_t)r->opt.index}, *out = NULL, *blob = NULL;
    size_t outlen, len = 0;
    for (int i = 0; i < 4; i++)
        init[1 + i] = (uint8_t)(r->opt.senders_max >> (24 - 8 * i));
    init[5] = r->opt.is_shard ? SCBR_ROLE_SHARD : SCBR_ROLE_ROUTER;
    int rc = call(r, SCBR_ECALL_INIT, init, sizeof init, &out, &outlen);
    if (rc != CLOISTER_OK)
        return cloister_errf(err, rc, "enclave init: %s", r->tee_err.msg);
    struct wire_reader rd;
    wire_reader_init(&rd, out, outlen);
    r->epoch = wire_get_u64(&rd);
    rc = wire_reader_finish(&rd);
    free(out);
    if (rc != 0)
        return cloister_errf(err, CLOISTER_E_PROTOCOL, "the enclave's init answer is malformed");
    if (!r->state_path)
        return 0;
    if (file_read_all(r->state_path, STATE_MAX, &blob, &len) != 0) {
        if (errno == ENOENT)
            return 0;
        return cloister_errf(err, CLOISTER_E_SYSTEM, "cannot read %s: %s", r->state_path,
                             strerror(errno));
    }
    rc = call(r, SCBR_ECALL_IMPORT, blob, len, &out, &outlen);
    if (rc != CLOISTER_OK)
        cloister_errf(err, rc,
                      "%s refused (sealed by another enclave build or under another SK? "
                      "move it away to start empty): %s",
                      r->state_path, r->tee_err.msg);
    wire_reader_init(&rd, out, outlen);
    uint64_t nsubs = wire_get_varint(&rd);
    size_t n = wire_get_count(&rd, 2, SIZE_MAX);
    for (size_t i = 0; rc == 0 && i < n && wire_reader_ok(&rd); i++) {
        size_t idlen;
        const uint8_t *id = wire_get_bytes(&rd, SCBR_SENDER_MAX, &idlen);
        if (wire_reader_ok(&rd) && !r->opt.is_shard) /* its idle timeout starts now: it must
                                                       * come back (a shard's front watches) */
            peer_add(r, id, idlen);
    }
    if (rc == 0 && wire_reader_finish(&rd) != 0)
        rc = cloister_errf(err, CLOISTER_E_PROTOCOL, "the enclave's import answer is malformed: %s",
                           wire_reader_error(&rd));
    if (rc == 0)
        clog_info("restored %llu subscriptions of %zu subscribers from %s",
                  (unsigned long long)nsubs, n, r->state_path);
    free(out);
    free(blob);
    return rc;
}

static int persist(scbr_router *r)
{
    if (!r->state_path || !r->dirty)
        return 0;
    uint8_t *out = NULL;
    size_t len;
    int rc = call(r, SCBR_ECALL_EXPORT, NULL, 0, &out, &len);
    if (rc == CLOISTER_OK && file_write_atomic(r->state_path, out, len, 0600) != 0) {
        clog_error("cannot write %s: %s", r->state_path, strerror(errno));
        rc = CLOISTER_E_SYSTEM;
    }
    free(out);
    r->persisted_ms = now_ms();
    if (rc == 0)
        r->dirty = false;
    return rc;
}

/* A shard's absorb or prune, persisted before its front is told (scbr_shard_link_serve). */
static int persist_now(void *arg)
{
    scbr_router *r = arg;
    r->dirty = true;
    return persist(r);
}

/* The partition a front's state was last in (shards, key, and the other shards an interrupted
 * reshard may have left copies on): a front started with other shards reshards to them before
 * it serves (docs/scbr.md, "Resharding"). *n stays when there is none; another key is refused
 * (subscriptions cannot move between keys). */
static int partition_load(scbr_router *r, unsigned *n, unsigned *others, struct cloister_err *err)
{
    uint8_t *data = NULL;
    size_t len;
    *others = 0;
    if (!r->partition_path || file_read_all(r->partition_path, 512, &data, &len) != 0)
        return errno == ENOENT || !r->partition_path
                   ? 0
                   : cloister_errf(err, CLOISTER_E_SYSTEM, "cannot read the front's partition: %s",
                                   strerror(errno));
    char key[SCBR_SHARD_KEY_MAX + 1];
    unsigned was;
    int got = sscanf((const char *)data, "%u %255s %u", &was, key, others); /* NUL-terminated */
    free(data);
    const char *want = r->opt.partition_key && *r->opt.partition_key ? r->opt.partition_key : "-";
    if (got < 2 || was == 0 || was > SCBR_SHARDS_MAX || *others > SCBR_SHARDS_MAX)
        return cloister_errf(err, CLOISTER_E_PROTOCOL, "the front's partition file is malformed");
    if (strcmp(key, want) != 0)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "the front's subscriptions are partitioned by %s, not %s: the "
                             "partition key cannot change",
                             strcmp(key, "-") ? key : "subscription id",
                             strcmp(want, "-") ? want : "subscription id");
    *n = was;
    return 0;
}

/* The reshard journal (scbr_journal_fn): "N KEY [OTHERS]", written atomically. */
static int partition_save(void *arg, unsigned in_force, unsigned others, struct cloister_err *err)
{
    scbr_router *r = arg;
    char text[SCBR_SHARD_KEY_MAX + 32];
    const char *key = r->opt.partition_key && *r->opt.partition_key ? r->opt.partition_key : "-";
    int len = others ? snprintf(text, sizeof text, "%u %s %u\n", in_force, key, others)
                     : snprintf(text, sizeof text, "%u %s\n", in_force, key);
    if (r->partition_path && file_write_atomic(r->partition_path, text, (size_t)len, 0600) != 0)
        return cloister_errf(err, CLOISTER_E_SYSTEM, "cannot write the front's partition: %s",
                             strerror(errno));
    return 0;
}

static int front_reshard(scbr_router *r, unsigned shards, struct cloister_err *err)
{
    return scbr_front_reshard(r->front, shards, partition_save, r, err);
}

/* A front connects to its shards, a shard to its front. */
static int open_shards(scbr_router *r, struct cloister_err *err)
{
    const struct scbr_router_options *o = &r->opt;
    if (!o->nats && (o->shards || o->is_shard))
        return cloister_errf(err, CLOISTER_E_INVALID, "a front or a shard needs a NATS URL");
    if (o->shards && o->is_shard)
        return cloister_errf(err, CLOISTER_E_INVALID, "a router is a front or a shard, not both");
    if (o->is_shard)
        return scbr_shard_link_open(o->nats, o->cluster, o->shard_index, r->epoch, &r->link, err);
    if (!o->shards)
        return 0;
    unsigned was = o->shards, others = 0;
    int rc = partition_load(r, &was, &others, err);
    struct scbr_front_config c = {o->nats, o->cluster, was, o->partition_key, o->shard_timeout_ms};
    if (rc == 0)
        rc = scbr_front_open(&c, &r->front, err);
    if (rc == 0 && others) {
        clog_info("a reshard was interrupted: shards 0..%u drop the copies it left",
                  (others > was ? others : was) - 1);
        rc = scbr_front_prune(r->front, others, err);
    }
    if (rc == 0)
        rc = partition_save(r, was, 0, err);
    if (rc == 0 && was != o->shards) {
        clog_info("the front's state holds %u shards: resharding to %u", was, o->shards);
        rc = front_reshard(r, o->shards, err);
    }
    return rc;
}

static int open_router(scbr_router *r, const struct scbr_router_options *o,
                       struct cloister_err *err)
{
    r->opt = *o;
    if (!r->opt.batch)
        r->opt.batch = 256;
    if (r->opt.batch > SCBR_BATCH_MAX)
        r->opt.batch = SCBR_BATCH_MAX;
    if (!r->opt.queue)
        r->opt.queue = 10000;
    if (!r->opt.idle_timeout_ms)
        r->opt.idle_timeout_ms = 10000;
    if (!r->opt.queue_bytes)
        r->opt.queue_bytes = QUEUE_BYTES;
    if (!r->opt.total_bytes)
        r->opt.total_bytes = TOTAL_BYTES;
    if (!r->opt.senders_max || r->opt.senders_max > SCBR_SENDERS_MAX)
        r->opt.senders_max = SCBR_SENDERS_MAX;
    wire_writer_init(&r->in);
    wire_writer_init(&r->frame);
    wire_writer_init(&r->body);
    char image[4096];
    int rc = o->image ? CLOISTER_OK : tee_image_path("scbr", image, sizeof image, err);
    if (rc != CLOISTER_OK)
        return rc;
    size_t parts = o->shards ? SCBR_FRONT_INFLIGHT + 1 : 1;
    if (!(r->batch = r->slots = calloc(parts * r->opt.batch, sizeof *r->batch)))
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    if (o->state_dir) {
        size_t n = strlen(o->state_dir) + sizeof STATE_FILE + 1;
        if (file_mkdirs(o->state_dir, 0700) != 0)
            return cloister_errf(err, CLOISTER_E_SYSTEM, "cannot create %s: %s", o->state_dir,
                                 strerror(errno));
        if (!(r->state_path = malloc(n)))
            return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
        snprintf(r->state_path, n, "%s/%s", o->state_dir, STATE_FILE);
        n = strlen(o->state_dir) + sizeof PARTITION_FILE + 1;
        if (o->shards && !(r->partition_path = malloc(n)))
            return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
        if (o->shards)
            snprintf(r->partition_path, n, "%s/%s", o->state_dir, PARTITION_FILE);
    }
    struct tee_options t;
    tee_options_init(&t);
    t.backend = o->backend;
    t.image = o->image ? o->image : image;
    t.signature = o->signature;
    t.home = o->home;
    t.enclave = o->enclave;
    t.max_message = MAX_MESSAGE;
    t.wait = o->wait;
    t.call_timeout_ms = CALL_TIMEOUT_MS;
    rc = tee_create(&t, &r->e, err);
    if (rc == CLOISTER_OK)
        rc = load_enclave(r, err);
    if (rc == CLOISTER_OK)
        rc = open_shards(r, err);
    if (rc != CLOISTER_OK)
        return rc;
    int one = 1, hwm = (int)r->opt.queue, zero = 0, rcvhwm = 100000;
    int64_t max_frame = SCBR_HEADER_MAX + SCBR_MSG_PAYLOAD_MAX + 1024; /* bigger: disconnected */
    size_t elen = sizeof r->endpoint;
    if (!(r->ctx = zmq_ctx_new()) || !(r->sock = zmq_socket(r->ctx, ZMQ_ROUTER)) ||
        zmq_setsockopt(r->sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one) != 0 ||
        zmq_setsockopt(r->sock, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(r->sock, ZMQ_RCVHWM, &rcvhwm, sizeof rcvhwm) != 0 ||
        zmq_setsockopt(r->sock, ZMQ_MAXMSGSIZE, &max_frame, sizeof max_frame) != 0 ||
        zmq_setsockopt(r->sock, ZMQ_LINGER, &zero, sizeof zero) != 0)
        return cloister_errf(err, CLOISTER_E_SYSTEM, "zeromq: %s", zmq_strerror(zmq_errno()));
    if (zmq_bind(r->sock, o->listen) != 0 ||
        zmq_getsockopt(r->sock, ZMQ_LAST_ENDPOINT, r->endpoint, &elen) != 0)
        return cloister_errf(err, CLOISTER_E_SYSTEM, "cannot listen on %s: %s", o->listen,
                             zmq_strerror(zmq_errno()));
    return 0;
}

int scbr_router_open(const struct scbr_router_options *o, scbr_router **out,
                     struct cloister_err *err)
{
    *out = calloc(1, sizeof **out);
    if (!*out)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "out of memory");
    int rc = open_router(*out, o, err);
    if (rc != 0) {
        scbr_router_close(*out);
        *out = NULL;
    }
    return rc;
}

tee_enclave *scbr_router_enclave(scbr_router *r)
{
    return r->e;
}

const char *scbr_router_endpoint(const scbr_router *r)
{
    return r->endpoint;
}

int scbr_router_identity(scbr_router *r, uint8_t mrenclave[32], uint8_t mrsigner[32],
                         struct cloister_err *err)
{
    struct tee_info info;
    int rc = tee_get_info(r->e, &info);
    if (rc != CLOISTER_OK)
        return cloister_errf(err, rc, "cannot read the enclave's identity: %s",
                             cloister_strerror(rc));
    memcpy(mrenclave, info.mrenclave, 32);
    memcpy(mrsigner, info.mrsigner, 32);
    return 0;
}

/* ---- replies and deliveries ---- */

/* Sends [id][frame]; false (and counted by the caller) when the peer's queue is full or it is
 * gone. */
static bool send_to(scbr_router *r, const void *id, size_t idlen, const void *frame, size_t len)
{
    return zmq_send(r->sock, id, idlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0 &&
           zmq_send(r->sock, frame, len, ZMQ_DONTWAIT) >= 0;
}

static void reply(scbr_router *r, zmq_msg_t *id, uint8_t kind, uint8_t status, const void *body,
                  size_t len)
{
    r->frame.len = 0;
    scbr_reply_encode(&r->frame, kind, status, r->epoch, body, len);
    if (!wire_writer_ok(&r->frame) ||
        !send_to(r, zmq_msg_data(id), zmq_msg_size(id), r->frame.buf, r->frame.len))
        r->st.dropped++;
}

static void reply_error(scbr_router *r, zmq_msg_t *id, uint8_t status, const char *why)
{
    reply(r, id, SCBR_REPLY_ERROR, status, why, strlen(why));
}

/* ---- subscribers ---- */

static struct peer *peer_find(scbr_router *r, const void *id, size_t len)
{
    long i = scbr_idtab_find(&r->by_id, r->peers, sizeof *r->peers, id, len);
    return i < 0 ? NULL : &r->peers[i];
}

/* A short name of a client for the log: its routing id's first bytes in hex. */
static const char *who_hex(const void *id, size_t len, char buf[17])
{
    hex_encode(buf, id, len < 8 ? len : 8);
    return buf;
}

static void peer_add(scbr_router *r, const void *id, size_t len)
{
    if (len > SCBR_SENDER_MAX || peer_find(r, id, len))
        return;
    if (r->npeers == r->peers_cap) {
        size_t n = r->peers_cap ? 2 * r->peers_cap : 16;
        struct peer *p = realloc(r->peers, n * sizeof *p);
        if (!p || scbr_idtab_rebuild(&r->by_id, p, sizeof *p, r->npeers, n, NULL) != 0) {
            r->peers = p ? p : r->peers;
            clog_error("out of memory tracking subscribers");
            return;
        }
        r->peers = p;
        r->peers_cap = n;
    }
    struct peer *p = &r->peers[r->npeers];
    memset(p, 0, sizeof *p);
    memcpy(p->who.id, id, len);
    p->who.len = (uint8_t)len;
    p->seen_ms = now_ms();
    if ((p->acct = malloc(sizeof *p->acct))) {
        atomic_init(&p->acct->bytes, 0);
        atomic_init(&p->acct->refs, 1);
    }
    scbr_idtab_add(&r->by_id, r->peers, sizeof *r->peers, (uint32_t)r->npeers++);
}

static void peer_forget(scbr_router *r, const void *id, size_t len)
{
    struct peer *p = peer_find(r, id, len);
    if (!p)
        return;
    account_release(p->acct);   /* what it has queued goes when ZeroMQ drops it */
    *p = r->peers[--r->npeers]; /* compact, then index again */
    scbr_idtab_rebuild(&r->by_id, r->peers, sizeof *r->peers, r->npeers, r->peers_cap, NULL);
}

/* The subscriber left (why: "left" or "dropped"): the enclave drops its subscriptions. */
static void peer_drop(scbr_router *r, const void *id, size_t len, const char *why)
{
    char name[17];
    if (peer_find(r, id, len))
        clog_info("subscriber %s %s", who_hex(id, len, name), why);
    uint8_t *out = NULL;
    size_t outlen;
    if (call(r, SCBR_ECALL_DROP, id, len, &out, &outlen) == CLOISTER_OK) {
        struct wire_reader rd;
        wire_reader_init(&rd, out, outlen);
        if (wire_get_varint(&rd) > 0) {
            r->st.dropped_subscribers++;
            r->dirty = true;
        }
    }
    free(out);
    if (r->front) {
        drain(r);
        scbr_front_drop(r->front, id, len);
    }
    peer_forget(r, id, len);
}

static void sweep_idle(scbr_router *r, int64_t now)
{
    for (size_t i = 0; i < r->npeers;) {
        if (now - r->peers[i].seen_ms <= (int64_t)r->opt.idle_timeout_ms) {
            i++;
            continue;
        }
        struct scbr_ident who = r->peers[i].who;
        clog_info("a subscriber was silent for %u ms: dropping it", r->opt.idle_timeout_ms);
        peer_drop(r, who.id, who.len, "dropped");
    }
}

/* ---- batches ---- */

static void pending_clear(struct pending *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        zmq_msg_close(&p[i].id);
        zmq_msg_close(&p[i].body);
    }
}

static void batch_clear(scbr_router *r)
{
    pending_clear(r->batch, r->nbatch);
    r->nbatch = r->batch_bytes = 0;
}

/* Restarts a dead enclave (killed, crashed, or killed by the runtime after a call timed out)
 * and reloads the last persisted state. Checked on every turn of the loop, that is within
 * 100 ms, so that statistics and provisioning work again at once and no new batch is sent to
 * a dead enclave. */
static void revive(scbr_router *r)
{
    struct tee_info info;
    struct cloister_err err;
    if (tee_get_info(r->e, &info) != CLOISTER_OK || info.alive)
        return;
    drain(r); /* a front's batches in flight carry the dead enclave's epoch: settled first */
    if (tee_restart(r->e, &err) != CLOISTER_OK || load_enclave(r, &err) != 0)
        clog_error("the enclave could not be restarted: %s", err.msg);
    else
        clog_warn("the enclave was restarted from the persisted subscriptions");
    if (r->link)
        scbr_shard_link_announce(r->link, r->epoch);
}

static void account_release(struct account *a)
{
    if (a && atomic_fetch_sub(&a->refs, 1) == 1)
        free(a);
}

static void frame_release(struct shared_frame *f)
{
    if (f && atomic_fetch_sub(&f->refs, 1) == 1) {
        free(f->held);
        free(f);
    }
}

/* ZeroMQ is done with one subscriber's copy of a delivery (sent, or its peer gone): its I/O
 * thread counts the bytes down. */
static void held_free(void *data, void *hint)
{
    (void)data;
    struct held *h = hint;
    struct shared_frame *f = h->f;
    atomic_fetch_sub(&h->a->bytes, f->len);
    atomic_fetch_sub(f->total, f->len);
    account_release(h->a);
    frame_release(f);
}

/* The delivery frame of an accepted publication, for k subscribers: its publisher and sequence
 * number (which the enclave just authenticated, so the envelope decodes), then the payload. */
static struct shared_frame *delivery_frame(scbr_router *r, struct pending *p, size_t k)
{
    struct scbr_envelope e;
    if (scbr_envelope_decode(&e, p->m.body, p->m.body_len) != SCBR_ST_OK)
        e.seq = 0;
    struct scbr_delivery d = {e.seq, zmq_msg_data(&p->id), zmq_msg_size(&p->id), p->m.payload,
                              p->m.payload_len};
    r->body.len = r->frame.len = 0;
    scbr_delivery_encode(&r->body, &d);
    scbr_reply_encode(&r->frame, SCBR_REPLY_DELIVERY, SCBR_ST_OK, r->epoch, r->body.buf,
                      r->body.len);
    struct shared_frame *f = wire_writer_ok(&r->frame) ? malloc(sizeof *f + r->frame.len) : NULL;
    if (f && !(f->held = calloc(k, sizeof *f->held))) {
        free(f);
        f = NULL;
    }
    if (!f)
        return NULL;
    atomic_init(&f->refs, 1); /* the router's, until every copy is queued */
    f->total = &r->queued;
    f->len = r->frame.len;
    memcpy(f->data, r->frame.buf, f->len);
    return f;
}

/* Queues f for one subscriber unless that takes it (or everyone) past the byte bounds, or its
 * queue is full. */
static bool send_counted(scbr_router *r, struct shared_frame *f, struct held *h, const void *id,
                         size_t idlen)
{
    struct peer *peer = peer_find(r, id, idlen);
    if (!peer) { /* a subscriber the enclave knows from before a restart */
        peer_add(r, id, idlen);
        peer = peer_find(r, id, idlen);
    }
    if (!peer || !peer->acct || atomic_load(&peer->acct->bytes) + f->len > r->opt.queue_bytes ||
        atomic_load(&r->queued) + f->len > r->opt.total_bytes)
        return false;
    zmq_msg_t m;
    *h = (struct held){f, peer->acct};
    atomic_fetch_add(&peer->acct->refs, 1);
    atomic_fetch_add(&peer->acct->bytes, f->len);
    atomic_fetch_add(&r->queued, f->len);
    atomic_fetch_add(&f->refs, 1);
    if (zmq_msg_init_data(&m, f->data, f->len, held_free, h) != 0) {
        held_free(f->data, h);
        return false;
    }
    if (zmq_send(r->sock, id, idlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0 &&
        zmq_msg_send(&m, r->sock, ZMQ_DONTWAIT) >= 0)
        return true;
    zmq_msg_close(&m); /* not queued: counts it down */
    return false;
}

static void deliver(scbr_router *r, struct wire_reader *rd, struct pending *p)
{
    size_t k = wire_get_count(rd, 2, SIZE_MAX);
    struct shared_frame *f = k ? delivery_frame(r, p, k) : NULL;
    for (size_t j = 0; j < k && wire_reader_ok(rd); j++) {
        size_t idlen;
        const uint8_t *id = wire_get_bytes(rd, SCBR_SENDER_MAX, &idlen);
        if (!wire_reader_ok(rd))
            break;
        if (f && send_counted(r, f, &f->held[j], id, idlen))
            r->st.delivered++;
        else
            r->st.dropped++;
    }
    frame_release(f);
}

/* Hands out the answers to a batch of kind: replies, deliveries, refusals (rc: the batch's
 * ecall failed, every item did). */
static void settle(scbr_router *r, struct pending *batch, size_t n, uint8_t kind, int rc,
                   const uint8_t *out, size_t outlen)
{
    struct wire_reader rd;
    wire_reader_init(&rd, out, outlen);
    uint64_t epoch = wire_get_u64(&rd);
    if (rc == CLOISTER_OK && wire_reader_ok(&rd) && epoch != r->epoch) {
        clog_info("new epoch: the enclave evicted idle senders (their clients re-seal)");
        r->epoch = epoch;
    }
    if (rc == CLOISTER_OK && wire_get_varint(&rd) != n)
        wire_reader_fail(&rd, "wrong item count");
    for (size_t i = 0; i < n; i++) {
        struct pending *p = &batch[i];
        uint8_t st = rc == CLOISTER_OK ? wire_get_u8(&rd) : SCBR_ST_FAILED;
        if (rc == CLOISTER_OK && !wire_reader_ok(&rd))
            st = SCBR_ST_FAILED;
        if (kind == SCBR_MSG_PUBLISH) {
            if (st == SCBR_ST_OK) {
                deliver(r, &rd, p);
                continue;
            }
            if (rc == CLOISTER_OK)
                wire_get_varint(&rd);
            reply(r, &p->id, SCBR_REPLY_REFUSED, st, scbr_status_name(st),
                  strlen(scbr_status_name(st)));
            continue;
        }
        uint8_t idb[4] = {0};
        size_t idlen = 0;
        if (kind == SCBR_MSG_SUBSCRIBE && rc == CLOISTER_OK) {
            uint32_t id = wire_get_u32(&rd);
            idb[0] = (uint8_t)(id >> 24), idb[1] = (uint8_t)(id >> 16);
            idb[2] = (uint8_t)(id >> 8), idb[3] = (uint8_t)id;
            idlen = 4;
        }
        if (st == SCBR_ST_OK) {
            r->dirty = true;
            if (kind == SCBR_MSG_SUBSCRIBE &&
                !peer_find(r, zmq_msg_data(&p->id), zmq_msg_size(&p->id))) {
                char name[17];
                clog_info("subscriber %s joined",
                          who_hex(zmq_msg_data(&p->id), zmq_msg_size(&p->id), name));
                peer_add(r, zmq_msg_data(&p->id), zmq_msg_size(&p->id));
            }
            reply(r, &p->id,
                  kind == SCBR_MSG_SUBSCRIBE ? SCBR_REPLY_SUBSCRIBED : SCBR_REPLY_UNSUBSCRIBED, st,
                  idb, idlen);
        } else {
            reply_error(r, &p->id, st, scbr_status_name(st));
        }
    }
    if (rc == CLOISTER_OK && wire_reader_finish(&rd) != 0)
        clog_error("the enclave's batch answer is malformed: %s", wire_reader_error(&rd));
}

/* The oldest batch in flight, once its shards answered (waiting up to wait_ms); false when
 * it is not done yet. */
static bool settle_flown(scbr_router *r, int64_t wait_ms)
{
    uint8_t *out;
    size_t outlen;
    int got = r->nflown ? scbr_front_collect(r->front, wait_ms, &out, &outlen) : 0;
    if (got == 0)
        return false;
    struct flown fl = r->flown[r->flown_head];
    r->flown_head = (r->flown_head + 1) % SCBR_FRONT_INFLIGHT;
    r->nflown--;
    settle(r, fl.p, fl.n, fl.kind, got == 1 ? CLOISTER_OK : got, out, outlen);
    pending_clear(fl.p, fl.n);
    free(out);
    return true;
}

/* Every batch in flight settled: before a message that is not batched, a drop, a reshard or
 * a stop, so that they follow what was sent before them. */
static void drain(scbr_router *r)
{
    while (r->nflown)
        settle_flown(r, INT64_MAX);
}

/* A front's slots part that neither the batch being collected nor a batch in flight holds. */
static struct pending *free_part(scbr_router *r)
{
    for (size_t k = 0;; k++) {
        struct pending *p = r->slots + k * r->opt.batch;
        bool used = p == r->batch;
        for (unsigned i = 0; i < r->nflown; i++)
            used |= r->flown[(r->flown_head + i) % SCBR_FRONT_INFLIGHT].p == p;
        if (!used)
            return p;
    }
}

/* A front's batch goes to its shards and stays in flight while the next batches are
 * collected and sent (up to SCBR_FRONT_INFLIGHT); its answers are settled in order. */
static int flush_front(scbr_router *r)
{
    if (r->nflown == SCBR_FRONT_INFLIGHT)
        settle_flown(r, INT64_MAX);
    int rc = scbr_front_submit(r->front, call_fn, r, r->batch_kind, r->in.buf, r->in.len);
    if (rc != CLOISTER_OK)
        return rc;
    r->flown[(r->flown_head + r->nflown++) % SCBR_FRONT_INFLIGHT] = (struct flown){
        r->batch, r->nbatch, r->batch_kind};
    r->batch = free_part(r);
    r->nbatch = r->batch_bytes = 0;
    return CLOISTER_OK;
}

static void flush(scbr_router *r)
{
    if (!r->nbatch)
        return;
    static const uint32_t ecall_of[] = {[SCBR_MSG_SUBSCRIBE] = SCBR_ECALL_SUBSCRIBE,
                                        [SCBR_MSG_UNSUBSCRIBE] = SCBR_ECALL_UNSUBSCRIBE,
                                        [SCBR_MSG_PUBLISH] = SCBR_ECALL_MATCH};
    r->in.len = 0;
    wire_put_varint(&r->in, r->nbatch);
    for (size_t i = 0; i < r->nbatch; i++) {
        wire_put_bytes(&r->in, zmq_msg_data(&r->batch[i].id), zmq_msg_size(&r->batch[i].id));
        wire_put_bytes(&r->in, r->batch[i].m.body, r->batch[i].m.body_len);
    }
    uint8_t *out = NULL;
    size_t outlen = 0;
    int rc = !wire_writer_ok(&r->in) ? CLOISTER_E_NO_MEMORY
             : r->front              ? flush_front(r)
                        : call(r, ecall_of[r->batch_kind], r->in.buf, r->in.len, &out, &outlen);
    if (r->nbatch) /* not in flight: settled now */
        settle(r, r->batch, r->nbatch, r->batch_kind, rc, out, outlen);
    free(out);
    batch_clear(r);
}

/* ---- control messages ---- */

static bool forward(scbr_router *r, zmq_msg_t *id, uint32_t ecall, const struct scbr_msg *m,
                    uint8_t reply_kind)
{
    uint8_t *out = NULL;
    size_t outlen;
    bool ok = call(r, ecall, m->body, m->body_len, &out, &outlen) == CLOISTER_OK;
    if (ok)
        reply(r, id, reply_kind, SCBR_ST_OK, out, outlen);
    else
        reply_error(r, id, r->tee_err.code == CLOISTER_E_DENIED ? SCBR_ST_DENIED : SCBR_ST_FAILED,
                    r->tee_err.msg);
    free(out);
    return ok;
}

/* Asks the enclave the key answer for nonce (NULL: the host's own question); tells every
 * subscriber whose subscriptions a new SK dropped (DROPPED) and forgets it. Answers `id` (when
 * not NULL) with the key answer; after a provisioning, logs who provisioned. */
static void key_check(scbr_router *r, zmq_msg_t *id, const struct scbr_msg *m)
{
    uint8_t *out = NULL;
    size_t outlen = 0, pk_len = 0, sealed_len;
    struct wire_reader rd;
    int rc = call(r, SCBR_ECALL_KEY, m ? m->body : NULL, m ? m->body_len : 0, &out, &outlen);
    wire_reader_init(&rd, out, outlen);
    wire_get_u8(&rd);
    const uint8_t *pk = wire_get_bytes(&rd, 32, &pk_len);
    wire_get_bytes(&rd, SCBR_SENDER_MAX + 64, &sealed_len);
    size_t key_len = outlen - wire_reader_remaining(&rd), n = wire_get_count(&rd, 2, SIZE_MAX);
    char fp[17] = "none (unsigned)";
    if (pk_len == 32)
        scbr_provider_fingerprint(fp, pk);
    if (!id && rc == CLOISTER_OK && wire_reader_ok(&rd))
        clog_info("provisioned by the provider %s", fp);
    if (n)
        clog_info("SK was replaced: %zu subscribers lost their subscriptions", n);
    for (size_t i = 0; i < n && wire_reader_ok(&rd); i++) {
        size_t len;
        const uint8_t *who = wire_get_bytes(&rd, SCBR_SENDER_MAX, &len);
        r->frame.len = 0;
        scbr_reply_encode(&r->frame, SCBR_REPLY_DROPPED, SCBR_ST_NO_KEY, r->epoch, NULL, 0);
        if (wire_reader_ok(&rd) && !send_to(r, who, len, r->frame.buf, r->frame.len))
            r->st.dropped++;
        peer_forget(r, who, len);
        r->dirty = true;
    }
    if (rc == CLOISTER_OK && wire_reader_finish(&rd) != 0)
        rc = CLOISTER_E_PROTOCOL;
    if (id && rc == CLOISTER_OK)
        reply(r, id, SCBR_REPLY_KEY, SCBR_ST_OK, out, key_len);
    else if (id)
        reply_error(r, id, SCBR_ST_FAILED, "cannot read the enclave's key");
    free(out);
}

/* Whether this sender may ask for another provisioning offer now: OFFER_BURST at once, then
 * one a second. Buckets are found by a hash of the sender; a sender that takes another's
 * bucket starts with a full one (so many senders get no more than their own bursts, and the
 * enclave answers only the pinned provider anyway). */
static bool offer_allowed(scbr_router *r, const void *id, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ ((const uint8_t *)id)[i]) * 16777619u;
    struct offer_bucket *b = &r->offers[h % OFFER_SLOTS];
    int64_t now = now_ms();
    if (b->len != len || memcmp(b->id, id, len) != 0) {
        memcpy(b->id, id, len);
        b->len = len;
        b->tokens = OFFER_BURST;
        b->ms = now;
    }
    b->tokens += (double)(now - b->ms) / 1000;
    b->tokens = b->tokens > OFFER_BURST ? OFFER_BURST : b->tokens;
    b->ms = now;
    if (b->tokens >= 1) {
        b->tokens -= 1;
        return true;
    }
    r->st.offers_refused++;
    if (now - r->offers_logged_ms >= 1000) {
        clog_info("refused %llu provisioning offers so far (rate limited)",
                  (unsigned long long)r->st.offers_refused);
        r->offers_logged_ms = now;
    }
    return false;
}

static void send_stats(scbr_router *r, zmq_msg_t *id)
{
    struct scbr_router_stats st;
    struct cloister_err err;
    if (scbr_router_get_stats(r, &st, &err) != 0) {
        reply_error(r, id, SCBR_ST_FAILED, err.msg);
        return;
    }
    struct wire_writer w;
    wire_writer_init(&w);
    scbr_stats_encode(&w, &st);
    reply(r, id, SCBR_REPLY_STATS, SCBR_ST_OK, w.buf, w.len);
    wire_writer_free(&w);
}

/* `cloister scbr reshard`: the front's enclave judges the command (sealed under SK, signed by
 * the pinned provider for this connection, epoch and sequence number), then the front moves
 * its subscriptions between two batches, clients' messages waiting in ZeroMQ meanwhile. */
static void reshard_command(scbr_router *r, zmq_msg_t *id, const struct scbr_msg *m)
{
    if (!r->front) {
        reply_error(r, id, SCBR_ST_INVALID, "this router is not a front (--shards): no shards");
        return;
    }
    r->in.len = 0;
    wire_put_varint(&r->in, 1);
    wire_put_bytes(&r->in, zmq_msg_data(id), zmq_msg_size(id));
    wire_put_bytes(&r->in, m->body, m->body_len);
    uint8_t *out = NULL;
    size_t outlen = 0;
    int rc = wire_writer_ok(&r->in)
                 ? call(r, SCBR_ECALL_CONTROL, r->in.buf, r->in.len, &out, &outlen)
                 : CLOISTER_E_NO_MEMORY;
    struct wire_reader rd;
    wire_reader_init(&rd, out, outlen);
    wire_get_u64(&rd);
    if (wire_get_varint(&rd) != 1)
        wire_reader_fail(&rd, "wrong item count");
    uint8_t st = wire_get_u8(&rd);
    uint32_t shards = wire_get_u32(&rd);
    free(out);
    if (rc != CLOISTER_OK || wire_reader_finish(&rd) != 0)
        st = SCBR_ST_FAILED;
    struct cloister_err err;
    if (st != SCBR_ST_OK) {
        clog_warn("a reshard command was refused: %s", scbr_status_name(st));
        reply_error(r, id, st,
                    st == SCBR_ST_DENIED ? "reshard: not signed by the router's pinned provider"
                                         : scbr_status_name(st));
    } else if (front_reshard(r, shards, &err) != CLOISTER_OK) {
        reply_error(r, id, SCBR_ST_FAILED, err.msg);
    } else {
        uint8_t b[4] = {(uint8_t)(shards >> 24), (uint8_t)(shards >> 16), (uint8_t)(shards >> 8),
                        (uint8_t)shards};
        reply(r, id, SCBR_REPLY_RESHARDED, SCBR_ST_OK, b, sizeof b);
    }
}

static void control(scbr_router *r, zmq_msg_t *id, const struct scbr_msg *m)
{
    switch (m->kind) {
    case SCBR_MSG_BYE: peer_drop(r, zmq_msg_data(id), zmq_msg_size(id), "left"); break;
    case SCBR_MSG_PROV_OFFER:
        if (offer_allowed(r, zmq_msg_data(id), zmq_msg_size(id)))
            forward(r, id, TEE_ECALL_PROV_OFFER, m, SCBR_REPLY_OFFER);
        else
            reply_error(r, id, SCBR_ST_DENIED, "provisioning offers are rate limited: retry later");
        break;
    case SCBR_MSG_PROV_ACCEPT:
        if (forward(r, id, TEE_ECALL_PROV_ACCEPT, m, SCBR_REPLY_PROVISIONED))
            key_check(r, NULL, NULL); /* the subscribers a new SK dropped learn it now */
        break;
    case SCBR_MSG_KEY: key_check(r, id, m); break;
    case SCBR_MSG_STATS: send_stats(r, id); break;
    case SCBR_MSG_RESHARD: reshard_command(r, id, m); break;
    case SCBR_MSG_SYNC: /* the batch before it was flushed: its refusals are sent already */
        reply(r, id, SCBR_REPLY_SYNCED, SCBR_ST_OK, NULL, 0);
        break;
    default: /* heartbeat: the touch was enough */ break;
    }
}

/* Receives one [id][body] message; false when nothing is queued. */
static bool receive(scbr_router *r)
{
    struct pending *p = &r->batch[r->nbatch];
    zmq_msg_init(&p->id);
    zmq_msg_init(&p->body);
    if (zmq_msg_recv(&p->id, r->sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&p->id);
        zmq_msg_close(&p->body);
        return false;
    }
    bool ok = zmq_msg_more(&p->id) && zmq_msg_recv(&p->body, r->sock, 0) >= 0 &&
              !zmq_msg_more(&p->body);
    while (zmq_msg_more(&p->body) || (!ok && zmq_msg_more(&p->id))) { /* drain extra frames */
        zmq_msg_t extra;
        zmq_msg_init(&extra);
        bool more = zmq_msg_recv(&extra, r->sock, 0) >= 0 && zmq_msg_more(&extra);
        zmq_msg_close(&extra);
        ok = false;
        if (!more)
            break;
    }
    struct cloister_err err;
    size_t idlen = zmq_msg_size(&p->id);
    if (ok && (idlen == 0 || idlen > SCBR_SENDER_MAX ||
               scbr_msg_decode(&p->m, zmq_msg_data(&p->body), zmq_msg_size(&p->body), &err) != 0))
        ok = false;
    if (!ok && idlen && idlen <= SCBR_SENDER_MAX &&
        scbr_msg_is_old(zmq_msg_data(&p->body), zmq_msg_size(&p->body)))
        reply_error(r, &p->id, SCBR_ST_INVALID,
                    "this router speaks a newer SCBR protocol: upgrade the client");
    if (!ok) {
        r->st.malformed++;
        zmq_msg_close(&p->id);
        zmq_msg_close(&p->body);
        return true;
    }
    struct peer *peer = peer_find(r, zmq_msg_data(&p->id), idlen);
    if (peer)
        peer->seen_ms = now_ms();
    bool batched = p->m.kind == SCBR_MSG_SUBSCRIBE || p->m.kind == SCBR_MSG_UNSUBSCRIBE ||
                   p->m.kind == SCBR_MSG_PUBLISH;
    /* the ecall's input must fit the boundary's message limit */
    bool too_big = r->batch_bytes + p->m.body_len + 64 > MAX_MESSAGE / 2;
    if (r->nbatch && (!batched || p->m.kind != r->batch_kind || too_big)) {
        /* flush the others first; this message moves to the front (decoded again: a small
         * message's bytes live inside its zmq_msg_t) */
        struct pending *was = r->batch; /* a front's flush moves on to another part */
        size_t at = r->nbatch;
        flush(r);
        zmq_msg_init(&r->batch[0].id);
        zmq_msg_init(&r->batch[0].body);
        zmq_msg_move(&r->batch[0].id, &was[at].id);
        zmq_msg_move(&r->batch[0].body, &was[at].body);
        zmq_msg_close(&was[at].id);
        zmq_msg_close(&was[at].body);
        p = &r->batch[0];
        scbr_msg_decode(&p->m, zmq_msg_data(&p->body), zmq_msg_size(&p->body), &err);
    }
    if (batched) {
        r->batch_kind = p->m.kind;
        r->batch_bytes += p->m.body_len + 64;
        if (++r->nbatch == r->opt.batch)
            flush(r);
        return true;
    }
    drain(r);
    control(r, &p->id, &p->m);
    zmq_msg_close(&p->id);
    zmq_msg_close(&p->body);
    return true;
}

/* A shard answers what its front sent (waiting up to ms for the first request), then what
 * else is queued, up to a batch's worth. */
static void serve_front(scbr_router *r, int64_t ms)
{
    bool changed = false;
    for (unsigned k = 0; k < r->opt.batch && scbr_shard_link_serve(r->link, call_fn, persist_now, r,
                                                                   k ? 0 : ms, &r->epoch, &changed);
         k++)
        ;
    r->dirty |= changed;
}

int scbr_router_run(scbr_router *r, struct cloister_err *err)
{
    zmq_pollitem_t item = {r->sock, 0, ZMQ_POLLIN, 0};
    while (!r->halt && !(r->opt.stop && *r->opt.stop)) {
        int n = zmq_poll(&item, 1, r->link || r->nflown ? 0 : 100);
        if (r->link && n == 0) /* a shard waits for its front's requests */
            serve_front(r, 100);
        if (n < 0 && zmq_errno() != EINTR)
            return cloister_errf(err, CLOISTER_E_SYSTEM, "zeromq poll: %s",
                                 zmq_strerror(zmq_errno()));
        revive(r);
        for (unsigned k = 0; n > 0 && k < r->opt.batch && receive(r); k++)
            ;
        flush(r);
        /* a front with batches in flight waits a little for their answers when ZeroMQ is idle */
        for (int64_t wait = n > 0 ? 0 : 2; settle_flown(r, wait); wait = 0)
            ;
        if (atomic_load(&r->reshard_to)) { /* between batches: nothing in flight */
            drain(r);
            r->reshard_rc = front_reshard(r, atomic_load(&r->reshard_to), &r->reshard_err);
            atomic_store(&r->reshard_to, 0);
        }
        int64_t now = now_ms();
        if (now - r->swept_ms >= 1000) {
            sweep_idle(r, now);
            r->swept_ms = now;
        }
        if (r->dirty && now - r->persisted_ms >= PERSIST_EVERY_MS)
            persist(r);
    }
    drain(r);
    int rc = persist(r);
    if (rc != 0)
        return cloister_errf(err, rc, "cannot persist the subscriptions: %s",
                             cloister_strerror(rc));
    return 0;
}

int scbr_router_reshard(scbr_router *r, unsigned shards, struct cloister_err *err)
{
    if (!r->front)
        return cloister_errf(err, CLOISTER_E_STATE, "only a front (--shards) reshards");
    if (!shards)
        return cloister_errf(err, CLOISTER_E_INVALID, "reshard: at least one shard");
    if (!r->started)
        return front_reshard(r, shards, err);
    atomic_store(&r->reshard_to, shards);
    while (atomic_load(&r->reshard_to)) {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (r->reshard_rc != 0)
        return cloister_errf(err, r->reshard_rc, "%s", r->reshard_err.msg);
    return 0;
}

static void *router_thread(void *arg)
{
    scbr_router *r = arg;
    r->run_rc = scbr_router_run(r, &r->run_err);
    return NULL;
}

int scbr_router_start(scbr_router *r, struct cloister_err *err)
{
    if (r->started)
        return cloister_errf(err, CLOISTER_E_STATE, "the router is already started");
    if (pthread_create(&r->thread, NULL, router_thread, r) != 0)
        return cloister_errf(err, CLOISTER_E_SYSTEM, "cannot start the router thread");
    r->started = true;
    return 0;
}

int scbr_router_stop(scbr_router *r, struct cloister_err *err)
{
    if (!r->started)
        return 0;
    r->halt = 1;
    pthread_join(r->thread, NULL);
    r->started = false;
    if (r->run_rc != 0)
        cloister_errf(err, r->run_rc, "%s", r->run_err.msg);
    return r->run_rc;
}

int scbr_router_get_stats(scbr_router *r, struct scbr_router_stats *st, struct cloister_err *err)
{
    uint8_t *out = NULL;
    size_t len;
    int rc = call(r, SCBR_ECALL_STATS, NULL, 0, &out, &len);
    if (rc != CLOISTER_OK)
        rc = cloister_errf(err, rc, "the enclave's statistics: %s", r->tee_err.msg);
    else if (scbr_enclave_stats_decode(&st->enclave, out, len) != 0)
        rc = cloister_errf(err, CLOISTER_E_PROTOCOL, "the enclave's statistics are malformed");
    free(out);
    st->host = r->st;
    st->host.queued_bytes = atomic_load(&r->queued);
    return rc;
}

void scbr_router_close(scbr_router *r)
{
    if (!r)
        return;
    scbr_router_stop(r, NULL);
    batch_clear(r);
    if (r->sock)
        zmq_close(r->sock);
    if (r->ctx)
        zmq_ctx_term(r->ctx);
    scbr_front_close(r->front);
    scbr_shard_link_close(r->link);
    tee_destroy(r->e);
    wire_writer_free(&r->in);
    wire_writer_free(&r->frame);
    wire_writer_free(&r->body);
    for (size_t i = 0; i < r->npeers; i++)
        account_release(r->peers[i].acct);
    scbr_idtab_free(&r->by_id, NULL);
    free(r->peers);
    free(r->slots);
    free(r->state_path);
    free(r->partition_path);
    free(r);
}
