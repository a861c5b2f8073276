/* ss_dist.c -- the launcher of a distributed run: its cluster side (ss_dist.h).
 *
 * Names. A run has a random id; its stream SSD_<run> (work queue, bounded in bytes) holds every
 * edge: ssd.<run>.<k>.<p> is the input of partition p of segment k, k = nseg being the sink's.
 * Its checkpoints live in the bucket ssck-<run>. Both are deleted when the run ends.
 *
 * Provisioning. Every replica of every segment has a pool of seats of its own (ss_dist_pool)
 * and the run a session per replica (prov_bus.h), whose seats carry the run, the pipeline hash
 * and the shape of the replica's edges. A seat goes only to an enclave whose evidence passes
 * the policy (the MRENCLAVE of the stage image pinned, simulated evidence only when allowed);
 * with it comes the pipeline key. A restarted replica needs a seat again: the launcher adds
 * one to that replica's session before it starts the process anew.
 *
 * Edges out of this process are sealed like any other (ss_proto.h): the source is producer 0 of
 * the first segment, batches numbered per partition; the sink expects, from each replica of the
 * last segment, the next number of its edge, drops a number already seen (a re-publish after
 * a restart that slipped past the stream's de-duplication) and refuses anything else. */
#include "streams/client/ss_dist.h"

#include "bus/bus.h"
#include "streams/host/ss_host.h"
#include "util/hex.h"
#include "util/log.h"

#include <cloister/tee.h>
#include <cloister/tee_trust.h>
#include <cloister/tee_verify.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define INFO_VERSION 1
#define STREAM_BYTES ((int64_t)256 << 20)
#define SEND_WINDOW 32      /* async publishes of the source between two waits */
#define RESTARTS_MAX 3      /* per replica */
#define STOP_GRACE_MS 15000 /* for the stages to end after the sink's last batch */
#define FETCH_MAX 64
#define CHILD_ARGS_MAX (24 + 2 * SS_PARAMS_MAX)

void ss_seat_info_encode(const struct ss_seat_info *i, struct wire_writer *w)
{
    wire_put_u8(w, INFO_VERSION);
    wire_put_str(w, i->run);
    wire_put_bytes(w, i->hash, SS_HASH_LEN);
    wire_put_u32(w, i->seg);
    wire_put_u32(w, i->replica);
    wire_put_u32(w, i->nup);
    wire_put_u32(w, i->nout);
    wire_put_u8(w, i->keyed);
    wire_put_u64(w, i->ckpt_events);
    wire_put_u32(w, i->ckpt_ms);
}

int ss_seat_info_decode(struct ss_seat_info *i, const uint8_t *buf, size_t len,
                        struct cloister_err *err)
{
    struct wire_reader r;
    size_t hlen = 0;
    memset(i, 0, sizeof *i);
    wire_reader_init(&r, buf, len);
    uint8_t version = wire_get_u8(&r);
    wire_get_str(&r, i->run, sizeof i->run);
    const uint8_t *h = wire_get_bytes(&r, SS_HASH_LEN, &hlen);
    if (h && hlen == SS_HASH_LEN)
        memcpy(i->hash, h, SS_HASH_LEN);
    i->seg = wire_get_u32(&r);
    i->replica = wire_get_u32(&r);
    i->nup = wire_get_u32(&r);
    i->nout = wire_get_u32(&r);
    uint8_t keyed = wire_get_u8(&r);
    i->keyed = keyed == 1;
    i->ckpt_events = wire_get_u64(&r);
    i->ckpt_ms = wire_get_u32(&r);
    if (wire_reader_finish(&r) != 0 || version != INFO_VERSION || hlen != SS_HASH_LEN ||
        keyed > 1 || strlen(i->run) != SS_RUN_HEX ||
        strspn(i->run, "0123456789abcdef") != SS_RUN_HEX || i->seg >= SS_STAGES_MAX ||
        i->replica >= SS_REPLICAS_MAX || i->nup == 0 || i->nup > SS_REPLICAS_MAX || i->nout == 0 ||
        i->nout > SS_REPLICAS_MAX)
        return cloister_errf(err, CLOISTER_E_PROTOCOL, "a malformed seat");
    return 0;
}

void ss_dist_pool(const struct ss_plan *p, unsigned seg, unsigned replica,
                  char out[PROV_BUS_NAME_MAX + 1])
{
    char h[17];
    hex_encode(h, p->hash, 8);
    snprintf(out, PROV_BUS_NAME_MAX + 1, "ss-%s-%u-%u", h, (unsigned)p->seg[seg].first, replica);
}

void ss_dist_stream(const char *run, char *out, size_t cap)
{
    snprintf(out, cap, "SSD_%s", run);
}

void ss_dist_subject(const char *run, unsigned seg, int part, char *out, size_t cap)
{
    if (part < 0)
        snprintf(out, cap, "ssd.%s.%u", run, seg);
    else
        snprintf(out, cap, "ssd.%s.%u.%d", run, seg, part);
}

void ss_dist_bucket(const char *run, char *out, size_t cap)
{
    snprintf(out, cap, "ssck-%s", run);
}

/* ---- the launcher ---- */

struct child {
    unsigned seg, replica, restarts;
    pid_t pid;         /* 0: ended well */
    uint64_t provided; /* --external: the enclaves its session provisioned when last looked */
};

struct ss_dist {
    const struct ss_plan *p;
    const struct ss_options *o;
    const char *path;
    char run[SS_RUN_HEX + 1], stream[64];
    struct bus *b;
    crypto_aead *seal; /* the source's (the sink has its own: a context is not thread-safe) */
    uint32_t nrep[SS_STAGES_MAX];
    /* the source: producer 0 of the first segment */
    uint64_t out_seq[SS_REPLICAS_MAX], rr, sent;
    /* the sink: every replica of the last segment is a producer */
    struct bus_consumer *sink;
    struct bus_msg *msgs[FETCH_MAX];
    size_t nmsgs, next;
    struct ss_sink_edges in;
    /* provisioning */
    uint8_t mrenclave[TEE_HASH_LEN], key[SS_KEY_LEN];
    struct tee_policy policy;
    struct tee_secret secret;
    tee_platform *platform;
    tee_verifier *v;
    struct prov_bus_client **prov; /* one per replica, in the order of children */
    struct wire_writer *info;
    struct child *children;
    unsigned nchildren, restarts;
};

static uint64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* The MRENCLAVE the stages must prove: pinned, or that of the image a first enclave runs (which
 * also makes the platform when the home has none), and the verifier of the local platform. */
static int trust(struct ss_dist *d, struct cloister_err *err)
{
    const struct ss_options *o = d->o;
    struct ss_host *h = NULL;
    struct cloister_err e = {0};
    int rc = o->tee == SS_TEE_NONE
                 ? cloister_errf(err, CLOISTER_E_INVALID,
                                 "a distributed run needs enclaves for its stages (--tee proc or "
                                 "sim): every edge is sealed with the provisioned key")
                 : ss_host_start(o->tee, o, NULL, &h, err);
    if (rc == 0 && o->mrenclave)
        memcpy(d->mrenclave, o->mrenclave, TEE_HASH_LEN);
    else if (rc == 0)
        rc = ss_host_identity(h, d->mrenclave, err);
    ss_host_stop(h);
    if (rc == 0 && (!(d->platform = tee_platform_open(o->home, &e)) ||
                    !(d->v = tee_verifier_new_file(tee_platform_ca_path(d->platform), &e))))
        rc = cloister_errf(err, e.code, "no verifier for the local platform: %.200s", e.msg);
    tee_policy_default(&d->policy);
    d->policy.mrenclave = (const uint8_t(*)[TEE_HASH_LEN])d->mrenclave;
    d->policy.n_mrenclave = 1;
    d->policy.allow_simulated = o->allow_simulated;
    d->secret = (struct tee_secret){SS_SECRET_NAME, d->key, SS_KEY_LEN};
    return rc;
}

static int make_stream(struct ss_dist *d, struct cloister_err *err)
{
    char subject[128];
    snprintf(subject, sizeof subject, "ssd.%s.>", d->run);
    ss_dist_stream(d->run, d->stream, sizeof d->stream);
    size_t max = bus_max_payload(d->b);
    struct bus_stream_config sc = {.name = d->stream,
                                   .subject = subject,
                                   .retention = BUS_WORK_QUEUE,
                                   .max_bytes = STREAM_BYTES,
                                   .max_msg_size = max > INT32_MAX ? INT32_MAX : (int32_t)max};
    return bus_stream_ensure(d->b, &sc, err);
}

/* Starts (again) the process of child c: `cloister streams stage ...`. */
static int spawn(struct ss_dist *d, struct child *c, struct cloister_err *err)
{
    const struct ss_options *o = d->o;
    char replica[16], param[SS_PARAMS_MAX][512];
    const char *argv[CHILD_ARGS_MAX];
    size_t n = 0;
    snprintf(replica, sizeof replica, "%u", c->replica);
    argv[n++] = o->stage_exe;
    argv[n++] = "streams";
    argv[n++] = "stage";
    argv[n++] = "--pipeline";
    argv[n++] = d->path;
    argv[n++] = "--stage";
    argv[n++] = d->p->seg[c->seg].name;
    argv[n++] = "--replica";
    argv[n++] = replica;
    argv[n++] = "--nats";
    argv[n++] = o->nats;
    argv[n++] = "--tee";
    argv[n++] = o->tee == SS_TEE_SIM ? "sim" : "proc";
    if (o->home) {
        argv[n++] = "--home";
        argv[n++] = o->home;
    }
    if (o->signature) {
        argv[n++] = "--signature";
        argv[n++] = o->signature;
    }
    for (size_t i = 0; i < o->nparams; i++) {
        if ((size_t)snprintf(param[i], sizeof param[i], "%s=%s", o->params[2 * i],
                             o->params[2 * i + 1]) >= sizeof param[i])
            return cloister_errf(err, CLOISTER_E_INVALID, "parameter %s is too long for a stage",
                                 o->params[2 * i]);
        argv[n++] = "--param";
        argv[n++] = param[i];
    }
    argv[n] = NULL;
    /* The stage inherits stdin, stdout and stderr only: a descriptor of ours left open in it
     * (a FIFO's write end, a socket) would keep a peer from seeing its end. */
    posix_spawn_file_actions_t fa;
    pid_t pid;
    if (posix_spawn_file_actions_init(&fa) != 0)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory to start a stage");
    int rc = posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
    if (rc == 0)
        rc = posix_spawn(&pid, o->stage_exe, &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return cloister_errf(err, CLOISTER_E_SYSTEM, "cannot start stage %s: %s",
                             d->p->seg[c->seg].name, strerror(rc));
    c->pid = pid;
    fprintf(stderr, "run %s: stage %s replica %u: pid %ld\n", d->run, d->p->seg[c->seg].name,
            c->replica, (long)pid);
    if (o->on_stage)
        o->on_stage(o->on_stage_arg, d->p->seg[c->seg].name, c->replica, (long)pid);
    return 0;
}

/* A session of seats for each replica of each segment, and its process when there is a binary. */
static int start_stages(struct ss_dist *d, struct cloister_err *err)
{
    const struct ss_plan *p = d->p;
    unsigned n = 0;
    for (unsigned k = 0; k < p->nseg; k++)
        n += d->nrep[k];
    d->children = calloc(n, sizeof *d->children);
    d->prov = calloc(n, sizeof *d->prov);
    d->info = calloc(n, sizeof *d->info);
    if (!d->children || !d->prov || !d->info)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for the stages");
    int rc = 0;
    for (unsigned k = 0; rc == 0 && k < p->nseg; k++) {
        for (unsigned r = 0; rc == 0 && r < d->nrep[k]; r++) {
            struct child *c = &d->children[d->nchildren];
            struct wire_writer *w = &d->info[d->nchildren];
            struct ss_seat_info si = {.seg = k,
                                      .replica = r,
                                      .nup = k == 0 ? 1 : d->nrep[k - 1],
                                      .nout = k + 1 == p->nseg ? 1 : d->nrep[k + 1],
                                      .keyed = k + 1 < p->nseg &&
                                               strcmp(p->stage_op[p->seg[k].last], "key_by") == 0,
                                      .ckpt_events = d->o->ckpt_events,
                                      .ckpt_ms = d->o->ckpt_ms};
            memcpy(si.run, d->run, sizeof si.run);
            memcpy(si.hash, p->hash, SS_HASH_LEN);
            wire_writer_init(w);
            ss_seat_info_encode(&si, w);
            char pool[PROV_BUS_NAME_MAX + 1], session[PROV_BUS_NAME_MAX + 1];
            ss_dist_pool(p, k, r, pool);
            snprintf(session, sizeof session, "ss-%s-%u-%u", d->run, k, r);
            struct prov_bus_client_config pc = {.pool = pool,
                                                .session = session,
                                                .verifier = d->v,
                                                .policy = &d->policy,
                                                .secrets = &d->secret,
                                                .nsecrets = 1,
                                                .info = w->buf,
                                                .info_len = w->len};
            *c = (struct child){.seg = k, .replica = r};
            d->nchildren++;
            if (!wire_writer_ok(w))
                rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for a seat");
            else if (!(d->prov[d->nchildren - 1] = prov_bus_client_start(d->b, &pc, 1, err)))
                rc = err->code ? err->code : CLOISTER_E_FAILED;
            if (rc == 0 && d->o->stage_exe)
                rc = spawn(d, c, err);
        }
    }
    return rc;
}

int ss_dist_start(const struct ss_plan *p, const char *path, const struct ss_options *o,
                  const uint8_t key[SS_KEY_LEN], struct ss_dist **out, struct cloister_err *err)
{
    struct ss_dist *d = calloc(1, sizeof *d);
    uint8_t id[SS_RUN_HEX / 2];
    if (!d)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory");
    *out = d;
    d->p = p;
    d->o = o;
    d->path = path;
    memcpy(d->key, key, SS_KEY_LEN);
    unsigned replicas = o->replicas ? o->replicas : 1;
    if (!o->nats)
        return cloister_errf(err, CLOISTER_E_INVALID, "a distributed run needs a NATS server");
    if (replicas > SS_REPLICAS_MAX)
        return cloister_errf(err, CLOISTER_E_INVALID, "at most %d replicas", SS_REPLICAS_MAX);
    if (crypto_random(id, sizeof id) != 0)
        return cloister_errf(err, CLOISTER_E_FAILED, "no randomness for the run's id");
    hex_encode(d->run, id, sizeof id);
    for (unsigned k = 0; k < p->nseg; k++)
        d->nrep[k] = p->seg[k].partitionable ? replicas : 1;
    d->in.stage = p->nstages + 1;
    d->in.producers = d->nrep[p->nseg - 1];
    memcpy(d->in.hash, p->hash, SS_HASH_LEN);
    struct bus_options bo = {.name = "cloister-streams-launcher"};
    int rc = trust(d, err);
    if (rc == 0 && (!(d->seal = crypto_aead_new(CRYPTO_AES256_GCM, key)) ||
                    !(d->in.aead = crypto_aead_new(CRYPTO_AES256_GCM, key))))
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for a key schedule");
    if (rc == 0 && !(d->b = bus_connect(o->nats, &bo, err)))
        rc = err->code ? err->code : CLOISTER_E_FAILED;
    if (rc == 0)
        rc = make_stream(d, err);
    char sink[128];
    ss_dist_subject(d->run, p->nseg, 0, sink, sizeof sink);
    struct bus_consumer_config cc = {.stream = d->stream, .durable = "sink", .filter = sink};
    if (rc == 0 && !(d->sink = bus_consumer_open(d->b, &cc, err)))
        rc = err->code ? err->code : CLOISTER_E_FAILED;
    if (rc == 0)
        rc = start_stages(d, err);
    if (rc == 0 && !o->stage_exe)
        fprintf(stderr, "run %s: waiting for %u stage process(es) started by hand\n", d->run,
                d->nchildren);
    return rc;
}

/* Back-pressure: the stream is bounded; the source waits while it is a quarter full. */
static int wait_room(struct ss_dist *d, struct cloister_err *err)
{
    for (;;) {
        struct bus_stream_stats st;
        int rc = bus_stream_stats(d->b, d->stream, &st, err);
        if (rc != 0 || st.bytes < (uint64_t)STREAM_BYTES / 4 || (d->o->stop && *d->o->stop >= 2))
            return rc;
        pause_ms(20);
    }
}

static int publish(struct ss_dist *d, uint32_t part, const uint8_t *pt, size_t len,
                   struct cloister_err *err)
{
    struct ss_edge e = {.stage = d->p->seg[0].first,
                        .partition = SS_PART(0, part),
                        .seq = d->out_seq[part]++};
    memcpy(e.hash, d->p->hash, SS_HASH_LEN);
    struct wire_writer c;
    wire_writer_init(&c);
    char subject[128], id[128];
    ss_dist_subject(d->run, 0, (int)part, subject, sizeof subject);
    snprintf(id, sizeof id, "src/0/%u/%" PRIu64, part, e.seq);
    int rc = ss_seal(d->seal, &e, pt, len, &c) == 0
                 ? bus_publish_async(d->b, subject, NULL, 0, c.buf, c.len, id, err)
                 : cloister_errf(err, CLOISTER_E_NO_MEMORY, "cannot seal a batch");
    wire_writer_free(&c);
    if (rc == 0 && ++d->sent % SEND_WINDOW == 0) {
        rc = bus_publish_wait(d->b, 30000, err);
        if (rc == 0)
            rc = wait_room(d, err);
    }
    return rc;
}

int ss_dist_send(struct ss_dist *d, const uint8_t *pt, size_t len, struct cloister_err *err)
{
    struct ss_batch b;
    int rc = ss_batch_decode(&b, pt, len, err);
    uint32_t n = d->nrep[0], to = (uint32_t)(d->rr++ % n);
    if (rc == 0)
        rc = publish(d, to, pt, len, err);
    if (rc != 0 || !b.final)
        return rc;
    static const uint8_t none[] = {0x06, 0x00};
    struct ss_batch end = {.final = true,
                           .ingress_ns = b.ingress_ns,
                           .events = none,
                           .events_len = sizeof none};
    struct wire_writer w;
    wire_writer_init(&w);
    ss_batch_encode(&end, &w);
    for (uint32_t p = 0; rc == 0 && p < n; p++)
        if (p != to)
            rc = publish(d, p, w.buf, w.len, err);
    wire_writer_free(&w);
    return rc == 0 ? bus_publish_wait(d->b, 30000, err) : rc;
}

/* A replica's process ended: well (0), restarted after a kill, or the run fails. */
static int reap(struct ss_dist *d, struct child *c, int status, struct cloister_err *err)
{
    const char *name = d->p->seg[c->seg].name;
    c->pid = 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (!WIFSIGNALED(status))
        return cloister_errf(err, CLOISTER_E_FAILED, "stage %s replica %u failed (exit status %d)",
                             name, c->replica, WEXITSTATUS(status));
    if (c->restarts >= RESTARTS_MAX || (d->o->stop && *d->o->stop))
        return cloister_errf(err, CLOISTER_E_FAILED, "stage %s replica %u was killed (signal %d)",
                             name, c->replica, WTERMSIG(status));
    fprintf(stderr, "stage %s replica %u killed (signal %d): restarting it\n", name, c->replica,
            WTERMSIG(status));
    c->restarts++;
    d->restarts++;
    int rc = prov_bus_client_add_seats(d->prov[c - d->children], 1, err);
    return rc == 0 ? spawn(d, c, err) : rc;
}

/* --external: the stages are started by hand, so the launcher cannot see a kill; once a
 * replica's seat is taken it offers another, so that the replica started again (by hand) is
 * provisioned and resumes from its checkpoint (at most RESTARTS_MAX times). The checkpoint
 * bucket's revision check keeps a second live copy from overwriting the state. */
static int offer_spares(struct ss_dist *d, struct cloister_err *err)
{
    int rc = 0;
    for (unsigned i = 0; rc == 0 && i < d->nchildren; i++) {
        struct child *c = &d->children[i];
        struct prov_bus_stats st = {0};
        prov_bus_client_stats(d->prov[i], &st);
        if (st.provisioned <= c->provided)
            continue;
        unsigned restarts = st.provisioned > 1 ? (unsigned)(st.provisioned - 1) : 0;
        d->restarts += restarts - c->restarts;
        c->restarts = restarts;
        c->provided = st.provisioned;
        if (restarts < RESTARTS_MAX)
            rc = prov_bus_client_add_seats(d->prov[i], 1, err);
    }
    return rc;
}

static int watch(struct ss_dist *d, struct cloister_err *err)
{
    if (!d->o->stage_exe)
        return offer_spares(d, err);
    int rc = 0;
    for (unsigned i = 0; rc == 0 && i < d->nchildren; i++) {
        struct child *c = &d->children[i];
        int status = 0;
        if (c->pid > 0 && waitpid(c->pid, &status, WNOHANG) == c->pid)
            rc = reap(d, c, status, err);
    }
    return rc;
}

int ss_sink_take(struct ss_sink_edges *s, const uint8_t *c, size_t len, uint8_t **pt, size_t *ptlen,
                 struct cloister_err *err)
{
    uint32_t stage = 0, part = 0;
    uint64_t seq = 0;
    *pt = NULL;
    if (len < SS_BATCH_OVERHEAD) {
        s->refused++;
        return cloister_errf(err, CLOISTER_E_DENIED, "batch refused at the sink: truncated");
    }
    ss_peek(c, &stage, &part, &seq);
    uint32_t producer = part >> 16;
    struct ss_edge want = {.stage = s->stage, .partition = SS_PART(producer, 0)};
    if (producer < s->producers && stage == want.stage && part == want.partition &&
        seq < s->next[producer]) {
        s->duplicates++;
        return 1;
    }
    want.seq = producer < s->producers ? s->next[producer] : 0;
    if (producer >= s->producers)
        want.partition = SS_PART(SS_REPLICAS_MAX, 0); /* refused as misaddressed */
    memcpy(want.hash, s->hash, SS_HASH_LEN);
    if (!(*pt = malloc(len)))
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for a batch");
    if (ss_open(s->aead, &want, c, len, *pt, ptlen, err) != 0) {
        free(*pt);
        *pt = NULL;
        s->refused++;
        return CLOISTER_E_DENIED;
    }
    s->next[producer]++;
    struct ss_batch b;
    struct cloister_err e = {0};
    if (ss_batch_decode(&b, *pt, *ptlen, &e) == 0 && b.final)
        s->finals |= (uint64_t)1 << producer;
    return 0;
}

bool ss_sink_ended(const struct ss_sink_edges *s)
{
    return s->finals == (s->producers == 64 ? UINT64_MAX : ((uint64_t)1 << s->producers) - 1);
}

int ss_dist_recv(struct ss_dist *d, int timeout_ms, uint8_t **pt, size_t *len, bool *end,
                 struct cloister_err *err)
{
    *pt = NULL;
    *len = 0;
    *end = ss_sink_ended(&d->in);
    int rc = watch(d, err);
    if (rc == 0 && d->next == d->nmsgs && !*end) {
        d->next = d->nmsgs = 0;
        rc = bus_fetch(d->sink, d->msgs, FETCH_MAX, timeout_ms, &d->nmsgs, err);
    }
    while (rc == 0 && !*pt && d->next < d->nmsgs) {
        struct bus_msg *m = d->msgs[d->next++];
        size_t clen = 0;
        const uint8_t *c = bus_msg_data(m, &clen);
        int t = ss_sink_take(&d->in, c, clen, pt, len, err);
        /* a refused batch is counted and acked (redelivering it would not make it valid): one
         * bad message does not fail the run */
        if (t == CLOISTER_E_DENIED && d->in.refused == 1)
            clog_warn("%s (counted; later refusals only counted)", err->msg);
        if (t == CLOISTER_E_DENIED)
            cloister_err_clear(err);
        rc = t >= 0 || t == CLOISTER_E_DENIED ? bus_msg_ack(m, err) : t;
        bus_msg_free(m);
    }
    *end = ss_sink_ended(&d->in) && !*pt;
    return rc;
}

/* Waits for the processes to end by themselves for up to grace_ms, then stops them. */
static void stop_children(struct ss_dist *d, uint64_t grace_ms)
{
    uint64_t until = now_ms() + grace_ms;
    bool termed = false, left = true;
    while (left) {
        left = false;
        for (unsigned i = 0; i < d->nchildren; i++) {
            struct child *c = &d->children[i];
            int status;
            if (c->pid > 0 && waitpid(c->pid, &status, WNOHANG) == c->pid)
                c->pid = 0;
            left = left || c->pid > 0;
        }
        if (left && !termed && now_ms() >= until) {
            for (unsigned i = 0; i < d->nchildren; i++)
                if (d->children[i].pid > 0)
                    kill(d->children[i].pid, SIGTERM);
            termed = true;
            until = now_ms() + 5000;
        } else if (left && termed && now_ms() >= until) {
            for (unsigned i = 0; i < d->nchildren; i++)
                if (d->children[i].pid > 0)
                    kill(d->children[i].pid, SIGKILL);
        }
        if (left)
            pause_ms(20);
    }
}

void ss_dist_stop(struct ss_dist *d, bool ok, struct ss_stats *s)
{
    if (!d)
        return;
    stop_children(d, ok ? STOP_GRACE_MS : 0);
    for (size_t i = d->next; i < d->nmsgs; i++)
        bus_msg_free(d->msgs[i]);
    bus_consumer_close(d->sink);
    for (unsigned i = 0; i < d->nchildren; i++) {
        struct prov_bus_stats st = {0};
        if (d->prov[i] && s) {
            prov_bus_client_stats(d->prov[i], &st);
            s->enclaves += (unsigned)st.provisioned;
            s->simulated = s->simulated || st.simulated;
        }
        prov_bus_client_stop(d->prov[i]);
        wire_writer_free(&d->info[i]);
    }
    if (d->b && d->stream[0]) {
        char bucket[64], kv[80];
        struct cloister_err e = {0};
        ss_dist_bucket(d->run, bucket, sizeof bucket);
        snprintf(kv, sizeof kv, "KV_%s", bucket);
        bus_stream_delete(d->b, d->stream, &e);
        bus_stream_delete(d->b, kv, &e);
    }
    if (s) {
        s->stage_processes = d->o->stage_exe ? d->nchildren : 0;
        s->restarts = d->restarts;
        s->refused += d->in.refused;
        s->duplicates += d->in.duplicates;
    }
    bus_close(d->b);
    crypto_aead_free(d->seal);
    crypto_aead_free(d->in.aead);
    tee_verifier_free(d->v);
    tee_platform_free(d->platform);
    crypto_wipe(d->key, sizeof d->key);
    free(d->children);
    free(d->prov);
    free(d->info);
    free(d);
}
