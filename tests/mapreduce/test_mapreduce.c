/* test_mapreduce.c -- the embedded MapReduce engine (mapreduce.h) end to end.
 *
 * Word count equals a C counter and k-means a plain C implementation with the same start, in
 * the none, sim and proc backends and with 1 to 8 reducers; sandbox escapes fail the job with
 * the sandbox's message through the job path, no worker dies; a host that tampers with or
 * replays shuffle chunks has them refused, counted and re-run; a worker killed mid-job has its
 * task re-run; malformed jobs fail before any worker starts, malformed inputs with a message. */
#include <cloister/crypto.h>
#include <cloister/mapreduce.h>
#include <cloister/tee_enclave.h>

#include <ctype.h>
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "bus/bus.h"
#include "util/fileio.h"

TEE_ENCLAVE_DECLARE(mapreduce);

extern char **environ;

static char dir[4096], sig[4200], text[4200], points[4200];
static struct bus_server *nats; /* NULL: nats-server is not installed, the NATS tests skip */

static void path(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", dir, name);
}

static void spill(const char *name, const char *body)
{
    char p[4200];
    path(p, sizeof p, name);
    assert_int_equal(file_write_atomic(p, body, strlen(body), 0644), 0);
}

static void options(struct mr_options *o, enum mr_tee tee, const char *job, const char *input,
                    unsigned reducers)
{
    static char jobp[4200], out[4200];
    static const char *inputs[1];
    mr_options_init(o);
    snprintf(jobp, sizeof jobp, "%s/%s", job[0] == '/' ? "" : dir, job);
    if (job[0] == '/')
        snprintf(jobp, sizeof jobp, "%s", job);
    path(out, sizeof out, "out");
    inputs[0] = input;
    o->job = jobp;
    o->inputs = inputs;
    o->ninputs = 1;
    o->output = out;
    o->tee = tee;
    o->reducers = reducers;
    o->workers = 2;
    o->split_bytes = 16 << 10;
    o->allow_simulated = true;
    o->signature = sig;
    o->enclave = &tee_enclave_mapreduce;
    o->inproc = &mr_inproc_worker;
}

static const char *example(const char *name)
{
    static char p[4200];
    snprintf(p, sizeof p, "%s/examples/mapreduce/%s", CLOISTER_SOURCE_DIR, name);
    return p;
}

static int run(struct mr_options *o, struct mr_summary *s, struct cloister_err *err)
{
    int rc = mr_run(o, s, err);
    if (rc != 0)
        print_message("mr_run: %s\n", err->msg);
    return rc;
}

/* ---- word count ---- */

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The expected lines {"key":"w","value":n}, sorted. */
static char **wordcount_oracle(const char *file, size_t *n)
{
    uint8_t *t;
    size_t len, nw = 0, cap = 1024;
    assert_int_equal(file_read_all(file, 1 << 30, &t, &len), 0);
    char **words = malloc(cap * sizeof *words);
    for (size_t i = 0; i < len;) {
        if (!isalpha(t[i]) || t[i] >= 0x80) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < len && t[j] < 0x80 && isalpha(t[j]))
            t[j] = (uint8_t)tolower(t[j]), j++;
        if (nw == cap)
            words = realloc(words, (cap *= 2) * sizeof *words);
        words[nw++] = strndup((char *)t + i, j - i);
        i = j;
    }
    qsort(words, nw, sizeof *words, str_cmp);
    char **lines = malloc((nw + 1) * sizeof *lines);
    *n = 0;
    for (size_t i = 0, j; i < nw; i = j) {
        for (j = i; j < nw && strcmp(words[i], words[j]) == 0; j++)
            ;
        char line[256];
        snprintf(line, sizeof line, "{\"key\":\"%s\",\"value\":%zu}", words[i], j - i);
        lines[(*n)++] = strdup(line);
    }
    for (size_t i = 0; i < nw; i++)
        free(words[i]);
    free(words);
    free(t);
    return lines;
}

/* Every line of out/part-0..R-1.jsonl, sorted; each part must itself be sorted by key. */
static char **output_lines(unsigned R, size_t *n)
{
    size_t cap = 1024;
    char **lines = malloc(cap * sizeof *lines);
    *n = 0;
    for (unsigned p = 0; p < R; p++) {
        char name[64], file[4200];
        snprintf(name, sizeof name, "out/part-%u.jsonl", p);
        path(file, sizeof file, name);
        uint8_t *t;
        size_t len;
        assert_int_equal(file_read_all(file, 1 << 30, &t, &len), 0);
        char *save, *prev = NULL;
        for (char *l = strtok_r((char *)t, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
            if (prev)
                assert_true(strcmp(prev, l) < 0);
            prev = l;
            if (*n == cap)
                lines = realloc(lines, (cap *= 2) * sizeof *lines);
            lines[(*n)++] = strdup(l);
        }
        free(t);
    }
    qsort(lines, *n, sizeof *lines, str_cmp);
    return lines;
}

static void free_lines(char **l, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(l[i]);
    free(l);
}

static void check_wordcount(unsigned R)
{
    size_t ne, ng;
    char **want = wordcount_oracle(text, &ne), **got = output_lines(R, &ng);
    assert_int_equal(ng, ne);
    for (size_t i = 0; i < ne; i++)
        assert_string_equal(got[i], want[i]);
    free_lines(want, ne);
    free_lines(got, ng);
    char ok[4200];
    path(ok, sizeof ok, "out/_SUCCESS");
    assert_int_equal(access(ok, F_OK), 0);
}

static void wordcount_in(enum mr_tee tee, const unsigned *rs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct mr_options o;
        struct mr_summary s;
        struct cloister_err err;
        options(&o, tee, example("wordcount.lua"), text, rs[i]);
        assert_int_equal(run(&o, &s, &err), 0);
        check_wordcount(rs[i]);
        assert_int_equal(s.refused_chunks, 0);
        assert_true(s.map_tasks > 4);
        /* batching: one ecall per split whatever its records, two per reducer, and per worker
         * one load and two for provisioning */
        assert_true(s.records_in > 10 * s.map_tasks);
        assert_true(s.ecalls <= 3 * o.workers + s.map_tasks + 2 * s.reduce_tasks);
        assert_int_equal(s.simulated, tee != MR_TEE_NONE);
    }
}

static void test_wordcount_none(void **state)
{
    static const unsigned rs[] = {1, 2, 3, 4, 5, 6, 7, 8};
    wordcount_in(MR_TEE_NONE, rs, 8);
}

static void test_wordcount_sim(void **state)
{
    static const unsigned rs[] = {1, 4};
    wordcount_in(MR_TEE_SIM, rs, 2);
}

static void test_wordcount_proc(void **state)
{
    static const unsigned rs[] = {1, 8};
    wordcount_in(MR_TEE_PROC, rs, 2);
}

/* ---- k-means ---- */

#define KM_K 8
#define KM_DIM 2

/* The plain implementation: same start (the first K distinct lines), same stopping rule. */
static size_t kmeans_oracle(double centres[KM_K][KM_DIM], size_t counts[KM_K])
{
    uint8_t *t;
    size_t len, n = 0, nc = 0;
    assert_int_equal(file_read_all(points, 1 << 30, &t, &len), 0);
    double(*p)[KM_DIM] = malloc(len / 4 * sizeof *p);
    char *save, *firsts[KM_K];
    for (char *l = strtok_r((char *)t, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        bool seen = false;
        for (size_t c = 0; c < nc; c++)
            seen |= strcmp(firsts[c], l) == 0;
        if (!seen && nc < KM_K)
            firsts[nc++] = l;
        assert_int_equal(sscanf(l, "%lf,%lf", &p[n][0], &p[n][1]), 2);
        if (!seen && nc <= KM_K && firsts[nc - 1] == l)
            memcpy(centres[nc - 1], p[n], sizeof p[n]);
        n++;
    }
    size_t rounds = 0;
    for (;;) {
        double sum[KM_K][KM_DIM] = {{0}}, mn[KM_DIM] = {INFINITY, INFINITY},
               mx[KM_DIM] = {-INFINITY, -INFINITY};
        memset(counts, 0, KM_K * sizeof *counts);
        for (size_t i = 0; i < n; i++) {
            size_t best = 0;
            double bestd = INFINITY;
            for (size_t c = 0; c < KM_K; c++) {
                double d = 0;
                for (int j = 0; j < KM_DIM; j++)
                    d += (p[i][j] - centres[c][j]) * (p[i][j] - centres[c][j]);
                if (d < bestd)
                    best = c, bestd = d;
            }
            counts[best]++;
            for (int j = 0; j < KM_DIM; j++) {
                sum[best][j] += p[i][j];
                mn[j] = fmin(mn[j], p[i][j]);
                mx[j] = fmax(mx[j], p[i][j]);
            }
        }
        double moved = 0, diag = 0;
        for (size_t c = 0; c < KM_K; c++) {
            if (!counts[c])
                continue;
            double d = 0;
            for (int j = 0; j < KM_DIM; j++) {
                double m = sum[c][j] / (double)counts[c];
                d += (m - centres[c][j]) * (m - centres[c][j]);
                centres[c][j] = m;
            }
            moved = fmax(moved, sqrt(d));
        }
        for (int j = 0; j < KM_DIM; j++)
            diag += (mx[j] - mn[j]) * (mx[j] - mn[j]);
        rounds++;
        if (moved < 1e-3 * sqrt(diag) || rounds == 100)
            break;
    }
    free(p);
    free(t);
    return rounds;
}

static void kmeans_in(enum mr_tee tee, unsigned R)
{
    double want[KM_K][KM_DIM];
    size_t counts[KM_K];
    size_t rounds = kmeans_oracle(want, counts);
    struct mr_options o;
    struct mr_summary s;
    struct cloister_err err;
    options(&o, tee, example("kmeans.lua"), points, R);
    assert_int_equal(run(&o, &s, &err), 0);
    assert_int_equal(s.rounds, rounds);
    size_t n;
    char **lines = output_lines(R, &n);
    size_t seen = 0;
    for (size_t i = 0; i < n; i++) {
        json_error_t e;
        json_t *j = json_loads(lines[i], 0, &e);
        assert_non_null(j);
        json_int_t c = json_integer_value(json_object_get(j, "key")) - 1;
        json_t *v = json_object_get(j, "value"), *centre = json_object_get(v, "centre");
        assert_true(c >= 0 && c < KM_K);
        assert_int_equal(json_integer_value(json_object_get(v, "n")), counts[c]);
        for (int d = 0; d < KM_DIM; d++)
            assert_true(fabs(json_real_value(json_array_get(centre, d)) - want[c][d]) < 1e-9);
        seen += counts[c];
        json_decref(j);
    }
    assert_true(seen > 0);
    free_lines(lines, n);
}

static void test_kmeans(void **state)
{
    kmeans_in(MR_TEE_NONE, 3);
    kmeans_in(MR_TEE_PROC, 2);
}

/* ---- the sandbox through the job path ---- */

struct escape {
    const char *body, *want;
};

static void test_escapes(void **state)
{
    static const struct escape cases[] = {
        {"function map(k, v) io.open('/etc/passwd') end", "global 'io'"},
        {"function map(k, v) os.execute('id') end", "global 'os'"},
        {"function map(k, v) require('os') end", "global 'require'"},
        {"function map(k, v) assert(load('\\27Lua')) () end", "attempt to load a binary chunk"},
        {"function map(k, v) string.dump(map) end", "field 'dump'"},
        {"function map(k, v) debug.getinfo(1) end", "global 'debug'"},
        {"function map(k, v) getmetatable('').__index.upper = nil end", "index a boolean"},
        {"function map(k, v) local t = {} for i = 1, 1e9 do t[i] = ('x'):rep(1000) .. i end end",
         "Lua memory limit"},
        {"function map(k, v) while true do end end", "instruction limit"},
        /* deep recursion: under a 16 MiB cap the stack meets the memory limit first */
        {"local function f(n) return 1 + f(n + 1) end function map(k, v) f(1) end",
         "Lua memory limit 16 MiB exceeded"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char body[512];
        snprintf(body, sizeof body, "%s\nfunction reduce(k, vs) return #vs end\n", cases[i].body);
        spill("escape.lua", body);
        struct mr_options o;
        struct mr_summary s;
        struct cloister_err err;
        options(&o, MR_TEE_PROC, "escape.lua", text, 1);
        o.workers = 1;
        o.lua_memory = 16 << 20;
        o.lua_instructions = 20000000;
        int rc = mr_run(&o, &s, &err);
        assert_int_equal(rc, CLOISTER_E_FAILED);
        if (!strstr(err.msg, cases[i].want) || !strstr(err.msg, "job escape, task map#"))
            fail_msg("case %zu: %s", i, err.msg);
        assert_int_equal(s.worker_restarts, 0); /* the worker survived */
        char part[4200];
        path(part, sizeof part, "out/part-0.jsonl");
        assert_int_not_equal(access(part, F_OK), 0);
    }
}

/* ---- malformed jobs and inputs ---- */

static void expect_failure(const char *job, const char *body, const char *input, int code,
                           const char *want)
{
    if (body)
        spill(job, body);
    struct mr_options o;
    struct mr_summary s;
    struct cloister_err err;
    options(&o, MR_TEE_PROC, job, input, 2);
    o.signature = "/nonexistent.sig"; /* bad jobs fail before any worker starts */
    assert_int_equal(mr_run(&o, &s, &err), code);
    if (!strstr(err.msg, want))
        fail_msg("%s: %s", job, err.msg);
}

static void test_malformed(void **state)
{
    expect_failure("syntax.lua", "function map(k, v) emit(k v) end", text, CLOISTER_E_INVALID,
                   "syntax.lua:1: ')' expected near 'v'");
    expect_failure("nomap.lua", "function reduce(k, v) end", text, CLOISTER_E_INVALID,
                   "defines no function map");
    expect_failure("noreduce.lua", "function map(k, v) end", text, CLOISTER_E_INVALID,
                   "defines no function reduce");
    expect_failure("bytecode.lua", "\x1bLua\x54\x00", text, CLOISTER_E_INVALID, "binary chunk");
    expect_failure("missing.lua", NULL, text, CLOISTER_E_INVALID, "missing.lua");
    char missing[4200];
    path(missing, sizeof missing, "no-such-input.txt");
    expect_failure("ok.lua", "function map(k, v) end function reduce(k, v) end", missing,
                   CLOISTER_E_INVALID, "no-such-input.txt");
    expect_failure("ok.lua", NULL, dir, CLOISTER_E_INVALID, "not a regular file");
    /* a bad JSON line fails the task with json.decode's message */
    char jsonl[4200];
    path(jsonl, sizeof jsonl, "bad.jsonl");
    spill("bad.jsonl", "{\"a\": 1}\n{\"a\": \n");
    spill("json.lua", "function map(k, v) emit(v.a, 1) end function reduce(k, v) return #v end");
    struct mr_options o;
    struct mr_summary s;
    struct cloister_err err;
    options(&o, MR_TEE_NONE, "json.lua", jsonl, 1);
    assert_int_equal(mr_run(&o, &s, &err), CLOISTER_E_FAILED);
    assert_non_null(strstr(err.msg, "json.decode"));
    /* CSV and JSON Lines records reach map as tables */
    char csv[4200];
    path(csv, sizeof csv, "in.csv");
    spill("in.csv", "a,\"b,c\",1\nx,\"y\"\"z\",2\n");
    spill("csv.lua", "function map(k, v) emit(v[2], #v) end function reduce(k, v) return v[1] end");
    options(&o, MR_TEE_NONE, "csv.lua", csv, 1);
    assert_int_equal(run(&o, &s, &err), 0);
    char part[4200];
    uint8_t *t;
    size_t len;
    path(part, sizeof part, "out/part-0.jsonl");
    assert_int_equal(file_read_all(part, 1 << 20, &t, &len), 0);
    assert_string_equal((char *)t,
                        "{\"key\":\"b,c\",\"value\":3}\n{\"key\":\"y\\\"z\",\"value\":3}\n");
    free(t);
}

/* ---- combine's view of a map task ---- */

/* The text of out/part-0.jsonl after a run of job over the one line-split input text. */
static char *run_one_part(const char *job, const char *text_body)
{
    char input[4200], part[4200];
    path(input, sizeof input, "fold.txt");
    spill("fold.txt", text_body);
    struct mr_options o;
    struct mr_summary s;
    struct cloister_err err;
    options(&o, MR_TEE_NONE, job, input, 1);
    o.split_bytes = 1 << 20; /* one map task: combine sees every value of a key */
    assert_int_equal(run(&o, &s, &err), 0);
    uint8_t *t;
    size_t len;
    path(part, sizeof part, "out/part-0.jsonl");
    assert_int_equal(file_read_all(part, 1 << 20, &t, &len), 0);
    return (char *)t;
}

/* combine sees each key once per map task with its values in emit order, keys and values of
 * every kind mixed (the line "switch" adds a number key with a table value). */
static void test_combine_order(void **state)
{
    spill("fold.lua", "local n = 0\n"
                      "function map(file, line)\n"
                      "  for w in string.gmatch(line, '%a+') do n = n + 1 emit(w, n) end\n"
                      "  if line == 'switch' then emit(7, {n}) end\n"
                      "end\n"
                      "function combine(k, vs)\n"
                      "  local s = {}\n"
                      "  for i = 1, #vs do s[i] = type(vs[i]) == 'table' and 't' or vs[i] end\n"
                      "  return table.concat(s, ',')\n"
                      "end\n"
                      "function reduce(k, vs) return vs[1] end\n");
    char *t = run_one_part("fold.lua", "b a b\nc a\n");
    assert_string_equal(t, "{\"key\":\"a\",\"value\":\"2,5\"}\n{\"key\":\"b\",\"value\":\"1,3\"}\n"
                           "{\"key\":\"c\",\"value\":\"4\"}\n");
    free(t);
    t = run_one_part("fold.lua", "b a b\nc a\nswitch\na c\n");
    assert_string_equal(t, "{\"key\":7,\"value\":\"t\"}\n{\"key\":\"a\",\"value\":\"2,5,7\"}\n"
                           "{\"key\":\"b\",\"value\":\"1,3\"}\n{\"key\":\"c\",\"value\":\"4,8\"}\n"
                           "{\"key\":\"switch\",\"value\":\"6\"}\n");
    free(t);
}

/* ---- hostile hosts ---- */

struct hostile {
    int mode; /* 1: flip a byte once; 2: replay the first chunk once in place of another */
    int done, gets;
    uint8_t *first;
    size_t first_len;
    pthread_mutex_t lock; /* workers read the shuffle from several threads at once */
};

static void hostile_get_locked(struct hostile *h, uint8_t **chunk, size_t *len)
{
    h->gets++;
    if (h->done)
        return;
    if (h->mode == 1 && *len > 60) {
        (*chunk)[*len - 20] ^= 0x40;
        h->done = 1;
    } else if (h->mode == 2 && !h->first) {
        h->first = malloc(*len);
        memcpy(h->first, *chunk, *len);
        h->first_len = *len;
    } else if (h->mode == 2) {
        free(*chunk);
        *chunk = malloc(h->first_len);
        memcpy(*chunk, h->first, h->first_len);
        *len = h->first_len;
        h->done = 1;
    }
}

static void hostile_get(void *arg, uint8_t **chunk, size_t *len)
{
    struct hostile *h = arg;
    pthread_mutex_lock(&h->lock);
    hostile_get_locked(h, chunk, len);
    pthread_mutex_unlock(&h->lock);
}

static void test_tampered_and_replayed(void **state)
{
    for (int mode = 1; mode <= 2; mode++) {
        struct hostile h = {.mode = mode, .lock = PTHREAD_MUTEX_INITIALIZER};
        struct mr_options o;
        struct mr_summary s;
        struct cloister_err err;
        options(&o, mode == 1 ? MR_TEE_PROC : MR_TEE_SIM, example("wordcount.lua"), text, 3);
        o.on_shuffle_get = hostile_get;
        o.hook_arg = &h;
        assert_int_equal(run(&o, &s, &err), 0);
        assert_int_equal(h.done, 1);
        assert_true(s.refused_chunks >= 1);
        assert_true(s.retries >= 2); /* the producing map task and the reduce task */
        check_wordcount(3);
        free(h.first);
    }
}

/* ---- reducer spill ---- */

/* A host reading back spilled run segments: counts them, notes whether a run other than the
 * first came back (the run number is the chunk header's partition, bytes 33..36), checks that
 * no more spill directories exist than workers (each task's is removed when it ends), and
 * plays a hostile host through h. */
struct spill_spy {
    struct hostile h;
    char dir[4200];
    int reads, later_runs, too_many_dirs;
};

static void spill_read(void *arg, uint8_t **chunk, size_t *len)
{
    struct spill_spy *sp = arg;
    pthread_mutex_lock(&sp->h.lock);
    sp->reads++;
    if (*len > 37 && ((*chunk)[33] | (*chunk)[34] | (*chunk)[35] | (*chunk)[36]))
        sp->later_runs++;
    DIR *d = opendir(sp->dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    sp->too_many_dirs += n > 2;
    if (sp->h.mode)
        hostile_get_locked(&sp->h, chunk, len);
    pthread_mutex_unlock(&sp->h.lock);
}

/* The smallest reduce memory: every reducer spills many sorted runs and merges them back,
 * and the output is the oracle's; a flipped byte in a run or a run read back in place of
 * another is refused and the reduce re-run. */
static void test_reduce_spill(void **state)
{
    static const enum mr_tee tees[] = {MR_TEE_NONE, MR_TEE_PROC, MR_TEE_NONE, MR_TEE_PROC};
    for (int i = 0; i < 4; i++) {
        struct spill_spy sp = {
            .h = {.mode = i / 2 == 0 ? 0 : i - 1, .lock = PTHREAD_MUTEX_INITIALIZER}};
        struct mr_options o;
        struct mr_summary s;
        struct cloister_err err;
        options(&o, tees[i], example("wordcount.lua"), text, 3);
        o.reduce_memory = MR_REDUCE_MEMORY_MIN;
        o.on_spill_read = spill_read;
        o.hook_arg = &sp;
        snprintf(sp.dir, sizeof sp.dir, "%s/.mr-work/spill", o.output);
        assert_int_equal(run(&o, &s, &err), 0);
        check_wordcount(3);
        assert_true(sp.reads > 20);
        assert_true(sp.later_runs > 0);
        assert_int_equal(sp.too_many_dirs, 0);
        if (sp.h.mode) {
            assert_int_equal(sp.h.done, 1);
            assert_true(s.refused_chunks >= 1);
            assert_true(s.retries >= 1);
        } else {
            assert_int_equal(s.refused_chunks, 0);
        }
        free(sp.h.first);
    }
}

static void kill_first(void *arg, uint64_t maps_done, const int *pids, unsigned n)
{
    int *killed = arg;
    if (!*killed && maps_done == 2 && n > 0 && pids[0] > 0) {
        kill(pids[0], SIGKILL);
        *killed = 1;
    }
}

static void test_killed_worker(void **state)
{
    int killed = 0;
    struct mr_options o;
    struct mr_summary s;
    struct cloister_err err;
    options(&o, MR_TEE_PROC, example("wordcount.lua"), text, 2);
    o.on_map_done = kill_first;
    o.hook_arg = &killed;
    assert_int_equal(run(&o, &s, &err), 0);
    assert_int_equal(killed, 1);
    assert_int_equal(s.worker_restarts, 1);
    check_wordcount(2);
}

static void test_stop(void **state)
{
    volatile sig_atomic_t stop = 1;
    struct mr_options o;
    struct mr_summary s;
    struct cloister_err err;
    options(&o, MR_TEE_NONE, example("wordcount.lua"), text, 2);
    o.stop = &stop;
    assert_int_equal(mr_run(&o, &s, &err), CLOISTER_E_STATE);
    char part[4200];
    path(part, sizeof part, "out/_SUCCESS");
    assert_int_not_equal(access(part, F_OK), 0);
    path(part, sizeof part, "out/part-0.jsonl");
    assert_int_not_equal(access(part, F_OK), 0);
}

/* ---- over NATS JetStream: the same engine, tasks, results and shuffle through a real server ---- */

static void test_nats(void **state)
{
    if (!nats) {
        print_message("nats-server is not installed: skipped\n");
        skip();
    }
    struct mr_options o;
    struct mr_summary s;
    struct cloister_err err;
    options(&o, MR_TEE_PROC, example("wordcount.lua"), text, 2);
    o.nats = bus_server_url(nats);
    assert_int_equal(run(&o, &s, &err), 0);
    check_wordcount(2);
    assert_int_equal(s.refused_chunks, 0);
    /* a tampered chunk read back from the shuffle stream is refused and its tasks re-run */
    struct hostile h = {.mode = 1, .lock = PTHREAD_MUTEX_INITIALIZER};
    options(&o, MR_TEE_SIM, example("wordcount.lua"), text, 3);
    o.nats = bus_server_url(nats);
    o.on_shuffle_get = hostile_get;
    o.hook_arg = &h;
    assert_int_equal(run(&o, &s, &err), 0);
    assert_true(s.refused_chunks >= 1);
    check_wordcount(3);
    /* a worker killed mid-job: its task is re-run, the result still exact */
    int killed = 0;
    options(&o, MR_TEE_PROC, example("wordcount.lua"), text, 2);
    o.nats = bus_server_url(nats);
    o.on_map_done = kill_first;
    o.hook_arg = &killed;
    assert_int_equal(run(&o, &s, &err), 0);
    assert_int_equal(killed, 1);
    check_wordcount(2);
}

/* ---- remote workers: `cloister mapreduce worker` processes joining over NATS ---- */

/* Word count with a spin per line, so a task lasts long enough to be killed or redelivered. */
static void spill_slow_job(const char *name, int spin)
{
    char body[1024];
    snprintf(body, sizeof body,
             "local gmatch, lower = string.gmatch, string.lower\n"
             "function map(file, line)\n"
             "  local x = 0\n"
             "  for i = 1, %d do x = x + i end\n"
             "  for word in gmatch(line, \"%%a+\") do emit(lower(word), 1) end\n"
             "end\n"
             "function combine(word, counts)\n"
             "  local n = 0\n"
             "  for i = 1, #counts do n = n + counts[i] end\n"
             "  return n\n"
             "end\n"
             "reduce = combine\n",
             spin);
    spill(name, body);
}

/* A worker process (the built CLI, exec'd: a fork of this process could not use NATS) whose
 * stdout and stderr go to dir/NAME.log. */
static pid_t workers_spawned[8]; /* stopped by the teardown when a test failed */
static unsigned nspawned;

static pid_t spawn_worker(const char *name, const char *signature)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "export CLOISTER_LOG=debug; exec %s/src/cli/cloister mapreduce worker --nats %s "
             "--signature %s --name %s >%s/%s.log 2>&1",
             CLOISTER_BINARY_DIR, bus_server_url(nats), signature, name, dir, name);
    char *argv[] = {"sh", "-c", cmd, NULL};
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ), 0);
    assert_true(nspawned < sizeof workers_spawned / sizeof *workers_spawned);
    workers_spawned[nspawned++] = pid;
    return pid;
}

/* How many times what occurs in the log of worker name. */
static size_t log_count(const char *name, const char *what)
{
    char file[4200], logname[64];
    snprintf(logname, sizeof logname, "%s.log", name);
    path(file, sizeof file, logname);
    uint8_t *t;
    size_t len, n = 0, wlen = strlen(what);
    if (file_read_all(file, 1 << 20, &t, &len) != 0)
        return 0;
    for (const uint8_t *p = t; (p = memmem(p, len - (size_t)(p - t), what, wlen)); p += wlen)
        n++;
    free(t);
    return n;
}

static bool log_has(const char *name, const char *what)
{
    return log_count(name, what) > 0;
}

/* SIGTERM: the worker leaves and exits 0 within a few seconds. */
static void stop_worker(pid_t pid)
{
    int status = 0;
    assert_int_equal(kill(pid, SIGTERM), 0);
    for (int i = 0; i < 100 && waitpid(pid, &status, WNOHANG) == 0; i++)
        usleep(100000);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void kill_remote(void *arg, uint64_t maps_done, const int *pids, unsigned n)
{
    pid_t *victim = arg;
    if (*victim > 0 && maps_done == 2) {
        kill(*victim, SIGKILL);
        waitpid(*victim, NULL, 0);
        *victim = 0;
    }
}

/* A job in proc served by n remote workers only, with a generous instruction budget. */
static void remote_options(struct mr_options *o, const char *job, unsigned reducers, unsigned n,
                           int64_t ack_wait_ms)
{
    options(o, MR_TEE_PROC, job, text, reducers);
    o->workers = 0;
    o->remote_workers = n;
    o->nats = bus_server_url(nats);
    o->nats_ack_wait_ms = ack_wait_ms;
    o->lua_instructions = 4000000000u;
}

static void test_remote_workers(void **state)
{
    if (!nats) {
        print_message("nats-server is not installed: skipped\n");
        skip();
    }
    /* another image configuration, so another MRENCLAVE: the client's policy refuses it */
    char image[4200], other[4200];
    snprintf(image, sizeof image, "%s/enclaves/mapreduce.enclave", CLOISTER_BINARY_DIR);
    path(other, sizeof other, "mapreduce-other.sig");
    uint8_t seed[32], pk[32];
    struct cloister_err err;
    assert_int_equal(crypto_ed25519_keypair(pk, seed), 0);
    if (mr_sign_image(image, seed, 0, (uint64_t)256 << 20, other, &err) != 0)
        fail_msg("%s", err.msg);
    spill_slow_job("slow.lua", 100000);
    spill_slow_job("slower.lua", 60000);
    pid_t a = spawn_worker("a", sig), b = spawn_worker("b", sig), c = spawn_worker("c", other);

    /* a killed -9 after two maps, c refused on the third seat: the job completes on b */
    struct mr_options o;
    struct mr_summary s;
    remote_options(&o, "slow.lua", 2, 3, 1000);
    pid_t victim = a;
    o.on_map_done = kill_remote;
    o.hook_arg = &victim;
    assert_int_equal(run(&o, &s, &err), 0);
    assert_int_equal(victim, 0);
    check_wordcount(2);
    assert_int_equal(s.remote_workers, 2);
    assert_true(s.refused_workers >= 1);
    assert_true(log_has("b", "joined job"));
    assert_false(log_has("c", "joined job"));
    assert_true(log_has("c", "refused"));
    stop_worker(c);

    /* tasks longer than the ack deadline run twice: the later results are ignored (the deadline
     * is short enough that even a fast machine's Release build takes longer over a split) */
    a = spawn_worker("a2", sig);
    remote_options(&o, "slower.lua", 1, 2, 100);
    o.split_bytes = 64 << 10;
    assert_int_equal(run(&o, &s, &err), 0);
    check_wordcount(1); /* exact whether or not a redelivery raced a late result */
    stop_worker(a);
    stop_worker(b);
}

/* ---- a remote worker paused past the ack deadline: its late result is ignored ---- */

struct pause {
    pid_t x, y;    /* x is paused holding a task, y started then */
    uint64_t maps; /* the job's map tasks (from the progress callback) */
    bool paused, resumed;
};

static void pause_progress(void *arg, const struct mr_progress *p)
{
    ((struct pause *)arg)->maps = p->maps;
}

/* SIGSTOP, and wait until the process has stopped. */
static void stop_process(pid_t pid)
{
    int status = 0;
    assert_int_equal(kill(pid, SIGSTOP), 0);
    assert_int_equal(waitpid(pid, &status, WUNTRACED), pid);
    assert_true(WIFSTOPPED(status));
}

/* True when worker name has taken a task whose result has not gone out (its debug log). */
static bool holds_task(const char *name)
{
    return log_count(name, " taken (attempt ") > log_count(name, "its result goes out");
}

static void pause_hook(void *arg, uint64_t maps_done, const int *pids, unsigned n)
{
    struct pause *ps = arg;
    (void)pids;
    (void)n;
    if (maps_done == 1 && !ps->paused) {
        /* x alone has served so far: stop it at a moment it holds its next task */
        for (int i = 0; i < 500 && !ps->paused; i++) {
            stop_process(ps->x);
            ps->paused = holds_task("x");
            if (!ps->paused) {
                kill(ps->x, SIGCONT);
                usleep(10000);
            }
        }
        assert_true(ps->paused);
        ps->y = spawn_worker("y", sig);
    } else if (ps->paused && !ps->resumed && maps_done == ps->maps) {
        /* every map is done, x's by y after the redelivery. y is stopped so that the job cannot
         * end first, and x resumed: its late result comes before the reduce's */
        stop_process(ps->y);
        assert_int_equal(kill(ps->x, SIGCONT), 0);
        ps->resumed = true;
    }
}

static void test_duplicate_result(void **state)
{
    if (!nats) {
        print_message("nats-server is not installed: skipped\n");
        skip();
    }
    spill_slow_job("pause.lua", 5000);
    struct pause ps = {.x = spawn_worker("x", sig)};
    struct mr_options o;
    struct mr_summary s;
    struct cloister_err err;
    remote_options(&o, "pause.lua", 1, 2, 1000);
    o.split_bytes = 32 << 10;
    o.progress = pause_progress;
    o.progress_arg = &ps;
    o.on_map_done = pause_hook;
    o.hook_arg = &ps;
    assert_int_equal(run(&o, &s, &err), 0);
    assert_true(ps.resumed);
    check_wordcount(1);
    assert_true(s.duplicate_results >= 1);
    assert_true(log_count("x", "its result goes out") >= 2); /* x's late result did go out */
    assert_int_equal(kill(ps.y, SIGCONT), 0);
    stop_worker(ps.x);
    stop_worker(ps.y);
}

static int teardown_all(void **state)
{
    for (unsigned i = 0; i < nspawned; i++)
        if (waitpid(workers_spawned[i], NULL, WNOHANG) == 0) {
            kill(workers_spawned[i], SIGKILL);
            waitpid(workers_spawned[i], NULL, 0);
        }
    bus_server_stop(nats);
    return 0;
}

static int setup(void **state)
{
    const char *h = getenv("CLOISTER_HOME");
    assert_non_null(h);
    assert_int_equal(file_remove_tree(h), 0);
    snprintf(dir, sizeof dir, "%s/mr", h);
    assert_int_equal(file_mkdirs(dir, 0700), 0);
    char image[4200];
    snprintf(image, sizeof image, "%s/enclaves/mapreduce.enclave", CLOISTER_BINARY_DIR);
    path(sig, sizeof sig, "mapreduce-test.sig");
    uint8_t seed[32], pk[32];
    struct cloister_err err;
    assert_int_equal(crypto_ed25519_keypair(pk, seed), 0);
    if (mr_sign_image(image, seed, 0, 0, sig, &err) != 0)
        fail_msg("%s", err.msg);
    uint8_t r[8];
    assert_int_equal(crypto_random(r, sizeof r), 0);
    uint64_t s;
    memcpy(&s, r, sizeof s);
    print_message("seed %llu\n", (unsigned long long)s);
    path(text, sizeof text, "text.txt");
    path(points, sizeof points, "points.csv");
    FILE *f = fopen(text, "w");
    assert_int_equal(mr_gen_text(f, 200 << 10, s, &err), 0);
    fclose(f);
    f = fopen(points, "w");
    assert_int_equal(mr_gen_points(f, 20000, KM_K, KM_DIM, s, &err), 0);
    fclose(f);
    char natsdir[4200];
    path(natsdir, sizeof natsdir, "nats");
    assert_int_equal(file_mkdirs(natsdir, 0700), 0);
    if (!(nats = bus_server_start(natsdir, &err)))
        print_message("%s\n", err.msg);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wordcount_none), cmocka_unit_test(test_wordcount_sim),
        cmocka_unit_test(test_wordcount_proc), cmocka_unit_test(test_kmeans),
        cmocka_unit_test(test_escapes),        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_combine_order),  cmocka_unit_test(test_tampered_and_replayed),
        cmocka_unit_test(test_reduce_spill),   cmocka_unit_test(test_killed_worker),
        cmocka_unit_test(test_stop),           cmocka_unit_test(test_nats),
        cmocka_unit_test(test_remote_workers), cmocka_unit_test(test_duplicate_result),
    };
    return cmocka_run_group_tests(tests, setup, teardown_all);
}
