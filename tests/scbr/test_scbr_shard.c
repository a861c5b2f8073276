/* test_scbr_shard.c -- SCBR sharded over NATS (docs/scbr.md, "Shards"): a front router and N
 * shard routers (proc enclaves, in threads of this process) on a nats-server on loopback, real
 * ZeroMQ clients. What each subscriber receives through 1, 2 and 4 shards, partitioned by
 * subscription id and by an attribute, is compared with the plaintext oracle and with a single
 * router on the same workload; a shard's enclave killed (-9) and a shard host restarted lose no
 * subscription and deliver no duplicate; resharding 2 to 3 under load (through the provider's
 * signed reshard command: a stranger's and a replayed one refused) keeps every subscription
 * and publication; a shard whose MRENCLAVE is not the expected one is
 * refused SK and never serves. Every test skips when nats-server is not installed. */
#include <cloister/crypto.h>
#include <cloister/scbr.h>
#include <cloister/scbr_client.h>
#include <cloister/scbr_host.h>
#include <cloister/tee_trust.h>
#include <cloister/tee_verify.h>

#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/wait.h>

#include <cmocka.h>

#include "bus/bus.h"
#include "scbr/client/scbr_client_raw.h"
#include "util/fileio.h"
#include "util/hex.h"

#define WAIT_MS 5000
#define QUIET_MS 300
#define EXTRA_MS 50 /* after the deliveries expected (all sent before the publisher's sync) */
#define NCLIENTS 3
#define NSUBS 40
#define NPUBS 200

static char home[4096], image[4200], sig[4300], other_sig[4300], natsdir[4300];
static uint8_t sk[SCBR_SK_LEN];
static struct bus_server *srv;

struct node {
    scbr_router *r;
    char endpoint[256];
    uint8_t mrenclave[32], mrsigner[32];
};

#define SKIP_WITHOUT_NATS()                                                                        \
    do {                                                                                           \
        if (!srv)                                                                                  \
            skip();                                                                                \
    } while (0)

/* shards: 0 for a single router or a shard; index < 0: not a shard. */
static void node_start(struct node *n, const char *signature, const char *state, unsigned shards,
                       const char *key, int index)
{
    char dir[4400];
    struct cloister_err err;
    struct scbr_router_options o;
    memset(n, 0, sizeof *n);
    scbr_router_options_init(&o);
    o.backend = TEE_BACKEND_PROC;
    o.image = image;
    o.signature = signature;
    o.home = home;
    o.nats = bus_server_url(srv);
    o.cluster = "test";
    o.shards = shards;
    o.partition_key = key;
    o.is_shard = index >= 0;
    o.shard_index = index >= 0 ? (unsigned)index : 0;
    if (state) {
        snprintf(dir, sizeof dir, "%s/%s", home, state);
        o.state_dir = dir;
    }
    if (scbr_router_open(&o, &n->r, &err) != 0 ||
        scbr_router_identity(n->r, n->mrenclave, n->mrsigner, &err) != 0 ||
        scbr_router_start(n->r, &err) != 0)
        fail_msg("router: %s", err.msg);
    snprintf(n->endpoint, sizeof n->endpoint, "%s", scbr_router_endpoint(n->r));
}

static void node_stop(struct node *n)
{
    struct cloister_err err;
    if (scbr_router_stop(n->r, &err) != 0)
        fail_msg("router: %s", err.msg);
    scbr_router_close(n->r);
}

static void provision(const struct node *n, const uint8_t mrenclave[32])
{
    struct cloister_err err;
    if (scbr_client_provision_local(n->endpoint, mrenclave, home, sk, WAIT_MS, &err) != 0)
        fail_msg("provision: %s", err.msg);
}

/* N provisioned shards (state under "<state>-<i>" when state is set), then their front. */
static void cluster_start(struct node *front, struct node *shards, unsigned n, const char *key,
                          const char *state)
{
    char dir[64];
    for (unsigned i = 0; i < n; i++) {
        snprintf(dir, sizeof dir, "%s-%u", state ? state : "", i);
        node_start(&shards[i], sig, state ? dir : NULL, 0, NULL, (int)i);
        provision(&shards[i], shards[i].mrenclave);
    }
    node_start(front, sig, state, n, key, -1);
    provision(front, front->mrenclave);
}

static void cluster_stop(struct node *front, struct node *shards, unsigned n)
{
    node_stop(front);
    for (unsigned i = 0; i < n; i++)
        node_stop(&shards[i]);
}

static scbr_client *client(const struct node *n)
{
    struct cloister_err err;
    scbr_client *c = scbr_client_connect(n->endpoint, sk, &err);
    if (!c)
        fail_msg("client: %s", err.msg);
    return c;
}

struct workload {
    struct scbr_sub_list subs;
    struct scbr_pub_list pubs;
    char *st, *pt;
};

static void workload_make(struct workload *w, uint64_t seed)
{
    size_t sl, pl;
    struct cloister_err err;
    assert_int_equal(
        scbr_gen(SCBR_WORKLOAD_RANDOM, NSUBS, NPUBS, seed, &w->st, &sl, &w->pt, &pl, &err), 0);
    assert_int_equal(scbr_parse_subs(w->st, sl, "subs", &w->subs, &err), 0);
    assert_int_equal(scbr_parse_pubs(w->pt, pl, "pubs", &w->pubs, &err), 0);
}

static void workload_free(struct workload *w)
{
    scbr_sub_list_free(&w->subs);
    scbr_pub_list_free(&w->pubs);
    free(w->st);
    free(w->pt);
}

/* Subscription i belongs to client i % NCLIENTS; the subscriptions with i % 5 == 4 are
 * withdrawn after the first half of the publications. */
static bool live(size_t i, size_t j)
{
    return i % 5 != 4 || j < NPUBS / 2;
}

/* The oracle: for each client, the publications it must receive, in order (-1 ends). */
static void oracle(const struct workload *w, int want[NCLIENTS][NPUBS + 1])
{
    for (int k = 0; k < NCLIENTS; k++) {
        int m = 0;
        for (size_t j = 0; j < w->pubs.n; j++) {
            bool match = false;
            for (size_t i = (size_t)k; i < w->subs.n && !match; i += NCLIENTS)
                match = live(i, j) && scbr_sub_matches(w->subs.v[i], w->pubs.v[j]);
            if (match)
                want[k][m++] = (int)j;
        }
        want[k][m] = -1;
    }
}

static void publish_range(scbr_client *pub, const struct workload *w, size_t from, size_t to)
{
    struct cloister_err err;
    for (size_t j = from; j < to; j++) {
        char payload[32];
        snprintf(payload, sizeof payload, "%zu", j);
        assert_int_equal(scbr_client_publish(pub, w->pubs.v[j], payload, strlen(payload), &err), 0);
    }
    if (scbr_client_sync(pub, WAIT_MS, &err) != 0)
        fail_msg("publications refused: %s", err.msg);
}

/* The publications c received (-1 ends): as many deliveries as the oracle expects (the router
 * sent them all before it answered the publisher's sync), then any extra that comes within
 * EXTRA_MS. */
static void receive_all(scbr_client *c, const int want[NPUBS + 1], int got[NPUBS + 1])
{
    struct cloister_err err;
    int m = 0, expected = 0;
    uint8_t *data;
    size_t len;
    while (want[expected] >= 0)
        expected++;
    while (m < NPUBS &&
           scbr_client_receive(c, &data, &len, m < expected ? WAIT_MS : EXTRA_MS, &err) == 1) {
        char text[32] = "";
        memcpy(text, data, len < sizeof text - 1 ? len : sizeof text - 1);
        got[m++] = atoi(text);
        free(data);
    }
    got[m] = -1;
}

/* Runs the workload through the router at n and records what each client received. The
 * clients stay connected (close them with clients_close). */
static void run_workload(const struct node *n, const struct workload *w,
                         int want[NCLIENTS][NPUBS + 1], int got[NCLIENTS][NPUBS + 1],
                         scbr_client *c[NCLIENTS + 1])
{
    struct cloister_err err;
    scbr_client *pub = c[NCLIENTS] = client(n);
    uint32_t ids[NSUBS];
    for (int k = 0; k < NCLIENTS; k++)
        c[k] = client(n);
    for (size_t i = 0; i < w->subs.n; i++)
        if (scbr_client_subscribe(c[i % NCLIENTS], w->subs.v[i], &ids[i], WAIT_MS, &err) != 0)
            fail_msg("subscription %zu: %s", i, err.msg);
    publish_range(pub, w, 0, NPUBS / 2);
    for (size_t i = 4; i < w->subs.n; i += 5)
        if (scbr_client_unsubscribe(c[i % NCLIENTS], ids[i], WAIT_MS, &err) != 0)
            fail_msg("unsubscription %zu: %s", i, err.msg);
    publish_range(pub, w, NPUBS / 2, NPUBS);
    for (int k = 0; k < NCLIENTS; k++)
        receive_all(c[k], want[k], got[k]);
}

static void clients_close(scbr_client *c[NCLIENTS + 1])
{
    for (int k = 0; k <= NCLIENTS; k++)
        scbr_client_close(c[k]);
}

/* The subscriptions the shards hold, together. */
static uint64_t held(const struct node *shards, unsigned n)
{
    uint64_t total = 0;
    for (unsigned s = 0; s < n; s++) {
        struct cloister_err err;
        struct scbr_router_stats st;
        scbr_client *c = scbr_client_connect(shards[s].endpoint, NULL, &err);
        assert_non_null(c);
        if (scbr_client_stats(c, &st, WAIT_MS, &err) != 0)
            fail_msg("stats: %s", err.msg);
        total += st.enclave.subscriptions;
        scbr_client_close(c);
    }
    return total;
}

static void expect_same(int want[NCLIENTS][NPUBS + 1], int got[NCLIENTS][NPUBS + 1],
                        const char *what)
{
    for (int k = 0; k < NCLIENTS; k++)
        for (int m = 0; m <= NPUBS; m++) {
            if (want[k][m] != got[k][m])
                fail_msg("%s: client %d, delivery %d: publication %d expected, %d received", what,
                         k, m, want[k][m], got[k][m]);
            if (want[k][m] < 0)
                break;
        }
}

/* Deliveries through 1, 2 and 4 shards, partitioned by id and by attribute "a", equal the
 * single router's and the oracle's. */
static void test_differential(void **state)
{
    SKIP_WITHOUT_NATS();
    static int want[NCLIENTS][NPUBS + 1], single[NCLIENTS][NPUBS + 1], got[NCLIENTS][NPUBS + 1];
    struct workload w;
    workload_make(&w, 7);
    oracle(&w, want);
    size_t total = 0;
    for (int k = 0; k < NCLIENTS; k++)
        for (int m = 0; want[k][m] >= 0; m++)
            total++;
    assert_true(total > 20); /* the workload exercises the routers */

    struct node r;
    scbr_client *c[NCLIENTS + 1];
    node_start(&r, sig, NULL, 0, NULL, -1);
    provision(&r, r.mrenclave);
    run_workload(&r, &w, want, single, c);
    clients_close(c);
    node_stop(&r);
    expect_same(want, single, "single router");

    static const unsigned ns[] = {1, 2, 4};
    static const char *const keys[] = {NULL, "a"};
    for (size_t m = 0; m < 2; m++)
        for (size_t i = 0; i < 3; i++) {
            struct node front, shards[4];
            char what[64];
            snprintf(what, sizeof what, "%u shards by %s", ns[i], keys[m] ? keys[m] : "id");
            cluster_start(&front, shards, ns[i], keys[m], NULL);
            run_workload(&front, &w, want, got, c);
            expect_same(single, got, what);
            /* by id each live subscription is in one shard; by attribute, one without an
             * equality on it is in every shard */
            uint64_t live_subs = NSUBS - NSUBS / 5, h = held(shards, ns[i]);
            if (keys[m])
                assert_true(h >= live_subs && (ns[i] > 1 || h == live_subs));
            else
                assert_int_equal(h, live_subs);
            clients_close(c);
            cluster_stop(&front, shards, ns[i]);
        }
    workload_free(&w);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* kill -9 of a router's enclave process; returns once the router restarted it. */
static void kill_enclave(const struct node *n)
{
    struct tee_info info;
    assert_int_equal(tee_get_info(scbr_router_enclave(n->r), &info), CLOISTER_OK);
    uint64_t restarts = info.stats.restarts;
    assert_int_equal(kill(info.pid, SIGKILL), 0);
    for (int i = 0; i < 40 && info.stats.restarts == restarts; i++) {
        sleep_ms(50);
        assert_int_equal(tee_get_info(scbr_router_enclave(n->r), &info), CLOISTER_OK);
    }
    assert_int_equal(info.stats.restarts, restarts + 1);
}

static void publish_n(scbr_client *pub, int from, int to)
{
    struct cloister_err err;
    for (int j = from; j < to; j++) {
        char header[32], payload[32];
        snprintf(header, sizeof header, "n = %d", j % 8);
        snprintf(payload, sizeof payload, "%d", j);
        struct scbr_pub *p = scbr_parse_pub(header, strlen(header), "test", 1, &err);
        assert_non_null(p);
        assert_int_equal(scbr_client_publish(pub, p, payload, strlen(payload), &err), 0);
        scbr_pub_free(p);
    }
}

/* Reads deliveries until QUIET_MS pass without one: they must be strictly increasing (no
 * duplicate); returns how many, and whether every one of [from, to) was among them. */
static size_t drain(scbr_client *c, int from, int to, bool *all)
{
    struct cloister_err err;
    uint8_t *data;
    size_t len, n = 0;
    int last = -1, seen = 0;
    while (scbr_client_receive(c, &data, &len, QUIET_MS, &err) == 1) {
        char text[32] = "";
        memcpy(text, data, len < sizeof text - 1 ? len : sizeof text - 1);
        free(data);
        int j = atoi(text);
        if (j <= last)
            fail_msg("publication %d delivered after %d (a duplicate or out of order)", j, last);
        last = j;
        seen += j >= from && j < to;
        n++;
    }
    *all = seen == to - from;
    return n;
}

/* A shard's enclave killed (-9) in the middle of a stream, and a shard host stopped and
 * started again on its state: every subscription stays, nothing is delivered twice, and once
 * the front has the restarted shard's epoch every publication is delivered again. */
static void test_shard_restart(void **state)
{
    SKIP_WITHOUT_NATS();
    struct node front, shards[2];
    struct cloister_err err;
    bool all;
    cluster_start(&front, shards, 2, NULL, "restart");
    scbr_client *sub = client(&front), *pub = client(&front);
    for (int i = 0; i < 8; i++) {
        char filter[32];
        uint32_t id;
        snprintf(filter, sizeof filter, "n = %d", i);
        struct scbr_sub *s = scbr_parse_sub(filter, strlen(filter), "test", 1, &err);
        assert_int_equal(scbr_client_subscribe(sub, s, &id, WAIT_MS, &err), 0);
        scbr_sub_free(s);
    }
    assert_int_equal(held(shards, 2), 8);
    uint64_t per_shard = held(&shards[0], 1);
    assert_true(per_shard > 0 && per_shard < 8); /* both shards hold some */
    sleep_ms(500);                               /* persisted (within 200 ms of a change) */

    publish_n(pub, 0, 100);
    assert_int_equal(scbr_client_sync(pub, WAIT_MS, &err), 0); /* routed */
    kill_enclave(&shards[0]);
    publish_n(pub, 100, 200);
    assert_true(drain(sub, 0, 100, &all) >= 100 && all); /* before the kill: every one */
    sleep_ms(300); /* the front reads the restarted shard's announcement */
    publish_n(pub, 200, 240);
    drain(sub, 200, 240, &all);
    assert_true(all);
    assert_int_equal(held(shards, 2), 8);

    node_stop(&shards[1]); /* the shard host goes, and comes back on its sealed state */
    node_start(&shards[1], sig, "restart-1", 0, NULL, 1);
    sleep_ms(300);
    publish_n(pub, 240, 280);
    drain(sub, 240, 280, &all);
    assert_true(all);
    assert_int_equal(held(shards, 2), 8);
    scbr_client_close(sub);
    scbr_client_close(pub);
    cluster_stop(&front, shards, 2);
}

struct stream {
    scbr_client *pub;
    const struct workload *w;
    _Atomic size_t sent;
};

static void *stream_main(void *arg)
{
    struct stream *st = arg;
    struct cloister_err err;
    for (size_t j = 0; j < NPUBS; j++) {
        char payload[32];
        snprintf(payload, sizeof payload, "%zu", j);
        if (scbr_client_publish(st->pub, st->w->pubs.v[j], payload, strlen(payload), &err) != 0)
            break;
        atomic_store(&st->sent, j + 1);
        if (j % 8 == 0)
            sleep_ms(2);
    }
    return NULL;
}

/* Provisions n's SK again, signed by the provider seed: the first signed provisioning pins it. */
static void pin(const struct node *n, const uint8_t seed[32])
{
    struct cloister_err err;
    struct tee_policy p;
    tee_policy_default(&p);
    p.mrenclave = (const uint8_t(*)[TEE_HASH_LEN])n->mrenclave;
    p.n_mrenclave = 1;
    p.allow_simulated = true;
    tee_platform *platform = tee_platform_open(home, &err);
    tee_verifier *v = platform ? tee_verifier_new_file(tee_platform_ca_path(platform), &err) : NULL;
    assert_non_null(v);
    scbr_client *c = scbr_client_connect(n->endpoint, NULL, &err);
    assert_non_null(c);
    if (scbr_client_provision(c, v, &p, sk, seed, NULL, WAIT_MS, &err) != 0)
        fail_msg("pin: %s", err.msg);
    scbr_client_close(c);
    tee_verifier_free(v);
    tee_platform_free(platform);
}

/* The live reshard verb's checks: a command signed by another provider is refused, the
 * provider's own moves the subscriptions, and its exact bytes sent again are refused. */
static void reshard_live(const struct node *front, unsigned shards)
{
    uint8_t provider[32], stranger[32], pk[32];
    struct cloister_err err;
    struct scbr_router_stats st;
    assert_int_equal(crypto_ed25519_keypair(pk, provider), 0);
    assert_int_equal(crypto_ed25519_keypair(pk, stranger), 0);
    scbr_client *c = client(front);
    assert_int_equal(scbr_client_reshard(c, provider, shards, WAIT_MS, &err), CLOISTER_E_DENIED);
    pin(front, provider); /* no provider pinned yet: refused above */
    assert_int_equal(scbr_client_reshard(c, stranger, shards, WAIT_MS, &err), CLOISTER_E_DENIED);
    assert_non_null(strstr(err.msg, "pinned provider"));
    if (scbr_client_reshard(c, provider, shards, 30000, &err) != 0)
        fail_msg("reshard: %s", err.msg);
    const uint8_t *last;
    size_t len;
    assert_int_equal(scbr_client_last_sent(c, &last, &len), 0);
    assert_int_equal(scbr_client_send_raw(c, last, len, &err), 0); /* a replay */
    assert_int_equal(scbr_client_stats(c, &st, WAIT_MS, &err), CLOISTER_E_DENIED);
    assert_non_null(strstr(err.msg, "replayed"));
    assert_int_equal(scbr_client_stats(c, &st, WAIT_MS, &err), 0);
    scbr_client_close(c);
}

/* Resharding from 2 to 3 shards while a publisher streams, by id and by attribute: every
 * subscription kept (and the third shard given its part), every client receives exactly the
 * oracle's publications, once; unsubscriptions afterwards find their subscriptions. */
static void test_reshard(void **state)
{
    SKIP_WITHOUT_NATS();
    static int want[NCLIENTS][NPUBS + 1];
    struct workload w;
    struct cloister_err err;
    workload_make(&w, 11);
    for (size_t m = 0; m < 2; m++) {
        const char *key = m ? "a" : NULL;
        struct node front, shards[3];
        cluster_start(&front, shards, 2, key, NULL);
        node_start(&shards[2], sig, NULL, 0, NULL, 2);
        provision(&shards[2], shards[2].mrenclave);
        scbr_client *c[NCLIENTS];
        uint32_t ids[NSUBS];
        for (int k = 0; k < NCLIENTS; k++)
            c[k] = client(&front);
        for (size_t i = 0; i < w.subs.n; i++)
            if (scbr_client_subscribe(c[i % NCLIENTS], w.subs.v[i], &ids[i], WAIT_MS, &err) != 0)
                fail_msg("subscription %zu: %s", i, err.msg);
        uint64_t before = held(shards, 2);
        struct stream st = {client(&front), &w, 0};
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, stream_main, &st), 0);
        while (atomic_load(&st.sent) < NPUBS / 3)
            sleep_ms(1);
        if (!key) /* by id through the verb of `cloister scbr reshard`, by attribute the API */
            reshard_live(&front, 3);
        else if (scbr_router_reshard(front.r, 3, &err) != 0)
            fail_msg("reshard: %s", err.msg);
        pthread_join(t, NULL);
        assert_int_equal(atomic_load(&st.sent), NPUBS);
        assert_int_equal(scbr_client_sync(st.pub, WAIT_MS, &err), 0);
        int got[NCLIENTS][NPUBS + 1];
        for (int k = 0; k < NCLIENTS; k++) {
            int n = 0;
            for (size_t j = 0; j < w.pubs.n; j++) {
                bool match = false;
                for (size_t i = (size_t)k; i < w.subs.n && !match; i += NCLIENTS)
                    match = scbr_sub_matches(w.subs.v[i], w.pubs.v[j]);
                if (match)
                    want[k][n++] = (int)j;
            }
            want[k][n] = -1;
            receive_all(c[k], want[k], got[k]);
        }
        expect_same(want, got, key ? "resharded by attribute" : "resharded by id");
        uint64_t after = held(shards, 3), third = held(&shards[2], 1);
        if (key)
            assert_true(after >= NSUBS && third > 0);
        else
            assert_true(after == NSUBS && before == NSUBS && third > 0 && third < NSUBS);
        for (size_t i = 0; i < w.subs.n; i++) /* each found where the new partition put it */
            if (scbr_client_unsubscribe(c[i % NCLIENTS], ids[i], WAIT_MS, &err) != 0)
                fail_msg("unsubscription %zu: %s", i, err.msg);
        assert_int_equal(held(shards, 3), 0);
        for (int k = 0; k < NCLIENTS; k++)
            scbr_client_close(c[k]);
        scbr_client_close(st.pub);
        cluster_stop(&front, shards, 3);
        char sealed[4400]; /* the pin is sealed with the image's secrets: the next routers */
        snprintf(sealed, sizeof sealed, "%s/enclaves/scbr", home); /* start unprovisioned */
        assert_int_equal(file_remove_tree(sealed), 0);
    }
    workload_free(&w);
}

/* A shard whose enclave is not the expected build (another MRENCLAVE) is refused SK by the
 * provider, and a front routing to it serves nothing through it. */
static void test_wrong_mrenclave(void **state)
{
    SKIP_WITHOUT_NATS();
    struct node genuine, rogue, front;
    struct cloister_err err;
    node_start(&genuine, sig, NULL, 0, NULL, -1);
    node_start(&rogue, other_sig, NULL, 0, NULL, 0);
    assert_memory_not_equal(genuine.mrenclave, rogue.mrenclave, 32);
    assert_int_equal(
        scbr_client_provision_local(rogue.endpoint, genuine.mrenclave, home, sk, WAIT_MS, &err),
        CLOISTER_E_DENIED);
    node_start(&front, sig, NULL, 1, NULL, -1);
    provision(&front, genuine.mrenclave);
    scbr_client *c = client(&front);
    struct scbr_sub *s = scbr_parse_sub("n = 1", 5, "test", 1, &err);
    uint32_t id;
    assert_int_equal(scbr_client_subscribe(c, s, &id, WAIT_MS, &err), CLOISTER_E_STATE);
    assert_non_null(strstr(err.msg, "no key provisioned")); /* the shard has no SK */
    scbr_sub_free(s);
    scbr_client_close(c);
    node_stop(&front);
    node_stop(&rogue);
    node_stop(&genuine);
}

extern char **environ;

/* `cloister scbr router` as a front of n shards in a process of its own (so that it can be
 * killed -9), on the state directory home/state; its endpoint and MRENCLAVE from its output. */
static pid_t front_spawn(struct node *n, const char *state, unsigned shards)
{
    char bin[4400], out[4400], dir[4400], count[16], line[512];
    snprintf(bin, sizeof bin, "%s/src/cli/cloister", CLOISTER_BINARY_DIR);
    snprintf(out, sizeof out, "%s/%s.out", home, state);
    snprintf(dir, sizeof dir, "%s/%s", home, state);
    snprintf(count, sizeof count, "%u", shards);
    char *argv[] = {bin,
                    "scbr",
                    "router",
                    "--sig",
                    sig,
                    "--nats",
                    (char *)bus_server_url(srv),
                    "--cluster",
                    "test",
                    "--shards",
                    count,
                    "--listen",
                    "127.0.0.1:0",
                    "--state",
                    dir,
                    NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    pid_t pid;
    assert_int_equal(setenv("CLOISTER_HOME", home, 1), 0);
    assert_int_equal(posix_spawn(&pid, bin, &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    memset(n, 0, sizeof *n);
    bool up = false;
    for (int waited = 0; !up && waited < 4 * WAIT_MS; waited += 20) {
        sleep_ms(20);
        FILE *f = fopen(out, "r");
        char hex[65];
        while (f && fgets(line, sizeof line, f)) {
            const char *at = strstr(line, "listening on ");
            char ep[200];
            if (at && sscanf(at + 13, "%199s", ep) == 1)
                snprintf(n->endpoint, sizeof n->endpoint, "tcp://%s", ep);
            if (sscanf(line, " MRENCLAVE %64s", hex) == 1)
                up = hex_decode(n->mrenclave, 32, hex, 64) == 32;
        }
        if (f)
            fclose(f);
    }
    if (!up)
        fail_msg("the front did not start (see %s)", out);
    return pid;
}

struct reshard_call {
    const struct node *front;
    const uint8_t *provider;
};

static void *reshard_main(void *arg)
{
    struct reshard_call *rc = arg;
    struct cloister_err err;
    scbr_client *c = client(rc->front);
    scbr_client_reshard(c, rc->provider, 3, 1000, &err); /* the front dies meanwhile */
    scbr_client_close(c);
    return NULL;
}

/* A front (a process of its own) killed -9 at several moments of a live reshard from 2 to 3
 * shards: its state opens again (the interrupted reshard's copies pruned, or the move
 * finished), every subscription is held exactly once, and it reshards back to 2. */
static void test_front_killed_in_reshard(void **state)
{
    SKIP_WITHOUT_NATS();
    static const int delays_ms[] = {0, 12}; /* in the move, then in its prune */
    struct workload w;
    struct node shards[3], front;
    struct cloister_err err;
    uint8_t provider[32], pk[32];
    assert_int_equal(crypto_ed25519_keypair(pk, provider), 0);
    workload_make(&w, 17);
    for (unsigned i = 0; i < 3; i++) {
        char dir[32];
        snprintf(dir, sizeof dir, "killed-%u", i);
        node_start(&shards[i], sig, dir, 0, NULL, (int)i);
        provision(&shards[i], shards[i].mrenclave);
    }
    scbr_client *sub = NULL;
    for (size_t round = 0; round < sizeof delays_ms / sizeof *delays_ms; round++) {
        pid_t pid = front_spawn(&front, "killed-front", 2);
        if (round == 0) { /* later rounds: SK and the pin restored from the sealed secrets */
            provision(&front, front.mrenclave);
            pin(&front, provider);
            sub = client(&front);
            for (size_t i = 0; i < w.subs.n; i++) {
                uint32_t id;
                if (scbr_client_subscribe(sub, w.subs.v[i], &id, WAIT_MS, &err) != 0)
                    fail_msg("subscription %zu: %s", i, err.msg);
            }
        }
        struct reshard_call call = {&front, provider};
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, reshard_main, &call), 0);
        sleep_ms(30 + delays_ms[round]); /* the command's client connects first */
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        pthread_join(t, NULL);
        node_start(&front, sig, "killed-front", 3, NULL, -1); /* on the killed one's state */
        assert_int_equal(held(shards, 3), NSUBS);
        if (scbr_router_reshard(front.r, 2, &err) != 0)
            fail_msg("reshard back: %s", err.msg);
        assert_int_equal(held(shards, 3), NSUBS);
        assert_int_equal(held(&shards[2], 1), 0);
        node_stop(&front);
    }
    scbr_client_close(sub);
    for (unsigned i = 0; i < 3; i++)
        node_stop(&shards[i]);
    char sealed[4400]; /* the pin goes with the image's sealed secrets */
    snprintf(sealed, sizeof sealed, "%s/enclaves/scbr", home);
    assert_int_equal(file_remove_tree(sealed), 0);
    workload_free(&w);
}

static int setup(void **state)
{
    const char *h = getenv("CLOISTER_HOME");
    assert_non_null(h);
    snprintf(home, sizeof home, "%s", h);
    assert_int_equal(file_remove_tree(home), 0);
    assert_int_equal(file_mkdirs(home, 0700), 0);
    snprintf(image, sizeof image, "%s/enclaves/scbr.enclave", CLOISTER_BINARY_DIR);
    snprintf(sig, sizeof sig, "%s/scbr-test.sig", home);
    snprintf(other_sig, sizeof other_sig, "%s/scbr-other.sig", home);
    snprintf(natsdir, sizeof natsdir, "%s/nats", home);
    uint8_t seed[32], pk[32];
    struct cloister_err err;
    assert_int_equal(crypto_ed25519_keypair(pk, seed), 0);
    if (scbr_router_sign(image, seed, 0, 0, sig, &err) != 0 ||
        scbr_router_sign(image, seed, 0, (uint64_t)128 << 20, other_sig, &err) != 0)
        fail_msg("%s", err.msg);
    assert_int_equal(file_mkdirs(natsdir, 0700), 0);
    if (!(srv = bus_server_start(natsdir, &err)))
        fprintf(stderr, "test_scbr_shard: no nats-server (%s): every test skipped\n", err.msg);
    return crypto_random(sk, sizeof sk);
}

static int teardown(void **state)
{
    bus_server_stop(srv);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_differential), cmocka_unit_test(test_shard_restart),
        cmocka_unit_test(test_reshard), cmocka_unit_test(test_wrong_mrenclave),
        cmocka_unit_test(test_front_killed_in_reshard)};
    if (getenv("SCBR_SHARD_TEST")) /* one test by name, e.g. while debugging it */
        cmocka_set_test_filter(getenv("SCBR_SHARD_TEST"));
    return cmocka_run_group_tests(tests, setup, teardown);
}
