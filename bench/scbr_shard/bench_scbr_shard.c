/* bench_scbr_shard.c -- SCBR sharded over NATS against one router enclave, as the index
 * outgrows the EPC budget (docs/scbr.md, "Shards, measured").
 *
 * Every router enclave (the single router, the fronts, each shard) is a proc enclave signed
 * with a small EPC budget (SCBR_SHARD_BENCH_EPC MiB, default 2) so that the cliff shows at
 * sizes a 2-core machine registers in seconds; the naive index scans (and so pages) all it
 * holds for each publication, the thesis's case. The configurations run side by side: one
 * router, fronts with 2, 4 and 8 shards partitioned by subscription id (each publication goes
 * to every shard) and a front with 4 shards partitioned by the attribute k (each publication
 * goes to one), each on its own NATS subjects of one nats-server on loopback. Subscriptions
 * `k = i` (never matched) are registered by 16 client threads into every configuration up to
 * each size, in multiples of the budget (0.5x, 1x, 2x, 4x, or SCBR_SHARD_BENCH_XS, e.g.
 * "0.5,2"; about BYTES_PER_SUB bytes of enclave heap each), plus one catch-all `bench exists`
 * of the measuring subscriber, so each publication is matched against every subscription its
 * shards hold and delivered once. Per size, ROUNDS rounds measure each configuration in turn
 * (so that a loaded machine's noise falls on all of them alike): throughput (a burst of
 * publications, first send to last delivery, received by another thread) and latency (one
 * publication at a time, send to delivery), both cut to about 2 s where one takes long
 * (paging). The rate is the median of the rounds, the quantiles are over every round's
 * samples.
 * CSV on stdout at the end: shards,subs,budget_x,pubs_per_s,p50_us,p99_us,partition (shards 0: one
 * router). On stderr, the targets beside the figures: below the budget sharding
 * costs at most 1.5x one router's throughput; at 2x the budget 4 shards give at least 10x. */
#include <cloister/crypto.h>
#include <cloister/scbr.h>
#include <cloister/scbr_client.h>
#include <cloister/scbr_host.h>
#include <cloister/tee_trust.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bus/bus.h"
#include "util/fileio.h"

#define WAIT_MS 60000
#define LOADERS 16
#define BYTES_PER_SUB 200 /* naive index entry, the record, its slot: measured by tee_epc_stats */
#define BURST 2000
#define LAT 100
#define ROUNDS 3
#define MAX_SHARDS 8
#define MAX_XS 8

static char home[] = "/tmp/cloister-bench-scbrshard-XXXXXX";
static char image[4096], sig[4300];
static uint8_t sk[SCBR_SK_LEN];
static struct bus_server *srv;

static void die(const char *what, const char *why)
{
    fprintf(stderr, "bench_scbr_shard: %s: %s\n", what, why);
    exit(1);
}

static scbr_router *node(const char *cluster, unsigned shards, const char *key, int index)
{
    struct scbr_router_options o;
    struct cloister_err err;
    scbr_router *r;
    uint8_t mre[32], mrs[32];
    scbr_router_options_init(&o);
    o.backend = TEE_BACKEND_PROC;
    o.image = image;
    o.signature = sig;
    o.home = home;
    o.index = SCBR_INDEX_NAIVE;
    o.batch = 16; /* a batch of paging publications must end within the ecall timeout */
    o.idle_timeout_ms = 3600000;
    o.nats = bus_server_url(srv);
    o.cluster = cluster;
    o.shards = shards;
    o.partition_key = key;
    o.is_shard = index >= 0;
    o.shard_index = index >= 0 ? (unsigned)index : 0;
    o.shard_timeout_ms = WAIT_MS;
    if (scbr_router_open(&o, &r, &err) != 0 || scbr_router_identity(r, mre, mrs, &err) != 0 ||
        scbr_router_start(r, &err) != 0 ||
        scbr_client_provision_local(scbr_router_endpoint(r), mre, home, sk, WAIT_MS, &err) != 0)
        die("router", err.msg);
    return r;
}

struct loader {
    scbr_client *c;
    size_t from, to, step;
};

/* One configuration: a router, or a front and its shards, its clients and its figures. */
struct config {
    unsigned shards;
    const char *key; /* partition attribute; NULL: by id */
    char cluster[16];
    scbr_router *front, *shard[MAX_SHARDS];
    scbr_client *pub, *sub;
    struct loader ls[LOADERS];
    double rates[ROUNDS], lat[ROUNDS * LAT];
    size_t nlat;
    double rate[MAX_XS], p50[MAX_XS], p99[MAX_XS]; /* at each size */
};

static void *load_main(void *arg)
{
    struct loader *l = arg;
    struct cloister_err err;
    for (size_t i = l->from; i < l->to; i += l->step) {
        char filter[40];
        uint32_t id;
        snprintf(filter, sizeof filter, "k = %zu", i);
        struct scbr_sub *s = scbr_parse_sub(filter, strlen(filter), "bench", 1, &err);
        if (!s || scbr_client_subscribe(l->c, s, &id, WAIT_MS, &err) != 0)
            die("subscribe", err.msg);
        scbr_sub_free(s);
    }
    return NULL;
}

/* Registers subscriptions [from, to) from LOADERS clients at once. */
static void load(struct loader *ls, size_t from, size_t to)
{
    pthread_t t[LOADERS];
    for (int i = 0; i < LOADERS; i++) {
        ls[i].from = from + (size_t)i;
        ls[i].to = to;
        ls[i].step = LOADERS;
        pthread_create(&t[i], NULL, load_main, &ls[i]);
    }
    for (int i = 0; i < LOADERS; i++)
        pthread_join(t[i], NULL);
}

static void publish(scbr_client *pub, struct scbr_pub *p)
{
    struct cloister_err err;
    if (scbr_client_publish(pub, p, "x", 1, &err) != 0)
        die("publish", err.msg);
}

static void receive(scbr_client *sub)
{
    struct cloister_err err;
    uint8_t *data;
    size_t len;
    if (scbr_client_receive(sub, &data, &len, WAIT_MS, &err) != 1)
        die("receive", err.code ? err.msg : "no delivery in time");
    free(data);
}

struct receiver {
    scbr_client *sub;
    int n;
};

static void *receive_main(void *arg)
{
    struct receiver *rv = arg;
    for (int i = 0; i < rv->n; i++)
        receive(rv->sub);
    return NULL;
}

static int clamp(double v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : (int)v;
}

/* One round of c: a burst received by another thread, then one publication at a time. */
static void measure(struct config *c, int round, struct scbr_pub *p)
{
    double one = 0;
    for (int i = 0; i < 3; i++) { /* settle paging */
        double s = bench_now_ns();
        publish(c->pub, p);
        receive(c->sub);
        one = bench_now_ns() - s;
    }
    struct receiver rv = {c->sub, clamp(2e9 / one, 5, BURST)};
    pthread_t t;
    double t0 = bench_now_ns();
    pthread_create(&t, NULL, receive_main, &rv);
    for (int i = 0; i < rv.n; i++)
        publish(c->pub, p);
    pthread_join(t, NULL);
    c->rates[round] = rv.n / ((bench_now_ns() - t0) / 1e9);
    for (int i = 0, n = clamp(1e9 / one, 5, LAT); i < n; i++) {
        double s = bench_now_ns();
        publish(c->pub, p);
        receive(c->sub);
        c->lat[c->nlat++] = (bench_now_ns() - s) / 1e3;
    }
}

static void config_open(struct config *c, int k)
{
    struct cloister_err err;
    snprintf(c->cluster, sizeof c->cluster, "bench%d", k);
    for (unsigned i = 0; i < c->shards; i++)
        c->shard[i] = node(c->cluster, 0, NULL, (int)i);
    c->front = node(c->cluster, c->shards, c->key, -1);
    const char *ep = scbr_router_endpoint(c->front);
    struct scbr_sub *all = scbr_parse_sub("bench exists", 12, "bench", 1, &err);
    uint32_t id;
    if (!(c->pub = scbr_client_connect(ep, sk, &err)) ||
        !(c->sub = scbr_client_connect(ep, sk, &err)) || !all ||
        scbr_client_subscribe(c->sub, all, &id, WAIT_MS, &err) != 0)
        die("clients", err.msg);
    scbr_sub_free(all);
    for (int i = 0; i < LOADERS; i++)
        if (!(c->ls[i].c = scbr_client_connect(ep, sk, &err)))
            die("loader", err.msg);
}

static void config_close(struct config *c)
{
    for (int i = 0; i < LOADERS; i++)
        scbr_client_close(c->ls[i].c);
    scbr_client_close(c->pub);
    scbr_client_close(c->sub);
    scbr_router_close(c->front);
    for (unsigned i = 0; i < c->shards; i++)
        scbr_router_close(c->shard[i]);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static const char *name(const struct config *c, char *buf, size_t cap)
{
    if (!c->shards)
        return "one router";
    snprintf(buf, cap, "%u shards by %s", c->shards, c->key ? "attribute" : "id");
    return buf;
}

/* The targets beside the figures, on stderr. */
static void targets(const struct config *cs, size_t ncs, const double *xs, size_t nxs)
{
    char buf[64];
    for (size_t s = 0; s < nxs; s++) {
        if (xs[s] >= 1 && xs[s] != 2)
            continue;
        fprintf(stderr, "at %.1fx the EPC budget (one router: %.1f publications/s):\n", xs[s],
                cs[0].rate[s]);
        for (size_t k = 1; k < ncs; k++) {
            double x = cs[k].rate[s] / cs[0].rate[s];
            if (xs[s] < 1)
                fprintf(stderr, "  %-22s %9.1f/s: costs %.2fx one router (target <= 1.5x: %s)\n",
                        name(&cs[k], buf, sizeof buf), cs[k].rate[s], 1 / x,
                        1 / x <= 1.5 ? "met" : "not met");
            else
                fprintf(stderr,
                        "  %-22s %9.1f/s: %.1fx one router (target for 4 shards >= 10x: %s)\n",
                        name(&cs[k], buf, sizeof buf), cs[k].rate[s], x,
                        cs[k].shards != 4 ? "-"
                        : x >= 10         ? "met"
                                          : "not met");
        }
    }
}

/* The sizes, in multiples of the budget: SCBR_SHARD_BENCH_XS or 0.5, 1, 2, 4. */
static size_t sizes(double *xs)
{
    const char *e = getenv("SCBR_SHARD_BENCH_XS");
    size_t n = 0;
    for (char *end; e && *e && n < MAX_XS; e = *end == ',' ? end + 1 : end) {
        xs[n] = strtod(e, &end);
        if (end == e || xs[n] <= 0 || (n && xs[n] <= xs[n - 1]))
            die("SCBR_SHARD_BENCH_XS", "expected increasing multiples, e.g. 0.5,2");
        n++;
    }
    if (n)
        return n;
    static const double dflt[] = {0.5, 1, 2, 4};
    memcpy(xs, dflt, sizeof dflt);
    return 4;
}

static void run(size_t budget_subs)
{
    struct config cs[] = {{.shards = 0},
                          {.shards = 2},
                          {.shards = 4},
                          {.shards = 8},
                          {.shards = 4, .key = "k"}};
    size_t ncs = sizeof cs / sizeof cs[0];
    double xs[MAX_XS];
    size_t nxs = sizes(xs), have = 0;
    struct cloister_err err;
    struct scbr_pub *p = scbr_parse_pub("bench = 1, k = -1", 17, "bench", 1, &err);
    if (!p)
        die("publication", err.msg);
    for (size_t k = 0; k < ncs; k++)
        config_open(&cs[k], (int)k);
    for (size_t s = 0; s < nxs; s++) {
        size_t want = (size_t)(xs[s] * (double)budget_subs);
        double t0 = bench_now_ns();
        for (size_t k = 0; k < ncs; k++)
            load(cs[k].ls, have, want);
        have = want;
        fprintf(
            stderr,
            "%zu subscriptions (%.1fx the budget) registered in every configuration in %.1f s\n",
            have, xs[s], (bench_now_ns() - t0) / 1e9);
        for (size_t k = 0; k < ncs; k++)
            cs[k].nlat = 0;
        for (int round = 0; round < ROUNDS; round++)
            for (size_t k = 0; k < ncs; k++)
                measure(&cs[k], round, p);
        for (size_t k = 0; k < ncs; k++) {
            struct config *c = &cs[k];
            qsort(c->rates, ROUNDS, sizeof c->rates[0], cmp_double);
            c->rate[s] = c->rates[ROUNDS / 2];
            c->p50[s] = bench_quantile(c->lat, c->nlat, 0.5);
            c->p99[s] = bench_quantile(c->lat, c->nlat, 0.99);
            fprintf(stderr, "  %u shards (%s): %.1f publications/s, p99 %.0f us\n", c->shards,
                    c->key ? "by attribute" : "by id", c->rate[s], c->p99[s]);
        }
    }
    for (size_t k = 0; k < ncs; k++) /* one configuration's rows together: the plot's lines */
        for (size_t s = 0; s < nxs; s++)
            printf("%u,%zu,%.2f,%.1f,%.0f,%.0f,%s\n", cs[k].shards,
                   (size_t)(xs[s] * (double)budget_subs), xs[s], cs[k].rate[s], cs[k].p50[s],
                   cs[k].p99[s],
                   !cs[k].shards ? "-"
                   : cs[k].key   ? "key"
                                 : "id");
    targets(cs, ncs, xs, nxs);
    for (size_t k = 0; k < ncs; k++)
        config_close(&cs[k]);
    scbr_pub_free(p);
}

int main(void)
{
    uint8_t seed[32], pk[32];
    struct cloister_err err;
    const char *e = getenv("SCBR_SHARD_BENCH_EPC");
    long epc_mib = e ? atol(e) : 2;
    if (epc_mib < 1)
        die("SCBR_SHARD_BENCH_EPC", "expected MiB >= 1");
    if (tee_image_path("scbr", image, sizeof image, &err) != CLOISTER_OK)
        die("image", err.msg);
    if (!mkdtemp(home))
        die("temporary home", "mkdtemp failed");
    snprintf(sig, sizeof sig, "%s/scbr.enclave.sig", home);
    if (crypto_ed25519_keypair(pk, seed) != 0 || crypto_random(sk, sizeof sk) != 0)
        die("keys", "no randomness");
    if (scbr_router_sign(image, seed, (uint64_t)epc_mib << 20, 0, sig, &err) != 0)
        die("signing", err.msg);
    char natsdir[sizeof home + 8];
    snprintf(natsdir, sizeof natsdir, "%s/nats", home);
    if (file_mkdirs(natsdir, 0700) != 0 || !(srv = bus_server_start(natsdir, &err)))
        die("nats-server", err.msg);
    size_t budget_subs = ((size_t)epc_mib << 20) / BYTES_PER_SUB;
    fprintf(stderr,
            "scbr shards: naive index, EPC budget %ld MiB per enclave (~%zu subscriptions), "
            "proc enclaves, nats-server and ZeroMQ on loopback\n",
            epc_mib, budget_subs);
    printf("shards,subs,budget_x,pubs_per_s,p50_us,p99_us,partition\n");
    run(budget_subs);
    bus_server_stop(srv);
    crypto_wipe(sk, sizeof sk);
    file_remove_tree(home);
    return 0;
}
