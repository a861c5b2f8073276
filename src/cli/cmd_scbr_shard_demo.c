/* cmd_scbr_shard_demo.c -- `cloister scbr shard-demo` and the shard step of `cloister demo`:
 * one router enclave paging beside a front and four shards that do not, on the same
 * subscriptions (docs/scbr.md, "Shards").
 *
 * Everything runs in this process on a temporary home: a nats-server on loopback (the verb
 * starts its own, the tour shares cli_demo_nats), the scbr image signed with a small EPC
 * budget (--epc, 2 MiB; 1 in the tour), one router and one front with four shards (proc
 * enclaves, naive index: every publication scans, and so pages, all that an enclave holds).
 * The same subscriptions (--times the budget, 2 by default) go to both, from eight clients at
 * once; then each gets the same burst of publications, matched by one catch-all subscription,
 * and the rates are printed side by side. The tour then restarts the front on its state with
 * a fifth shard, as `cloister scbr router --shards 5 --state DIR` does: it reshards before it
 * serves, and each shard's share of the subscriptions is printed. */
#include <cloister/crypto.h>
#include <cloister/scbr.h>
#include <cloister/scbr_client.h>
#include <cloister/scbr_host.h>
#include <cloister/tee_trust.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus/bus.h"
#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/cmd_scbr.h"
#include "util/fileio.h"
#include "util/opt.h"

#define DEMO_SHARDS 4
#define DEMO_CLIENTS 8
#define DEMO_SUB_BYTES 200 /* enclave heap per naive subscription, about */

struct demo {
    char home[64], image[4096], sig[4200];
    uint8_t sk[SCBR_SK_LEN];
    struct bus_server *srv; /* the verb's own nats-server */
    const char *nats;
    struct cloister_err err;
};

static double seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A started, provisioned router: a front of `shards` shards (its state under home/state when
 * state is set), shard `index` (>= 0), or alone. */
static scbr_router *demo_node(struct demo *d, unsigned shards, int index, bool state)
{
    char dir[80];
    struct scbr_router_options o;
    scbr_router *r = NULL;
    uint8_t mre[32], mrs[32];
    scbr_router_options_init(&o);
    o.backend = TEE_BACKEND_PROC;
    o.image = d->image;
    o.signature = d->sig;
    o.home = d->home;
    o.index = SCBR_INDEX_NAIVE;
    o.idle_timeout_ms = 600000;
    o.nats = d->nats;
    snprintf(dir, sizeof dir, "%s/state", d->home);
    o.state_dir = state ? dir : NULL;
    o.cluster = "demo";
    o.shards = shards;
    o.is_shard = index >= 0;
    o.shard_index = index < 0 ? 0 : (unsigned)index;
    o.shard_timeout_ms = 60000;
    if (scbr_router_open(&o, &r, &d->err) == 0 && scbr_router_identity(r, mre, mrs, &d->err) == 0 &&
        scbr_router_start(r, &d->err) == 0 &&
        scbr_client_provision_local(scbr_router_endpoint(r), mre, d->home, d->sk,
                                    CLI_SCBR_ANSWER_MS, &d->err) == 0)
        return r;
    scbr_router_close(r);
    return NULL;
}

struct filler {
    struct demo *d;
    const char *endpoint;
    long first, last, stride;
    int rc;
};

static void *fill_main(void *arg)
{
    struct filler *f = arg;
    struct cloister_err err;
    scbr_client *c = scbr_client_connect(f->endpoint, f->d->sk, &err);
    f->rc = c ? 0 : -1;
    for (long k = f->first; f->rc == 0 && k < f->last; k += f->stride) {
        char text[48];
        uint32_t id;
        snprintf(text, sizeof text, "tick = %ld", k);
        struct scbr_sub *s = scbr_parse_sub(text, strlen(text), "demo", 1, &err);
        f->rc = s && scbr_client_subscribe(c, s, &id, 60000, &err) == 0 ? 0 : -1;
        scbr_sub_free(s);
    }
    /* the clients stay: closing says bye, which would drop their subscriptions */
    return c;
}

/* Subscribes `tick = k` for k < n from DEMO_CLIENTS clients (returned in cs). */
static int fill(struct demo *d, scbr_router *r, long n, scbr_client *cs[DEMO_CLIENTS])
{
    pthread_t t[DEMO_CLIENTS];
    struct filler f[DEMO_CLIENTS];
    int rc = 0;
    for (int i = 0; i < DEMO_CLIENTS; i++) {
        f[i] = (struct filler){d, scbr_router_endpoint(r), i, n, DEMO_CLIENTS, 0};
        pthread_create(&t[i], NULL, fill_main, &f[i]);
    }
    for (int i = 0; i < DEMO_CLIENTS; i++) {
        void *c;
        pthread_join(t[i], &c);
        cs[i] = c;
        rc |= f[i].rc;
    }
    return rc;
}

/* Publications per second through r, each delivered once to a catch-all subscriber. */
static double burst(struct demo *d, scbr_router *r, int pubs)
{
    struct cloister_err err;
    const char *ep = scbr_router_endpoint(r);
    scbr_client *sub = scbr_client_connect(ep, d->sk, &err),
                *pub = scbr_client_connect(ep, d->sk, &err);
    struct scbr_sub *all = scbr_parse_sub("demo exists", 11, "demo", 1, &err);
    struct scbr_pub *p = scbr_parse_pub("demo = 1, tick = -1", 19, "demo", 1, &err);
    uint32_t id;
    double rate = -1, t0 = seconds();
    int got = 0;
    if (sub && pub && all && p && scbr_client_subscribe(sub, all, &id, 60000, &err) == 0) {
        t0 = seconds();
        for (int i = 0; i < pubs; i++)
            scbr_client_publish(pub, p, "x", 1, &err);
        uint8_t *data;
        size_t len;
        while (got < pubs && scbr_client_receive(sub, &data, &len, 60000, &err) == 1) {
            free(data);
            got++;
        }
    }
    if (got == pubs)
        rate = pubs / (seconds() - t0);
    scbr_sub_free(all);
    scbr_pub_free(p);
    scbr_client_close(sub);
    scbr_client_close(pub);
    return rate;
}

/* Fills r with n subscriptions from the clients cs (closed by the caller: their bye drops
 * the subscriptions) and measures it; the rate, or -1. */
static double run_one(struct demo *d, scbr_router *r, const char *name, long n, int pubs,
                      scbr_client *cs[DEMO_CLIENTS])
{
    double t0 = seconds();
    if (fill(d, r, n, cs) != 0) {
        printf("  %s: subscribing failed\n", name);
        return -1;
    }
    printf("  %s: %ld subscriptions in %.1f s\n", name, n, seconds() - t0);
    fflush(stdout);
    return burst(d, r, pubs);
}

static void clients_close(scbr_client *cs[DEMO_CLIENTS])
{
    for (int i = 0; i < DEMO_CLIENTS; i++)
        scbr_client_close(cs[i]);
}

/* The front stopped and started again on its state with one more shard: it reshards first,
 * losing none of the n subscriptions, and the new shard takes its share. */
static int reshard(struct demo *d, scbr_router **front, scbr_router *shards[DEMO_SHARDS + 1],
                   long n)
{
    uint64_t total = 0, last = 0;
    scbr_router_stop(*front, &d->err);
    scbr_router_close(*front);
    double t0 = seconds();
    if (!(shards[DEMO_SHARDS] = demo_node(d, 0, DEMO_SHARDS, false)) ||
        !(*front = demo_node(d, DEMO_SHARDS + 1, -1, true)))
        return -1;
    printf("  front restarted with --shards %d on its state: resharded in %.1f s; subscriptions "
           "per shard:",
           DEMO_SHARDS + 1, seconds() - t0);
    for (int i = 0; i <= DEMO_SHARDS; i++) {
        struct scbr_router_stats st;
        if (scbr_router_get_stats(shards[i], &st, &d->err) != 0)
            return -1;
        printf(" %llu", (unsigned long long)st.enclave.subscriptions);
        total += st.enclave.subscriptions;
        last = st.enclave.subscriptions;
    }
    printf("\n");
    if (total >= (uint64_t)n && last > 0)
        return 0;
    cloister_errf(&d->err, CLOISTER_E_FAILED, "resharding lost subscriptions: %llu of %ld held",
                  (unsigned long long)total, n);
    return -1;
}

/* with_reshard: then the front restarts with a fifth shard. */
static int demo_run(struct demo *d, long epc_mib, long times, int pubs, bool with_reshard)
{
    uint8_t seed[TEE_SEED_LEN], pk[TEE_PUBKEY_LEN];
    if (crypto_ed25519_keypair(pk, seed) != 0 || crypto_random(d->sk, sizeof d->sk) != 0 ||
        scbr_router_sign(d->image, seed, (uint64_t)epc_mib << 20, 0, d->sig, &d->err) != 0)
        return -1;
    crypto_wipe(seed, sizeof seed);
    long n = times * (epc_mib << 20) / DEMO_SUB_BYTES;
    printf("  EPC budget %ld MiB per enclave; %ld subscriptions, %ldx what one enclave holds\n",
           epc_mib, n, times);
    scbr_router *one = demo_node(d, 0, -1, false), *shards[DEMO_SHARDS + 1] = {0}, *front = NULL;
    for (int i = 0; one && i < DEMO_SHARDS && (i == 0 || shards[i - 1]); i++)
        shards[i] = demo_node(d, 0, i, false);
    if (shards[DEMO_SHARDS - 1])
        front = demo_node(d, DEMO_SHARDS, -1, with_reshard);
    scbr_client *cs[DEMO_CLIENTS] = {0}, *fcs[DEMO_CLIENTS] = {0};
    double single = front ? run_one(d, one, "one router", n, pubs, cs) : -1;
    clients_close(cs);
    double sharded = single >= 0 ? run_one(d, front, "front + 4 shards", n, pubs, fcs) : -1;
    if (sharded >= 0)
        printf("  %d publications: one router %.1f/s (paging), four shards %.1f/s: %.1fx\n", pubs,
               single, sharded, sharded / single);
    int rc = sharded >= 0 && with_reshard ? reshard(d, &front, shards, n) : sharded >= 0 ? 0 : -1;
    clients_close(fcs);
    scbr_router_close(front);
    for (int i = 0; i <= DEMO_SHARDS; i++)
        scbr_router_close(shards[i]);
    scbr_router_close(one);
    return rc;
}

/* A temporary home, the image's path, a run, and the home removed. */
static int demo_main(struct demo *d, long epc, long times, int pubs, bool with_reshard)
{
    if (tee_image_path("scbr", d->image, sizeof d->image, &d->err) != CLOISTER_OK ||
        !mkdtemp(d->home))
        return cli_fail("%s", d->err.msg[0] ? d->err.msg : strerror(errno));
    snprintf(d->sig, sizeof d->sig, "%s/scbr.enclave.sig", d->home);
    char natsdir[80];
    snprintf(natsdir, sizeof natsdir, "%s/nats", d->home);
    if (!d->nats && file_mkdirs(natsdir, 0700) == 0 &&
        (d->srv = bus_server_start(natsdir, &d->err)))
        d->nats = bus_server_url(d->srv);
    int rc = d->nats && demo_run(d, epc, times, pubs, with_reshard) == 0
                 ? CLI_OK
                 : cli_fail("%s", d->err.msg);
    bus_server_stop(d->srv);
    crypto_wipe(d->sk, sizeof d->sk);
    file_remove_tree(d->home);
    return rc;
}

int cli_scbr_shard_step(void)
{
    struct demo d = {.home = "/tmp/cloister-scbr-shards-XXXXXX"};
    const char *why;
    cli_demo_heading("SCBR: one router paging beside four shards (NATS), then a fifth shard");
    if (!(d.nats = cli_demo_nats(&why))) {
        printf("  skipped: %s\n", why);
        return CLI_OK;
    }
    return demo_main(&d, 1, 2, 10, true);
}

int cli_scbr_shard_demo(int argc, char **argv)
{
    long long epc = 2, times = 2, pubs = 20;
    const struct opt_def opts[] = {
        {"epc", OPT_INT, &epc, "MiB", "EPC budget of every enclave (default 2)", 0, 1, 1024},
        {"times", OPT_INT, &times, "X", "subscriptions: X times what one enclave holds (default 2)",
         0, 1, 8},
        {"pubs", OPT_INT, &pubs, "N", "publications per rate (default 20)", 0, 1, 100000},
        {0}};
    const struct opt_cmd cmd = {
        "scbr shard-demo",
        "",
        "One router enclave paging beside four shards that do not, on the same subscriptions.",
        opts,
        0,
        0,
        "Starts a nats-server, one router and a front with four shards (proc enclaves, naive\n"
        "index, a small EPC budget) in a temporary home, gives both the same subscriptions and\n"
        "prints the publication rates side by side. Needs nats-server.",
        "cloister scbr shard-demo\ncloister scbr shard-demo --epc 4 --times 3\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    struct demo d = {.home = "/tmp/cloister-scbr-shards-XXXXXX"};
    cli_demo_heading("SCBR: one router paging beside four shards (NATS)");
    return demo_main(&d, (long)epc, (long)times, (int)pubs, false);
}
