/* scbr_bench_enclave.c -- the trusted half of bench_scbr_match: an SCBR index whose every byte
 * comes from tee_malloc, i.e. from the enclave's EPC heap, so it pages under the signed EPC
 * budget like the router's index; the publications of a run are decoded once into the enclave
 * and matched in batches, so what the host times is matching (plus the boundary, amortised over
 * a batch), as for the native index over pre-parsed publications. One worker serves calls. */
#include <cloister/scbr.h>
#include <cloister/tee_enclave.h>
#include <cloister/wire.h>

#include <stdlib.h>

#include "scbr/enclave/scbr_heap.h"
#include "scbr_bench_enclave.h"

struct state {
    scbr_index *idx;
    struct scbr_pub **pubs;
    size_t npubs;
};

static void on_stop(struct tee_env *env)
{
    struct state *s = tee_env_state(env);
    scbr_index_destroy(s->idx);
    for (size_t i = 0; i < s->npubs; i++)
        scbr_pub_free(s->pubs[i]);
    tee_free(s->pubs);
}

static int ecall_reset(struct tee_env *env, const uint8_t *in, size_t inlen,
                       struct wire_writer *out)
{
    struct state *s = tee_env_state(env);
    struct wire_reader r;
    wire_reader_init(&r, in, inlen);
    uint8_t kind = wire_get_u8(&r);
    if (wire_reader_finish(&r) != 0 || kind > SCBR_INDEX_FAST)
        return tee_fail(env, CLOISTER_E_INVALID, "reset: bad index kind");
    scbr_index_destroy(s->idx);
    if (!(s->idx = scbr_index_create((enum scbr_index_kind)kind, &scbr_tee_heap)))
        return tee_fail(env, CLOISTER_E_NO_MEMORY, "reset: no memory for the index");
    return CLOISTER_OK;
}

static int ecall_add(struct tee_env *env, const uint8_t *in, size_t inlen, struct wire_writer *out)
{
    struct state *s = tee_env_state(env);
    struct wire_reader r;
    wire_reader_init(&r, in, inlen);
    uint32_t first = wire_get_u32(&r);
    size_t n = wire_get_count(&r, 1, UINT32_MAX);
    if (!s->idx)
        return tee_fail(env, CLOISTER_E_INVALID, "add: no index (reset first)");
    for (size_t i = 0; i < n && wire_reader_ok(&r); i++) {
        size_t len;
        const uint8_t *b = wire_get_bytes(&r, SIZE_MAX, &len);
        struct cloister_err err;
        struct scbr_sub *sub = b ? scbr_sub_decode(b, len, &err) : NULL;
        if (!sub)
            return tee_fail(env, CLOISTER_E_INVALID, "add: subscription %zu: %s", i,
                            b ? err.msg : wire_reader_error(&r));
        int rc = scbr_index_insert(s->idx, sub, first + (uint32_t)i, &err);
        scbr_sub_free(sub);
        if (rc != 0)
            return tee_fail(env, rc, "add: subscription %zu: %s", i, err.msg);
    }
    if (wire_reader_finish(&r) != 0)
        return tee_fail(env, CLOISTER_E_INVALID, "add: %s", wire_reader_error(&r));
    return CLOISTER_OK;
}

static int ecall_pubs(struct tee_env *env, const uint8_t *in, size_t inlen, struct wire_writer *out)
{
    struct state *s = tee_env_state(env);
    struct wire_reader r;
    wire_reader_init(&r, in, inlen);
    size_t n = wire_get_count(&r, 1, SCBRB_PUBS_MAX - s->npubs);
    struct scbr_pub **grown = tee_realloc(s->pubs, (s->npubs + n) * sizeof *grown);
    if (!grown && s->npubs + n)
        return tee_fail(env, CLOISTER_E_NO_MEMORY, "pubs: no memory");
    s->pubs = grown;
    for (size_t i = 0; i < n && wire_reader_ok(&r); i++) {
        size_t len;
        const uint8_t *b = wire_get_bytes(&r, SIZE_MAX, &len);
        struct cloister_err err;
        struct scbr_pub *p = b ? scbr_pub_decode(b, len, &err) : NULL;
        if (!p)
            return tee_fail(env, CLOISTER_E_INVALID, "pubs: publication %zu: %s", i,
                            b ? err.msg : wire_reader_error(&r));
        s->pubs[s->npubs++] = p;
    }
    if (wire_reader_finish(&r) != 0)
        return tee_fail(env, CLOISTER_E_INVALID, "pubs: %s", wire_reader_error(&r));
    return CLOISTER_OK;
}

static int ecall_match(struct tee_env *env, const uint8_t *in, size_t inlen,
                       struct wire_writer *out)
{
    struct state *s = tee_env_state(env);
    struct wire_reader r;
    wire_reader_init(&r, in, inlen);
    uint32_t first = wire_get_u32(&r), count = wire_get_u32(&r);
    if (wire_reader_finish(&r) != 0 || !s->idx || !s->npubs || first >= s->npubs)
        return tee_fail(env, CLOISTER_E_INVALID, "match: bad range or no index/publications");
    struct scbrb_fold f = {0, 0};
    /* The batch is cyclic: at most two contiguous runs per turn around it. */
    for (size_t done = 0, at = first; done < count;) {
        size_t run = s->npubs - at < count - done ? s->npubs - at : count - done;
        if (scbr_index_match_batch(s->idx, (const struct scbr_pub *const *)s->pubs + at, run,
                                   scbrb_collect, &f, NULL) != 0)
            return tee_fail(env, CLOISTER_E_NO_MEMORY, "match: out of memory");
        done += run;
        at = (at + run) % s->npubs;
    }
    wire_put_u64(out, f.matches);
    wire_put_u64(out, f.fold);
    return CLOISTER_OK;
}

static int ecall_stats(struct tee_env *env, const uint8_t *in, size_t inlen,
                       struct wire_writer *out)
{
    struct state *s = tee_env_state(env);
    struct scbr_index_stats st = {0};
    if (s->idx)
        scbr_index_stats(s->idx, &st);
    wire_put_u64(out, st.subscriptions);
    wire_put_u64(out, st.predicates);
    wire_put_u64(out, st.bytes);
    return CLOISTER_OK;
}

#define SCBRB_ECALLS(X)                                                                            \
    X(SCBRB_ECALL_RESET, reset)                                                                    \
    X(SCBRB_ECALL_ADD, add)                                                                        \
    X(SCBRB_ECALL_PUBS, pubs) X(SCBRB_ECALL_MATCH, match) X(SCBRB_ECALL_STATS, stats)
TEE_ENCLAVE_DEFINE_WITH(scbrbench, SCBRB_ECALLS, .state_size = sizeof(struct state),
                        .on_stop = on_stop);
