/* ss_runner.c -- a run of pipeline stages in the Lua sandbox (ss_runner.h).
 *
 * The state holds the whole pipeline (its description is one Lua file) but only stages
 * first..last ever run here; the pipeline hash binds the batches it accepts to the exact text
 * and parameters it loaded. A sealed batch is accepted only as the next one of its edge, so a
 * host that drops, repeats or swaps batches is refused (and counted) rather than obeyed. */
#include "streams/enclave/ss_runner.h"

#include "lua/lua_sandbox.h"
#include "streams/common/ss_proto.h"
#include "streams/enclave/ss_dist_runner.h"

#include <cloister/crypto.h>
#include <cloister/tee_enclave.h>

#include <stdio.h>
#include <string.h>

extern const char ss_prelude[];
extern const size_t ss_prelude_len;

struct ss_runner *ss_runner_new(const uint8_t *key)
{
    struct ss_runner *r = tee_malloc(sizeof *r);
    if (!r)
        return NULL;
    memset(r, 0, sizeof *r);
    if (key && !(r->aead = crypto_aead_new(CRYPTO_AES256_GCM, key))) {
        tee_free(r);
        return NULL;
    }
    return r;
}

void ss_runner_free(struct ss_runner *r)
{
    if (!r)
        return;
    tlua_free(r->t);
    crypto_aead_free(r->aead);
    tee_free(r);
}

/* A string value (tag 0x05) from r into *s, *len. */
static int get_string(struct wire_reader *rd, const uint8_t **s, size_t *len)
{
    if (wire_get_u8(rd) != 0x05)
        return -1;
    *len = wire_get_varint(rd);
    *s = wire_get_raw(rd, *len);
    return wire_reader_ok(rd) ? 0 : -1;
}

static int call_string(struct ss_runner *r, const char *fn, struct wire_writer *out,
                       struct cloister_err *err)
{
    struct wire_writer res;
    wire_writer_init(&res);
    int rc = tlua_call(r->t, fn, NULL, 0, NULL, &res, err);
    struct wire_reader rd;
    wire_reader_init(&rd, res.buf, res.len);
    const uint8_t *s = NULL;
    size_t n = 0;
    if (rc == 0 && res.len > 0 && res.buf[0] != 0x00 && get_string(&rd, &s, &n) != 0)
        rc = cloister_errf(err, CLOISTER_E_INVALID, "%s did not return a string", fn);
    if (rc == 0)
        wire_put_bytes(out, s ? s : (const uint8_t *)"", n);
    wire_writer_free(&res);
    return rc;
}

static int load(struct ss_runner *r, const uint8_t *cfg, size_t len, struct cloister_err *err)
{
    struct ss_config c;
    char name[SS_NAME_MAX];
    if (r->t)
        return cloister_errf(err, CLOISTER_E_STATE, "the stage already has a pipeline");
    int rc = ss_config_decode(&c, cfg, len, err);
    if (rc != 0)
        return rc;
    memcpy(name, c.chunkname, c.chunkname_len);
    name[c.chunkname_len] = '\0';
    char task[32];
    snprintf(task, sizeof task, "stages %u-%u", (unsigned)r->first, (unsigned)r->last);
    struct tlua_options o = {.job = name, .task = r->aead ? task : "host", .seed = 1};
    if (!(r->t = tlua_new(&o, err)))
        return err ? err->code : CLOISTER_E_NO_MEMORY;
    rc = tlua_load(r->t, ss_prelude, ss_prelude_len, "ss_prelude.lua", err);
    for (size_t i = 0; rc == 0 && i < c.nparams; i++) {
        struct wire_writer a;
        wire_writer_init(&a);
        tlua_put_str(&a, c.params[2 * i], c.param_len[2 * i]);
        tlua_put_str(&a, c.params[2 * i + 1], c.param_len[2 * i + 1]);
        rc = wire_writer_ok(&a) ? tlua_call(r->t, "__ss_param", a.buf, a.len, NULL, NULL, err)
                                : cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory");
        wire_writer_free(&a);
    }
    if (rc == 0)
        rc = tlua_load(r->t, (const char *)c.text, c.text_len, name, err);
    if (rc == 0) {
        /* the description checks the pipeline: a malformed one never runs, here either */
        struct wire_writer d;
        wire_writer_init(&d);
        rc = call_string(r, "__ss_describe", &d, err);
        wire_writer_free(&d);
    }
    crypto_sha256(r->hash, cfg, len);
    if (rc != 0) {
        tlua_free(r->t);
        r->t = NULL;
    }
    return rc;
}

int ss_runner_lua(struct ss_runner *r, const uint8_t *events, size_t len, bool final,
                  struct ss_lua_out *o, struct cloister_err *err)
{
    struct wire_writer args;
    wire_writer_init(&args);
    wire_writer_init(&o->res);
    tlua_put_int(&args, r->first);
    tlua_put_int(&args, r->last);
    wire_put_raw(&args, events, len);
    wire_put_u8(&args, final ? 0x02 : 0x01);
    int rc = wire_writer_ok(&args)
                 ? tlua_call(r->t, "__ss_run", args.buf, args.len, NULL, &o->res, err)
                 : cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory");
    wire_writer_free(&args);
    struct wire_reader rd;
    wire_reader_init(&rd, o->res.buf, o->res.len);
    o->events = rc == 0 ? tlua_value_next(&rd, &o->events_len) : NULL;
    uint8_t tag = wire_get_u8(&rd);
    o->skipped = wire_get_varint(&rd) >> 1;
    o->msg = NULL;
    o->msg_len = 0;
    if (rc == 0 && wire_reader_remaining(&rd) > 0 && rd.buf[rd.off] == 0x05)
        get_string(&rd, &o->msg, &o->msg_len);
    if (o->msg_len >= CLOISTER_ERR_MAX)
        o->msg_len = CLOISTER_ERR_MAX - 1;
    if (rc == 0 && (!o->events || o->events[0] != 0x06 || tag != 0x03 || !wire_reader_ok(&rd)))
        rc = cloister_errf(err, CLOISTER_E_INVALID, "__ss_run returned malformed results");
    if (rc != 0)
        wire_writer_free(&o->res);
    return rc;
}

/* Runs the plaintext batch in through stages first..last, appending the output batch to out. */
static int run(struct ss_runner *r, const uint8_t *in, size_t inlen, struct wire_writer *out,
               struct cloister_err *err)
{
    struct ss_batch b;
    struct ss_lua_out lo;
    int rc = ss_batch_decode(&b, in, inlen, err);
    if (rc == 0)
        rc = ss_runner_lua(r, b.events, b.events_len, b.final, &lo, err);
    if (rc != 0)
        return rc;
    struct ss_batch o = {.final = b.final,
                         .ingress_ns = b.ingress_ns,
                         .skipped = lo.skipped,
                         .error = (const char *)lo.msg,
                         .error_len = lo.msg_len,
                         .events = lo.events,
                         .events_len = lo.events_len};
    ss_batch_encode(&o, out);
    r->batches++;
    wire_writer_free(&lo.res);
    return 0;
}

static int run_sealed(struct ss_runner *r, const uint8_t *in, size_t inlen, struct wire_writer *out,
                      struct cloister_err *err)
{
    struct ss_edge want = {.stage = r->first, .partition = 0, .seq = r->in_seq};
    memcpy(want.hash, r->hash, SS_HASH_LEN);
    size_t ptlen = 0;
    uint8_t *pt = tee_malloc(inlen ? inlen : 1);
    if (!pt)
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for a batch");
    int rc = ss_open(r->aead, &want, in, inlen, pt, &ptlen, err);
    if (rc != 0) {
        r->refused++;
        tee_free(pt);
        return rc;
    }
    r->in_seq++;
    struct wire_writer o;
    wire_writer_init(&o);
    struct cloister_err e = {0};
    if (run(r, pt, ptlen, &o, &e) != 0) {
        /* the message may quote events: it leaves sealed, for the engine only */
        static const uint8_t none[] = {0x06, 0x00};
        struct ss_batch f = {.failed = true,
                             .error = e.msg,
                             .error_len = strlen(e.msg),
                             .events = none,
                             .events_len = sizeof none};
        o.len = 0;
        ss_batch_encode(&f, &o);
    }
    struct ss_edge to = {.stage = r->last + 1, .partition = 0, .seq = r->out_seq};
    memcpy(to.hash, r->hash, SS_HASH_LEN);
    if (rc == 0 && (!wire_writer_ok(&o) || ss_seal(r->aead, &to, o.buf, o.len, out) != 0))
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "cannot seal a batch");
    r->out_seq += rc == 0;
    crypto_wipe(pt, ptlen);
    tee_free(pt);
    wire_writer_free(&o);
    return rc;
}

int ss_runner_call(struct ss_runner *r, uint32_t fn, const uint8_t *in, size_t inlen,
                   struct wire_writer *out, struct cloister_err *err)
{
    struct wire_reader rd;
    wire_reader_init(&rd, in, inlen);
    if (fn == SS_CALL_LOAD || fn == SS_CALL_LOAD_DIST || fn == SS_CALL_DESCRIBE) {
        if (fn == SS_CALL_DESCRIBE && r->aead)
            return cloister_errf(err, CLOISTER_E_DENIED, "a secure stage does not describe");
        if (fn == SS_CALL_LOAD_DIST && !r->aead)
            return cloister_errf(err, CLOISTER_E_STATE, "a distributed stage needs the key");
        size_t n;
        const uint8_t *cfg = wire_get_bytes(&rd, SS_MESSAGE_MAX, &n);
        r->first = fn != SS_CALL_DESCRIBE ? wire_get_u32(&rd) : 0;
        r->last = fn != SS_CALL_DESCRIBE ? wire_get_u32(&rd) : 0;
        if (!wire_reader_ok(&rd) || r->first > r->last)
            return cloister_errf(err, CLOISTER_E_INVALID, "malformed load request");
        int rc = fn == SS_CALL_LOAD_DIST && !r->t ? ss_dist_setup(r, &rd, err) : 0;
        if (rc == 0)
            rc = load(r, cfg, n, err);
        if (rc == 0 && fn != SS_CALL_DESCRIBE)
            wire_put_raw(out, r->hash, SS_HASH_LEN);
        if (rc == 0 && fn == SS_CALL_DESCRIBE)
            rc = call_string(r, "__ss_describe", out, err);
        if (rc == 0 && fn == SS_CALL_DESCRIBE)
            rc = call_string(r, "__ss_header", out, err);
        return rc;
    }
    if (!r->t)
        return cloister_errf(err, CLOISTER_E_STATE, "the stage has no pipeline loaded");
    switch (fn) {
    case SS_CALL_RUN:
        if (!r->aead)
            return cloister_errf(err, CLOISTER_E_STATE, "a plain stage takes plaintext");
        return run_sealed(r, in, inlen, out, err);
    case SS_CALL_RUN_PLAIN:
        if (r->aead)
            return cloister_errf(err, CLOISTER_E_DENIED, "a secure stage takes sealed batches");
        r->first = wire_get_u32(&rd);
        r->last = wire_get_u32(&rd);
        if (!wire_reader_ok(&rd) || r->first > r->last)
            return cloister_errf(err, CLOISTER_E_INVALID, "malformed run request");
        return run(r, in + rd.off, inlen - rd.off, out, err);
    case SS_CALL_RUN_DIST:
    case SS_CALL_CHECKPOINT:
    case SS_CALL_RESTORE:
        if (!r->d.on)
            return cloister_errf(err, CLOISTER_E_STATE, "the stage was not loaded distributed");
        return fn == SS_CALL_RUN_DIST     ? ss_dist_run(r, in, inlen, out, err)
               : fn == SS_CALL_CHECKPOINT ? ss_dist_checkpoint(r, out, err)
                                          : ss_dist_restore(r, in, inlen, err);
    case SS_CALL_STATS:
        wire_put_u64(out, r->batches);
        wire_put_u64(out, r->refused);
        wire_put_u64(out, r->d.duplicates);
        return 0;
    default: return cloister_errf(err, CLOISTER_E_INVALID, "no such stage call %u", (unsigned)fn);
    }
}
