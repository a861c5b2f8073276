/* bench_asky_load.c -- A-Sky under application workloads (docs/asky.md, section 4), as the paper
 * evaluated it, scaled to this machine. Two tables in one CSV (the first column says which):
 *
 *   ycsb,MIX,SIZE,CHURN,ops,reads,writes,failed,seconds,ops_per_s,churn_per_s
 *     YCSB-like mixes on OBJECTS objects of SIZE bytes (Zipfian choice, YCSB's 0.99): A 50 %
 *     reads / 50 % updates, B 95/5, C 100 % reads. A read fetches the object and decrypts it
 *     with the member's key (no enclave; the plaintext discarded); an update a put through the enclave (proc) replacing the object. CLIENTS
 *     threads each run as a member of a group of GROUP; with CHURN=1 an administrator thread
 *     adds and removes other users to and from that group the whole time (the paper: admin
 *     churn does not affect users).
 *   vod,trace,USERS,GROUPS,events,adds,removes,failed,seconds,events_per_s,put_ms
 *     A synthetic video-on-demand membership trace like the paper's (eval/vod_trace.py: 220k
 *     users, 150k groups, 9 M adds over 11 weeks, each member removed 30 days after joining,
 *     group popularity Zipf(2.2)), scaled down: USERS users, GROUPS groups, EVENTS adds over 77
 *     days, replayed in time order through the service (group create on a first add); every
 *     PUT_EVERY events a member of the most popular group writes a 1 KiB object, timed
 *     (put_ms: mean ms per put, its envelope covering that group's current size).
 *
 * Environment: ASKY_LOAD_SECONDS (default 3) per YCSB row; ASKY_LOAD_EVENTS (default 4,000).
 * The paper's figures (Xeon E3-1270 v6, 1 KiB files): 4,100 op/s read-only (C) to 628 op/s
 * write-only; 1 MiB files 320 to 155 op/s. */
#include <cloister/asky_client.h>
#include <cloister/crypto.h>
#include <cloister/tee_enclave.h>

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "util/fileio.h"
#include "util/prng.h"

TEE_ENCLAVE_DECLARE(asky);

#define GROUP 100
#define CLIENTS 2
#define OBJECTS 100
#define CHURNERS 20 /* users the administrator moves in and out */
#define VOD_USERS 400
#define VOD_GROUPS 200
#define PUT_EVERY 200

static char tmp[] = "/tmp/cloister-asky-load-XXXXXX";
static asky_service *svc;
static uint8_t keys[GROUP][ASKY_KEY_LEN];
static double seconds;

static double now_s(void)
{
    return bench_now_ns() / 1e9;
}

static size_t env_size(const char *name, size_t dflt)
{
    const char *v = getenv(name);
    return v && *v ? (size_t)strtoull(v, NULL, 10) : dflt;
}

static void die(const char *what, const struct cloister_err *err)
{
    fprintf(stderr, "bench_asky_load: %s: %s\n", what, err->msg);
    exit(1);
}

/* Zipfian ranks 0..n-1 with exponent s by inversion of the precomputed CDF. */
struct zipf {
    double *cdf;
    size_t n;
};

static void zipf_init(struct zipf *z, size_t n, double s)
{
    z->n = n;
    z->cdf = malloc(n * sizeof *z->cdf);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        z->cdf[i] = (sum += 1.0 / pow((double)(i + 1), s));
    for (size_t i = 0; i < n; i++)
        z->cdf[i] /= sum;
}

static size_t zipf_draw(const struct zipf *z, uint64_t *rng)
{
    double u = prng_uniform(rng);
    size_t lo = 0, hi = z->n - 1;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (z->cdf[mid] < u)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void write_body(const char *path, size_t size)
{
    uint8_t *b = malloc(size);
    memset(b, 'a', size);
    if (!b || file_write_atomic(path, b, size, 0600) != 0) {
        fprintf(stderr, "bench_asky_load: %s\n", path);
        exit(1);
    }
    free(b);
}

/* A reader's get, the plaintext discarded: fetch and decrypt (asky_get also fsyncs the file it
 * writes, which would time the disk). */
static int read_object(const char *name, const struct asky_user_keys *k, FILE *sink,
                       struct cloister_err *err)
{
    uint8_t *obj;
    size_t len;
    int rc = asky_object_load(tmp, name, 1u << 26, &obj, &len, err);
    if (rc != CLOISTER_OK)
        return rc;
    FILE *in = fmemopen(obj, len, "rb");
    rc = in ? asky_object_read(in, k, sink, err) : CLOISTER_E_NO_MEMORY;
    if (in)
        fclose(in);
    free(obj);
    return rc;
}

struct client {
    int id;
    unsigned read_pct;
    double until;
    const struct zipf *z;
    uint64_t reads, writes, failed;
};

static void *client_run(void *arg)
{
    struct client *c = arg;
    uint64_t rng = 0x9e3779b97f4a7c15ull * (uint64_t)(c->id + 1);
    char in[PATH_MAX], user[16], name[24];
    struct cloister_err err;
    snprintf(in, sizeof in, "%s/body", tmp);
    snprintf(user, sizeof user, "m%d", c->id);
    struct asky_user_keys k;
    asky_user_keys(&k, keys[c->id]);
    FILE *sink = fopen("/dev/null", "wb");
    while (now_s() < c->until) {
        snprintf(name, sizeof name, "o%zu", zipf_draw(c->z, &rng));
        bool read = prng_next(&rng) % 100 < c->read_pct;
        int rc = read ? read_object(name, &k, sink, &err)
                      : asky_put(svc, "bench", user, keys[c->id], in, name, ASKY_INDEXED, 0, &err);
        if (rc != CLOISTER_OK && c->failed++ == 0) /* the first failure of a row, said once */
            fprintf(stderr, "bench_asky_load: %s %s: %s\n", read ? "get" : "put", name, err.msg);
        else if (rc != CLOISTER_OK)
            continue;
        else if (read)
            c->reads++;
        else
            c->writes++;
    }
    asky_user_keys_wipe(&k);
    fclose(sink);
    return NULL;
}

struct churn {
    atomic_bool stop;
    uint64_t changes;
};

static void *churn_run(void *arg)
{
    struct churn *ch = arg;
    struct cloister_err err;
    char user[16];
    for (unsigned i = 0; !atomic_load(&ch->stop); i++) {
        snprintf(user, sizeof user, "c%u", i % CHURNERS);
        bool in = (i / CHURNERS) % 2 == 0; /* first pass adds them all, the next removes them */
        if ((in ? asky_group_add(svc, "bench", user, &err)
                : asky_group_remove(svc, "bench", user, &err)) == CLOISTER_OK)
            ch->changes++;
    }
    return NULL;
}

static void ycsb_row(const char *mix, unsigned read_pct, size_t size, bool churn,
                     const struct zipf *z)
{
    char in[PATH_MAX];
    snprintf(in, sizeof in, "%s/body", tmp);
    write_body(in, size);
    struct cloister_err err;
    for (size_t i = 0; i < OBJECTS; i++) { /* every object at this size first */
        char name[24];
        snprintf(name, sizeof name, "o%zu", i);
        if (asky_put(svc, "bench", "m0", keys[0], in, name, ASKY_INDEXED, 0, &err) != CLOISTER_OK)
            die("preload", &err);
    }
    struct client c[CLIENTS];
    pthread_t t[CLIENTS], ct;
    struct churn ch = {.changes = 0};
    atomic_init(&ch.stop, false);
    double start = now_s();
    if (churn)
        pthread_create(&ct, NULL, churn_run, &ch);
    for (int i = 0; i < CLIENTS; i++) {
        c[i] = (struct client){.id = i, .read_pct = read_pct, .until = start + seconds, .z = z};
        pthread_create(&t[i], NULL, client_run, &c[i]);
    }
    uint64_t reads = 0, writes = 0, failed = 0;
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(t[i], NULL);
        reads += c[i].reads;
        writes += c[i].writes;
        failed += c[i].failed;
    }
    double took = now_s() - start;
    if (churn) {
        atomic_store(&ch.stop, true);
        pthread_join(ct, NULL);
    }
    printf("ycsb,%s,%zu,%d,%llu,%llu,%llu,%llu,%.2f,%.1f,%.1f\n", mix, size, churn ? 1 : 0,
           (unsigned long long)(reads + writes), (unsigned long long)reads,
           (unsigned long long)writes, (unsigned long long)failed, took,
           (double)(reads + writes) / took, (double)ch.changes / took);
    fflush(stdout);
}

/* A membership event of the trace: time in days, group, user, add or remove. */
struct event {
    double t;
    unsigned group, user;
    bool add;
};

static int event_cmp(const void *a, const void *b)
{
    const struct event *x = a, *y = b;
    return x->t < y->t ? -1 : x->t > y->t;
}

static void vod_trace(size_t adds)
{
    struct cloister_err err;
    uint8_t key[ASKY_KEY_LEN], k0[ASKY_KEY_LEN] = {0};
    char user[16], group[16], in[PATH_MAX];
    for (unsigned u = 0; u < VOD_USERS; u++) {
        snprintf(user, sizeof user, "v%u", u);
        if (asky_user_add(svc, user, u == 0 ? k0 : key, &err) != CLOISTER_OK)
            die("vod users", &err);
    }
    struct zipf z;
    zipf_init(&z, VOD_GROUPS, 2.2);
    uint64_t rng = 42;
    struct event *ev = calloc(2 * adds, sizeof *ev);
    bool *member = calloc((size_t)VOD_GROUPS * VOD_USERS, 1);
    for (size_t i = 0; i < adds; i++) {
        double t = prng_uniform(&rng) * 77.0;
        unsigned g = (unsigned)zipf_draw(&z, &rng),
                 u = 1 + (unsigned)(prng_next(&rng) % (VOD_USERS - 1));
        ev[2 * i] = (struct event){t, g, u, true};
        ev[2 * i + 1] = (struct event){t + 30.0, g, u, false};
    }
    qsort(ev, 2 * adds, sizeof *ev, event_cmp);
    snprintf(in, sizeof in, "%s/body", tmp);
    write_body(in, 1024);
    bool *created = calloc(VOD_GROUPS, 1);
    size_t done = 0, nadd = 0, nrem = 0, failed = 0, puts = 0;
    double put_s = 0, start = now_s();
    for (size_t i = 0; i < 2 * adds; i++) {
        const struct event *e = &ev[i];
        bool *m = &member[(size_t)e->group * VOD_USERS + e->user];
        if (e->add == *m)
            continue; /* joined twice before leaving, or left already */
        snprintf(user, sizeof user, "v%u", e->user);
        snprintf(group, sizeof group, "g%u", e->group);
        int rc;
        if (!created[e->group]) { /* a group's first member creates it, with v0 (the writer) */
            rc = asky_group_create(svc, group, "v0", &err);
            created[e->group] = rc == CLOISTER_OK;
        }
        rc = e->add ? asky_group_add(svc, group, user, &err)
                    : asky_group_remove(svc, group, user, &err);
        if (rc == CLOISTER_OK) {
            *m = e->add;
            e->add ? nadd++ : nrem++;
        } else {
            failed++;
        }
        if (++done % PUT_EVERY == 0 && created[0]) {
            double t0 = now_s();
            if (asky_put(svc, "g0", "v0", k0, in, "vod", ASKY_INDEXED, 0, &err) == CLOISTER_OK) {
                put_s += now_s() - t0;
                puts++;
            }
        }
    }
    double took = now_s() - start;
    printf("vod,trace,%d,%d,%zu,%zu,%zu,%zu,%.2f,%.1f,%.3f\n", VOD_USERS, VOD_GROUPS, done, nadd,
           nrem, failed, took, (double)done / took, puts ? 1e3 * put_s / (double)puts : 0.0);
    free(created);
    free(member);
    free(ev);
    free(z.cdf);
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    seconds = (double)env_size("ASKY_LOAD_SECONDS", 3);
    if (!mkdtemp(tmp))
        return 1;
    const char *tee = getenv("ASKY_LOAD_TEE");
    struct asky_service_options o = {.backend = tee && *tee ? tee : "proc",
                                     .enclave = &tee_enclave_asky,
                                     .workers = 2};
    struct cloister_err err;
    if (asky_service_open(tmp, &o, &svc, &err) != CLOISTER_OK)
        die("service", &err);
    for (int i = 0; i < GROUP; i++) {
        char user[16];
        snprintf(user, sizeof user, "m%d", i);
        if (asky_user_add(svc, user, keys[i], &err) != CLOISTER_OK ||
            (i == 0 ? asky_group_create(svc, "bench", user, &err)
                    : asky_group_add(svc, "bench", user, &err)) != CLOISTER_OK)
            die("populate", &err);
    }
    for (int i = 0; i < CHURNERS; i++) {
        char user[16];
        uint8_t k[ASKY_KEY_LEN];
        snprintf(user, sizeof user, "c%d", i);
        if (asky_user_add(svc, user, k, &err) != CLOISTER_OK)
            die("churners", &err);
    }
    struct zipf z;
    zipf_init(&z, OBJECTS, 0.99);
    printf("table,workload,size,churn,ops,reads,writes,failed,seconds,ops_per_s,churn_per_s\n");
    static const struct {
        const char *mix;
        unsigned read_pct;
    } mixes[] = {{"A", 50}, {"B", 95}, {"C", 100}};
    static const size_t sizes[] = {1024, 65536};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++)
        for (size_t m = 0; m < sizeof mixes / sizeof *mixes; m++)
            for (int churn = 0; churn <= 1; churn++)
                ycsb_row(mixes[m].mix, mixes[m].read_pct, sizes[s], churn, &z);
    vod_trace(env_size("ASKY_LOAD_EVENTS", 4000));
    free(z.cdf);
    asky_service_close(svc);
    file_remove_tree(tmp);
    return 0;
}
