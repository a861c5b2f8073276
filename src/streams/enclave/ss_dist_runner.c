/* ss_dist_runner.c -- what a runner does as one replica of a distributed stage
 * (ss_dist_runner.h; docs/streams.md, "Distributed").
 *
 * Each (producer, partition) pair is an edge numbered from 0. A batch whose number was already
 * applied is a duplicate -- a replay, or a redelivery after the stage restarted from a
 * checkpoint -- and is dropped before it is opened (counted); any other number but the next is
 * refused like a tampered batch. The stream ends for this replica when every producer has sent
 * its final batch: only then do reduce and windows flush. Output goes to the next stage's
 * partitions: keyed events ({key, event}, after key_by) by a hash of the key's encoding, so one
 * key always meets the same replica and its state; other batches round robin. A checkpoint is
 * the stages' Lua state and every edge number, sealed with the pipeline key: the host stores it
 * and can only hand it back whole. */
#include "streams/enclave/ss_dist_runner.h"

#include "lua/lua_sandbox.h"

#include <cloister/tee_enclave.h>

#include <string.h>

#define CKPT_VERSION 1

int ss_dist_setup(struct ss_runner *r, struct wire_reader *rd, struct cloister_err *err)
{
    struct ss_dist *d = &r->d;
    d->self = wire_get_u32(rd);
    d->nup = wire_get_u32(rd);
    d->nout = wire_get_u32(rd);
    d->keyed_out = wire_get_u8(rd) != 0;
    if (!wire_reader_ok(rd) || d->nup == 0 || d->nup > SS_REPLICAS_MAX || d->nout == 0 ||
        d->nout > SS_REPLICAS_MAX || d->self >= SS_REPLICAS_MAX)
        return cloister_errf(err, CLOISTER_E_INVALID, "malformed distributed load request");
    d->on = true;
    return 0;
}

/* FNV-1a of the key's encoding: equal keys have equal encodings (lua_sandbox.h). */
static uint32_t partition_of(const struct ss_dist *d, const uint8_t *ev, size_t len)
{
    struct wire_reader rd;
    size_t klen = 0;
    if (!d->keyed_out || len < 3 || ev[0] != 0x06 || ev[1] != 0x02)
        return 0;
    wire_reader_init(&rd, ev + 2, len - 2);
    const uint8_t *k = tlua_value_next(&rd, &klen);
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; k && i < klen; i++)
        h = (h ^ k[i]) * 0x100000001b3ull;
    return (uint32_t)(h % d->nout);
}

/* Seals one output batch to partition p and appends it (as bytes) to out. */
static int emit(struct ss_runner *r, uint32_t p, const struct ss_batch *b, struct wire_writer *out)
{
    struct wire_writer pt, ct;
    wire_writer_init(&pt);
    wire_writer_init(&ct);
    ss_batch_encode(b, &pt);
    struct ss_edge to = {.stage = r->last + 1,
                         .partition = SS_PART(r->d.self, p),
                         .seq = r->d.out_next[p]};
    memcpy(to.hash, r->hash, SS_HASH_LEN);
    int rc = wire_writer_ok(&pt) && ss_seal(r->aead, &to, pt.buf, pt.len, &ct) == 0 ? 0 : -1;
    if (rc == 0)
        wire_put_bytes(out, ct.buf, ct.len);
    r->d.out_next[p] += rc == 0;
    crypto_wipe(pt.buf, pt.len);
    wire_writer_free(&pt);
    wire_writer_free(&ct);
    return rc;
}

/* Splits the events (one encoded array) by partition and seals a batch to each partition that
 * got events (to every one when final or failed). *n: how many batches were appended. */
static int split(struct ss_runner *r, const struct ss_batch *tmpl, uint64_t *nevents,
                 struct wire_writer *out, size_t *n, struct cloister_err *err)
{
    struct ss_dist *d = &r->d;
    struct wire_writer items[SS_REPLICAS_MAX];
    uint64_t count[SS_REPLICAS_MAX] = {0};
    struct wire_reader rd;
    wire_reader_init(&rd, tmpl->events, tmpl->events_len);
    wire_get_u8(&rd);
    uint64_t total = wire_get_varint(&rd);
    uint32_t rr = (uint32_t)(d->rr++ % d->nout);
    for (uint32_t p = 0; p < d->nout; p++)
        wire_writer_init(&items[p]);
    int rc = 0;
    for (uint64_t i = 0; i < total && rc == 0; i++) {
        size_t len = 0;
        const uint8_t *ev = tlua_value_next(&rd, &len);
        if (!ev) {
            rc = cloister_errf(err, CLOISTER_E_INVALID, "malformed events");
            break;
        }
        uint32_t p = d->keyed_out ? partition_of(d, ev, len) : rr;
        wire_put_raw(&items[p], ev, len);
        count[p]++;
    }
    *nevents = total;
    *n = 0;
    for (uint32_t p = 0; p < d->nout && rc == 0; p++) {
        if (count[p] == 0 && !tmpl->final && !tmpl->failed && !(p == 0 && tmpl->skipped))
            continue;
        struct wire_writer ev;
        wire_writer_init(&ev);
        tlua_put_array(&ev, count[p]);
        wire_put_raw(&ev, items[p].buf, items[p].len);
        struct ss_batch b = *tmpl;
        b.events = ev.buf;
        b.events_len = ev.len;
        b.skipped = p == 0 ? tmpl->skipped : 0;
        rc = wire_writer_ok(&ev) ? emit(r, p, &b, out) : -1;
        if (rc != 0)
            rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "cannot seal a batch");
        *n += rc == 0;
        wire_writer_free(&ev);
    }
    for (uint32_t p = 0; p < d->nout; p++)
        wire_writer_free(&items[p]);
    return rc;
}

/* Opens the batch of its edge's next number into pt: 0, 1 for a duplicate, or a refusal. */
static int accept(struct ss_runner *r, const uint8_t *in, size_t inlen, uint8_t *pt, size_t *ptlen,
                  uint32_t *producer, struct cloister_err *err)
{
    struct ss_dist *d = &r->d;
    uint32_t stage = 0, part = 0;
    uint64_t seq = 0;
    if (inlen < SS_BATCH_OVERHEAD) {
        r->refused++;
        return cloister_errf(err, CLOISTER_E_DENIED, "batch refused: truncated");
    }
    ss_peek(in, &stage, &part, &seq);
    *producer = part >> 16;
    struct ss_edge want = {.stage = r->first, .partition = SS_PART(*producer, d->self)};
    bool known = *producer < d->nup;
    want.seq = known ? d->in_next[*producer] : 0;
    if (known && stage == r->first && part == want.partition && seq < want.seq) {
        d->duplicates++;
        return 1;
    }
    if (!known)
        want.partition = SS_PART(SS_REPLICAS_MAX, d->self); /* refused as misaddressed */
    memcpy(want.hash, r->hash, SS_HASH_LEN);
    if (ss_open(r->aead, &want, in, inlen, pt, ptlen, err) != 0) {
        r->refused++;
        return CLOISTER_E_DENIED;
    }
    d->in_next[*producer]++;
    return 0;
}

int ss_dist_run(struct ss_runner *r, const uint8_t *in, size_t inlen, struct wire_writer *out,
                struct cloister_err *err)
{
    struct ss_dist *d = &r->d;
    uint8_t *pt = tee_malloc(inlen ? inlen : 1);
    size_t ptlen = 0;
    uint32_t producer = 0;
    if (!pt)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for a batch");
    int rc = accept(r, in, inlen, pt, &ptlen, &producer, err);
    if (rc != 0) {
        tee_free(pt);
        if (rc == 1) { /* a duplicate: nothing to do */
            wire_put_u8(out, 1);
            wire_put_varint(out, 0);
            wire_put_varint(out, 0);
            wire_put_varint(out, 0);
            wire_put_varint(out, 0);
        }
        return rc == 1 ? 0 : rc;
    }
    struct ss_batch b;
    struct ss_lua_out lo = {0};
    struct cloister_err e = {0};
    struct wire_writer batches;
    wire_writer_init(&batches);
    uint64_t nin = 0, nout = 0;
    size_t n = 0;
    rc = ss_batch_decode(&b, pt, ptlen, err);
    if (rc == 0 && b.final)
        d->finals |= (uint64_t)1 << producer;
    bool all = d->finals == (d->nup == 64 ? UINT64_MAX : ((uint64_t)1 << d->nup) - 1);
    if (rc == 0 && !b.failed) {
        struct wire_reader cnt;
        wire_reader_init(&cnt, b.events + 1, b.events_len - 1);
        nin = wire_get_varint(&cnt);
        if (ss_runner_lua(r, b.events, b.events_len, all, &lo, &e) == 0) {
            struct ss_batch o = {
                .final = all,
                .ingress_ns = b.ingress_ns,
                .skipped = b.skipped + lo.skipped,
                .error = (const char *)(lo.msg ? lo.msg : (const uint8_t *)b.error),
                .error_len = lo.msg ? lo.msg_len : b.error_len,
                .events = lo.events,
                .events_len = lo.events_len};
            rc = split(r, &o, &nout, &batches, &n, err);
            wire_writer_free(&lo.res);
        } else {
            /* the message may quote events: it travels sealed, to the sink */
            static const uint8_t none[] = {0x06, 0x00};
            b = (struct ss_batch){.failed = true,
                                  .error = e.msg,
                                  .error_len = strlen(e.msg),
                                  .events = none,
                                  .events_len = sizeof none};
        }
    }
    if (rc == 0 && b.failed) {
        b.final = true;
        rc = split(r, &b, &nout, &batches, &n, err);
    }
    crypto_wipe(pt, ptlen);
    tee_free(pt);
    if (rc == 0) {
        r->batches++;
        wire_put_u8(out, (all || b.failed) ? 2 : 0);
        wire_put_varint(out, nin);
        wire_put_varint(out, nout);
        wire_put_varint(out, n);
        wire_put_raw(out, batches.buf, batches.len);
        wire_put_varint(out, b.ingress_ns);
    }
    wire_writer_free(&batches);
    return rc;
}

static void ckpt_edge(const struct ss_runner *r, uint64_t seq, struct ss_edge *e)
{
    *e = (struct ss_edge){.stage = SS_CKPT_STAGE | r->first, .partition = r->d.self, .seq = seq};
    memcpy(e->hash, r->hash, SS_HASH_LEN);
}

int ss_dist_checkpoint(struct ss_runner *r, struct wire_writer *out, struct cloister_err *err)
{
    struct ss_dist *d = &r->d;
    struct wire_writer pt, args;
    wire_writer_init(&pt);
    wire_writer_init(&args);
    wire_put_u32(&pt, CKPT_VERSION);
    wire_put_u32(&pt, d->nup);
    wire_put_u32(&pt, d->nout);
    wire_put_u64(&pt, d->finals);
    wire_put_u64(&pt, d->rr);
    wire_put_u64(&pt, d->duplicates);
    for (uint32_t i = 0; i < d->nup; i++)
        wire_put_u64(&pt, d->in_next[i]);
    for (uint32_t i = 0; i < d->nout; i++)
        wire_put_u64(&pt, d->out_next[i]);
    tlua_put_int(&args, r->first);
    tlua_put_int(&args, r->last);
    int rc = wire_writer_ok(&args)
                 ? tlua_call(r->t, "__ss_checkpoint", args.buf, args.len, NULL, &pt, err)
                 : cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory");
    struct ss_edge e;
    ckpt_edge(r, ++d->ckpt, &e);
    if (rc == 0 && (!wire_writer_ok(&pt) || ss_seal(r->aead, &e, pt.buf, pt.len, out) != 0))
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "cannot seal the checkpoint");
    crypto_wipe(pt.buf, pt.len);
    wire_writer_free(&pt);
    wire_writer_free(&args);
    return rc;
}

int ss_dist_restore(struct ss_runner *r, const uint8_t *in, size_t inlen, struct cloister_err *err)
{
    struct ss_dist *d = &r->d;
    uint32_t stage = 0, part = 0;
    uint64_t seq = 0;
    if (inlen < SS_BATCH_OVERHEAD)
        return cloister_errf(err, CLOISTER_E_DENIED, "checkpoint refused: truncated");
    ss_peek(in, &stage, &part, &seq);
    struct ss_edge want;
    ckpt_edge(r, seq, &want);
    uint8_t *pt = tee_malloc(inlen);
    size_t ptlen = 0;
    if (!pt)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for the checkpoint");
    int rc = ss_open(r->aead, &want, in, inlen, pt, &ptlen, err);
    struct wire_reader rd;
    wire_reader_init(&rd, pt, ptlen);
    if (rc == 0 && (wire_get_u32(&rd) != CKPT_VERSION || wire_get_u32(&rd) != d->nup ||
                    wire_get_u32(&rd) != d->nout))
        rc = cloister_errf(err, CLOISTER_E_INVALID,
                           "the checkpoint is of another layout (replicas changed)");
    if (rc == 0) {
        d->finals = wire_get_u64(&rd);
        d->rr = wire_get_u64(&rd);
        d->duplicates = wire_get_u64(&rd);
        for (uint32_t i = 0; i < d->nup; i++)
            d->in_next[i] = wire_get_u64(&rd);
        for (uint32_t i = 0; i < d->nout; i++)
            d->out_next[i] = wire_get_u64(&rd);
        struct wire_writer args;
        wire_writer_init(&args);
        tlua_put_int(&args, r->first);
        tlua_put_int(&args, r->last);
        wire_put_raw(&args, rd.buf + rd.off, wire_reader_remaining(&rd));
        rc = wire_reader_ok(&rd) && wire_writer_ok(&args)
                 ? tlua_call(r->t, "__ss_restore", args.buf, args.len, NULL, NULL, err)
                 : cloister_errf(err, CLOISTER_E_INVALID, "malformed checkpoint");
        wire_writer_free(&args);
        d->ckpt = seq;
    }
    crypto_wipe(pt, ptlen);
    tee_free(pt);
    return rc;
}
