/* bench_asky_svc.c -- A-Sky's access service: envelope requests per second for a group of
 * ASKY_SVC_GROUP members (default 100), with 1 and 2 replicas.
 * CSV: path,store,replicas,clients,group,requests,failed,seconds,req_per_s
 *
 *   local    requests of a member in clear to the service's library (asky_envelope_request),
 *            clients threads per replica: the service, its store and its enclave (proc, two
 *            enclave workers), no HTTP
 *   sealed   the remote member's one-shot path over HTTP on loopback (asky_remote_envelope):
 *            an offer (evidence made by the enclave), the client's verification of it, the
 *            request sealed to the enclave, the envelope sealed back; the server with 4
 *            threads. The clients run on the same machine and share its cores.
 *   session  the same in a session (asky_remote_session_*): one offer verified per client, then
 *            each request sealed under the session's key on a kept-alive connection.
 *
 * Stores: sqlite (one replica) and postgresql (a throwaway cluster started with
 * tests/asky/pg_cluster.sh, skipped when PostgreSQL is missing; 1 and 2 replicas, each with
 * its own enclave); ASKY_SVC_STORES (e.g. "sqlite") runs only those named. ASKY_SVC_SECONDS
 * (default 3) per row. The target, printed beside each row and summed up on stderr: >= 20,000
 * envelope requests/s for groups of 100. */
#include <cloister/asky_serve.h>
#include <cloister/crypto.h>
#include <cloister/tee.h>
#include <cloister/tee_enclave.h>

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "util/fileio.h"

TEE_ENCLAVE_DECLARE(asky);

#define CLIENTS 4 /* per replica: the enclave's runtime keeps 4 offers pending at once */
#define TARGET 20000
#define TOKEN "bench-token-0123456789abcdef"

static char tmp[] = "/tmp/cloister-asky-svc-bench-XXXXXX";
static size_t group_size;
static double seconds;
static uint8_t member_key[ASKY_KEY_LEN];

struct replica {
    asky_service *s;
    asky_server *srv;
    char endpoint[32];
    uint8_t mrenclave[32];
};

enum path { LOCAL, SEALED, SESSION };
static const char *const path_names[] = {"local", "sealed", "session"};

struct client {
    struct replica *r;
    enum path path;
    double until;
    uint64_t done, failed;
};

static size_t env_size(const char *name, size_t dflt)
{
    const char *v = getenv(name);
    return v && *v ? (size_t)strtoull(v, NULL, 10) : dflt;
}

static double now_s(void)
{
    return bench_now_ns() / 1e9;
}

static int pg_cluster(const char *cmd)
{
    char line[PATH_MAX + 256];
    snprintf(line, sizeof line, "sh '%s/tests/asky/pg_cluster.sh' %s '%s/pg'", CLOISTER_SOURCE_DIR,
             cmd, tmp);
    int st = system(line);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int open_replica(struct replica *r, const char *store, const char *db)
{
    struct asky_service_options o = {.enclave = &tee_enclave_asky, .db = db, .workers = 2};
    struct cloister_err err;
    struct tee_info ti;
    if (asky_service_open(store, &o, &r->s, &err) != CLOISTER_OK ||
        asky_server_start(r->s, "127.0.0.1:0", TOKEN, 0, 4, &r->srv, &err) != CLOISTER_OK) {
        fprintf(stderr, "replica: %s\n", err.msg);
        return -1;
    }
    snprintf(r->endpoint, sizeof r->endpoint, "127.0.0.1:%u", (unsigned)asky_server_port(r->srv));
    if (tee_get_info(asky_service_enclave(r->s), &ti) != CLOISTER_OK)
        return -1;
    memcpy(r->mrenclave, ti.mrenclave, 32);
    return 0;
}

static void close_replica(struct replica *r)
{
    asky_server_stop(r->srv);
    asky_service_close(r->s);
    memset(r, 0, sizeof *r);
}

/* The group "bench" of group_size members, "m0" the one who asks. */
static int populate(asky_service *s)
{
    struct cloister_err err;
    uint8_t key[ASKY_KEY_LEN];
    char user[32];
    for (size_t i = 0; i < group_size; i++) {
        snprintf(user, sizeof user, "m%zu", i);
        if (asky_user_add(s, user, i == 0 ? member_key : key, &err) != CLOISTER_OK ||
            (i == 0 ? asky_group_create(s, "bench", user, &err)
                    : asky_group_add(s, "bench", user, &err)) != CLOISTER_OK) {
            fprintf(stderr, "populate: %s\n", err.msg);
            return -1;
        }
    }
    crypto_wipe(key, sizeof key);
    return 0;
}

static void *client_thread(void *arg)
{
    struct client *c = arg;
    struct asky_remote rem = {.server = c->r->endpoint,
                              .mrenclave = c->r->mrenclave,
                              .allow_simulated = true};
    struct asky_user_keys k;
    struct cloister_err err;
    asky_session *sn = NULL;
    asky_user_keys(&k, member_key);
    if (c->path == SESSION && asky_remote_session_open(&rem, &sn, &err) != CLOISTER_OK) {
        fprintf(stderr, "session: %s\n", err.msg);
        c->failed++;
        c->until = 0;
    }
    while (now_s() < c->until) {
        uint8_t nonce[ASKY_REQ_NONCE_LEN] = {0}, proof[32], ticket[ASKY_TICKET_LEN], *env = NULL;
        size_t envlen = 0;
        int rc;
        if (c->path == SESSION) {
            rc = asky_remote_session_envelope(sn, "bench", "m0", member_key, ASKY_INDEXED, 0, &env,
                                              &envlen, ticket, &err);
        } else if (c->path == SEALED) {
            rc = asky_remote_envelope(&rem, "bench", "m0", member_key, ASKY_INDEXED, 0, &env,
                                      &envlen, ticket, &err);
        } else {
            if (crypto_random(nonce, sizeof nonce) != 0)
                break;
            asky_request_proof(proof, &k, "bench", nonce);
            rc = asky_envelope_request(c->r->s, "bench", "m0", nonce, proof, ASKY_INDEXED, 0, &env,
                                       &envlen, &err);
        }
        free(env);
        if (rc == CLOISTER_OK && envlen == asky_envelope_size(ASKY_INDEXED, group_size))
            c->done++;
        else
            c->failed++;
    }
    asky_remote_session_close(sn);
    asky_user_keys_wipe(&k);
    return NULL;
}

static void run(const char *store_kind, struct replica *reps, int n, enum path path)
{
    struct client c[2 * CLIENTS];
    pthread_t t[2 * CLIENTS];
    int nc = n * CLIENTS;
    struct tee_info before, after;
    tee_get_info(asky_service_enclave(reps[0].s), &before);
    double t0 = now_s();
    for (int i = 0; i < nc; i++) {
        c[i] = (struct client){.r = &reps[i % n], .path = path, .until = t0 + seconds};
        pthread_create(&t[i], NULL, client_thread, &c[i]);
    }
    uint64_t done = 0, failed = 0;
    for (int i = 0; i < nc; i++) {
        pthread_join(t[i], NULL);
        done += c[i].done;
        failed += c[i].failed;
    }
    double s = now_s() - t0;
    tee_get_info(asky_service_enclave(reps[0].s), &after);
    uint64_t crossings = after.stats.crossings - before.stats.crossings;
    printf("%s,%s,%d,%d,%zu,%llu,%llu,%.3f,%.0f,%d\n", path_names[path], store_kind, n, nc,
           group_size, (unsigned long long)done, (unsigned long long)failed, s, (double)done / s,
           TARGET);
    fflush(stdout);
    fprintf(stderr,
            "%-8s %-10s x%d: %8.0f envelope requests/s (target >= %d: %s); %.2f ecalls per "
            "crossing\n",
            path_names[path], store_kind, n, (double)done / s, TARGET,
            (double)done / s >= TARGET ? "met" : "not met",
            crossings ? (double)(after.stats.ecalls - before.stats.ecalls) / (double)crossings
                      : 0.0);
}

/* One replica and then two on one store (db NULL: SQLite, one replica only). */
static void bench_store(const char *kind, const char *db)
{
    struct replica reps[2] = {{0}};
    char store[PATH_MAX];
    snprintf(store, sizeof store, "%s/store-%s", tmp, kind);
    if (open_replica(&reps[0], store, db) != 0 || populate(reps[0].s) != 0)
        return;
    for (enum path p = LOCAL; p <= SESSION; p++)
        run(kind, reps, 1, p);
    if (db && open_replica(&reps[1], store, db) == 0) {
        for (enum path p = LOCAL; p <= SESSION; p++)
            run(kind, reps, 2, p);
        close_replica(&reps[1]);
    }
    close_replica(&reps[0]);
}

/* The PostgreSQL rows: a throwaway cluster, skipped when PostgreSQL is missing. */
static void bench_postgresql(void)
{
    if (pg_cluster("start") != 0) {
        fprintf(stderr, "no PostgreSQL cluster: the postgresql rows are skipped\n");
        return;
    }
    char conninfo[256];
    snprintf(conninfo, sizeof conninfo, "host=%s/pg user=asky dbname=asky", tmp);
    bench_store("postgresql", conninfo);
    pg_cluster("stop");
}

int main(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    group_size = env_size("ASKY_SVC_GROUP", 100);
    seconds = (double)env_size("ASKY_SVC_SECONDS", 3);
    if (!mkdtemp(tmp) || chmod(tmp, 0755) != 0)
        return 1;
    printf("path,store,replicas,clients,group,requests,failed,seconds,req_per_s,target\n");
    const char *only = getenv("ASKY_SVC_STORES");
    if (!only || strstr(only, "sqlite"))
        bench_store("sqlite", NULL);
    if (!only || strstr(only, "postgresql"))
        bench_postgresql();
    crypto_wipe(member_key, sizeof member_key);
    file_remove_tree(tmp);
    return 0;
}
