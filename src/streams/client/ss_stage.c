/* ss_stage.c -- one stage process of a distributed run (streams.h, ss_stage; docs/streams.md
 * section 7).
 *
 * The process plans the pipeline file itself (ss_plan.h) to find its segment, so its code and
 * parameters are its own copy: the pool it waits in is named after their hash, and the runner
 * it loads must compute the hash the launcher's seat names, or the stage refuses to run. Its
 * enclave is provisioned through that seat (prov_bus_join: the launcher checks the evidence and
 * sends the pipeline key sealed to the enclave), loaded as a distributed runner with the edges
 * the seat describes, and driven by the replica loop (ss_replica.h), which restores its
 * checkpoint first: a replica started again after a kill resumes where it had stored. */
#include "streams/client/ss_dist.h"
#include "streams/client/ss_replica.h"
#include "streams/host/ss_host.h"

#include "bus/bus.h"

#include <cloister/tee.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JOIN_POLL_MS 500

static int host_call(void *h, uint32_t fn, const uint8_t *in, size_t inlen, uint8_t **out,
                     size_t *outlen, struct cloister_err *err)
{
    return ss_host_call(h, fn, in, inlen, out, outlen, err);
}

static int enclave_offer(void *h, const uint8_t *nonce, size_t nonce_len, uint8_t **offer,
                         size_t *offer_len, struct cloister_err *err)
{
    return ss_host_call(h, TEE_ECALL_PROV_OFFER, nonce, nonce_len, offer, offer_len, err);
}

static int enclave_accept(void *h, const uint8_t *package, size_t len, struct cloister_err *err)
{
    uint8_t *out = NULL;
    size_t outlen = 0;
    int rc = ss_host_call(h, TEE_ECALL_PROV_ACCEPT, package, len, &out, &outlen, err);
    free(out);
    return rc;
}

/* Waits for a seat of this replica's pool (or a stop) and has the enclave provisioned. */
static int join(struct bus *b, const struct ss_plan *p, unsigned seg, unsigned replica,
                struct ss_host *h, const struct ss_options *o, struct ss_seat_info *si,
                struct cloister_err *err)
{
    char pool[PROV_BUS_NAME_MAX + 1], label[PROV_BUS_NAME_MAX + 1];
    ss_dist_pool(p, seg, replica, pool);
    snprintf(label, sizeof label, "%.48s/%u", p->seg[seg].name, replica);
    struct prov_bus_enclave ops = {enclave_offer, enclave_accept, h};
    for (;;) {
        if (o->stop && *o->stop)
            return cloister_errf(err, CLOISTER_E_STATE, "stopped before a seat came");
        struct prov_bus_seat seat;
        int rc = prov_bus_join(b, pool, &ops, label, JOIN_POLL_MS, 0, &seat, err);
        if (rc == CLOISTER_E_TIMEOUT || rc == CLOISTER_E_NOT_FOUND)
            continue;
        if (rc != 0)
            return rc;
        rc = ss_seat_info_decode(si, seat.info, seat.info_len, err);
        prov_bus_seat_free(&seat);
        if (rc == 0 && (memcmp(si->hash, p->hash, SS_HASH_LEN) != 0 || si->seg != seg ||
                        si->replica != replica))
            rc = cloister_errf(err, CLOISTER_E_DENIED, "the seat is for another pipeline or stage");
        return rc;
    }
}

static int load(struct ss_host *h, const struct ss_plan *p, const struct ss_seat_info *si,
                struct cloister_err *err)
{
    const struct ss_segment_plan *g = &p->seg[si->seg];
    struct wire_writer in;
    uint8_t *out = NULL;
    size_t outlen = 0;
    wire_writer_init(&in);
    wire_put_bytes(&in, p->config.buf, p->config.len);
    wire_put_u32(&in, g->first);
    wire_put_u32(&in, g->last);
    wire_put_u32(&in, si->replica);
    wire_put_u32(&in, si->nup);
    wire_put_u32(&in, si->nout);
    wire_put_u8(&in, si->keyed);
    int rc = wire_writer_ok(&in)
                 ? ss_host_call(h, SS_CALL_LOAD_DIST, in.buf, in.len, &out, &outlen, err)
                 : cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory");
    if (rc == 0 && (outlen != SS_HASH_LEN || memcmp(out, p->hash, SS_HASH_LEN) != 0))
        rc = cloister_errf(err, CLOISTER_E_DENIED, "the stage loaded another pipeline");
    wire_writer_free(&in);
    free(out);
    return rc;
}

/* The replica loop over the run's subjects, with its checkpoint in the run's bucket, and its
 * live statistics on ss.stats.PIPELINE.SEGMENT-rREPLICA (for `streams top`). */
static int serve(struct bus *b, struct ss_host *h, const struct ss_plan *p,
                 const struct ss_seat_info *si, const struct ss_options *o,
                 struct ss_stage_report *r, struct cloister_err *err)
{
    struct ss_meter meter;
    char part[SS_STATS_NAME_MAX];
    snprintf(part, sizeof part, "%.48s-r%u", p->seg[si->seg].name, si->replica);
    ss_meter_init(&meter, part);
    struct ss_statspub_config pc = {.url = o->nats,
                                    .pipeline = p->pipeline,
                                    .meters = &meter,
                                    .n = 1,
                                    .interval_ms = o->stats_interval_ms};
    struct ss_statspub *pub = NULL;
    char stream[64], in[128], out[128], durable[32], ids[32], bucket[64], stage[16];
    ss_dist_stream(si->run, stream, sizeof stream);
    ss_dist_subject(si->run, si->seg, (int)si->replica, in, sizeof in);
    ss_dist_subject(si->run, si->seg + 1, -1, out, sizeof out);
    ss_dist_bucket(si->run, bucket, sizeof bucket);
    snprintf(durable, sizeof durable, "s%u-%u", si->seg, si->replica);
    snprintf(ids, sizeof ids, "s%u", si->seg);
    snprintf(stage, sizeof stage, "s%u", si->seg);
    struct ss_ckpt *ck = ss_ckpt_open(b, bucket, si->run, stage, si->replica, err);
    if (!ck)
        return err->code ? err->code : CLOISTER_E_FAILED;
    struct ss_replica_config c = {.bus = b,
                                  .stream = stream,
                                  .in_subject = in,
                                  .durable = durable,
                                  .out_prefix = out,
                                  .id_prefix = ids,
                                  .ckpt = ck,
                                  .call = host_call,
                                  .runner = h,
                                  .ckpt_events = si->ckpt_events,
                                  .ckpt_ms = si->ckpt_ms,
                                  .stop = o->stop,
                                  .meter = &meter};
    struct ss_replica_stats s = {0};
    int rc = ss_statspub_start(&pc, &pub, err);
    if (rc == 0)
        rc = ss_replica_run(&c, &s, err);
    ss_statspub_stop(pub);
    ss_ckpt_close(ck);
    r->events_in = s.events_in;
    r->events_out = s.events_out;
    r->batches_out = s.batches_out;
    r->duplicates = s.duplicates;
    r->refused = s.refused;
    r->checkpoints = s.checkpoints;
    r->restored = s.restored;
    return rc;
}

int ss_stage(const char *path, const char *stage, unsigned replica, const struct ss_options *o,
             struct ss_stage_report *r, struct cloister_err *err)
{
    memset(r, 0, sizeof *r);
    struct ss_plan *p = calloc(1, sizeof *p);
    if (!p)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory");
    struct ss_host *h = NULL;
    struct bus *b = NULL;
    struct ss_seat_info si;
    struct bus_options bo = {.name = "cloister-streams-stage"};
    int rc = ss_plan_load(p, path, o, err), seg = -1;
    if (rc == 0 && (seg = ss_plan_find(p, stage)) < 0)
        rc = cloister_errf(err, CLOISTER_E_NOT_FOUND, "pipeline %s has no stage %s", p->pipeline,
                           stage);
    if (rc == 0 && replica >= SS_REPLICAS_MAX)
        rc = cloister_errf(err, CLOISTER_E_INVALID, "replica %u: at most %d replicas", replica,
                           SS_REPLICAS_MAX);
    if (rc == 0 && o->tee == SS_TEE_NONE)
        rc = cloister_errf(err, CLOISTER_E_INVALID,
                           "a stage runs in an enclave (--tee proc or sim): it is provisioned");
    if (rc == 0)
        rc = ss_host_start(o->tee, o, NULL, &h, err);
    if (rc == 0 && !(b = bus_connect(o->nats, &bo, err)))
        rc = err->code ? err->code : CLOISTER_E_FAILED;
    if (rc == 0)
        rc = join(b, p, (unsigned)seg, replica, h, o, &si, err);
    if (rc == 0) {
        snprintf(r->run, sizeof r->run, "%s", si.run);
        rc = load(h, p, &si, err);
    }
    if (rc == 0)
        rc = serve(b, h, p, &si, o, r, err);
    bus_close(b);
    ss_host_stop(h);
    ss_plan_free(p);
    free(p);
    return rc;
}
