/* bench_scbr_shard.c -- SCBR sharded over NATS against one router enclave, as the index
 * outgrows the EPC budget (docs/scbr.md, "Shards").
 *
 * Every router enclave (the single router, the front, each shard) is a proc enclave signed with
 * a small EPC budget (SCBR_SHARD_BENCH_EPC MiB, default 2) so that the cliff shows at sizes a
 * 2-core machine registers in seconds; the naive index scans (and so pages) all it holds for
 * each publication, the thesis's case. Subscriptions `k = i` (never matched) are registered by
 * 16 client threads up to each size, in multiples of the budget (0.5x, 1x, 2x, 4x; about
 * BYTES_PER_SUB bytes of enclave heap each), plus one catch-all `bench exists` of the measuring
 * subscriber, so each publication is matched against every subscription and delivered once.
 * Per size: throughput (a burst of BURST publications, first send to last delivery) and
 * latency (LAT publications one at a time, send to delivery: p50, p99; both cut to about 5 s
 * of publications, at least 5, where one takes long: paging), for one router and for
 * a front with 2, 4 and 8 shards (partitioned by subscription id, so each publication goes to
 * every shard), all on this machine with a nats-server on loopback.
 * CSV on stdout: shards,subs,budget_x,pubs_per_s,p50_us,p99_us (shards 0: one router). */
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
#define BURST 60
#define LAT 30
#define MAX_SHARDS 8

static char home[] = "/tmp/cloister-bench-scbrshard-XXXXXX";
static char image[4096], sig[4300];
static uint8_t sk[SCBR_SK_LEN];
static struct bus_server *srv;

static void die(const char *what, const char *why)
{
    fprintf(stderr, "bench_scbr_shard: %s: %s\n", what, why);
    exit(1);
}

static scbr_router *node(unsigned shards, int index)
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
    o.cluster = "bench";
    o.shards = shards;
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
    const char *endpoint;
    scbr_client *c;
    size_t from, to, step;
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

static void measure(unsigned shards, size_t nsubs, double budget_x, scbr_client *pub,
                    scbr_client *sub, struct scbr_pub *p)
{
    double lat[LAT], one = 0;
    for (int i = 0; i < 3; i++) { /* settle paging */
        double s = bench_now_ns();
        publish(pub, p);
        receive(sub);
        one = bench_now_ns() - s;
    }
    int burst = one > 0 ? (int)(5e9 / one) : BURST, nlat = one > 0 ? (int)(5e9 / one) : LAT;
    burst = burst < 5 ? 5 : burst > BURST ? BURST : burst; /* about 5 s at most when paging */
    nlat = nlat < 5 ? 5 : nlat > LAT ? LAT : nlat;
    double t0 = bench_now_ns();
    for (int i = 0; i < burst; i++)
        publish(pub, p);
    for (int i = 0; i < burst; i++)
        receive(sub);
    double rate = burst / ((bench_now_ns() - t0) / 1e9);
    for (int i = 0; i < nlat; i++) {
        double s = bench_now_ns();
        publish(pub, p);
        receive(sub);
        lat[i] = (bench_now_ns() - s) / 1e3;
    }
    printf("%u,%zu,%.2f,%.1f,%.0f,%.0f\n", shards, nsubs, budget_x, rate,
           bench_quantile(lat, (size_t)nlat, 0.5), bench_quantile(lat, (size_t)nlat, 0.99));
    fflush(stdout);
}

static void one_config(unsigned shards, size_t budget_subs)
{
    static const double xs[] = {0.5, 1, 2, 4};
    scbr_router *shard[MAX_SHARDS] = {0};
    for (unsigned i = 0; i < shards; i++)
        shard[i] = node(0, (int)i);
    scbr_router *front = node(shards, -1);
    const char *ep = scbr_router_endpoint(front);
    struct cloister_err err;
    struct loader ls[LOADERS];
    scbr_client *pub = scbr_client_connect(ep, sk, &err), *sub = scbr_client_connect(ep, sk, &err);
    struct scbr_sub *all = scbr_parse_sub("bench exists", 12, "bench", 1, &err);
    struct scbr_pub *p = scbr_parse_pub("bench = 1, k = -1", 17, "bench", 1, &err);
    uint32_t id;
    if (!pub || !sub || !all || !p || scbr_client_subscribe(sub, all, &id, WAIT_MS, &err) != 0)
        die("clients", err.msg);
    for (int i = 0; i < LOADERS; i++)
        if (!(ls[i].c = scbr_client_connect(ep, sk, &err)))
            die("loader", err.msg);
    size_t have = 0;
    for (size_t s = 0; s < sizeof xs / sizeof xs[0]; s++) {
        size_t want = (size_t)(xs[s] * (double)budget_subs);
        double t0 = bench_now_ns();
        load(ls, have, want);
        have = want;
        fprintf(stderr, "%u shards: %zu subscriptions (%.1fx the budget) registered in %.1f s\n",
                shards, have, xs[s], (bench_now_ns() - t0) / 1e9);
        measure(shards, have, xs[s], pub, sub, p);
    }
    for (int i = 0; i < LOADERS; i++)
        scbr_client_close(ls[i].c);
    scbr_client_close(pub);
    scbr_client_close(sub);
    scbr_sub_free(all);
    scbr_pub_free(p);
    scbr_router_close(front);
    for (unsigned i = 0; i < shards; i++)
        scbr_router_close(shard[i]);
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
    printf("shards,subs,budget_x,pubs_per_s,p50_us,p99_us\n");
    static const unsigned configs[] = {0, 2, 4, 8};
    for (size_t i = 0; i < sizeof configs / sizeof configs[0]; i++)
        one_config(configs[i], budget_subs);
    bus_server_stop(srv);
    crypto_wipe(sk, sizeof sk);
    file_remove_tree(home);
    return 0;
}
