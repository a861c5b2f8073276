/* ss_engine.c -- the embedded SecureStreams engine (streams.h): one process, every stage.
 *
 * The pipeline file is planned (ss_plan.h: a plain runner in the Lua sandbox describes it, and
 * its stages are grouped into segments); each plain segment gets a plain runner of its own
 * (in-process). Consecutive secure stages form a segment
 * run by one enclave, provisioned with a fresh pipeline key by attested HPKE (MRENCLAVE pinned,
 * simulated evidence only when allowed), loaded with the same config, and checked to have
 * computed the same pipeline hash. Every segment (plain ones too, each with its own Lua state)
 * runs in a thread of its own between two queues bounded in bytes (ss_queue.h): the source
 * thread fills the first, the calling thread drains the last into the sink, so stages overlap
 * and a slow sink stops the source once the queues are full (memory stays bounded). Into and
 * out of an enclave batches are sealed and numbered per edge; a refused one fails the run
 * (counted) rather than being skipped, since a skipped batch would change the results. The
 * first failure anywhere aborts every queue, and every thread ends.
 *
 * The source sends a batch when it is full or when its first event has waited the linger time
 * (so that a slow source such as a pipe flows), and stamps it with that event's ingress time;
 * each thread records, per batch, the latency from ingress to its own end in its meter
 * (ss_statspub.h), which the statistics thread snapshots every interval for the progress line
 * and `streams top`. A stop request ends the source as if its input had ended, so what was read
 * still flows through and the sink is written; a second one aborts like a failure. */
#include "streams/client/ss_client.h"
#include "streams/client/ss_dist.h"
#include "streams/client/ss_plan.h"
#include "streams/client/ss_queue.h"
#include "streams/client/ss_statspub.h"
#include "streams/common/ss_proto.h"
#include "streams/host/ss_host.h"

#include "lua/lua_sandbox.h"

#include <cloister/tee.h>
#include <cloister/tee_trust.h>
#include <cloister/tee_verify.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WAIT_SLICE_MS 100 /* how often a source with nothing to read checks for a stop */

struct engine;

struct segment {
    struct engine *e;
    uint32_t first, last;
    bool secure;
    struct ss_host *h; /* its enclave, or its in-process runner */
    crypto_aead *aead; /* secure: its own context (a context is not thread-safe) */
    uint64_t in_seq, out_seq;
    uint64_t ecalls, refused, skipped; /* this thread's counters, summed at the end */
    char first_error[CLOISTER_ERR_MAX];
    pthread_t thread;
    void *(*main)(void *); /* segment_main, or a distributed run's dist_out_main, dist_in_main */
    struct ss_meter *meter;
};

struct engine {
    const struct ss_options *o;
    struct ss_stats *s;
    struct ss_plan p;
    struct ss_dist *dist; /* a distributed run's cluster side (NULL: embedded) */
    uint8_t key[SS_KEY_LEN];
    struct segment seg[SS_STAGES_MAX];
    struct ss_queue q[SS_STAGES_MAX + 1]; /* q[i] feeds segment i; q[nseg] the sink */
    unsigned nseg;
    pthread_mutex_t mu;
    int rc; /* the first failure, under mu */
    struct cloister_err err;
    pthread_t source;
    struct ss_source src;
    FILE *out;
    struct ss_nats_sink *nout; /* a NATS sink, in place of out */
    char tmp[4200];
    /* meters: [0] the source, [1 + i] segment i, [1 + nseg] the sink */
    struct ss_meter meter[SS_STAGES_MAX + 2];
    struct ss_statspub_config pubc;
    _Atomic uint64_t source_bytes;
    uint64_t start_ns;
};

const double ss_latency_points[SS_LATENCY_POINTS] = {0.01, 0.05, 0.1, 0.2,  0.3,  0.4,   0.5, 0.6,
                                                     0.7,  0.8,  0.9, 0.95, 0.99, 0.999, 1.0};

void ss_options_init(struct ss_options *o)
{
    memset(o, 0, sizeof *o);
    o->tee = SS_TEE_PROC;
    o->inproc = &ss_inproc_worker;
    o->batch_events = 1024;
    o->batch_bytes = (size_t)1 << 20;
    o->queue_bytes = (size_t)4 << 20;
    o->linger_ms = 5;
    o->stats_interval_ms = 1000;
}

static int provision(struct engine *e, struct ss_host *h, tee_verifier *v, struct cloister_err *err)
{
    uint8_t mre[TEE_HASH_LEN], nonce[TEE_PROV_NONCE_LEN], *offer = NULL, *package = NULL, *ack;
    size_t offer_len, package_len, ack_len;
    struct tee_claims claims;
    struct cloister_err e2 = {0};
    struct tee_policy p;
    tee_policy_default(&p);
    int rc = e->o->mrenclave ? (memcpy(mre, e->o->mrenclave, sizeof mre), 0)
                             : ss_host_identity(h, mre, err);
    p.mrenclave = (const uint8_t(*)[TEE_HASH_LEN])mre;
    p.n_mrenclave = 1;
    p.allow_simulated = e->o->allow_simulated;
    struct tee_secret secret = {SS_SECRET_NAME, e->key, SS_KEY_LEN};
    if (rc == 0)
        rc = tee_prov_nonce(nonce, err);
    if (rc == 0)
        rc = ss_host_call(h, TEE_ECALL_PROV_OFFER, nonce, sizeof nonce, &offer, &offer_len, err);
    if (rc == 0 && tee_prov_package(v, &p, nonce, sizeof nonce, offer, offer_len, &secret, 1,
                                    &package, &package_len, &claims, &e2) != 0)
        rc = cloister_errf(
            err, CLOISTER_E_DENIED, "a secure stage's evidence was refused: %.160s%s", e2.msg,
            e->o->allow_simulated ? "" : " (a simulated platform needs --allow-simulated)");
    if (rc == 0)
        rc = ss_host_call(h, TEE_ECALL_PROV_ACCEPT, package, package_len, &ack, &ack_len, err);
    if (rc == 0) {
        free(ack);
        e->s->simulated = e->s->simulated || claims.simulated;
    }
    free(offer);
    free(package);
    return rc;
}

static int load_segment(struct engine *e, struct segment *g, struct cloister_err *err)
{
    struct wire_writer in;
    uint8_t *out = NULL;
    size_t outlen = 0;
    wire_writer_init(&in);
    wire_put_bytes(&in, e->p.config.buf, e->p.config.len);
    wire_put_u32(&in, g->first);
    wire_put_u32(&in, g->last);
    int rc = wire_writer_ok(&in)
                 ? ss_host_call(g->h, SS_CALL_LOAD, in.buf, in.len, &out, &outlen, err)
                 : cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory");
    if (rc == 0 && (outlen != SS_HASH_LEN || memcmp(out, e->p.hash, SS_HASH_LEN) != 0))
        rc = cloister_errf(err, CLOISTER_E_DENIED, "a secure stage loaded another pipeline");
    wire_writer_free(&in);
    free(out);
    return rc;
}

static int start_secure(struct engine *e, struct cloister_err *err)
{
    tee_platform *platform = NULL;
    tee_verifier *v = NULL;
    struct cloister_err e2 = {0};
    int rc = 0;
    for (unsigned i = 0; rc == 0 && i < e->nseg; i++) {
        struct segment *g = &e->seg[i];
        if (!g->secure)
            continue;
        bool none = e->o->tee == SS_TEE_NONE;
        if (!(g->aead = crypto_aead_new(CRYPTO_AES256_GCM, e->key)))
            rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for a key schedule");
        if (rc == 0)
            rc = ss_host_start(e->o->tee, e->o, none ? e->key : NULL, &g->h, err);
        /* after the first start, which made the platform if the home had none */
        if (rc == 0 && !none && !v &&
            (!(platform = tee_platform_open(e->o->home, &e2)) ||
             !(v = tee_verifier_new_file(tee_platform_ca_path(platform), &e2))))
            rc = cloister_errf(err, e2.code, "no verifier for the local platform: %.200s", e2.msg);
        if (rc == 0 && !none)
            rc = provision(e, g->h, v, err);
        if (rc == 0)
            rc = load_segment(e, g, err);
        e->s->enclaves += rc == 0 && !none;
    }
    tee_verifier_free(v);
    tee_platform_free(platform);
    return rc;
}

static void *segment_main(void *arg);
static void *dist_out_main(void *arg);
static void *dist_in_main(void *arg);

/* A distributed run has two threads in place of the segments: one sends what the source read
 * to the cluster (ss_dist.h), one receives what the last segment's replicas send to the sink.
 * The queue between them (q[1]) stays empty. */
static int plan_distributed(struct engine *e)
{
    e->nseg = 2;
    e->seg[0] = (struct segment){.e = e, .main = dist_out_main, .meter = &e->meter[1]};
    e->seg[1] = (struct segment){.e = e, .main = dist_in_main, .meter = &e->meter[2]};
    ss_meter_init(&e->meter[1], "nats-out");
    ss_meter_init(&e->meter[2], "nats-in");
    ss_meter_init(&e->meter[3], "sink");
    return 0;
}

/* The plan (ss_plan.h), a plain runner for each plain segment, and the meters: the source's,
 * each segment's (named as the plan names it) and the sink's. */
static int plan(struct engine *e, const char *path, struct cloister_err *err)
{
    struct ss_plan *p = &e->p;
    int rc = ss_plan_load(p, path, e->o, err);
    if (rc != 0)
        return rc;
    snprintf(e->s->pipeline, sizeof e->s->pipeline, "%s", p->pipeline);
    e->s->secure_stages = p->secure_stages;
    ss_meter_init(&e->meter[0], "source");
    if (e->o->distributed)
        return plan_distributed(e);
    if (!e->o->no_fuse)
        ss_plan_fuse(p);
    e->nseg = p->nseg;
    for (unsigned i = 0; i < e->nseg; i++) {
        struct segment *g = &e->seg[i];
        *g = (struct segment){.e = e,
                              .first = p->seg[i].first,
                              .last = p->seg[i].last,
                              .secure = p->seg[i].secure,
                              .main = segment_main,
                              .meter = &e->meter[1 + i]};
        ss_meter_init(g->meter, p->seg[i].name);
        if (!g->secure && rc == 0)
            rc = ss_plan_runner(p, e->o, &g->h, NULL, err);
    }
    ss_meter_init(&e->meter[1 + e->nseg], "sink");
    return rc;
}

/* One batch through one segment: plaintext in, plaintext out. */
static int through(struct engine *e, struct segment *g, const uint8_t *pt, size_t len,
                   uint8_t **out, size_t *outlen, struct cloister_err *err)
{
    struct wire_writer in;
    wire_writer_init(&in);
    int rc;
    if (!g->secure) {
        wire_put_u32(&in, g->first);
        wire_put_u32(&in, g->last);
        wire_put_raw(&in, pt, len);
        rc = wire_writer_ok(&in)
                 ? ss_host_call(g->h, SS_CALL_RUN_PLAIN, in.buf, in.len, out, outlen, err)
                 : cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory");
        wire_writer_free(&in);
        return rc;
    }
    struct ss_edge to = {.stage = g->first, .seq = g->in_seq++};
    memcpy(to.hash, e->p.hash, SS_HASH_LEN);
    uint8_t *c = NULL;
    size_t clen = 0;
    rc = ss_seal(g->aead, &to, pt, len, &in) == 0
             ? ss_host_call(g->h, SS_CALL_RUN, in.buf, in.len, &c, &clen, err)
             : cloister_errf(err, CLOISTER_E_NO_MEMORY, "cannot seal a batch");
    wire_writer_free(&in);
    g->ecalls++;
    struct ss_edge from = {.stage = g->last + 1, .seq = g->out_seq};
    memcpy(from.hash, e->p.hash, SS_HASH_LEN);
    if (rc == 0 && !(*out = malloc(clen ? clen : 1)))
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory");
    if (rc == 0 && ss_open(g->aead, &from, c, clen, *out, outlen, err) != 0) {
        g->refused++;
        atomic_fetch_add_explicit(&g->meter->refused, 1, memory_order_relaxed);
        rc = CLOISTER_E_DENIED;
    }
    if (rc != 0) {
        free(*out);
        *out = NULL;
    }
    g->out_seq += rc == 0;
    free(c);
    return rc;
}

/* Writes the sink's lines (the last segment's events are strings). */
static int sink(struct engine *e, const uint8_t *events, size_t len, struct cloister_err *err)
{
    struct wire_reader r;
    wire_reader_init(&r, events, len);
    wire_get_u8(&r);
    uint64_t n = wire_get_varint(&r);
    for (uint64_t i = 0; i < n && wire_reader_ok(&r); i++) {
        if (wire_get_u8(&r) != 0x05)
            return cloister_errf(err, CLOISTER_E_INVALID, "the sink produced a non-string");
        size_t l = wire_get_varint(&r);
        const uint8_t *s = wire_get_raw(&r, l);
        int rc = s && e->nout ? ss_nats_sink_put(e->nout, s, l, err) : 0;
        if (rc != 0)
            return rc;
        if (s && !e->nout && (fwrite(s, 1, l, e->out) != l || fputc('\n', e->out) == EOF))
            return cloister_errf(err, CLOISTER_E_SYSTEM, "cannot write the sink %s",
                                 e->p.sink_path);
    }
    e->s->events_out += n;
    if (e->nout)
        return wire_reader_ok(&r) ? ss_nats_sink_flush(e->nout, err)
                                  : cloister_errf(err, CLOISTER_E_INVALID, "malformed output");
    /* a sink on stdout flows batch by batch (a slow source's events appear as they come) */
    if (e->out == stdout && fflush(stdout) != 0)
        return cloister_errf(err, CLOISTER_E_SYSTEM, "cannot write the sink %s", e->p.sink_path);
    return wire_reader_ok(&r) ? 0 : cloister_errf(err, CLOISTER_E_INVALID, "malformed output");
}

/* The number of events of a batch's event array (0 when malformed: decoders check later). */
static uint64_t count_events(const uint8_t *events, size_t len)
{
    struct wire_reader r;
    wire_reader_init(&r, events, len);
    wire_get_u8(&r);
    uint64_t n = wire_get_varint(&r);
    return wire_reader_ok(&r) ? n : 0;
}

static bool stop_requested(const struct engine *e, int level)
{
    return e->o->stop && *e->o->stop >= level;
}

/* Records the first failure and aborts every queue, so that every thread ends. */
static void fail(struct engine *e, int rc, const struct cloister_err *err)
{
    pthread_mutex_lock(&e->mu);
    if (e->rc == 0) {
        e->rc = rc;
        e->err = *err;
    }
    pthread_mutex_unlock(&e->mu);
    for (unsigned i = 0; i <= e->nseg; i++)
        ss_queue_abort(&e->q[i]);
}

/* A second stop request aborts the run like a failure. */
static bool aborted_by_signal(struct engine *e)
{
    if (!stop_requested(e, 2))
        return false;
    struct cloister_err t;
    fail(e, cloister_errf(&t, CLOISTER_E_STATE, "stopped by a second signal: no output written"),
         &t);
    return true;
}

/* A segment's output batch (plaintext, taken) as an item for the next queue: a failed batch is
 * the run's failure, skipped events are counted. ingress 0: the batch's own (it came from
 * another process). */
static int pass(struct segment *g, uint8_t *pt, size_t len, uint64_t ingress, struct ss_batch *b,
                struct ss_item **it, struct cloister_err *err)
{
    int rc = ss_batch_decode(b, pt, len, err);
    if (rc == 0 && b->failed)
        rc = cloister_errf(err, CLOISTER_E_FAILED, "%.*s", (int)b->error_len, b->error);
    if (rc == 0) {
        g->skipped += b->skipped;
        if (b->skipped && !g->first_error[0])
            snprintf(g->first_error, sizeof g->first_error, "%.*s", (int)b->error_len, b->error);
    }
    if (rc == 0 && !(*it = ss_item_new(pt, len)))
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for a batch");
    if (rc != 0) {
        free(pt);
        return rc;
    }
    (*it)->events = count_events(b->events, b->events_len);
    ingress = ingress ? ingress : b->ingress_ns ? b->ingress_ns : ss_wall_ns();
    (*it)->ingress_ns = ingress;
    ss_meter_out(g->meter, (*it)->events, ingress);
    return 0;
}

static void *segment_main(void *arg)
{
    struct segment *g = arg;
    struct engine *e = g->e;
    struct ss_queue *in = &e->q[g - e->seg], *out = in + 1;
    struct cloister_err err = {0};
    struct ss_item *it;
    bool final = false;
    while (!final && !aborted_by_signal(e) && (it = ss_queue_pop(in))) {
        uint8_t *next = NULL;
        size_t nextlen = 0;
        struct ss_batch b;
        uint64_t ingress = it->ingress_ns;
        ss_meter_in(g->meter, it->events);
        int rc = through(e, g, it->data, it->len, &next, &nextlen, &err);
        ss_item_free(it);
        if (rc == 0)
            rc = pass(g, next, nextlen, ingress, &b, &it, &err);
        final = rc == 0 && b.final;
        if (rc == 0 && ss_queue_push(out, it) != 0)
            break; /* aborted: someone else failed */
        if (rc != 0) {
            fail(e, rc, &err);
            break;
        }
    }
    ss_queue_close(out);
    return NULL;
}

/* Distributed: what the source read goes to the cluster. */
static void *dist_out_main(void *arg)
{
    struct segment *g = arg;
    struct engine *e = g->e;
    struct cloister_err err = {0};
    struct ss_item *it;
    while ((it = ss_queue_pop(&e->q[0]))) {
        uint64_t n = it->events, ingress = it->ingress_ns;
        ss_meter_in(g->meter, n);
        int rc = ss_dist_send(e->dist, it->data, it->len, &err);
        ss_item_free(it);
        if (rc != 0) {
            fail(e, rc, &err);
            break;
        }
        ss_meter_out(g->meter, n, ingress);
    }
    ss_queue_close(&e->q[1]);
    return NULL;
}

static bool failed(struct engine *e)
{
    pthread_mutex_lock(&e->mu);
    bool f = e->rc != 0;
    pthread_mutex_unlock(&e->mu);
    return f;
}

/* Distributed: what the last segment's replicas sent goes to the sink, with the ingress time
 * its batch carried through the stage processes (latency across processes, wall clock). */
static void *dist_in_main(void *arg)
{
    struct segment *g = arg;
    struct engine *e = g->e;
    struct ss_queue *out = &e->q[e->nseg];
    struct cloister_err err = {0};
    bool end = false;
    while (!end && !failed(e) && !aborted_by_signal(e)) {
        uint8_t *pt = NULL;
        size_t len = 0;
        struct ss_batch b;
        struct ss_item *it = NULL;
        int rc = ss_dist_recv(e->dist, WAIT_SLICE_MS, &pt, &len, &end, &err);
        if (rc == 0 && pt)
            rc = pass(g, pt, len, 0, &b, &it, &err);
        if (rc == 0 && it && ss_queue_push(out, it) != 0)
            break;
        if (rc != 0) {
            fail(e, rc, &err);
            break;
        }
    }
    ss_queue_close(out);
    return NULL;
}

/* Waits for the first event of a batch, checking for a stop request meanwhile: true when
 * stopped. */
static bool wait_first(struct engine *e)
{
    while (!stop_requested(e, 1))
        if (ss_source_wait(&e->src, WAIT_SLICE_MS))
            return stop_requested(e, 1);
    return true;
}

/* The next batch of source events as batch plaintext: 0, or a negative code. */
static int read_batch(struct engine *e, struct ss_item **out, bool *eof, struct cloister_err *err)
{
    struct wire_writer items, w;
    wire_writer_init(&items);
    wire_writer_init(&w);
    size_t n = 0;
    int rc = 0;
    uint64_t ingress = 0, linger = (uint64_t)e->o->linger_ms * 1000000u;
    while (n < e->o->batch_events && items.len < e->o->batch_bytes) {
        if (n == 0 && wait_first(e)) {
            *eof = e->s->stopped = true;
            break;
        }
        if (n > 0) { /* the batch leaves once its first event has waited the linger time */
            uint64_t waited = ss_wall_ns() - ingress;
            if (waited >= linger ||
                !ss_source_wait(&e->src, (int)((linger - waited + 999999) / 1000000)))
                break;
        }
        int got = ss_source_next(&e->src, &items, err);
        if (got < 0)
            rc = got;
        if (got <= 0) {
            *eof = true;
            break;
        }
        ingress = n++ == 0 ? ss_wall_ns() : ingress;
    }
    struct wire_writer ev;
    wire_writer_init(&ev);
    wire_put_u8(&ev, 0x06);
    wire_put_varint(&ev, n);
    wire_put_raw(&ev, items.buf, items.len);
    ingress = n ? ingress : ss_wall_ns();
    struct ss_batch b = {.final = *eof,
                         .ingress_ns = ingress,
                         .events = ev.buf,
                         .events_len = ev.len};
    ss_batch_encode(&b, &w);
    wire_writer_free(&items);
    wire_writer_free(&ev);
    e->s->events_in += n;
    uint8_t *data = NULL;
    size_t len = 0;
    if (rc == 0 && (!wire_writer_ok(&w) || wire_writer_finish(&w, &data, &len) != 0 ||
                    !(*out = ss_item_new(data, len))))
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for a batch");
    if (rc != 0)
        wire_writer_free(&w);
    if (rc == 0) {
        (*out)->events = n;
        (*out)->ingress_ns = ingress;
        ss_meter_in(&e->meter[0], n);
        atomic_store_explicit(&e->source_bytes, e->src.bytes_read, memory_order_relaxed);
    }
    return rc;
}

static void *source_main(void *arg)
{
    struct engine *e = arg;
    struct cloister_err err = {0};
    bool eof = false;
    while (!eof) {
        struct ss_item *it = NULL;
        int rc = read_batch(e, &it, &eof, &err);
        if (rc != 0) {
            fail(e, rc, &err);
            break;
        }
        uint64_t n = it->events, ingress = it->ingress_ns;
        if (ss_queue_push(&e->q[0], it) != 0)
            break;
        ss_meter_out(&e->meter[0], n, ingress);
        if ((rc = ss_source_commit(&e->src, &err)) != 0) {
            fail(e, rc, &err);
            break;
        }
    }
    ss_queue_close(&e->q[0]);
    return NULL;
}

/* Sums the segments' counters into the stats. */
static void collect(struct engine *e)
{
    for (unsigned i = 0; i < e->nseg; i++) {
        struct segment *g = &e->seg[i];
        e->s->ecalls += g->ecalls;
        e->s->refused += g->refused;
        e->s->skipped += g->skipped;
        if (!e->s->first_error[0] && g->first_error[0])
            snprintf(e->s->first_error, sizeof e->s->first_error, "%s", g->first_error);
    }
    for (unsigned i = 0; i <= e->nseg; i++)
        e->s->queue_peak = e->q[i].peak > e->s->queue_peak ? e->q[i].peak : e->s->queue_peak;
    uint64_t lat[SS_LAT_BUCKETS];
    for (unsigned i = 0; i < e->nseg + 2 && i < SS_STAGES_REPORTED; i++) {
        struct ss_meter *m = &e->meter[i];
        struct ss_part_stats *p = &e->s->part[e->s->nparts++];
        snprintf(p->name, sizeof p->name, "%s", m->stage);
        p->events_in = atomic_load(&m->events_in);
        p->events_out = atomic_load(&m->events_out);
        p->batches = atomic_load(&m->batches);
        p->refused = atomic_load(&m->refused);
        ss_latency_copy(&m->lat, lat);
        p->p50_us = (ss_latency_quantile(lat, 0.5) + 999) / 1000;
        p->p99_us = (ss_latency_quantile(lat, 0.99) + 999) / 1000;
    }
    ss_latency_copy(&e->meter[1 + e->nseg].lat, lat);
    e->s->latency_p50_us = (ss_latency_quantile(lat, 0.5) + 999) / 1000;
    e->s->latency_p99_us = (ss_latency_quantile(lat, 0.99) + 999) / 1000;
    for (unsigned i = 0; i < SS_LATENCY_POINTS; i++)
        e->s->latency_cdf_us[i] = (ss_latency_quantile(lat, ss_latency_points[i]) + 999) / 1000;
    e->s->seconds = (double)(ss_wall_ns() - e->start_ns) / 1e9;
}

/* Before each statistics snapshot: the queue depths in front of each segment and the sink. */
static void sample(void *arg)
{
    struct engine *e = arg;
    for (unsigned i = 0; i <= e->nseg; i++)
        atomic_store_explicit(&e->meter[1 + i].queue_bytes, ss_queue_depth(&e->q[i]),
                              memory_order_relaxed);
}

/* Every statistics interval: the progress callback, and a second stop request noticed even
 * when no batch moves. */
static void on_tick(void *arg, const struct ss_stage_stats *snaps, size_t n)
{
    struct engine *e = arg;
    aborted_by_signal(e);
    if (!e->o->progress)
        return;
    struct ss_progress p = {
        .events_in = snaps[0].events_in,
        .events_out = snaps[n - 1].events_out,
        .bytes_read = atomic_load_explicit(&e->source_bytes, memory_order_relaxed),
        .bytes_total = e->src.bytes_total,
        .seconds = (double)(ss_wall_ns() - e->start_ns) / 1e9,
    };
    e->o->progress(e->o->progress_arg, &p);
}

static int start_stats(struct engine *e, struct ss_statspub **pub, struct cloister_err *err)
{
    e->pubc = (struct ss_statspub_config){.url = e->o->nats,
                                          .pipeline = e->s->pipeline,
                                          .meters = e->meter,
                                          .n = e->nseg + 2,
                                          .interval_ms = e->o->stats_interval_ms,
                                          .sample = sample,
                                          .on_tick = on_tick,
                                          .arg = e};
    return ss_statspub_start(&e->pubc, pub, err);
}

static int open_sink(struct engine *e, struct cloister_err *err)
{
    bool js = strcmp(e->p.sink_kind, "jetstream") == 0;
    if (js || strcmp(e->p.sink_kind, "nats") == 0)
        return ss_nats_sink_open(e->o->nats, js, e->p.sink_path, &e->nout, err);
    if (strcmp(e->p.sink_path, "-") == 0) {
        e->out = stdout;
    } else {
        snprintf(e->tmp, sizeof e->tmp, "%s.tmp", e->p.sink_path);
        if (!(e->out = fopen(e->tmp, "w")))
            return cloister_errf(err, CLOISTER_E_SYSTEM, "cannot write %s", e->p.sink_path);
    }
    if (e->p.header[0] && fprintf(e->out, "%s\n", e->p.header) < 0)
        return cloister_errf(err, CLOISTER_E_SYSTEM, "cannot write %s", e->p.sink_path);
    return 0;
}

static int close_sink(struct engine *e, bool ok, struct cloister_err *err)
{
    if (e->nout) {
        int rc = ss_nats_sink_close(e->nout, ok, err);
        e->nout = NULL;
        return rc;
    }
    if (!e->out || e->out == stdout)
        return e->out && fflush(stdout) != 0 ? cloister_errf(err, CLOISTER_E_SYSTEM, "stdout") : 0;
    int rc = fflush(e->out) != 0 || fsync(fileno(e->out)) != 0 ? -1 : 0;
    rc |= fclose(e->out);
    e->out = NULL;
    if (!ok || rc != 0 || rename(e->tmp, e->p.sink_path) != 0) {
        remove(e->tmp);
        return ok ? cloister_errf(err, CLOISTER_E_SYSTEM, "cannot write %s", e->p.sink_path) : 0;
    }
    return 0;
}

/* Starts the source and a thread per segment, and drains the last queue into the sink. */
static int stream(struct engine *e, struct cloister_err *err)
{
    struct ss_statspub *pub = NULL;
    e->start_ns = ss_wall_ns();
    pthread_mutex_init(&e->mu, NULL); /* before the statistics thread, which may fail() */
    for (unsigned i = 0; i <= e->nseg; i++)
        ss_queue_init(&e->q[i], e->o->queue_bytes);
    int rc = ss_plan_source_open(&e->p, e->o->nats, &e->src, err);
    if (rc == 0)
        rc = open_sink(e, err);
    if (rc == 0)
        rc = start_stats(e, &pub, err);
    if (rc != 0) {
        ss_source_close(&e->src);
        close_sink(e, false, err);
        for (unsigned i = 0; i <= e->nseg; i++)
            ss_queue_destroy(&e->q[i]);
        pthread_mutex_destroy(&e->mu);
        return rc;
    }
    unsigned started = 0;
    bool source = pthread_create(&e->source, NULL, source_main, e) == 0;
    while (source && started < e->nseg &&
           pthread_create(&e->seg[started].thread, NULL, e->seg[started].main, &e->seg[started]) ==
               0)
        started++;
    if (!source || started < e->nseg) {
        struct cloister_err t;
        fail(e, cloister_errf(&t, CLOISTER_E_SYSTEM, "cannot start a stage thread"), &t);
    }
    struct ss_item *it;
    struct ss_meter *m = &e->meter[1 + e->nseg];
    while (!aborted_by_signal(e) && (it = ss_queue_pop(&e->q[e->nseg]))) {
        struct ss_batch b;
        struct cloister_err t = {0};
        uint64_t before = e->s->events_out;
        ss_meter_in(m, it->events);
        int r = ss_batch_decode(&b, it->data, it->len, &t);
        if (r == 0)
            r = sink(e, b.events, b.events_len, &t);
        e->s->batches++;
        ss_meter_out(m, e->s->events_out - before, it->ingress_ns);
        ss_item_free(it);
        if (r != 0)
            fail(e, r, &t);
    }
    if (source)
        pthread_join(e->source, NULL);
    for (unsigned i = 0; i < started; i++)
        pthread_join(e->seg[i].thread, NULL);
    ss_statspub_stop(pub);
    collect(e);
    for (unsigned i = 0; i <= e->nseg; i++)
        ss_queue_destroy(&e->q[i]);
    pthread_mutex_destroy(&e->mu);
    ss_source_close(&e->src);
    rc = e->rc;
    if (rc != 0 && err)
        *err = e->err;
    int rc2 = close_sink(e, rc == 0, err);
    return rc ? rc : rc2;
}

int ss_run(const char *path, const struct ss_options *o, struct ss_stats *s,
           struct cloister_err *err)
{
    struct engine *e = calloc(1, sizeof *e);
    if (!e)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory");
    memset(s, 0, sizeof *s);
    e->o = o;
    e->s = s;
    int rc = plan(e, path, err);
    if (rc == 0 && crypto_random(e->key, sizeof e->key) != 0)
        rc = cloister_errf(err, CLOISTER_E_FAILED, "cannot make the pipeline key");
    if (rc == 0)
        rc = o->distributed ? ss_dist_start(&e->p, path, o, e->key, &e->dist, err)
                            : start_secure(e, err);
    if (rc == 0)
        rc = stream(e, err);
    ss_dist_stop(e->dist, rc == 0, s);
    for (unsigned i = 0; i < e->nseg; i++) {
        ss_host_stop(e->seg[i].h);
        crypto_aead_free(e->seg[i].aead);
    }
    ss_source_close(&e->src);
    crypto_wipe(e->key, sizeof e->key);
    ss_plan_free(&e->p);
    free(e);
    return rc;
}
