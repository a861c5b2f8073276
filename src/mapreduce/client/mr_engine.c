/* mr_engine.c -- the embedded MapReduce engine (mapreduce.h): the trusted client and the
 * scheduler of one job.
 *
 * Set-up: the job is loaded in a sandbox first (a syntax error or a missing map/reduce fails
 * before any worker starts); the client draws a job key and a job id (OS CSPRNG), starts the
 * workers (mr_host.h), verifies each one's evidence against the local platform's CA with
 * MRENCLAVE pinned (simulated evidence only with allow_simulated), provisions the key by
 * attested HPKE, and loads the sealed code in each. The code's SHA-256 is bound into every task.
 * With remote workers (over NATS), the same policy judges each remote enclave's offer through
 * the provisioning module (prov_bus.h), which hands the accepted ones the key and the sealed
 * code; they then take tasks from the job's work queue like the local ones.
 *
 * Rounds: each round has M map tasks (one per split) and R reduce tasks (one per reducer),
 * numbered 0..M-1 and M..M+R-1. The scheduler keeps at most two tasks per worker queued, sealing
 * a split only when its task is queued, so memory stays bounded whatever the input size. Every
 * (re)queued task gets a new attempt number; a result counts only for the task's current
 * attempt (a late or replayed one is ignored), so the first valid result wins. A worker's
 * refusal or death re-runs the task; a reducer that refused or missed a map output has that map
 * task re-run, then runs again with the new attempt in its descriptor. An error of the job's own
 * code fails the job with its message. Between rounds, next_round(results, round) runs here, in
 * a sandbox outside the enclaves (the client is trusted), and returns the next round's params or
 * nil. The last round's results are written to OUTPUT/part-R.jsonl, then OUTPUT/_SUCCESS; a
 * failed or stopped run removes the parts it wrote. */
#include "mapreduce/client/mr_client.h"
#include "mapreduce/host/mr_host.h"
#include "mapreduce/host/mr_remote.h"
#include "mapreduce/host/mr_transport_nats.h"

#include "lua/lua_sandbox.h"
#include "provision/prov_bus.h"
#include "util/fileio.h"

#include <cloister/tee.h>
#include <cloister/tee_trust.h>
#include <cloister/tee_verify.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ATTEMPTS_MAX 5
#define SPLIT_DEFAULT ((size_t)1 << 20)
#define SPLIT_MIN ((size_t)4 << 10)
#define SAMPLE_RECORDS 1000
#define JOB_MAX ((size_t)1 << 20)
#define WAIT_MS 100
#define TEE_WORKERS_MAX_MR 64u
#define NATS_QUEUE_BYTES ((int64_t)256 << 20)
#define NATS_SHUFFLE_BYTES ((int64_t)1 << 30)
#define REMOTE_JOIN_S 60

enum task_state { T_WAITING, T_QUEUED, T_DONE };

/* What the provisioning of remote workers holds until the job ends (prov_bus.h). */
struct remote {
    struct bus *b;
    tee_platform *platform;
    tee_verifier *v;
    uint8_t mrenclave[TEE_HASH_LEN];
    struct tee_policy policy;
    struct tee_secret secret;
    struct wire_writer info;
    struct prov_bus_client *prov;
};

struct task {
    enum task_state state;
    uint32_t attempt; /* the current attempt (valid once queued) */
    unsigned tries;
};

struct job {
    const struct mr_options *o;
    struct mr_summary *s;
    char name[TLUA_NAME_MAX];
    char *code;
    size_t code_len;
    uint8_t key[MR_KEY_LEN], id[MR_JOB_ID_LEN], hash[MR_HASH_LEN];
    crypto_aead *aead;
    char work[4096];
    struct mr_transport *t;
    struct wire_writer sealed_code; /* the job's code, sealed under the key */
    struct remote remote;           /* remote workers' provisioning (with nats) */
    struct mr_host_worker **workers;
    pthread_t *threads;
    unsigned nworkers, nthreads;
    struct mr_split *splits;
    size_t nsplits;
    uint32_t R;
    struct tlua *lua; /* init and next_round, on the client */
    uint8_t *params;
    size_t params_len;
    /* the round in progress */
    uint32_t round;
    struct task *tasks;
    size_t queued, maps_done, reduces_done;
    uint8_t **results;
    size_t *results_len;
    uint64_t bytes_done;
    double started, last_progress;
    char last_failure[CLOISTER_ERR_MAX]; /* why the last attempt was re-run */
    size_t log_seen;                     /* bytes of the client state's print() log shown */
};

/* Shows what init or next_round printed since last time. */
static void flush_log(struct job *j)
{
    size_t len;
    const char *log = tlua_log(j->lua, &len);
    if (j->o->log && len > j->log_seen) {
        fwrite(log + j->log_seen, 1, len - j->log_seen, j->o->log);
        fflush(j->o->log);
    }
    j->log_seen = len;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void mr_options_init(struct mr_options *o)
{
    memset(o, 0, sizeof *o);
    o->workers = 3;
    o->reducers = 1;
    o->tee = MR_TEE_PROC;
    o->max_rounds = 100;
    o->reduce_memory = MR_REDUCE_MEMORY_DEFAULT;
}

static bool stopped(const struct job *j)
{
    return j->o->stop && *j->o->stop;
}

/* ---- the job's code ---- */

static void job_name(const char *path, char *out, size_t cap)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    snprintf(out, cap, "%s", base);
    char *dot = strrchr(out, '.');
    if (dot && dot != out)
        *dot = 0;
}

static struct tlua *client_state(const char *name, const char *text, size_t len,
                                 struct cloister_err *err)
{
    char chunk[TLUA_NAME_MAX + 8];
    struct tlua_options lo = {.job = name, .task = "client", .seed = 1};
    snprintf(chunk, sizeof chunk, "%s.lua", name);
    struct tlua *L = tlua_new(&lo, err);
    if (L && tlua_load(L, text, len, chunk, err) != 0) {
        tlua_free(L);
        L = NULL;
    }
    return L;
}

int mr_job_check(const char *text, size_t len, const char *name, struct cloister_err *err)
{
    struct tlua *L = client_state(name, text, len, err);
    if (!L)
        return CLOISTER_E_INVALID;
    int rc = 0;
    if (!tlua_has(L, "map"))
        rc = cloister_errf(err, CLOISTER_E_INVALID, "job %s defines no function map(key, value)",
                           name);
    else if (!tlua_has(L, "reduce"))
        rc = cloister_errf(err, CLOISTER_E_INVALID,
                           "job %s defines no function reduce(key, values)", name);
    tlua_free(L);
    return rc;
}

static int load_job(struct job *j, struct cloister_err *err)
{
    uint8_t *text;
    size_t len;
    if (file_read_all(j->o->job, JOB_MAX, &text, &len) != 0)
        return cloister_errf(err, CLOISTER_E_INVALID, "job %s: %s", j->o->job, strerror(errno));
    j->code = (char *)text;
    j->code_len = len;
    job_name(j->o->job, j->name, sizeof j->name);
    struct cloister_err e;
    if (mr_job_check(j->code, len, j->name, &e) != 0)
        return cloister_errf(err, CLOISTER_E_INVALID, "%s", e.msg);
    crypto_sha256(j->hash, text, len);
    j->lua = client_state(j->name, j->code, len, err);
    return j->lua ? 0 : CLOISTER_E_INVALID;
}

/* ---- workers ---- */

/* The MRENCLAVE workers must have: the pinned one, else that of the image a local worker runs
 * (tee_create checked it), else the one its signature file names. */
static int worker_identity(struct job *j, struct mr_host_worker *w, uint8_t mre[TEE_HASH_LEN],
                           struct cloister_err *err)
{
    if (j->o->mrenclave) {
        memcpy(mre, j->o->mrenclave, TEE_HASH_LEN);
        return 0;
    }
    if (w)
        return mr_host_worker_identity(w, mre, err);
    char sig[4200];
    uint8_t *buf = NULL;
    size_t len;
    struct tee_sigstruct ss;
    int rc = 0;
    if (j->o->signature)
        snprintf(sig, sizeof sig, "%s", j->o->signature);
    else if ((rc = tee_image_path("mapreduce", sig, sizeof sig - 4, err)) == 0)
        strcat(sig, ".sig");
    if (rc == 0 && file_read_all(sig, 1 << 16, &buf, &len) != 0)
        rc = cloister_errf(err, CLOISTER_E_NOT_FOUND, "the worker image's signature %s: %s", sig,
                           strerror(errno));
    if (rc == 0 && tee_sigstruct_decode(&ss, buf, len, err) != 0)
        rc = CLOISTER_E_INVALID;
    if (rc == 0)
        memcpy(mre, ss.mrenclave, TEE_HASH_LEN);
    free(buf);
    return rc;
}

static void worker_policy(const struct job *j, const uint8_t mre[TEE_HASH_LEN],
                          struct tee_policy *p)
{
    tee_policy_default(p);
    p->mrenclave = (const uint8_t(*)[TEE_HASH_LEN])mre;
    p->n_mrenclave = 1;
    p->allow_simulated = j->o->allow_simulated;
}

static int provision(struct job *j, struct mr_host_worker *w, unsigned i, tee_verifier *v,
                     struct cloister_err *err)
{
    uint8_t mre[TEE_HASH_LEN], nonce[TEE_PROV_NONCE_LEN], *offer = NULL, *package = NULL;
    size_t offer_len, package_len;
    struct tee_claims claims;
    struct cloister_err e = {0};
    struct tee_policy p;
    int rc = worker_identity(j, w, mre, err);
    worker_policy(j, mre, &p);
    struct tee_secret secret = {MR_SECRET_NAME, j->key, MR_KEY_LEN};
    if (rc == 0)
        rc = tee_prov_nonce(nonce, err);
    if (rc == 0)
        rc = mr_host_worker_offer(w, nonce, sizeof nonce, &offer, &offer_len, err);
    if (rc == 0 && tee_prov_package(v, &p, nonce, sizeof nonce, offer, offer_len, &secret, 1,
                                    &package, &package_len, &claims, &e) != 0)
        rc = cloister_errf(
            err, CLOISTER_E_DENIED, "worker %u's evidence was refused: %.160s%s", i, e.msg,
            j->o->allow_simulated ? "" : " (a simulated platform needs --allow-simulated)");
    if (rc == 0)
        rc = mr_host_worker_accept(w, package, package_len, err);
    if (rc == 0)
        j->s->simulated = j->s->simulated || claims.simulated;
    free(offer);
    free(package);
    return rc;
}

static void *serve_main(void *arg)
{
    struct job *j = ((void **)arg)[0];
    struct mr_host_worker *w = ((void **)arg)[1];
    free(arg);
    mr_host_worker_serve(w, j->t);
    return NULL;
}

static int start_workers(struct job *j, struct cloister_err *err)
{
    const struct mr_options *o = j->o;
    char store[4200], spill[4200];
    snprintf(store, sizeof store, "%s/sealed", j->work);
    snprintf(spill, sizeof spill, "%s/spill", j->work);
    j->workers = calloc(j->nworkers, sizeof *j->workers);
    j->threads = calloc(j->nworkers, sizeof *j->threads);
    if (!j->workers || !j->threads)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for workers");
    tee_platform *platform = NULL;
    tee_verifier *v = NULL;
    struct cloister_err e = {0};
    int rc = 0;
    struct wire_writer code, *sealed = &j->sealed_code;
    wire_writer_init(&code);
    wire_put_str(&code, j->name);
    wire_put_bytes(&code, j->code, j->code_len);
    struct mr_chunk_id id = {.kind = MR_KIND_CODE};
    memcpy(id.job, j->id, MR_JOB_ID_LEN);
    if (rc == 0 &&
        (!wire_writer_ok(&code) || mr_chunk_seal(j->aead, &id, code.buf, code.len, sealed) != 0))
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory to seal the job");
    for (unsigned i = 0; rc == 0 && i < j->nworkers; i++) {
        struct mr_host_config c = {.tee = o->tee,
                                   .enclave = o->enclave,
                                   .inproc = o->inproc,
                                   .home = o->home,
                                   .store_dir = store,
                                   .signature = o->signature,
                                   .index = i,
                                   .spill_dir = spill,
                                   .on_spill_read = o->on_spill_read,
                                   .hook_arg = o->hook_arg};
        rc = mr_host_worker_start(&c, &j->workers[i], err);
        /* after the first start, which made the platform if the home had none */
        if (rc == 0 && o->tee != MR_TEE_NONE && !v &&
            (!(platform = tee_platform_open(o->home, &e)) ||
             !(v = tee_verifier_new_file(tee_platform_ca_path(platform), &e))))
            rc = cloister_errf(err, e.code, "no verifier for the local platform: %.200s", e.msg);
        if (rc == 0)
            rc = o->tee == MR_TEE_NONE ? mr_host_worker_set_key(j->workers[i], j->key, err)
                                       : provision(j, j->workers[i], i, v, err);
        if (rc == 0)
            rc = mr_host_worker_load(j->workers[i], sealed->buf, sealed->len, err);
    }
    wire_writer_free(&code);
    tee_verifier_free(v);
    tee_platform_free(platform);
    for (unsigned i = 0; rc == 0 && i < j->nworkers; i++) {
        void **arg = malloc(2 * sizeof *arg);
        if (!arg)
            return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for a worker thread");
        arg[0] = j;
        arg[1] = j->workers[i];
        if (pthread_create(&j->threads[i], NULL, serve_main, arg) != 0) {
            free(arg);
            return cloister_errf(err, CLOISTER_E_SYSTEM, "cannot start a worker thread");
        }
        j->nthreads++;
    }
    return rc;
}

static void job_hex(const struct job *j, char out[MR_JOB_HEX_MAX + 1])
{
    for (size_t i = 0; i < MR_JOB_ID_LEN; i++)
        snprintf(out + 2 * i, 3, "%02x", j->id[i]);
}

/* Offers o->remote_workers seats to `cloister mapreduce worker` processes: each gets the key
 * only once its evidence passed the same policy as a local worker's, then the sealed code. */
static int start_remote(struct job *j, struct cloister_err *err)
{
    struct remote *r = &j->remote;
    const struct mr_options *o = j->o;
    if (o->remote_workers == 0)
        return 0;
    char job[MR_JOB_HEX_MAX + 1], session[PROV_BUS_NAME_MAX + 1];
    job_hex(j, job);
    snprintf(session, sizeof session, "mr-%s", job);
    struct cloister_err e = {0};
    int rc = worker_identity(j, j->nworkers ? j->workers[0] : NULL, r->mrenclave, err);
    worker_policy(j, r->mrenclave, &r->policy);
    r->secret = (struct tee_secret){MR_SECRET_NAME, j->key, MR_KEY_LEN};
    mr_remote_info_encode(&r->info, job, o->nats_ack_wait_ms);
    if (rc == 0 && (!(r->platform = tee_platform_open(o->home, &e)) ||
                    !(r->v = tee_verifier_new_file(tee_platform_ca_path(r->platform), &e))))
        rc = cloister_errf(err, e.code, "no verifier for remote workers: %.200s", e.msg);
    struct bus_options bo = {.name = "cloister-mr-provisioner"};
    if (rc == 0 && !(r->b = bus_connect(o->nats, &bo, err)))
        rc = CLOISTER_E_FAILED;
    struct prov_bus_client_config c = {.pool = MR_REMOTE_POOL,
                                       .session = session,
                                       .verifier = r->v,
                                       .policy = &r->policy,
                                       .secrets = &r->secret,
                                       .nsecrets = 1,
                                       .info = r->info.buf,
                                       .info_len = r->info.len,
                                       .extra = j->sealed_code.buf,
                                       .extra_len = j->sealed_code.len};
    if (rc == 0 && !wire_writer_ok(&r->info))
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for remote workers");
    if (rc == 0 && !(r->prov = prov_bus_client_start(r->b, &c, o->remote_workers, err)))
        rc = CLOISTER_E_FAILED;
    return rc;
}

/* With no local worker, a job that no remote worker joined in time fails, saying why. */
static int check_remote(struct job *j, struct cloister_err *err)
{
    struct prov_bus_stats st;
    if (j->nworkers > 0 || !j->remote.prov || now_s() - j->started < REMOTE_JOIN_S)
        return 0;
    prov_bus_client_stats(j->remote.prov, &st);
    if (st.provisioned > 0)
        return 0;
    return cloister_errf(err, CLOISTER_E_TIMEOUT,
                         "no remote worker joined job %s within %d s (%llu refused%s%.160s)",
                         j->name, REMOTE_JOIN_S, (unsigned long long)st.refused,
                         st.refused ? "; last: " : "", st.last_refusal);
}

static void stop_remote(struct job *j)
{
    struct remote *r = &j->remote;
    if (r->prov) {
        struct prov_bus_stats st;
        prov_bus_client_stats(r->prov, &st);
        j->s->remote_workers = st.provisioned;
        j->s->refused_workers = st.refused;
        j->s->simulated = j->s->simulated || st.simulated;
    }
    prov_bus_client_stop(r->prov);
    bus_close(r->b);
    tee_verifier_free(r->v);
    tee_platform_free(r->platform);
    wire_writer_free(&r->info);
    memset(r, 0, sizeof *r);
}

static void stop_workers(struct job *j)
{
    if (j->t)
        j->t->ops->close(j->t);
    for (unsigned i = 0; i < j->nthreads; i++)
        pthread_join(j->threads[i], NULL);
    for (unsigned i = 0; j->workers && i < j->nworkers; i++) {
        if (!j->workers[i])
            continue;
        struct mr_host_stats st;
        mr_host_worker_stats(j->workers[i], &st);
        j->s->ecalls += st.ecalls;
        j->s->worker_restarts += st.restarts;
        mr_host_worker_stop(j->workers[i]);
    }
    free(j->workers);
    free(j->threads);
    j->workers = NULL;
    j->threads = NULL;
    j->nthreads = 0;
}

/* ---- tasks ---- */

static struct mr_chunk_id chunk_id(const struct job *j, uint8_t kind, uint32_t task,
                                   uint32_t attempt, uint32_t partition)
{
    struct mr_chunk_id id = {.kind = kind,
                             .round = j->round,
                             .task = task,
                             .attempt = attempt,
                             .partition = partition};
    memcpy(id.job, j->id, MR_JOB_ID_LEN);
    return id;
}

/* Seals a descriptor for task i (current attempt) into the task message. */
static int put_descriptor(struct job *j, uint32_t i, struct mr_input *inputs, uint32_t ninputs,
                          struct wire_writer *msg)
{
    bool map = i < j->nsplits;
    struct mr_task t = {
        .phase = map ? MR_PHASE_MAP : MR_PHASE_REDUCE,
        .format = map ? j->splits[i].format : 0,
        .round = j->round,
        .task = i,
        .attempt = j->tasks[i].attempt,
        .nreducers = j->R,
        .partition = map ? 0 : (uint32_t)(i - j->nsplits),
        .memory = j->o->lua_memory,
        .instructions = j->o->lua_instructions,
        .output = 0,
        .reduce_memory = j->o->reduce_memory,
        .params = j->params,
        .params_len = j->params_len,
        .inputs = inputs,
        .ninputs = ninputs,
    };
    memcpy(t.code_hash, j->hash, MR_HASH_LEN);
    struct wire_writer pt, sealed;
    wire_writer_init(&pt);
    wire_writer_init(&sealed);
    mr_task_encode(&t, &pt);
    struct mr_chunk_id id = chunk_id(j, MR_KIND_TASK, i, t.attempt, 0);
    int rc = wire_writer_ok(&pt) ? mr_chunk_seal(j->aead, &id, pt.buf, pt.len, &sealed) : -1;
    wire_put_u8(msg, t.phase);
    wire_put_u32(msg, j->round);
    wire_put_u32(msg, i);
    wire_put_u32(msg, t.attempt);
    wire_put_u32(msg, t.partition);
    wire_put_bytes(msg, sealed.buf, sealed.len);
    wire_writer_free(&pt);
    wire_writer_free(&sealed);
    return rc;
}

static int queue_map(struct job *j, uint32_t i, struct wire_writer *msg, struct cloister_err *err)
{
    const struct mr_split *sp = &j->splits[i];
    struct wire_writer recs, sealed;
    uint64_t n;
    wire_writer_init(&recs);
    wire_writer_init(&sealed);
    int rc = mr_split_read(j->o->inputs[sp->file], sp, 0, &recs, &n, err);
    struct mr_chunk_id id = chunk_id(j, MR_KIND_SPLIT, i, j->tasks[i].attempt, 0);
    if (rc == 0 && (put_descriptor(j, i, NULL, 0, msg) != 0 ||
                    mr_chunk_seal(j->aead, &id, recs.buf, recs.len, &sealed) != 0))
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory to seal a split");
    wire_put_bytes(msg, sealed.buf, sealed.len);
    wire_put_varint(msg, 0);
    wire_writer_free(&recs);
    wire_writer_free(&sealed);
    return rc;
}

static int queue_reduce(struct job *j, uint32_t i, struct wire_writer *msg,
                        struct cloister_err *err)
{
    size_t M = j->nsplits;
    struct mr_input *in = calloc(M ? M : 1, sizeof *in);
    if (!in)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for a reduce task");
    for (uint32_t m = 0; m < M; m++)
        in[m] = (struct mr_input){m, j->tasks[m].attempt};
    int rc = put_descriptor(j, i, in, (uint32_t)M, msg);
    wire_put_bytes(msg, NULL, 0);
    wire_put_varint(msg, M);
    for (uint32_t m = 0; m < M; m++) {
        wire_put_u32(msg, in[m].task);
        wire_put_u32(msg, in[m].attempt);
    }
    free(in);
    return rc == 0 ? 0 : cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for a task");
}

static int queue_task(struct job *j, uint32_t i, struct cloister_err *err)
{
    struct task *t = &j->tasks[i];
    if (t->tries >= ATTEMPTS_MAX)
        return cloister_errf(
            err, CLOISTER_E_FAILED, "job %s: task %s#%u failed %u times; last: %.120s", j->name,
            i < j->nsplits ? "map" : "reduce", i < j->nsplits ? i : (unsigned)(i - j->nsplits),
            t->tries, j->last_failure);
    if (t->tries > 0) {
        t->attempt++;
        j->s->retries++;
    }
    t->tries++;
    struct wire_writer msg;
    wire_writer_init(&msg);
    int rc = i < j->nsplits ? queue_map(j, i, &msg, err) : queue_reduce(j, i, &msg, err);
    if (rc == 0 && !wire_writer_ok(&msg))
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for a task message");
    if (rc == 0)
        rc = j->t->ops->task_put(j->t, msg.buf, msg.len, err);
    wire_writer_free(&msg);
    if (rc == 0) {
        t->state = T_QUEUED;
        j->queued++;
        if (i < j->nsplits)
            j->s->map_tasks++;
        else
            j->s->reduce_tasks++;
    }
    return rc;
}

/* Queues what may run now, up to two tasks per worker in flight. */
static int schedule(struct job *j, struct cloister_err *err)
{
    size_t M = j->nsplits, limit = 2 * ((size_t)j->nworkers + j->o->remote_workers);
    for (uint32_t i = 0; i < M + j->R && j->queued < limit; i++) {
        if (j->tasks[i].state != T_WAITING || (i >= M && j->maps_done < M))
            continue;
        int rc = queue_task(j, i, err);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- results ---- */

struct result {
    uint8_t status;
    uint32_t round, task, attempt, worker;
    const uint8_t *outcome;
    size_t outcome_len, nrefused;
    struct wire_reader refused;
    char message[CLOISTER_ERR_MAX];
};

static int parse_result(struct result *r, const uint8_t *msg, size_t len)
{
    struct wire_reader w;
    wire_reader_init(&w, msg, len);
    r->status = wire_get_u8(&w);
    r->round = wire_get_u32(&w);
    r->task = wire_get_u32(&w);
    r->attempt = wire_get_u32(&w);
    r->worker = wire_get_u32(&w);
    r->outcome = wire_get_bytes(&w, SIZE_MAX, &r->outcome_len);
    r->nrefused = wire_get_count(&w, 4, MR_INPUTS_MAX);
    r->refused = w;
    wire_get_raw(&w, 4 * r->nrefused);
    wire_get_str(&w, r->message, sizeof r->message);
    wire_get_u64(&w);
    return wire_reader_finish(&w);
}

static void requeue(struct job *j, uint32_t i)
{
    if (j->tasks[i].state == T_QUEUED)
        j->queued--;
    if (j->tasks[i].state == T_DONE && i < j->nsplits)
        j->maps_done--;
    j->tasks[i].state = T_WAITING;
}

/* Opens a task's sealed outcome: 1 accepted, 0 refused (re-run), < 0 the job failed. */
static int take_outcome(struct job *j, const struct result *r, struct cloister_err *err)
{
    bool map = r->task < j->nsplits;
    uint32_t part = map ? 0 : (uint32_t)(r->task - j->nsplits);
    struct mr_chunk_id want = chunk_id(j, MR_KIND_RESULT, r->task, r->attempt, part);
    size_t len = r->outcome_len >= MR_CHUNK_OVERHEAD ? r->outcome_len - MR_CHUNK_OVERHEAD : 0;
    uint8_t *pt = malloc(len ? len : 1);
    struct mr_outcome o;
    if (!pt)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for an outcome");
    struct cloister_err e = {0};
    if (r->outcome_len < MR_CHUNK_OVERHEAD ||
        mr_chunk_open(j->aead, r->outcome, r->outcome_len, &want, pt, &e) != 0 ||
        mr_outcome_decode(&o, pt, len, &e) != 0) {
        snprintf(j->last_failure, sizeof j->last_failure, "%s", e.msg);
        free(pt);
        j->s->refused_chunks++;
        return 0;
    }
    if (!o.ok) {
        int rc = cloister_errf(err, CLOISTER_E_FAILED, "%s", o.message);
        free(pt);
        return rc;
    }
    if (o.heap_peak > j->s->lua_heap_peak)
        j->s->lua_heap_peak = o.heap_peak;
    if (map) {
        j->s->records_in += o.records_in;
        j->s->map_pairs += o.records_out;
        j->bytes_done += j->splits[r->task].len;
    } else {
        free(j->results[part]);
        j->results[part] = malloc(o.payload_len ? o.payload_len : 1);
        if (!j->results[part]) {
            free(pt);
            return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for results");
        }
        memcpy(j->results[part], o.payload, o.payload_len);
        j->results_len[part] = o.payload_len;
    }
    free(pt);
    return 1;
}

static void notify_map_done(struct job *j)
{
    if (!j->o->on_map_done)
        return;
    int pids[64] = {0};
    unsigned n = j->nworkers < 64 ? j->nworkers : 64;
    for (unsigned i = 0; i < n; i++)
        pids[i] = mr_host_worker_pid(j->workers[i]);
    j->o->on_map_done(j->o->hook_arg, j->maps_done, pids, n);
}

static int handle_result(struct job *j, const uint8_t *msg, size_t len, struct cloister_err *err)
{
    struct result r;
    size_t M = j->nsplits;
    if (parse_result(&r, msg, len) != 0 || r.round != j->round || r.task >= M + j->R)
        return 0; /* not of this round: a stale or forged message */
    struct task *t = &j->tasks[r.task];
    if (t->state == T_DONE && r.attempt == t->attempt)
        j->s->duplicate_results++; /* the task ran twice (redelivered): the first result won */
    if (t->state != T_QUEUED || r.attempt != t->attempt)
        return 0; /* a late duplicate: the first result per attempt wins */
    if (r.status == MR_RESULT_REFUSED) {
        j->s->refused_chunks += r.nrefused;
        for (size_t k = 0; k < r.nrefused; k++) {
            uint32_t m = wire_get_u32(&r.refused);
            if (m < M && j->tasks[m].state == T_DONE)
                requeue(j, m);
        }
        requeue(j, r.task);
        return 0;
    }
    if (r.status == MR_RESULT_RETRY)
        snprintf(j->last_failure, sizeof j->last_failure, "%s", r.message);
    int rc = r.status == MR_RESULT_OUTCOME ? take_outcome(j, &r, err) : 0;
    if (rc < 0)
        return rc;
    if (rc == 0) {
        requeue(j, r.task);
        return 0;
    }
    t->state = T_DONE;
    j->queued--;
    if (r.task < M) {
        j->maps_done++;
        notify_map_done(j);
    } else {
        j->reduces_done++;
    }
    return 0;
}

static void report_progress(struct job *j, bool force)
{
    double t = now_s();
    if (!j->o->progress || (!force && t - j->last_progress < 1.0))
        return;
    j->last_progress = t;
    struct mr_progress p = {j->round + 1, j->maps_done,  j->nsplits,        j->reduces_done,
                            j->R,         j->bytes_done, j->s->input_bytes, t - j->started};
    j->o->progress(j->o->progress_arg, &p);
}

static int run_round(struct job *j, struct cloister_err *err)
{
    size_t M = j->nsplits, n = M + j->R;
    free(j->tasks);
    if (!(j->tasks = calloc(n, sizeof *j->tasks)))
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for tasks");
    j->queued = j->maps_done = j->reduces_done = 0;
    j->bytes_done = 0;
    double t0 = now_s(), t_maps = 0;
    int rc = 0;
    while (rc == 0 && j->reduces_done < j->R) {
        if (stopped(j))
            return cloister_errf(err, CLOISTER_E_STATE, "stopped by a signal");
        if ((rc = schedule(j, err)) != 0 || (rc = check_remote(j, err)) != 0)
            break;
        uint8_t *msg;
        size_t len;
        int got = j->t->ops->result_get(j->t, WAIT_MS, &msg, &len, err);
        if (got < 0)
            return got;
        if (got == 1) {
            rc = handle_result(j, msg, len, err);
            free(msg);
        }
        if (j->maps_done == M && t_maps == 0)
            t_maps = now_s();
        report_progress(j, false);
    }
    j->s->map_seconds += t_maps - t0;
    j->s->reduce_seconds += now_s() - t_maps;
    return rc;
}

/* ---- rounds ---- */

/* The first round's params: init(sample) over the first records, if the job has init. */
static int first_params(struct job *j, struct cloister_err *err)
{
    if (!tlua_has(j->lua, "init") || j->nsplits == 0)
        return 0;
    struct wire_writer recs, args, res;
    uint64_t n;
    wire_writer_init(&recs);
    wire_writer_init(&args);
    wire_writer_init(&res);
    const struct mr_split *sp = &j->splits[0];
    int rc = mr_split_read(j->o->inputs[sp->file], sp, SAMPLE_RECORDS, &recs, &n, err);
    struct wire_reader r;
    wire_reader_init(&r, recs.buf, recs.len);
    tlua_put_array(&args, n);
    for (uint64_t i = 0; rc == 0 && i < n; i++) {
        size_t kl, vl;
        const uint8_t *k = tlua_value_next(&r, &kl), *v = tlua_value_next(&r, &vl);
        mr_put_kv(&args, k, kl, v, vl);
    }
    if (rc == 0)
        rc = tlua_call(j->lua, "init", args.buf, args.len, NULL, &res, err);
    flush_log(j);
    if (rc == 0 && res.len > 0 && res.buf[0] != 0) {
        struct wire_reader v;
        size_t vl;
        wire_reader_init(&v, res.buf, res.len);
        const uint8_t *p = tlua_value_next(&v, &vl);
        j->params = malloc(vl);
        if (j->params) {
            memcpy(j->params, p, vl);
            j->params_len = vl;
        }
    }
    wire_writer_free(&recs);
    wire_writer_free(&args);
    wire_writer_free(&res);
    return rc;
}

/* next_round(results, round, params): 1 with new params, 0 when done. */
static int next_round(struct job *j, struct cloister_err *err)
{
    if (!tlua_has(j->lua, "next_round") || j->round + 1 >= j->o->max_rounds)
        return 0;
    struct wire_writer args, res;
    wire_writer_init(&args);
    wire_writer_init(&res);
    size_t n = 0;
    for (uint32_t p = 0; p < j->R; p++) {
        struct wire_reader r;
        wire_reader_init(&r, j->results[p], j->results_len[p]);
        while (wire_reader_remaining(&r) > 0 && tlua_value_next(&r, &(size_t){0}))
            n++;
    }
    tlua_put_array(&args, n / 2);
    for (uint32_t p = 0; p < j->R; p++) {
        struct wire_reader r;
        size_t kl, vl;
        wire_reader_init(&r, j->results[p], j->results_len[p]);
        while (wire_reader_remaining(&r) > 0) {
            const uint8_t *k = tlua_value_next(&r, &kl), *v = tlua_value_next(&r, &vl);
            if (!k || !v)
                break;
            mr_put_kv(&args, k, kl, v, vl);
        }
    }
    tlua_put_int(&args, j->round + 1);
    if (j->params_len)
        wire_put_raw(&args, j->params, j->params_len);
    int rc = tlua_call(j->lua, "next_round", args.buf, args.len, NULL, &res, err);
    flush_log(j);
    int more = 0;
    if (rc == 0 && res.len > 0 && res.buf[0] != 0) {
        struct wire_reader v;
        size_t vl;
        wire_reader_init(&v, res.buf, res.len);
        const uint8_t *p = tlua_value_next(&v, &vl);
        free(j->params);
        j->params = malloc(vl);
        if (!j->params)
            rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for params");
        else {
            memcpy(j->params, p, vl);
            j->params_len = vl;
            more = 1;
        }
    }
    wire_writer_free(&args);
    wire_writer_free(&res);
    return rc != 0 ? rc : more;
}

/* ---- output ---- */

static void part_path(const struct job *j, uint32_t p, char *out, size_t cap)
{
    snprintf(out, cap, "%s/part-%u.%s", j->o->output, p, j->o->csv_output ? "csv" : "jsonl");
}

/* Removes what an earlier run left (parts, _SUCCESS), so no stale part passes as output. */
static int clean_output(const struct job *j, struct cloister_err *err)
{
    char path[4200];
    if (file_mkdirs(j->o->output, 0755) != 0)
        return cloister_errf(err, CLOISTER_E_SYSTEM, "cannot create %s: %s", j->o->output,
                             strerror(errno));
    snprintf(path, sizeof path, "%s/_SUCCESS", j->o->output);
    unlink(path);
    for (uint32_t p = 0;; p++) {
        bool any = false;
        for (int csv = 0; csv < 2; csv++) {
            snprintf(path, sizeof path, "%s/part-%u.%s", j->o->output, p, csv ? "csv" : "jsonl");
            any |= unlink(path) == 0;
        }
        if (!any && p >= j->R)
            return 0;
    }
}

static int write_output(struct job *j, struct cloister_err *err)
{
    char path[4200];
    int rc = 0;
    for (uint32_t p = 0; rc == 0 && p < j->R; p++) {
        uint64_t n;
        part_path(j, p, path, sizeof path);
        rc = mr_output_write(path, j->results[p], j->results_len[p], j->o->csv_output, &n, err);
        j->s->results += n;
    }
    snprintf(path, sizeof path, "%s/_SUCCESS", j->o->output);
    if (rc == 0 && file_write_atomic(path, "", 0, 0644) != 0)
        rc = cloister_errf(err, CLOISTER_E_SYSTEM, "cannot write %s: %s", path, strerror(errno));
    return rc;
}

/* ---- the run ---- */

/* The in-process transport, or NATS JetStream with o->nats (streams named by the job id). */
static int open_transport(struct job *j, const char *shuffle, struct cloister_err *err)
{
    const struct mr_options *o = j->o;
    if (!o->nats)
        return (j->t = mr_transport_mem_new(shuffle, o->on_shuffle_get, o->hook_arg, err))
                   ? 0
                   : CLOISTER_E_SYSTEM;
    char job[MR_JOB_HEX_MAX + 1];
    job_hex(j, job);
    struct mr_nats_config c = {.url = o->nats,
                               .job = job,
                               .owner = true,
                               .ack_wait_ms = o->nats_ack_wait_ms,
                               .queue_max_bytes = NATS_QUEUE_BYTES,
                               .shuffle_max_bytes = NATS_SHUFFLE_BYTES,
                               .on_get = o->on_shuffle_get,
                               .arg = o->hook_arg};
    return (j->t = mr_transport_nats_new(&c, err)) ? 0 : CLOISTER_E_FAILED;
}

static int setup(struct job *j, struct cloister_err *err)
{
    const struct mr_options *o = j->o;
    if (!o->job || !o->output || o->ninputs == 0 || o->reducers == 0 ||
        o->workers + o->remote_workers == 0 || o->workers > TEE_WORKERS_MAX_MR ||
        o->remote_workers > TEE_WORKERS_MAX_MR || (o->tee == MR_TEE_NONE && !o->inproc) ||
        (o->tee == MR_TEE_SIM && !o->enclave))
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "mapreduce: job, inputs, output, 1..%u "
                             "workers, reducers and the worker code "
                             "are required",
                             TEE_WORKERS_MAX_MR);
    if (o->remote_workers > 0 && !o->nats)
        return cloister_errf(err, CLOISTER_E_INVALID, "remote workers need --nats");
    if (o->reduce_memory &&
        (o->reduce_memory < MR_REDUCE_MEMORY_MIN || o->reduce_memory > MR_REDUCE_MEMORY_MAX))
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "mapreduce: the reduce memory must be 0 (never spill) or %u KiB to "
                             "%u MiB",
                             MR_REDUCE_MEMORY_MIN >> 10, MR_REDUCE_MEMORY_MAX >> 20);
    int rc = load_job(j, err);
    if (rc != 0)
        return rc;
    j->R = o->reducers;
    size_t split = o->split_bytes ? o->split_bytes : SPLIT_DEFAULT;
    uint64_t total;
    struct mr_split *sp;
    size_t n;
    if ((rc = mr_splits_plan(o->inputs, o->ninputs, o->format, SIZE_MAX, &sp, &n, &total, err)))
        return rc;
    free(sp);
    if (!o->split_bytes && o->mappers > 0)
        split = total / o->mappers + 1;
    else if (!o->split_bytes && total / (o->workers + o->remote_workers) < split)
        split = total / (o->workers + o->remote_workers) + 1;
    if (split < SPLIT_MIN)
        split = SPLIT_MIN;
    if ((rc = mr_splits_plan(o->inputs, o->ninputs, o->format, split, &j->splits, &j->nsplits,
                             &j->s->input_bytes, err)) != 0)
        return rc;
    if (j->nsplits == 0)
        return cloister_errf(err, CLOISTER_E_INVALID, "the inputs are empty");
    j->results = calloc(j->R, sizeof *j->results);
    j->results_len = calloc(j->R, sizeof *j->results_len);
    if (!j->results || !j->results_len)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for %u reducers", j->R);
    if ((rc = clean_output(j, err)) != 0)
        return rc;
    if (o->work_dir)
        snprintf(j->work, sizeof j->work, "%s", o->work_dir);
    else
        snprintf(j->work, sizeof j->work, "%s/.mr-work", o->output);
    file_remove_tree(j->work);
    char shuffle[4200];
    snprintf(shuffle, sizeof shuffle, "%s/shuffle", j->work);
    if (crypto_random(j->key, sizeof j->key) != 0 || crypto_random(j->id, sizeof j->id) != 0)
        return cloister_errf(err, CLOISTER_E_SYSTEM, "no randomness for the job key");
    if (!(j->aead = crypto_aead_new(CRYPTO_AES256_GCM, j->key)))
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for the job key");
    if ((rc = open_transport(j, shuffle, err)) != 0)
        return rc;
    j->nworkers = o->workers;
    if ((rc = first_params(j, err)) != 0)
        return rc;
    if ((rc = start_workers(j, err)) != 0)
        return rc;
    return start_remote(j, err);
}

static void teardown(struct job *j)
{
    stop_remote(j);
    stop_workers(j);
    if (j->t) {
        j->s->shuffle_bytes = j->o->nats ? mr_transport_nats_shuffle_bytes(j->t)
                                         : mr_transport_mem_shuffle_bytes(j->t);
        j->t->ops->free(j->t);
    }
    if (j->work[0])
        file_remove_tree(j->work);
    for (uint32_t p = 0; j->results && p < j->R; p++)
        free(j->results[p]);
    free(j->results);
    free(j->results_len);
    free(j->tasks);
    free(j->splits);
    free(j->params);
    free(j->code);
    wire_writer_free(&j->sealed_code);
    tlua_free(j->lua);
    crypto_aead_free(j->aead);
    crypto_wipe(j->key, sizeof j->key);
}

int mr_run(const struct mr_options *o, struct mr_summary *s, struct cloister_err *err)
{
    struct job j = {.o = o, .s = s};
    memset(s, 0, sizeof *s);
    wire_writer_init(&j.sealed_code);
    wire_writer_init(&j.remote.info);
    j.started = now_s();
    int rc = setup(&j, err);
    s->setup_seconds = now_s() - j.started;
    while (rc == 0) {
        s->rounds = j.round + 1;
        if ((rc = run_round(&j, err)) != 0)
            break;
        int more = next_round(&j, err);
        if (more <= 0) {
            rc = more;
            break;
        }
        j.round++;
    }
    report_progress(&j, true);
    if (rc == 0)
        rc = write_output(&j, err);
    if (rc != 0 && j.results) {
        char path[4200];
        for (uint32_t p = 0; p < j.R; p++) {
            part_path(&j, p, path, sizeof path);
            unlink(path);
        }
    }
    teardown(&j);
    s->seconds = now_s() - j.started;
    return rc;
}
