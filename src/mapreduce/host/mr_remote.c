/* mr_remote.c -- remote MapReduce workers (mr_remote.h).
 *
 * One thread per slot, each with its own enclave (mr_host.h) and bus connection: take a seat,
 * relay the enclave's provisioning through prov_bus_join, load the sealed code, serve the job's
 * tasks with the same loop as a local worker until the job's streams go away, repeat. The
 * calling thread waits for the stop flag, then closes the transports the slots serve: a slot
 * finishes the task it runs (its result is published and acked), leaves, and its thread ends.
 * A worker the client refuses logs the client's reason and keeps waiting for other seats. */
#include "mapreduce/host/mr_remote.h"

#include "provision/prov_bus.h"
#include "util/fileio.h"
#include "util/log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define JOIN_POLL_MS 500
#define SLOTS_MAX 64
#define LABEL_MAX 64

struct run;

struct slot {
    struct run *run;
    unsigned index;
    struct mr_host_worker *w;
    struct bus *b;
    struct mr_transport *t; /* the job served now, under run->lock */
    pthread_t thread;
    bool started;
};

struct run {
    const struct mr_remote_options *o;
    pthread_mutex_t lock;
    volatile bool quit;
    char store[64]; /* the slots' sealed keys, removed at the end */
    struct slot slots[SLOTS_MAX];
};

void mr_remote_info_encode(struct wire_writer *w, const char *job, int64_t ack_wait_ms)
{
    wire_put_str(w, job);
    wire_put_u64(w, ack_wait_ms > 0 ? (uint64_t)ack_wait_ms : 0);
}

int mr_remote_info_decode(const uint8_t *info, size_t len, char job[MR_JOB_HEX_MAX + 1],
                          int64_t *ack_wait_ms)
{
    struct wire_reader r;
    wire_reader_init(&r, info, len);
    wire_get_str(&r, job, MR_JOB_HEX_MAX + 1);
    uint64_t ack = wire_get_u64(&r);
    *ack_wait_ms = ack < (uint64_t)1 << 32 ? (int64_t)ack : 0;
    return wire_reader_finish(&r) == 0 && job[0] && strspn(job, "0123456789abcdef") == strlen(job)
               ? 0
               : -1;
}

static int enclave_offer(void *arg, const uint8_t *nonce, size_t nonce_len, uint8_t **offer,
                         size_t *offer_len, struct cloister_err *err)
{
    return mr_host_worker_offer(arg, nonce, nonce_len, offer, offer_len, err);
}

static int enclave_accept(void *arg, const uint8_t *package, size_t len, struct cloister_err *err)
{
    return mr_host_worker_accept(arg, package, len, err);
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Serves the job the seat is for until it ends or the worker stops. */
static void serve_job(struct slot *s, const struct prov_bus_seat *seat)
{
    struct run *r = s->run;
    char job[MR_JOB_HEX_MAX + 1];
    int64_t ack_wait_ms;
    struct cloister_err e = {0};
    if (mr_remote_info_decode(seat->info, seat->info_len, job, &ack_wait_ms) != 0) {
        clog_warn("slot %u: a malformed seat in session %s", s->index, seat->session);
        return;
    }
    if (mr_host_worker_load(s->w, seat->extra, seat->extra_len, &e) != 0) {
        clog_warn("slot %u, job %s: %s", s->index, job, e.msg);
        return;
    }
    struct mr_nats_config c = {.url = r->o->url, .job = job, .ack_wait_ms = ack_wait_ms};
    struct mr_transport *t = mr_transport_nats_new(&c, &e);
    if (!t) {
        clog_warn("slot %u, job %s: %s", s->index, job, e.msg);
        return;
    }
    pthread_mutex_lock(&r->lock);
    bool quit = r->quit;
    if (!quit)
        s->t = t;
    pthread_mutex_unlock(&r->lock);
    if (!quit) {
        clog_info("slot %u joined job %s", s->index, job);
        if (r->o->on_join)
            r->o->on_join(r->o->arg, s->index, job);
        mr_host_worker_serve(s->w, t);
        pthread_mutex_lock(&r->lock);
        s->t = NULL;
        pthread_mutex_unlock(&r->lock);
        clog_info("slot %u left job %s", s->index, job);
    }
    t->ops->free(t);
}

static void *slot_main(void *arg)
{
    struct slot *s = arg;
    struct run *r = s->run;
    char label[LABEL_MAX];
    snprintf(label, sizeof label, "%.40s/%u", r->o->name ? r->o->name : "worker", s->index);
    struct prov_bus_enclave ops = {enclave_offer, enclave_accept, s->w};
    while (!r->quit) {
        struct prov_bus_seat seat;
        struct cloister_err e = {0};
        int rc = prov_bus_join(s->b, MR_REMOTE_POOL, &ops, label, JOIN_POLL_MS, 0, &seat, &e);
        if (rc == 0) {
            serve_job(s, &seat);
            prov_bus_seat_free(&seat);
        } else if (rc != CLOISTER_E_TIMEOUT && rc != CLOISTER_E_NOT_FOUND) {
            clog_warn("slot %u: %s", s->index, e.msg);
            pause_ms(JOIN_POLL_MS);
        }
    }
    return NULL;
}

static int start_slot(struct run *r, unsigned i, struct cloister_err *err)
{
    const struct mr_remote_options *o = r->o;
    struct slot *s = &r->slots[i];
    char store[128];
    snprintf(store, sizeof store, "%s/slot-%u", r->store, i);
    struct mr_host_config c = {.tee = o->tee,
                               .enclave = o->enclave,
                               .home = o->home,
                               .store_dir = store,
                               .signature = o->signature,
                               .index = i};
    struct bus_options bo = {.name = "cloister-mr-worker"};
    s->run = r;
    s->index = i;
    int rc = mr_host_worker_start(&c, &s->w, err);
    if (rc == 0 && !(s->b = bus_connect(o->url, &bo, err)))
        rc = CLOISTER_E_FAILED;
    if (rc == 0 && pthread_create(&s->thread, NULL, slot_main, s) != 0)
        rc = cloister_errf(err, CLOISTER_E_SYSTEM, "cannot start worker slot %u", i);
    s->started = rc == 0;
    return rc;
}

static void stop_slots(struct run *r, unsigned n)
{
    pthread_mutex_lock(&r->lock);
    r->quit = true;
    for (unsigned i = 0; i < n; i++)
        if (r->slots[i].t)
            r->slots[i].t->ops->close(r->slots[i].t);
    pthread_mutex_unlock(&r->lock);
    for (unsigned i = 0; i < n; i++) {
        struct slot *s = &r->slots[i];
        if (s->started)
            pthread_join(s->thread, NULL);
        bus_close(s->b);
        mr_host_worker_stop(s->w);
    }
}

int mr_remote_worker_run(const struct mr_remote_options *o, struct cloister_err *err)
{
    if (!o->url || o->slots == 0 || o->slots > SLOTS_MAX || o->tee == MR_TEE_NONE ||
        (o->tee == MR_TEE_SIM && !o->enclave))
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "a remote worker needs a NATS URL, 1..%d slots and an enclave to "
                             "attest (proc or sim)",
                             SLOTS_MAX);
    struct run *r = calloc(1, sizeof *r);
    if (!r)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for a worker");
    r->o = o;
    pthread_mutex_init(&r->lock, NULL);
    snprintf(r->store, sizeof r->store, "/tmp/cloister-mr-worker-XXXXXX");
    bool made = mkdtemp(r->store) != NULL;
    int rc = made ? 0
                  : cloister_errf(err, CLOISTER_E_SYSTEM,
                                  "cannot create a directory for sealed keys");
    for (unsigned i = 0; rc == 0 && i < o->slots; i++)
        rc = start_slot(r, i, err);
    while (rc == 0 && !(o->stop && *o->stop))
        pause_ms(100);
    stop_slots(r, o->slots); /* slots never started are zero: nothing to stop */
    if (made)
        file_remove_tree(r->store);
    pthread_mutex_destroy(&r->lock);
    free(r);
    return rc;
}
