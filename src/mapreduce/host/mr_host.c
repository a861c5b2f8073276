/* mr_host.c -- the untrusted host of one MapReduce worker (mr_host.h).
 *
 * Spilled runs: each sealed segment a reducer hands out is one file, DIR/runR-S, in a directory
 * made for the task (mkdtemp) and removed with everything in it when the task ends, whatever
 * the outcome. The host cannot read or forge a segment, only lose, alter or swap one, and the
 * worker then refuses the task, which is re-run. */
#include "mapreduce/host/mr_host.h"

#include "mapreduce/common/mr_proto.h"
#include "util/fileio.h"
#include "util/log.h"

#include <cloister/tee.h>
#include <cloister/tee_trust.h>
#include <cloister/wire.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define POLL_MS 200
#define BATCH_BYTES (MR_MESSAGE_MAX / 2) /* shuffle bytes per reduce ecall */

struct mr_host_worker {
    struct mr_host_config c;
    tee_enclave *e;
    void *inproc;
    uint8_t *code;
    size_t code_len;
    uint64_t ecalls, restarts;
    char spill_base[PATH_MAX]; /* c.spill_dir, copied */
    char spill[PATH_MAX];      /* the current task's spill directory, "" when it has none */
};

int mr_host_worker_start(const struct mr_host_config *c, struct mr_host_worker **out,
                         struct cloister_err *err)
{
    struct mr_host_worker *w = calloc(1, sizeof *w);
    if (!w)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for a worker");
    w->c = *c;
    if (c->spill_dir) {
        snprintf(w->spill_base, sizeof w->spill_base, "%s", c->spill_dir);
        w->c.spill_dir = w->spill_base;
    }
    mr_keep_buffers(); /* the host copies every task's buffers too, and none runs the worker here */
    int rc = 0;
    if (c->tee == MR_TEE_NONE) {
        w->c.home = w->c.store_dir = NULL;
    } else {
        char image[4096];
        struct tee_options o;
        tee_options_init(&o);
        o.backend = c->tee == MR_TEE_SIM ? TEE_BACKEND_SIM : TEE_BACKEND_PROC;
        o.image = image;
        o.enclave = c->enclave;
        o.home = c->home;
        o.store_dir = c->store_dir;
        o.signature = c->signature;
        o.max_message = MR_MESSAGE_MAX;
        o.slots = 2;
        o.wait = TEE_WAIT_BLOCK;
        w->c.home = w->c.store_dir = w->c.signature = NULL; /* copied by tee_create */
        rc = tee_image_path("mapreduce", image, sizeof image, err);
        if (rc == 0)
            rc = tee_create(&o, &w->e, err);
    }
    if (rc != 0) {
        free(w);
        return rc;
    }
    *out = w;
    return 0;
}

int mr_sign_image(const char *image, const uint8_t seed[32], uint64_t epc_budget,
                  uint64_t heap_size, const char *sig_path, struct cloister_err *err)
{
    return tee_sign_file_sized(image, heap_size ? heap_size : (uint64_t)512 << 20, epc_budget, seed,
                               sig_path, err);
}

static void spill_clear(struct mr_host_worker *w)
{
    if (w->spill[0])
        file_remove_tree(w->spill);
    w->spill[0] = 0;
}

void mr_host_worker_stop(struct mr_host_worker *w)
{
    if (!w)
        return;
    spill_clear(w);
    if (w->inproc)
        w->c.inproc->close(w->inproc);
    tee_destroy(w->e);
    free(w->code);
    free(w);
}

static int call(struct mr_host_worker *w, uint32_t fn, const uint8_t *in, size_t inlen,
                uint8_t **out, size_t *outlen, struct cloister_err *err)
{
    *out = NULL;
    *outlen = 0;
    w->ecalls++;
    if (w->c.tee == MR_TEE_NONE)
        return w->inproc ? w->c.inproc->call(w->inproc, fn, in, inlen, out, outlen, err)
                         : cloister_errf(err, CLOISTER_E_STATE, "worker without a key");
    return tee_ecall(w->e, fn, in, inlen, out, outlen, err);
}

int mr_host_worker_offer(struct mr_host_worker *w, const uint8_t *nonce, size_t nonce_len,
                         uint8_t **offer, size_t *offer_len, struct cloister_err *err)
{
    return call(w, TEE_ECALL_PROV_OFFER, nonce, nonce_len, offer, offer_len, err);
}

int mr_host_worker_accept(struct mr_host_worker *w, const uint8_t *package, size_t len,
                          struct cloister_err *err)
{
    uint8_t *out;
    size_t outlen;
    int rc = call(w, TEE_ECALL_PROV_ACCEPT, package, len, &out, &outlen, err);
    free(out);
    return rc;
}

int mr_host_worker_set_key(struct mr_host_worker *w, const uint8_t key[32],
                           struct cloister_err *err)
{
    if (w->c.tee != MR_TEE_NONE || !w->c.inproc)
        return cloister_errf(err, CLOISTER_E_STATE,
                             "only an in-process worker takes a key "
                             "without attestation");
    if (!(w->inproc = w->c.inproc->open(key)))
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for a worker");
    return 0;
}

static int load(struct mr_host_worker *w, struct cloister_err *err)
{
    struct wire_writer in;
    uint8_t *out;
    size_t outlen;
    wire_writer_init(&in);
    wire_put_bytes(&in, w->code, w->code_len);
    int rc = wire_writer_ok(&in) ? call(w, MR_ECALL_LOAD, in.buf, in.len, &out, &outlen, err)
                                 : cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory");
    if (rc == 0)
        free(out);
    wire_writer_free(&in);
    return rc;
}

int mr_host_worker_load(struct mr_host_worker *w, const uint8_t *chunk, size_t len,
                        struct cloister_err *err)
{
    free(w->code);
    if (!(w->code = malloc(len ? len : 1)))
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for the code chunk");
    memcpy(w->code, chunk, len);
    w->code_len = len;
    return load(w, err);
}

int mr_host_worker_identity(struct mr_host_worker *w, uint8_t mrenclave[32],
                            struct cloister_err *err)
{
    struct tee_info info;
    if (!w->e || tee_get_info(w->e, &info) != 0)
        return cloister_errf(err, CLOISTER_E_STATE, "the worker runs no enclave");
    memcpy(mrenclave, info.mrenclave, 32);
    return 0;
}

int mr_host_worker_pid(struct mr_host_worker *w)
{
    struct tee_info info;
    return w->e && tee_get_info(w->e, &info) == 0 ? info.pid : 0;
}

void mr_host_worker_stats(struct mr_host_worker *w, struct mr_host_stats *s)
{
    s->ecalls = w->ecalls;
    s->restarts = w->restarts;
}

/* ---- serving tasks ---- */

struct task_msg {
    uint8_t phase;
    uint32_t round, task, attempt, partition;
    const uint8_t *sealed, *split;
    size_t sealed_len, split_len, ninputs;
    struct wire_reader inputs; /* at the inputs' (u32 task, u32 attempt) pairs */
};

struct reply {
    uint8_t status;
    const uint8_t *outcome;
    size_t outcome_len;
    struct wire_writer refused; /* u32 map tasks */
    size_t nrefused;
    char message[CLOISTER_ERR_MAX];
};

static void send_reply(struct mr_host_worker *w, struct mr_transport *t, const struct task_msg *m,
                       const struct reply *r)
{
    struct wire_writer o;
    wire_writer_init(&o);
    wire_put_u8(&o, r->status);
    wire_put_u32(&o, m->round);
    wire_put_u32(&o, m->task);
    wire_put_u32(&o, m->attempt);
    wire_put_u32(&o, w->c.index);
    wire_put_bytes(&o, r->outcome, r->outcome_len);
    wire_put_varint(&o, r->nrefused);
    wire_put_raw(&o, r->refused.buf, r->refused.len);
    wire_put_str(&o, r->message);
    wire_put_u64(&o, w->ecalls);
    if (wire_writer_ok(&o))
        t->ops->result_put(t, o.buf, o.len, NULL);
    wire_writer_free(&o);
}

/* A failed call: restart a dead worker, and have the task re-run. */
static void call_failed(struct mr_host_worker *w, struct reply *r, const struct cloister_err *e)
{
    r->status = MR_RESULT_RETRY;
    snprintf(r->message, sizeof r->message, "%s", e->msg);
    if (e->code != CLOISTER_E_DEAD || !w->e)
        return;
    struct cloister_err rerr;
    w->restarts++;
    if (tee_restart(w->e, &rerr) != 0 || load(w, &rerr) != 0)
        snprintf(r->message, sizeof r->message, "worker restart failed: %.200s", rerr.msg);
}

/* One ecall of a task with the request in (freed); a failure marks the reply for a re-run. */
static int task_call(struct mr_host_worker *w, uint32_t fn, struct wire_writer *in, struct reply *r,
                     uint8_t **answer, size_t *alen)
{
    struct cloister_err err;
    int rc = wire_writer_ok(in) ? call(w, fn, in->buf, in->len, answer, alen, &err)
                                : cloister_errf(&err, CLOISTER_E_NO_MEMORY, "no memory");
    wire_writer_free(in);
    if (rc != 0)
        call_failed(w, r, &err);
    return rc;
}

/* Reads a list of u32 task numbers (count first) from an answer into r->refused. */
static void take_refused(struct wire_reader *a, struct reply *r)
{
    size_t n = wire_get_count(a, 4, MR_INPUTS_MAX);
    for (size_t i = 0; i < n; i++)
        wire_put_u32(&r->refused, wire_get_u32(a));
    r->nrefused += n;
}

static void run_map(struct mr_host_worker *w, struct mr_transport *t, const struct task_msg *m,
                    struct reply *r, uint8_t **answer)
{
    struct wire_writer in;
    struct cloister_err err;
    size_t alen;
    wire_writer_init(&in);
    wire_put_bytes(&in, m->sealed, m->sealed_len);
    wire_put_bytes(&in, m->split, m->split_len);
    int rc = task_call(w, MR_ECALL_MAP, &in, r, answer, &alen);
    if (rc != 0)
        return;
    struct wire_reader a;
    wire_reader_init(&a, *answer, alen);
    size_t n = wire_get_count(&a, 1, MR_INPUTS_MAX), clen;
    for (uint32_t p = 0; rc == 0 && p < n; p++) {
        const uint8_t *c = wire_get_bytes(&a, SIZE_MAX, &clen);
        if (c)
            rc = t->ops->shuffle_put(t, m->round, m->task, m->attempt, p, c, clen, &err);
    }
    r->outcome = wire_get_bytes(&a, SIZE_MAX, &r->outcome_len);
    if (rc != 0 || wire_reader_finish(&a) != 0) {
        r->status = MR_RESULT_RETRY;
        snprintf(r->message, sizeof r->message, "%s",
                 rc != 0 ? err.msg : "malformed answer from the worker");
    }
}

/* ---- spilled runs ---- */

static int spill_path(const struct mr_host_worker *w, uint32_t run, uint32_t seq, char *p,
                      size_t cap)
{
    int n = snprintf(p, cap, "%s/run%u-%u", w->spill, run, seq);
    return n > 0 && (size_t)n < cap ? 0 : -1;
}

static int spill_dir(struct mr_host_worker *w, struct cloister_err *err)
{
    const char *base = w->c.spill_dir ? w->c.spill_dir : getenv("TMPDIR");
    base = base && *base ? base : "/tmp";
    int n = snprintf(w->spill, sizeof w->spill, "%s/mr-spill-XXXXXX", base);
    if (n < 0 || (size_t)n >= sizeof w->spill || file_mkdirs(base, 0700) != 0 ||
        !mkdtemp(w->spill)) {
        w->spill[0] = 0;
        return cloister_errf(err, CLOISTER_E_SYSTEM, "cannot make a spill directory");
    }
    return 0;
}

/* Keeps a sealed run segment the worker handed out. */
static int spill_put(struct mr_host_worker *w, const uint8_t *c, size_t len,
                     struct cloister_err *err)
{
    struct mr_chunk_id id;
    char path[PATH_MAX + 32];
    if (mr_chunk_peek(c, len, &id, err) != 0 || id.kind != MR_KIND_SPILL)
        return cloister_errf(err, CLOISTER_E_PROTOCOL, "malformed spill segment from the worker");
    if (!w->spill[0] && spill_dir(w, err) != 0)
        return err->code;
    int fd = spill_path(w, id.partition, id.seq, path, sizeof path) == 0
                 ? open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)
                 : -1;
    int rc = fd >= 0 ? file_write_full(fd, c, len) : -1;
    if (fd >= 0 && close(fd) != 0)
        rc = -1;
    return rc == 0 ? 0 : cloister_errf(err, CLOISTER_E_SYSTEM, "cannot write a spill segment");
}

/* Appends to in the segments listed (u32 run, u32 seq each); one that cannot be read goes
 * empty, for the worker to refuse. */
static void spill_bring(struct mr_host_worker *w, const struct wire_writer *need, size_t n,
                        struct wire_writer *in)
{
    struct wire_reader l;
    wire_reader_init(&l, need->buf, need->len);
    wire_put_varint(in, n);
    for (size_t i = 0; i < n; i++) {
        uint32_t run = wire_get_u32(&l), seq = wire_get_u32(&l);
        char path[PATH_MAX + 32];
        uint8_t *c = NULL;
        size_t len = 0;
        if (spill_path(w, run, seq, path, sizeof path) != 0 ||
            file_read_all(path, MR_MESSAGE_MAX, &c, &len) != 0)
            len = 0;
        if (c && w->c.on_spill_read)
            w->c.on_spill_read(w->c.hook_arg, &c, &len);
        wire_put_bytes(in, c, len);
        free(c);
    }
}

/* Sends the batch of shuffle chunks in `in` (after the task) to the reducer. */
static int reduce_flush(struct mr_host_worker *w, const struct task_msg *m, struct wire_writer *in,
                        size_t *n, struct reply *r, struct cloister_err *err)
{
    struct wire_writer req;
    uint8_t *answer;
    size_t alen;
    wire_writer_init(&req);
    wire_put_bytes(&req, m->sealed, m->sealed_len);
    wire_put_varint(&req, *n);
    wire_put_raw(&req, in->buf, in->len);
    int rc = wire_writer_ok(&req)
                 ? call(w, MR_ECALL_REDUCE_ADD, req.buf, req.len, &answer, &alen, err)
                 : cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory");
    wire_writer_free(&req);
    in->len = 0;
    *n = 0;
    if (rc != 0)
        return rc;
    struct wire_reader a;
    wire_reader_init(&a, answer, alen);
    take_refused(&a, r);
    size_t nspilled = wire_get_count(&a, 1, MR_INPUTS_MAX), clen;
    for (size_t i = 0; rc == 0 && i < nspilled; i++) {
        const uint8_t *c = wire_get_bytes(&a, SIZE_MAX, &clen);
        if (c)
            rc = spill_put(w, c, clen, err);
    }
    if (rc == 0)
        rc = wire_reader_finish(&a) == 0
                 ? 0
                 : cloister_errf(err, CLOISTER_E_PROTOCOL, "malformed answer from the worker");
    free(answer);
    return rc;
}

/* Ends a reduce: asks the worker for its outcome, bringing back the spilled segments it wants
 * until its merge is done. */
static void reduce_end(struct mr_host_worker *w, const struct task_msg *m, struct reply *r,
                       uint8_t **answer)
{
    struct wire_writer need;
    size_t nneed = 0, alen;
    wire_writer_init(&need);
    for (;;) {
        struct wire_writer in;
        wire_writer_init(&in);
        wire_put_bytes(&in, m->sealed, m->sealed_len);
        spill_bring(w, &need, nneed, &in);
        free(*answer);
        *answer = NULL;
        if (task_call(w, MR_ECALL_REDUCE_END, &in, r, answer, &alen) != 0)
            break;
        struct wire_reader a;
        wire_reader_init(&a, *answer, alen);
        take_refused(&a, r);
        if (r->nrefused == 0) {
            nneed = wire_get_count(&a, 8, MR_INPUTS_MAX);
            const uint8_t *list = wire_get_raw(&a, 8 * nneed);
            need.len = 0;
            wire_put_raw(&need, list, list ? 8 * nneed : 0);
            if (nneed == 0)
                r->outcome = wire_get_bytes(&a, SIZE_MAX, &r->outcome_len);
        }
        if (r->nrefused > 0)
            r->status = MR_RESULT_REFUSED;
        if (!wire_reader_ok(&a) || !wire_writer_ok(&need)) {
            r->status = MR_RESULT_RETRY;
            snprintf(r->message, sizeof r->message, "malformed answer from the worker");
        }
        if (r->status != MR_RESULT_OUTCOME || nneed == 0)
            break;
    }
    wire_writer_free(&need);
}

static void run_reduce(struct mr_host_worker *w, struct mr_transport *t, struct task_msg *m,
                       struct reply *r, uint8_t **answer)
{
    struct wire_writer batch;
    struct cloister_err err;
    size_t n = 0;
    int rc = 0;
    wire_writer_init(&batch);
    for (size_t i = 0; rc == 0 && i < m->ninputs; i++) {
        uint32_t task = wire_get_u32(&m->inputs), attempt = wire_get_u32(&m->inputs);
        uint8_t *c;
        size_t clen;
        if (t->ops->shuffle_get(t, m->round, task, attempt, m->partition, &c, &clen, &err) != 0) {
            wire_put_u32(&r->refused, task);
            r->nrefused++;
            continue;
        }
        wire_put_bytes(&batch, c, clen);
        free(c);
        if (++n >= 4096 || batch.len >= BATCH_BYTES)
            rc = reduce_flush(w, m, &batch, &n, r, &err);
    }
    if (rc == 0 && n > 0)
        rc = reduce_flush(w, m, &batch, &n, r, &err);
    wire_writer_free(&batch);
    if (rc != 0) {
        call_failed(w, r, &err);
        return;
    }
    reduce_end(w, m, r, answer);
}

static int parse_task(struct task_msg *m, const uint8_t *msg, size_t len)
{
    struct wire_reader r;
    wire_reader_init(&r, msg, len);
    m->phase = wire_get_u8(&r);
    m->round = wire_get_u32(&r);
    m->task = wire_get_u32(&r);
    m->attempt = wire_get_u32(&r);
    m->partition = wire_get_u32(&r);
    m->sealed = wire_get_bytes(&r, SIZE_MAX, &m->sealed_len);
    m->split = wire_get_bytes(&r, SIZE_MAX, &m->split_len);
    m->ninputs = wire_get_count(&r, 8, MR_INPUTS_MAX);
    m->inputs = r;
    return wire_reader_ok(&r) && wire_reader_remaining(&r) == m->ninputs * 8 ? 0 : -1;
}

void mr_host_worker_serve(struct mr_host_worker *w, struct mr_transport *t)
{
    for (;;) {
        uint8_t *msg, *answer = NULL;
        size_t len;
        int rc = t->ops->task_get(t, POLL_MS, &msg, &len, NULL);
        if (rc < 0)
            return;
        if (rc == 0)
            continue;
        struct task_msg m = {0};
        struct reply r = {.status = MR_RESULT_OUTCOME};
        wire_writer_init(&r.refused);
        if (parse_task(&m, msg, len) != 0) {
            r.status = MR_RESULT_RETRY;
            snprintf(r.message, sizeof r.message, "malformed task message");
        } else {
            /* tests pause a worker between these two lines (a task taken, its result not out) */
            clog_debug("task %u of round %u taken (attempt %u)", m.task, m.round, m.attempt);
            if (m.phase == MR_PHASE_MAP) {
                run_map(w, t, &m, &r, &answer);
            } else {
                run_reduce(w, t, &m, &r, &answer);
                spill_clear(w);
            }
            clog_debug("task %u of round %u ran, its result goes out", m.task, m.round);
        }
        send_reply(w, t, &m, &r);
        wire_writer_free(&r.refused);
        free(answer);
        free(msg);
    }
}
