/* bench_scbr_router.c -- end-to-end throughput and latency of the SCBR router over loopback.
 *
 * A router (proc enclave, fast index, in a thread of this process) holds 1,000 stock-quote
 * subscriptions of one subscriber plus one catch-all subscription (`symbol exists`) of another,
 * so every publication is matched against the whole index and delivered at least once. A
 * publisher thread sends PUBS stock publications as fast as it can (encrypted header, 64-byte
 * payload carrying the send time); the catch-all subscriber measures, per publication, the time
 * from send to delivery, and the run's throughput from the first send to the last delivery.
 *
 * Rows: first the saturation runs (rate 0: the publisher sends as fast as it can, so latency is
 * mostly queueing) for router batch sizes (publications per ecall) 1, 16, 64 and 256 -- batch 1
 * is the baseline, one ecall per message as in the original SCBR, measured in the same run;
 * then paced runs at a fixed offered rate, where latency is the router's own.
 * CSV on stdout: rate,batch,pubs,seconds,pubs_per_s,p50_us,p99_us,delivered,dropped,ecalls. */
#include <cloister/crypto.h>
#include <cloister/scbr.h>
#include <cloister/scbr_client.h>
#include <cloister/scbr_host.h>
#include <cloister/tee_trust.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "util/fileio.h"

#define PUBS 60000
#define NSUBS 1000
#define WAIT_MS 20000
#define PAYLOAD 64

struct run {
    scbr_router *r;
    struct cloister_err err;
    const struct scbr_pub_list *pubs;
    const uint8_t *sk;
    size_t npubs;
    double rate; /* publications per second; 0: as fast as possible */
    double t0;
};

static char home[] = "/tmp/cloister-bench-scbr-XXXXXX";

static void *publisher_main(void *arg)
{
    struct run *run = arg;
    struct cloister_err err;
    scbr_client *c = scbr_client_connect(scbr_router_endpoint(run->r), run->sk, &err);
    uint8_t payload[PAYLOAD] = {0};
    run->t0 = bench_now_ns();
    for (size_t i = 0; c && i < run->npubs; i++) {
        double now = bench_now_ns(), due = run->t0 + (run->rate ? i * 1e9 / run->rate : 0);
        if (due - now > 200e3) { /* ahead of the schedule by more than 0.2 ms: wait */
            struct timespec ts = {0, (long)(due - now)};
            nanosleep(&ts, NULL);
            now = bench_now_ns();
        }
        memcpy(payload, &now, sizeof now);
        if (scbr_client_publish(c, run->pubs->v[i % run->pubs->n], payload, sizeof payload, &err) !=
            0)
            break;
    }
    scbr_client_close(c);
    return NULL;
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "bench_scbr_router: %s: %s\n", what, why);
    exit(1);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void one_run(double rate, unsigned batch, size_t npubs, const char *image, const char *sig,
                    const uint8_t *sk, const struct scbr_sub_list *subs,
                    const struct scbr_pub_list *pubs, double *lat)
{
    struct run run = {.pubs = pubs, .sk = sk, .npubs = npubs, .rate = rate};
    struct scbr_router_options o;
    scbr_router_options_init(&o);
    o.backend = TEE_BACKEND_PROC;
    o.image = image;
    o.signature = sig;
    o.home = home;
    o.batch = batch;
    o.queue = 2 * PUBS; /* measure the router, not drops at a full queue */
    if (scbr_router_open(&o, &run.r, &run.err) != 0 || scbr_router_start(run.r, &run.err) != 0)
        die("router", run.err.msg);
    pthread_t pt;
    const char *ep = scbr_router_endpoint(run.r);
    uint8_t mre[32], mrs[32];
    static bool provisioned; /* later routers restore SK sealed in the store */
    if (!provisioned && (scbr_router_identity(run.r, mre, mrs, &run.err) != 0 ||
                         scbr_client_provision_local(ep, mre, home, sk, WAIT_MS, &run.err) != 0))
        die("provisioning", run.err.msg);
    provisioned = true;
    struct cloister_err err;
    scbr_client *all = scbr_client_connect(ep, sk, &err), *many = scbr_client_connect(ep, sk, &err);
    struct scbr_sub *catch_all = scbr_parse_sub("symbol exists", 13, "bench", 1, &err);
    uint32_t id;
    if (!all || !many || !catch_all || scbr_client_subscribe(all, catch_all, &id, WAIT_MS, &err))
        die("subscribe", err.msg);
    for (size_t i = 0; i < subs->n; i++)
        if (scbr_client_subscribe(many, subs->v[i], &id, WAIT_MS, &err) != 0)
            die("subscribe", err.msg);
    pthread_create(&pt, NULL, publisher_main, &run);
    size_t got = 0;
    uint8_t *payload;
    size_t len;
    while (got < run.npubs && scbr_client_receive(all, &payload, &len, WAIT_MS, &err) == 1) {
        double sent;
        memcpy(&sent, payload, sizeof sent);
        lat[got++] = (bench_now_ns() - sent) / 1e3;
        free(payload);
    }
    double seconds = (bench_now_ns() - run.t0) / 1e9;
    pthread_join(pt, NULL);
    struct scbr_router_stats st;
    if (scbr_client_stats(all, &st, WAIT_MS, &err) != 0)
        die("stats", err.msg);
    scbr_client_close(all);
    scbr_client_close(many);
    scbr_sub_free(catch_all);
    if (scbr_router_stop(run.r, &run.err) != 0)
        die("router", run.err.msg);
    scbr_router_close(run.r);
    qsort(lat, got, sizeof *lat, cmp);
    printf("%.0f,%u,%zu,%.3f,%.0f,%.1f,%.1f,%llu,%llu,%llu\n", rate, batch, got, seconds,
           got / seconds, got ? lat[got / 2] : 0, got ? lat[(size_t)(got * 0.99)] : 0,
           (unsigned long long)st.host.delivered, (unsigned long long)st.host.dropped,
           (unsigned long long)st.host.ecalls);
    fflush(stdout);
    if (got < run.npubs)
        fprintf(stderr, "batch %u: only %zu of %zu publications arrived\n", batch, got, run.npubs);
}

int main(void)
{
    char image[4096], sig[4200], *st, *pt;
    size_t sl, pl;
    uint8_t seed[32], pk[32], sk[SCBR_SK_LEN];
    struct cloister_err err;
    struct scbr_sub_list subs;
    struct scbr_pub_list pubs;
    if (tee_image_path("scbr", image, sizeof image, &err) != CLOISTER_OK)
        die("image", err.msg);
    if (!mkdtemp(home))
        die("temporary home", "mkdtemp failed");
    snprintf(sig, sizeof sig, "%s/scbr.enclave.sig", home);
    if (crypto_ed25519_keypair(pk, seed) != 0 || crypto_random(sk, sizeof sk) != 0)
        die("keys", "no randomness");
    if (scbr_router_sign(image, seed, 0, 0, sig, &err) != 0)
        die("signing", err.msg);
    if (scbr_gen(SCBR_WORKLOAD_STOCK, NSUBS, 10000, 3, &st, &sl, &pt, &pl, &err) != 0 ||
        scbr_parse_subs(st, sl, "subs", &subs, &err) != 0 ||
        scbr_parse_pubs(pt, pl, "pubs", &pubs, &err) != 0)
        die("workload", err.msg);
    double *lat = malloc(PUBS * sizeof *lat);
    if (!lat)
        die("memory", "out of memory");
    fprintf(stderr,
            "scbr router: %d stock subscriptions + 1 catch-all, proc enclave, fast "
            "index, loopback tcp, %d-byte payloads\n",
            NSUBS, PAYLOAD);
    printf("rate,batch,pubs,seconds,pubs_per_s,p50_us,p99_us,delivered,dropped,ecalls\n");
    static const struct {
        double rate;
        unsigned batch;
        size_t pubs;
    } runs[] = {{0, 1, PUBS / 3}, {0, 16, PUBS},      {0, 64, PUBS},     {0, 256, PUBS},
                {5000, 1, 10000}, {5000, 256, 10000}, {50000, 256, PUBS}};
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++)
        one_run(runs[i].rate, runs[i].batch, runs[i].pubs, image, sig, sk, &subs, &pubs, lat);
    free(lat);
    free(st);
    free(pt);
    scbr_sub_list_free(&subs);
    scbr_pub_list_free(&pubs);
    crypto_wipe(sk, sizeof sk);
    file_remove_tree(home);
    return 0;
}
