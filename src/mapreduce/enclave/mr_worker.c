/* mr_worker.c -- the trusted MapReduce worker (mr_worker.h).
 *
 * Every input is a sealed chunk (mr_proto.h) that must open as exactly the piece the task
 * descriptor says: the task chunk names the round, task and attempt; the split and shuffle
 * chunks it consumes must carry the same job, round and partition and the accepted attempt of
 * their producer, each at most once. Anything else is refused (the ecall fails with
 * CLOISTER_E_DENIED, or a reduce names the inputs it refused) and the client re-runs the task;
 * the host learns sizes and which task failed, never a record.
 *
 * A task gets a fresh Lua state (one per task, seeded from the job id and the task number). A
 * map task calls map() once per record of its split, all in the one ecall; combine() then
 * folds the split's pairs per key, and each pair goes to the reducer partition() (or the
 * default hash of its encoding) names, one sealed shuffle chunk per reducer. A reduce task
 * collects its shuffle chunks over any number of ecalls, then groups the pairs by key and calls
 * reduce() once per key. A reduce whose pairs reach the task's reduce memory first spills them
 * as a sorted run, sealed in segments (MR_KIND_SPILL) for its host to keep, and at the end
 * merges its runs k-way over as many ecalls as it takes, each asking the host for the next
 * segments it needs (docs/mapreduce.md, "Reducer spill"). Errors of the job's code (a Lua error, a budget) are not refusals:
 * they travel sealed in the task's outcome, since their messages may quote data. */
#include "mapreduce/enclave/mr_worker.h"

#include "lua/lua_sandbox.h"

#include <cloister/tee_enclave.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The drivers: one call runs map over every record of a split (the records arrive as one
 * array, key value key value ...), and one call runs combine or reduce over a batch of keys
 * (key, values, key, values ...), emitting each key with its non-nil result; so the cost of
 * entering Lua is paid per split and per batch, not per record or key. JSON Lines: map
 * receives the decoded line. */
static const char PRELUDE[] =
    "local map, combine, reduce, emit, decode = map, combine, reduce, emit, json.decode\n"
    "function __mr_map_all(r) for i = 1, #r, 2 do map(r[i], r[i + 1]) end end\n"
    "function __mr_map_all_jsonl(r) for i = 1, #r, 2 do map(r[i], decode(r[i + 1])) end end\n"
    "function __mr_combine_all(g) for i = 1, #g, 2 do\n"
    "  local v = combine(g[i], g[i + 1]) if v ~= nil then emit(g[i], v) end end end\n"
    "function __mr_reduce_all(g) for i = 1, #g, 2 do\n"
    "  local v = reduce(g[i], g[i + 1]) if v ~= nil then emit(g[i], v) end end end\n";

#define FOLD_BATCH ((size_t)1 << 20)      /* argument bytes per combine/reduce call */
#define OUTPUT_DEFAULT ((size_t)24 << 20) /* a task's output must fit one answer */
#define ARRAY_ROOM 11                     /* an array header: a tag and the longest varint */

struct pair {
    const uint8_t *k, *v;
    uint32_t klen, vlen;
};

/* A sorted run spilled by a reducer: its segments are sealed (MR_KIND_SPILL, partition = run,
 * seq = segment) and kept by the host; the merge holds one open segment per run. The last run
 * is the reducer's in-memory remainder (no segments). */
struct run {
    uint32_t nsegs, next;   /* segments sealed; the next one to ask for */
    bool asked;             /* asked of the host in the last answer */
    struct wire_writer buf; /* the open segment's plaintext */
    struct wire_reader r;   /* the cursor in it */
    struct pair head;       /* the next pair, if has_head */
    bool has_head;
};

struct reduce_state {
    bool active;
    struct mr_task t;
    uint8_t *seen;
    struct wire_writer pairs;
    uint64_t records;
    struct run *runs;
    uint32_t nruns;
    bool merging;
    struct tlua *L;             /* the merge's reduce state, across ecalls */
    struct wire_writer pending; /* merged pairs not reduced yet */
    size_t last_key, last_klen; /* the last pending pair's key (offset, length) */
    struct wire_writer results;
    struct mr_outcome o;
};

struct mr_worker {
    crypto_aead *aead;
    uint8_t key[MR_KEY_LEN];
    bool has_key, loaded;
    uint8_t job[MR_JOB_ID_LEN];
    char name[TLUA_NAME_MAX];
    char *code;
    size_t code_len;
    uint8_t hash[MR_HASH_LEN];
    struct reduce_state red;
};

struct mr_worker *mr_worker_new(void)
{
    return tee_calloc(1, sizeof(struct mr_worker));
}

static void reduce_reset(struct reduce_state *r)
{
    tee_free(r->t.inputs);
    tee_free(r->seen);
    wire_writer_free(&r->pairs);
    for (uint32_t i = 0; i < r->nruns; i++)
        wire_writer_free(&r->runs[i].buf);
    tee_free(r->runs);
    tlua_free(r->L);
    wire_writer_free(&r->pending);
    wire_writer_free(&r->results);
    memset(r, 0, sizeof *r);
}

static void unload(struct mr_worker *w)
{
    reduce_reset(&w->red);
    tee_free(w->code);
    w->code = NULL;
    w->loaded = false;
}

void mr_worker_free(struct mr_worker *w)
{
    if (!w)
        return;
    unload(w);
    crypto_aead_free(w->aead);
    crypto_wipe(w->key, sizeof w->key);
    tee_free(w);
}

int mr_worker_set_key(struct mr_worker *w, const uint8_t key[MR_KEY_LEN])
{
    if (w->has_key && crypto_memeq(w->key, key, MR_KEY_LEN))
        return 0;
    unload(w);
    crypto_aead_free(w->aead);
    memcpy(w->key, key, MR_KEY_LEN);
    w->aead = crypto_aead_new(CRYPTO_AES256_GCM, key);
    w->has_key = w->aead != NULL;
    return w->has_key ? 0 : -1;
}

/* ---- opening chunks ---- */

/* Opens chunk c, which must be `want`, into a fresh trusted buffer *pt: room bytes left free
 * for the caller, then the *len bytes of plaintext. */
static int open_chunk(struct mr_worker *w, const uint8_t *c, size_t clen,
                      const struct mr_chunk_id *want, size_t room, uint8_t **pt, size_t *len,
                      struct cloister_err *err)
{
    *pt = NULL;
    if (clen < MR_CHUNK_OVERHEAD)
        return cloister_errf(err, CLOISTER_E_DENIED, "%s chunk refused: truncated",
                             mr_kind_name(want->kind));
    *len = clen - MR_CHUNK_OVERHEAD;
    if (!(*pt = tee_malloc(room + *len + 1)))
        return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for a %zu-byte chunk", *len);
    int rc = mr_chunk_open(w->aead, c, clen, want, *pt + room, err);
    if (rc != 0) {
        tee_free(*pt);
        *pt = NULL;
    }
    return rc;
}

static struct mr_chunk_id chunk_id(const struct mr_worker *w, uint8_t kind, uint32_t round,
                                   uint32_t task, uint32_t attempt, uint32_t partition)
{
    struct mr_chunk_id id = {.kind = kind,
                             .round = round,
                             .task = task,
                             .attempt = attempt,
                             .partition = partition};
    memcpy(id.job, w->job, MR_JOB_ID_LEN);
    return id;
}

/* Opens and decodes a task chunk (t->inputs: tee_free it; *buf: the plaintext t points into). */
static int open_task(struct mr_worker *w, const uint8_t *c, size_t clen, uint8_t phase,
                     struct mr_task *t, uint8_t **buf, struct cloister_err *err)
{
    struct mr_chunk_id got;
    struct cloister_err e;
    size_t len;
    memset(t, 0, sizeof *t);
    *buf = NULL;
    if (!w->loaded)
        return cloister_errf(err, CLOISTER_E_STATE, "no job loaded");
    if (mr_chunk_peek(c, clen, &got, &e) != 0)
        return cloister_errf(err, CLOISTER_E_DENIED, "task chunk refused: %s", e.msg);
    struct mr_chunk_id want = chunk_id(w, MR_KIND_TASK, got.round, got.task, got.attempt, 0);
    int rc = open_chunk(w, c, clen, &want, 0, buf, &len, err);
    if (rc == 0)
        rc = mr_task_decode(t, *buf, len, tee_malloc, err);
    if (rc == 0 && (t->phase != phase || t->round != got.round || t->task != got.task ||
                    t->attempt != got.attempt))
        rc = cloister_errf(err, CLOISTER_E_DENIED,
                           "task chunk refused: its header and "
                           "descriptor disagree");
    if (rc == 0 && memcmp(t->code_hash, w->hash, MR_HASH_LEN) != 0)
        rc = cloister_errf(err, CLOISTER_E_DENIED,
                           "task refused: it binds other code than the "
                           "job loaded");
    if (rc != 0) {
        tee_free(t->inputs);
        t->inputs = NULL;
        tee_free(*buf);
        *buf = NULL;
    }
    return rc;
}

/* ---- load ---- */

static int do_load(struct mr_worker *w, const uint8_t *in, size_t inlen, struct cloister_err *err)
{
    struct wire_reader r;
    wire_reader_init(&r, in, inlen);
    size_t clen, len, code_len;
    const uint8_t *c = wire_get_bytes(&r, SIZE_MAX, &clen);
    struct mr_chunk_id got;
    if (wire_reader_finish(&r) != 0 || mr_chunk_peek(c, clen, &got, err) != 0)
        return cloister_errf(err, CLOISTER_E_INVALID, "malformed load request");
    unload(w);
    memcpy(w->job, got.job, MR_JOB_ID_LEN);
    struct mr_chunk_id want = chunk_id(w, MR_KIND_CODE, 0, 0, 0, 0);
    uint8_t *pt;
    int rc = open_chunk(w, c, clen, &want, 0, &pt, &len, err);
    if (rc != 0)
        return rc;
    wire_reader_init(&r, pt, len);
    wire_get_str(&r, w->name, sizeof w->name);
    const uint8_t *code = wire_get_bytes(&r, SIZE_MAX, &code_len);
    if (wire_reader_finish(&r) != 0)
        rc = cloister_errf(err, CLOISTER_E_INVALID, "malformed code chunk");
    else if (!(w->code = tee_malloc(code_len ? code_len : 1)))
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for the job's code");
    if (rc == 0) {
        memcpy(w->code, code, code_len);
        w->code_len = code_len;
        crypto_sha256(w->hash, code, code_len);
        w->loaded = true;
    }
    tee_free(pt);
    return rc;
}

/* ---- running Lua ---- */

/* A fresh state for task t with the job loaded and its parameters set. */
static struct tlua *task_state(struct mr_worker *w, const struct mr_task *t, const char *what,
                               struct cloister_err *err)
{
    char task[TLUA_NAME_MAX], chunkname[TLUA_NAME_MAX + 8];
    uint8_t seed[32], material[MR_JOB_ID_LEN + 8];
    snprintf(task, sizeof task, "%s#%u", what, t->task);
    snprintf(chunkname, sizeof chunkname, "%s.lua", w->name);
    memcpy(material, w->job, MR_JOB_ID_LEN);
    memcpy(material + MR_JOB_ID_LEN, &t->round, 4);
    memcpy(material + MR_JOB_ID_LEN + 4, &t->task, 4);
    crypto_sha256(seed, material, sizeof material);
    uint64_t s = 0;
    memcpy(&s, seed, sizeof s);
    struct tlua_options o = {.job = w->name,
                             .task = task,
                             .seed = s,
                             .memory = t->memory,
                             .instructions = t->instructions,
                             .output = t->output};
    struct tlua *L = tlua_new(&o, err);
    if (!L)
        return NULL;
    int rc = tlua_load(L, w->code, w->code_len, chunkname, err);
    if (rc == 0)
        rc = tlua_load(L, PRELUDE, sizeof PRELUDE - 1, "mapreduce", err);
    if (rc == 0 && t->params_len > 0)
        rc = tlua_set_global(L, "params", t->params, t->params_len, err);
    if (rc != 0) {
        tlua_free(L);
        return NULL;
    }
    return L;
}

/* The pairs of a buffer grouped by key (no sort: the order of keys does not matter, the client
 * sorts the output), values kept in their order. A hash table of (hash, group) slots finds a
 * key's group without touching the pairs, and grows with the keys, not the pairs, so that it
 * stays in cache; the pairs' indices are then laid out group by group (a counting sort), so
 * that fold reads each group's values in one run. */
struct group {
    const uint8_t *k;
    uint32_t klen, hash;
    uint32_t start, count; /* the group's pairs: order[start .. start + count) */
};

struct groups {
    struct pair *p;
    size_t n, ng;
    struct group *g; /* per key, in first-seen order */
    uint32_t *order; /* pair indices, group by group */
};

struct slot {
    uint32_t hash, id; /* id: the group + 1, 0 for an empty slot */
};

static void groups_free(struct groups *g)
{
    tee_free(g->p);
    tee_free(g->g);
    tee_free(g->order);
}

static int parse_pairs(struct groups *g, const uint8_t *buf, size_t len, struct cloister_err *err)
{
    struct wire_reader r;
    size_t cap = 0, klen, vlen;
    wire_reader_init(&r, buf, len);
    while (wire_reader_remaining(&r) > 0) {
        const uint8_t *k = tlua_value_next(&r, &klen), *v = tlua_value_next(&r, &vlen);
        if (!k || !v)
            return cloister_errf(err, CLOISTER_E_INVALID, "malformed pairs: %s",
                                 wire_reader_error(&r));
        if (g->n == cap) {
            cap = cap ? 2 * cap : 1024 + len / 16; /* a word count pair takes about 10 bytes */
            struct pair *p = cap < UINT32_MAX / 2 ? tee_realloc(g->p, cap * sizeof *p) : NULL;
            if (!p)
                return cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory to group pairs");
            g->p = p;
        }
        g->p[g->n++] = (struct pair){k, v, (uint32_t)klen, (uint32_t)vlen};
    }
    return 0;
}

/* The slot of key (k, klen, h) in table: its group's, or the empty one where it goes. */
static struct slot *find_slot(const struct groups *g, struct slot *table, size_t mask,
                              const uint8_t *k, uint32_t klen, uint32_t h)
{
    for (size_t s = h & mask;; s = (s + 1) & mask) {
        const struct group *x = table[s].id ? &g->g[table[s].id - 1] : NULL;
        if (!x || (x->hash == h && x->klen == klen && memcmp(x->k, k, klen) == 0))
            return &table[s];
    }
}

/* Doubles the table (*mask + 1 slots) once it is half full; false without memory. */
static bool grow_table(const struct groups *g, struct slot **table, size_t *mask)
{
    if (2 * g->ng < *mask + 1)
        return true;
    size_t slots = 2 * (*mask + 1);
    struct slot *t = tee_calloc(slots, sizeof *t);
    if (!t)
        return false;
    for (uint32_t i = 0; i < g->ng; i++) {
        size_t s = g->g[i].hash & (slots - 1);
        while (t[s].id)
            s = (s + 1) & (slots - 1);
        t[s] = (struct slot){g->g[i].hash, i + 1};
    }
    tee_free(*table);
    *table = t;
    *mask = slots - 1;
    return true;
}

/* Numbers each pair's group into gid[] (g->g gets the keys and their counts). */
static int assign_groups(struct groups *g, uint32_t *gid, struct cloister_err *err)
{
    size_t mask = 1023;
    struct slot *table = tee_calloc(mask + 1, sizeof *table);
    int rc = table ? 0 : -1;
    for (uint32_t i = 0; rc == 0 && i < g->n; i++) {
        const struct pair *p = &g->p[i];
        uint32_t h = mr_key_hash(p->k, p->klen);
        struct slot *s = find_slot(g, table, mask, p->k, p->klen, h);
        if (!s->id) {
            g->g[g->ng] = (struct group){p->k, p->klen, h, 0, 0};
            *s = (struct slot){h, (uint32_t)++g->ng};
        }
        gid[i] = s->id - 1;
        g->g[gid[i]].count++;
        if (!grow_table(g, &table, &mask))
            rc = -1;
    }
    tee_free(table);
    return rc == 0 ? 0 : cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory to group pairs");
}

static int group_pairs(struct groups *g, const uint8_t *buf, size_t len, struct cloister_err *err)
{
    memset(g, 0, sizeof *g);
    int rc = parse_pairs(g, buf, len, err);
    if (rc != 0 || g->n == 0)
        return rc;
    uint32_t *gid = tee_malloc(g->n * sizeof *gid);
    g->g = tee_malloc(g->n * sizeof *g->g);
    g->order = tee_malloc(g->n * sizeof *g->order);
    if (!gid || !g->g || !g->order)
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory to group pairs");
    if (rc == 0)
        rc = assign_groups(g, gid, err);
    uint32_t at = 0;
    for (size_t k = 0; rc == 0 && k < g->ng; k++) {
        g->g[k].start = at;
        at += g->g[k].count;
        g->g[k].count = 0;
    }
    for (uint32_t i = 0; rc == 0 && i < g->n; i++) {
        struct group *x = &g->g[gid[i]];
        g->order[x->start + x->count++] = i;
    }
    tee_free(gid);
    return rc;
}

/* Writes the array header of n values into the ARRAY_ROOM bytes before body and returns where
 * the array starts: a batch built after reserved room is passed without copying it. */
static const uint8_t *array_before(uint8_t *body, size_t n)
{
    uint8_t hdr[ARRAY_ROOM];
    struct wire_writer w;
    wire_writer_init_fixed(&w, hdr, sizeof hdr);
    tlua_put_array(&w, n);
    memcpy(body - w.len, hdr, w.len);
    return body - w.len;
}

/* Calls fn(key, values) once per key (through its driver, a batch of keys per call); each
 * key whose call returned a non-nil value gets (key, value) in out, as does what fn emits. */
static int fold(struct tlua *L, const char *driver, const struct groups *g, struct wire_writer *out,
                struct cloister_err *err)
{
    struct wire_writer body;
    wire_writer_init(&body);
    int rc = 0;
    size_t batch = 0;
    if (wire_writer_reserve(&body, ARRAY_ROOM))
        wire_writer_commit(&body, ARRAY_ROOM);
    for (size_t k = 0; rc == 0 && k < g->ng; k++) {
        const struct group *x = &g->g[k];
        wire_put_raw(&body, x->k, x->klen);
        tlua_put_array(&body, x->count);
        for (uint32_t j = x->start; j < x->start + x->count; j++)
            wire_put_raw(&body, g->p[g->order[j]].v, g->p[g->order[j]].vlen);
        batch++;
        if (body.len < FOLD_BATCH && k + 1 < g->ng)
            continue;
        if (!wire_writer_ok(&body)) {
            rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory");
            break;
        }
        const uint8_t *args = array_before(body.buf + ARRAY_ROOM, 2 * batch);
        rc = tlua_call(L, driver, args, (size_t)(body.buf + body.len - args), out, NULL, err);
        body.len = ARRAY_ROOM;
        batch = 0;
    }
    wire_writer_free(&body);
    if (rc == 0 && !wire_writer_ok(out))
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for the output");
    return rc;
}

/* The reducer of key k: the job's partition(k, R) (0-based) or the default hash. */
static int partition_of(struct tlua *L, bool custom, const struct pair *p, uint32_t R,
                        uint32_t *out, struct cloister_err *err)
{
    if (!custom) {
        *out = mr_partition_default(p->k, p->klen, R);
        return 0;
    }
    uint8_t resbuf[64];
    struct wire_writer args, res;
    wire_writer_init_fixed(&res, resbuf, sizeof resbuf);
    wire_writer_init(&args);
    wire_put_raw(&args, p->k, p->klen);
    tlua_put_int(&args, R);
    int rc = wire_writer_ok(&args) ? tlua_call(L, "partition", args.buf, args.len, NULL, &res, err)
                                   : cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory");
    wire_writer_free(&args);
    if (rc != 0)
        return rc;
    struct wire_reader r;
    wire_reader_init(&r, res.buf, res.len);
    uint8_t tag = wire_get_u8(&r);
    uint64_t z = wire_get_varint(&r);
    int64_t v = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
    if (!wire_reader_ok(&r) || tag != 0x03 || v < 0 || v >= (int64_t)R)
        return cloister_errf(err, CLOISTER_E_INVALID,
                             "partition() must return an integer in 0..%u (nreducers - 1)", R - 1);
    *out = (uint32_t)v;
    return 0;
}

/* Seals the task's outcome (MR_KIND_RESULT) as a bytes field of out. */
static int put_outcome(struct mr_worker *w, const struct mr_task *t, const struct mr_outcome *o,
                       struct wire_writer *out, struct cloister_err *err)
{
    struct wire_writer pt, sealed;
    wire_writer_init(&pt);
    wire_writer_init(&sealed);
    mr_outcome_encode(o, &pt);
    struct mr_chunk_id id = chunk_id(w, MR_KIND_RESULT, t->round, t->task, t->attempt,
                                     t->phase == MR_PHASE_REDUCE ? t->partition : 0);
    int rc = wire_writer_ok(&pt) && mr_chunk_seal(w->aead, &id, pt.buf, pt.len, &sealed) == 0
                 ? 0
                 : cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for the outcome");
    if (rc == 0)
        wire_put_bytes(out, sealed.buf, sealed.len);
    wire_writer_free(&pt);
    wire_writer_free(&sealed);
    return rc;
}

static void fail_outcome(struct mr_outcome *o, const struct cloister_err *e)
{
    o->ok = false;
    snprintf(o->message, sizeof o->message, "%s", e->msg);
}

/* ---- map ---- */

/* Runs map over the split's records (rec, with ARRAY_ROOM free bytes before it) into pairs,
 * then combine. jerr: the job's own error. */
static int map_records(struct tlua *L, const struct mr_task *t, uint8_t *rec, size_t len,
                       struct wire_writer *pairs, struct mr_outcome *o, struct cloister_err *jerr)
{
    const char *fn = t->format == MR_INPUT_JSONL ? "__mr_map_all_jsonl" : "__mr_map_all";
    struct wire_reader r;
    size_t klen, vlen;
    wire_reader_init(&r, rec, len);
    while (wire_reader_remaining(&r) > 0) {
        const uint8_t *k = tlua_value_next(&r, &klen), *v = tlua_value_next(&r, &vlen);
        if (!k || !v)
            return cloister_errf(jerr, CLOISTER_E_INVALID, "malformed split: %s",
                                 wire_reader_error(&r));
        o->records_in++;
    }
    const uint8_t *args = array_before(rec, 2 * o->records_in);
    int rc = tlua_call(L, fn, args, (size_t)(rec + len - args), pairs, NULL, jerr);
    if (rc != 0)
        return rc;
    if (!wire_writer_ok(pairs))
        return cloister_errf(jerr, CLOISTER_E_NO_MEMORY, "no memory for the map output");
    if (!tlua_has(L, "combine"))
        return 0;
    struct groups g;
    struct wire_writer combined;
    wire_writer_init(&combined);
    rc = group_pairs(&g, pairs->buf, pairs->len, jerr);
    if (rc == 0)
        rc = fold(L, "__mr_combine_all", &g, &combined, jerr);
    groups_free(&g);
    if (rc == 0) {
        wire_writer_free(pairs);
        *pairs = combined;
    } else {
        wire_writer_free(&combined);
    }
    return rc;
}

/* Splits pairs into one writer per reducer. */
static int partition_pairs(struct tlua *L, const struct mr_task *t, const struct wire_writer *pairs,
                           struct wire_writer *parts, struct mr_outcome *o,
                           struct cloister_err *jerr)
{
    bool custom = tlua_has(L, "partition");
    struct wire_reader r;
    size_t klen, vlen;
    wire_reader_init(&r, pairs->buf, pairs->len);
    while (wire_reader_remaining(&r) > 0) {
        struct pair p = {0};
        p.k = tlua_value_next(&r, &klen);
        p.v = tlua_value_next(&r, &vlen);
        p.klen = (uint32_t)klen;
        uint32_t dest = 0;
        if (!p.k || !p.v)
            return cloister_errf(jerr, CLOISTER_E_INVALID, "malformed pairs");
        int rc = partition_of(L, custom, &p, t->nreducers, &dest, jerr);
        if (rc != 0)
            return rc;
        wire_put_raw(&parts[dest], p.k, klen + vlen);
        o->records_out++;
    }
    return 0;
}

static int do_map(struct mr_worker *w, const uint8_t *in, size_t inlen, struct wire_writer *out,
                  struct cloister_err *err)
{
    struct wire_reader r;
    size_t tlen, slen, len;
    wire_reader_init(&r, in, inlen);
    const uint8_t *tc = wire_get_bytes(&r, SIZE_MAX, &tlen),
                  *sc = wire_get_bytes(&r, SIZE_MAX, &slen);
    if (wire_reader_finish(&r) != 0)
        return cloister_errf(err, CLOISTER_E_INVALID, "malformed map request");
    struct mr_task t;
    uint8_t *tbuf, *split = NULL;
    int rc = open_task(w, tc, tlen, MR_PHASE_MAP, &t, &tbuf, err);
    if (rc != 0)
        return rc;
    struct mr_chunk_id want = chunk_id(w, MR_KIND_SPLIT, t.round, t.task, t.attempt, 0);
    if ((rc = open_chunk(w, sc, slen, &want, ARRAY_ROOM, &split, &len, err)) != 0)
        goto done;
    struct wire_writer pairs, *parts = tee_calloc(t.nreducers, sizeof *parts);
    wire_writer_init(&pairs);
    struct mr_outcome o = {.ok = true};
    struct cloister_err jerr = {0};
    struct tlua *L = parts ? task_state(w, &t, "map", &jerr) : NULL;
    if (!parts)
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for %u partitions", t.nreducers);
    else if (!L || map_records(L, &t, split + ARRAY_ROOM, len, &pairs, &o, &jerr) != 0 ||
             partition_pairs(L, &t, &pairs, parts, &o, &jerr) != 0)
        fail_outcome(&o, &jerr);
    if (L) {
        struct tlua_stats st;
        tlua_stats(L, &st);
        o.heap_peak = st.memory_peak;
        tlua_free(L);
    }
    for (uint32_t p = 0; rc == 0 && p < t.nreducers; p++)
        if (!wire_writer_ok(&parts[p]))
            rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for partition %u", p);
    wire_put_varint(out, rc == 0 && o.ok ? t.nreducers : 0);
    for (uint32_t p = 0; rc == 0 && o.ok && p < t.nreducers; p++) {
        struct mr_chunk_id id = chunk_id(w, MR_KIND_SHUFFLE, t.round, t.task, t.attempt, p);
        struct wire_writer sealed;
        wire_writer_init(&sealed);
        if (mr_chunk_seal(w->aead, &id, parts[p].buf, parts[p].len, &sealed) != 0)
            rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory to seal partition %u", p);
        else
            wire_put_bytes(out, sealed.buf, sealed.len);
        wire_writer_free(&sealed);
    }
    if (rc == 0)
        rc = put_outcome(w, &t, &o, out, err);
    for (uint32_t p = 0; parts && p < t.nreducers; p++)
        wire_writer_free(&parts[p]);
    tee_free(parts);
    wire_writer_free(&pairs);
done:
    tee_free(split);
    tee_free(t.inputs);
    tee_free(tbuf);
    return rc;
}

/* ---- reduce ---- */

/* Makes the reduce state belong to task t (taking t's inputs), unless it already does. */
static int reduce_begin(struct mr_worker *w, struct mr_task *t, struct cloister_err *err)
{
    struct reduce_state *rs = &w->red;
    if (rs->active && rs->t.round == t->round && rs->t.task == t->task &&
        rs->t.attempt == t->attempt) {
        tee_free(t->inputs);
        t->inputs = NULL;
        return 0;
    }
    reduce_reset(rs);
    rs->t = *t;
    rs->t.params = NULL;
    rs->t.params_len = 0;
    t->inputs = NULL;
    rs->seen = tee_calloc(rs->t.ninputs ? rs->t.ninputs : 1, 1);
    wire_writer_init(&rs->pairs);
    rs->active = rs->seen != NULL;
    return rs->active ? 0 : cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for a reduce");
}

/* Reads and opens the reduce request's task chunk and makes the reduce state its own. */
static int reduce_enter(struct mr_worker *w, struct wire_reader *r, struct cloister_err *err)
{
    size_t tlen;
    const uint8_t *tc = wire_get_bytes(r, SIZE_MAX, &tlen);
    if (!wire_reader_ok(r))
        return cloister_errf(err, CLOISTER_E_INVALID, "malformed reduce request");
    struct mr_task t;
    uint8_t *tbuf;
    int rc = open_task(w, tc, tlen, MR_PHASE_REDUCE, &t, &tbuf, err);
    if (rc == 0)
        rc = reduce_begin(w, &t, err);
    tee_free(tbuf);
    return rc;
}

static long input_index(const struct mr_task *t, uint32_t task)
{
    if (task < t->ninputs && t->inputs[task].task == task)
        return task;
    for (uint32_t i = 0; i < t->ninputs; i++)
        if (t->inputs[i].task == task)
            return i;
    return -1;
}

/* Takes one shuffle chunk; false when it is refused (*producer: the map task it claims). */
static bool reduce_take(struct mr_worker *w, const uint8_t *c, size_t clen, uint32_t *producer)
{
    struct reduce_state *rs = &w->red;
    struct mr_chunk_id got;
    struct cloister_err e;
    *producer = UINT32_MAX;
    if (mr_chunk_peek(c, clen, &got, &e) != 0)
        return false;
    *producer = got.task;
    long i = input_index(&rs->t, got.task);
    if (i < 0 || rs->seen[i])
        return false;
    struct mr_chunk_id want = chunk_id(w, MR_KIND_SHUFFLE, rs->t.round, rs->t.inputs[i].task,
                                       rs->t.inputs[i].attempt, rs->t.partition);
    uint8_t *pt = wire_writer_reserve(&rs->pairs, clen);
    if (!pt || clen < MR_CHUNK_OVERHEAD || mr_chunk_open(w->aead, c, clen, &want, pt, &e) != 0)
        return false;
    wire_writer_commit(&rs->pairs, clen - MR_CHUNK_OVERHEAD);
    rs->seen[i] = 1;
    return true;
}

/* ---- spilling sorted runs ---- */

#define SEGMENT_MAX ((size_t)256 << 10) /* plaintext bytes per spill segment, at most */

static int key_cmp(const uint8_t *a, uint32_t alen, const uint8_t *b, uint32_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

static bool group_less(const struct group *x, const struct group *y)
{
    return key_cmp(x->k, x->klen, y->k, y->klen) < 0;
}

static void sift_down(struct group *g, size_t root, size_t n)
{
    for (size_t c; (c = 2 * root + 1) < n; root = c) {
        if (c + 1 < n && group_less(&g[c], &g[c + 1]))
            c++;
        if (!group_less(&g[root], &g[c]))
            return;
        struct group t = g[root];
        g[root] = g[c];
        g[c] = t;
    }
}

/* Sorts groups by key in place: a heapsort, since glibc's qsort may ask the kernel for the
 * machine's memory (a system call the enclave's sandbox refuses) and keys are distinct. */
static void sort_groups(struct group *g, size_t n)
{
    for (size_t i = n / 2; i-- > 0;)
        sift_down(g, i, n);
    for (size_t end = n; end-- > 1;) {
        struct group t = g[0];
        g[0] = g[end];
        g[end] = t;
        sift_down(g, 0, end);
    }
}

/* Writes the pairs of buf to sorted ordered by key (their encodings' bytes), each key's values
 * in their order: a merge that takes equal keys from the earlier run first then hands reduce
 * the values in the order it would have seen them without spilling. */
static int sort_pairs(const uint8_t *buf, size_t len, struct wire_writer *sorted,
                      struct cloister_err *err)
{
    struct groups g;
    int rc = group_pairs(&g, buf, len, err);
    if (rc == 0)
        sort_groups(g.g, g.ng);
    for (size_t k = 0; rc == 0 && k < g.ng; k++)
        for (uint32_t j = g.g[k].start; j < g.g[k].start + g.g[k].count; j++) {
            const struct pair *p = &g.p[g.order[j]];
            wire_put_raw(sorted, p->k, p->klen);
            wire_put_raw(sorted, p->v, p->vlen);
        }
    groups_free(&g);
    if (rc == 0 && !wire_writer_ok(sorted))
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory to sort a reducer's run");
    return rc;
}

/* A segment is an eighth of the cap (so that a merge of many runs stays near it), within
 * [256 B, SEGMENT_MAX]. */
static size_t segment_bytes(const struct reduce_state *rs)
{
    uint64_t s = rs->t.reduce_memory / 8;
    return s < 256 ? 256 : s > SEGMENT_MAX ? SEGMENT_MAX : (size_t)s;
}

/* Appends a run (the held pairs, sorted) to rs->runs; *sorted gets its plaintext. */
static struct run *new_run(struct reduce_state *rs, struct wire_writer *sorted,
                           struct cloister_err *err)
{
    wire_writer_init(sorted);
    if (sort_pairs(rs->pairs.buf, rs->pairs.len, sorted, err) != 0)
        return NULL;
    struct run *runs = tee_realloc(rs->runs, (rs->nruns + 1) * sizeof *runs);
    if (!runs) {
        cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for a reducer's run");
        return NULL;
    }
    rs->runs = runs;
    memset(&runs[rs->nruns], 0, sizeof *runs);
    rs->pairs.len = 0;
    return &runs[rs->nruns++];
}

/* Sorts the held pairs into a run and seals it, segment by segment (whole pairs each), into out
 * (bytes fields) for the host to keep. */
static int spill_run(struct mr_worker *w, struct wire_writer *out, size_t *nout,
                     struct cloister_err *err)
{
    struct reduce_state *rs = &w->red;
    struct wire_writer sorted, seg;
    wire_writer_init(&seg);
    struct run *run = new_run(rs, &sorted, err);
    int rc = run ? 0 : -1;
    struct wire_reader r;
    wire_reader_init(&r, sorted.buf, run ? sorted.len : 0);
    size_t start = 0, klen, vlen, seglen = segment_bytes(rs);
    while (rc == 0 && wire_reader_remaining(&r) > 0) {
        if (!tlua_value_next(&r, &klen) || !tlua_value_next(&r, &vlen))
            rc = cloister_errf(err, CLOISTER_E_INVALID, "malformed pairs");
        if (rc != 0 || (r.off - start < seglen && wire_reader_remaining(&r) > 0))
            continue;
        struct mr_chunk_id id = chunk_id(w, MR_KIND_SPILL, rs->t.round, rs->t.task, rs->t.attempt,
                                         rs->nruns - 1);
        id.seq = run->nsegs++;
        seg.len = 0;
        if (mr_chunk_seal(w->aead, &id, sorted.buf + start, r.off - start, &seg) != 0)
            rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory to seal a run");
        wire_put_bytes(out, seg.buf, seg.len);
        (*nout)++;
        start = r.off;
    }
    wire_writer_free(&sorted);
    wire_writer_free(&seg);
    return rc;
}

/* Moves a run's cursor to its next pair (has_head false at the end of its segment). */
static int run_advance(struct run *x, struct cloister_err *err)
{
    size_t klen, vlen;
    x->has_head = false;
    if (wire_reader_remaining(&x->r) == 0) {
        x->buf.len = 0;
        return 0;
    }
    const uint8_t *k = tlua_value_next(&x->r, &klen), *v = tlua_value_next(&x->r, &vlen);
    if (!k || !v)
        return cloister_errf(err, CLOISTER_E_INVALID, "malformed run");
    x->head = (struct pair){k, v, (uint32_t)klen, (uint32_t)vlen};
    x->has_head = true;
    return 0;
}

/* Takes a segment the host was asked for; false when it is refused (not the one asked for,
 * tampered, truncated, replayed or of another run). */
static bool spill_take(struct mr_worker *w, const uint8_t *c, size_t clen)
{
    struct reduce_state *rs = &w->red;
    struct mr_chunk_id got;
    struct cloister_err e;
    if (!rs->merging || mr_chunk_peek(c, clen, &got, &e) != 0 || got.partition >= rs->nruns)
        return false;
    struct run *x = &rs->runs[got.partition];
    if (!x->asked || x->has_head)
        return false;
    struct mr_chunk_id want = chunk_id(w, MR_KIND_SPILL, rs->t.round, rs->t.task, rs->t.attempt,
                                       got.partition);
    want.seq = x->next;
    x->buf.len = 0;
    uint8_t *pt = wire_writer_reserve(&x->buf, clen);
    if (!pt || clen < MR_CHUNK_OVERHEAD || mr_chunk_open(w->aead, c, clen, &want, pt, &e) != 0)
        return false;
    wire_writer_commit(&x->buf, clen - MR_CHUNK_OVERHEAD);
    wire_reader_init(&x->r, x->buf.buf, x->buf.len);
    x->next++;
    x->asked = false;
    return run_advance(x, &e) == 0 && x->has_head;
}

/* Lists in need the runs whose segment is used up and that have more, as many as one request
 * carries; 0 when the merge can go on. */
static size_t ask_segments(struct reduce_state *rs, struct wire_writer *need)
{
    size_t n = 0, most = MR_MESSAGE_MAX / 4 / (segment_bytes(rs) + MR_CHUNK_OVERHEAD);
    for (uint32_t i = 0; i < rs->nruns && n < most; i++) {
        struct run *x = &rs->runs[i];
        if (x->has_head || x->next >= x->nsegs)
            continue;
        wire_put_u32(need, i);
        wire_put_u32(need, x->next);
        x->asked = true;
        n++;
    }
    return n;
}

/* Reduces the pending pairs: whole keys, since the merge flushes only between keys. */
static int reduce_pending(struct reduce_state *rs, struct cloister_err *jerr)
{
    struct groups g;
    int rc = group_pairs(&g, rs->pending.buf, rs->pending.len, jerr);
    if (rc == 0) {
        rs->o.records_in += g.n;
        rc = fold(rs->L, "__mr_reduce_all", &g, &rs->results, jerr);
    }
    groups_free(&g);
    rs->pending.len = 0;
    return rc;
}

/* Merges the runs' heads into reduce calls until a run needs its next segment (*nneed > 0,
 * listed in need) or every run is used up. Runs are few: a scan finds the least head, the
 * earlier run winning ties. */
static int merge(struct reduce_state *rs, struct wire_writer *need, size_t *nneed,
                 struct cloister_err *jerr)
{
    if ((*nneed = ask_segments(rs, need)) > 0)
        return 0;
    for (;;) {
        struct run *min = NULL;
        for (uint32_t i = 0; i < rs->nruns; i++) {
            struct run *x = &rs->runs[i];
            if (x->has_head &&
                (!min || key_cmp(x->head.k, x->head.klen, min->head.k, min->head.klen) < 0))
                min = x;
        }
        if (!min)
            return reduce_pending(rs, jerr);
        const struct pair *p = &min->head;
        if (rs->pending.len >= FOLD_BATCH &&
            key_cmp(rs->pending.buf + rs->last_key, (uint32_t)rs->last_klen, p->k, p->klen) != 0 &&
            reduce_pending(rs, jerr) != 0)
            return jerr->code;
        rs->last_key = rs->pending.len;
        rs->last_klen = p->klen;
        wire_put_raw(&rs->pending, p->k, p->klen);
        wire_put_raw(&rs->pending, p->v, p->vlen);
        if (!wire_writer_ok(&rs->pending))
            return cloister_errf(jerr, CLOISTER_E_NO_MEMORY, "no memory to merge runs");
        if (run_advance(min, jerr) != 0)
            return jerr->code;
        if (!min->has_head && min->next < min->nsegs) {
            *nneed = ask_segments(rs, need);
            return 0;
        }
    }
}

/* Starts the merge: the held remainder becomes the last run, read in place. */
static int merge_begin(struct mr_worker *w, struct cloister_err *jerr)
{
    struct reduce_state *rs = &w->red;
    struct wire_writer sorted;
    struct run *x = new_run(rs, &sorted, jerr);
    if (!x)
        return jerr->code;
    x->buf = sorted;
    wire_reader_init(&x->r, x->buf.buf, x->buf.len);
    rs->merging = true;
    rs->o = (struct mr_outcome){.ok = true};
    if (run_advance(x, jerr) != 0)
        return jerr->code;
    return (rs->L = task_state(w, &rs->t, "reduce", jerr)) ? 0 : jerr->code;
}

static int do_reduce_add(struct mr_worker *w, const uint8_t *in, size_t inlen,
                         struct wire_writer *out, struct cloister_err *err)
{
    struct wire_reader r;
    size_t clen;
    wire_reader_init(&r, in, inlen);
    int rc = reduce_enter(w, &r, err);
    size_t n = wire_get_count(&r, 1, MR_INPUTS_MAX);
    if (rc == 0 && !wire_reader_ok(&r))
        rc = cloister_errf(err, CLOISTER_E_INVALID, "malformed reduce request");
    if (rc != 0)
        return rc;
    struct reduce_state *rs = &w->red;
    struct wire_writer refused, spilled;
    wire_writer_init(&refused);
    wire_writer_init(&spilled);
    size_t nrefused = 0, nspilled = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const uint8_t *c = wire_get_bytes(&r, SIZE_MAX, &clen);
        uint32_t producer;
        if (c && !reduce_take(w, c, clen, &producer)) {
            wire_put_u32(&refused, producer);
            nrefused++;
        }
        if (rs->t.reduce_memory && rs->pairs.len >= rs->t.reduce_memory)
            rc = spill_run(w, &spilled, &nspilled, err);
    }
    if (rc == 0 && wire_reader_finish(&r) != 0)
        rc = cloister_errf(err, CLOISTER_E_INVALID, "malformed reduce request");
    if (rc == 0 && !wire_writer_ok(&spilled))
        rc = cloister_errf(err, CLOISTER_E_NO_MEMORY, "no memory for a reducer's runs");
    wire_put_varint(out, nrefused);
    wire_put_raw(out, refused.buf, refused.len);
    wire_put_varint(out, nspilled);
    wire_put_raw(out, spilled.buf, spilled.len);
    wire_writer_free(&refused);
    wire_writer_free(&spilled);
    return rc;
}

/* The Lua state's peak and the results' count into o, and the state freed. */
static void reduce_stats(struct tlua *L, const struct wire_writer *results, int rc,
                         struct mr_outcome *o)
{
    struct wire_reader r;
    wire_reader_init(&r, results->buf, rc == 0 ? results->len : 0);
    while (wire_reader_remaining(&r) > 0 && tlua_value_next(&r, &(size_t){0}))
        o->records_out++;
    o->records_out /= 2;
    if (L) {
        struct tlua_stats st;
        tlua_stats(L, &st);
        o->heap_peak = st.memory_peak;
        tlua_free(L);
    }
}

static int reduce_run(struct mr_worker *w, struct mr_outcome *o, struct wire_writer *results,
                      struct cloister_err *jerr)
{
    struct reduce_state *rs = &w->red;
    struct groups g = {0};
    struct tlua *L = task_state(w, &rs->t, "reduce", jerr);
    int rc = L ? group_pairs(&g, rs->pairs.buf, rs->pairs.len, jerr) : jerr->code;
    if (rc == 0) {
        o->records_in = g.n;
        rc = fold(L, "__mr_reduce_all", &g, results, jerr);
    }
    reduce_stats(L, results, rc, o);
    groups_free(&g);
    return rc;
}

/* Reduces a task whose runs were spilled, one step per ecall: true when its outcome is out,
 * false when out lists the segments wanted next. */
static int reduce_merged(struct mr_worker *w, struct wire_writer *out, bool *done,
                         struct cloister_err *err)
{
    struct reduce_state *rs = &w->red;
    struct cloister_err jerr = {0};
    struct wire_writer need;
    size_t nneed = 0;
    wire_writer_init(&need);
    int jrc = rs->merging ? 0 : merge_begin(w, &jerr);
    if (jrc == 0)
        jrc = merge(rs, &need, &nneed, &jerr);
    *done = jrc != 0 || nneed == 0;
    wire_put_varint(out, *done ? 0 : nneed);
    wire_put_raw(out, need.buf, *done ? 0 : need.len);
    wire_writer_free(&need);
    if (!*done)
        return 0;
    if (jrc != 0)
        fail_outcome(&rs->o, &jerr);
    reduce_stats(rs->L, &rs->results, jrc, &rs->o);
    rs->L = NULL;
    rs->o.payload = rs->results.buf;
    rs->o.payload_len = rs->o.ok ? rs->results.len : 0;
    struct mr_task t = rs->t;
    return put_outcome(w, &t, &rs->o, out, err);
}

/* Reads the segments a reduce end brings; false if one is refused or one asked for is not
 * there. */
static bool take_segments(struct mr_worker *w, struct wire_reader *r)
{
    struct reduce_state *rs = &w->red;
    size_t n = wire_get_count(r, 1, MR_INPUTS_MAX), clen;
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *c = wire_get_bytes(r, SIZE_MAX, &clen);
        ok = ok && c && spill_take(w, c, clen);
    }
    for (uint32_t i = 0; i < rs->nruns; i++)
        ok = ok && !rs->runs[i].asked;
    return ok;
}

static int do_reduce_end(struct mr_worker *w, const uint8_t *in, size_t inlen,
                         struct wire_writer *out, struct cloister_err *err)
{
    struct wire_reader r;
    wire_reader_init(&r, in, inlen);
    int rc = reduce_enter(w, &r, err);
    if (rc != 0)
        return rc;
    bool taken = take_segments(w, &r);
    if (wire_reader_finish(&r) != 0) {
        reduce_reset(&w->red);
        return cloister_errf(err, CLOISTER_E_INVALID, "malformed reduce request");
    }
    struct reduce_state *rs = &w->red;
    if (!taken) { /* a spill segment refused: the reduce task names itself */
        wire_put_varint(out, 1);
        wire_put_u32(out, rs->t.task);
        reduce_reset(rs);
        return 0;
    }
    size_t missing = 0;
    for (uint32_t i = 0; i < rs->t.ninputs; i++)
        missing += !rs->seen[i];
    wire_put_varint(out, missing);
    for (uint32_t i = 0; i < rs->t.ninputs; i++)
        if (!rs->seen[i])
            wire_put_u32(out, rs->t.inputs[i].task);
    bool done = true;
    if (missing == 0 && rs->nruns > 0) {
        rc = reduce_merged(w, out, &done, err);
    } else if (missing == 0) {
        struct mr_outcome o = {.ok = true};
        struct cloister_err jerr = {0};
        struct wire_writer results;
        wire_writer_init(&results);
        if (reduce_run(w, &o, &results, &jerr) != 0)
            fail_outcome(&o, &jerr);
        o.payload = results.buf;
        o.payload_len = o.ok ? results.len : 0;
        struct mr_task t = rs->t;
        wire_put_varint(out, 0);
        rc = put_outcome(w, &t, &o, out, err);
        wire_writer_free(&results);
    }
    if (done || rc != 0)
        reduce_reset(rs);
    return rc;
}

int mr_worker_call(struct mr_worker *w, uint32_t fn, const uint8_t *in, size_t inlen,
                   struct wire_writer *out, struct cloister_err *err)
{
    if (!w->has_key)
        return cloister_errf(err, CLOISTER_E_STATE, "no job key provisioned");
    switch (fn) {
    case MR_ECALL_LOAD: return do_load(w, in, inlen, err);
    case MR_ECALL_MAP: return do_map(w, in, inlen, out, err);
    case MR_ECALL_REDUCE_ADD: return do_reduce_add(w, in, inlen, out, err);
    case MR_ECALL_REDUCE_END: return do_reduce_end(w, in, inlen, out, err);
    default: return cloister_errf(err, CLOISTER_E_NO_ECALL, "no MapReduce call %u", fn);
    }
}
