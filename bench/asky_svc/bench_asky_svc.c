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
 * envelope requests/s for groups of 100.
 *
 * The writer proxy (store "proxy" in ASKY_SVC_STORES), MB/s of 1 MiB objects (plaintext) from
 * CLIENTS threads to one server on SQLite, in DIR/asky_proxy.csv when run with DIR (as
 * bench/run.sh does), else on stdout after the rows above:
 * CSV: path,clients,object_bytes,objects,failed,seconds,mb_per_s,target_mb_per_s
 *
 *   http     the baseline: the same bytes PUT to a route the server does not have, so that the
 *            HTTP layer collects each body whole and answers 404 (no ticket check, no store)
 *   upload   the proxy: one object built once with a member's envelope, PUT with its write
 *            ticket (asky_remote_object_put): the ticket checked by the enclave, the object
 *            written atomically (fsync) under a rotating name
 *   put      a member's whole put through the service (asky_remote_put of a 1 MiB file):
 *            offer, verified evidence, sealed request, envelope, encryption, upload
 *
 * Target (the writer proxy, the upload row): >= 200 MB/s for 1 MiB objects. */
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
#include "http/http.h"
#include "util/fileio.h"

TEE_ENCLAVE_DECLARE(asky);

#define CLIENTS 4 /* per replica: the enclave's runtime keeps 4 offers pending at once */
#define TARGET 20000
#define TOKEN "bench-token-0123456789abcdef"
#define OBJECT_PLAIN ((size_t)1 << 20)
#define PROXY_TARGET 200

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

enum proxy_path { HTTP_BASELINE, UPLOAD, PUT };
static const char *const proxy_names[] = {"http", "upload", "put"};

struct uploader {
    struct replica *r;
    enum proxy_path path;
    int id;
    const uint8_t *obj, *ticket;
    size_t len;
    const char *in; /* the plaintext file of the put row */
    double until;
    uint64_t done, failed;
};

static void *upload_thread(void *arg)
{
    struct uploader *u = arg;
    struct asky_remote rem = {.server = u->r->endpoint,
                              .mrenclave = u->r->mrenclave,
                              .allow_simulated = true};
    struct cloister_err err;
    char name[32];
    for (uint64_t i = 0; now_s() < u->until; i++) {
        snprintf(name, sizeof name, "c%d-%llu", u->id, (unsigned long long)(i % 8));
        int rc;
        if (u->path == HTTP_BASELINE) {
            unsigned status = 0;
            char *reply = NULL;
            size_t n;
            rc = http_call_bin(u->r->endpoint, "PUT", "/v1/baseline",
                               "Content-Type: application/octet-stream\r\n", u->obj, u->len, 4096,
                               &status, &reply, &n, &err);
            free(reply);
            rc = rc == CLOISTER_OK && status == 404 ? CLOISTER_OK : -1;
        } else if (u->path == UPLOAD) {
            rc = asky_remote_object_put(u->r->endpoint, name, u->obj, u->len, u->ticket, &err);
        } else {
            rc = asky_remote_put(&rem, "bench", "m0", member_key, u->in, name, ASKY_INDEXED, 0,
                                 &err);
        }
        if (rc == CLOISTER_OK)
            u->done++;
        else if (u->failed++ == 0)
            fprintf(stderr, "%s: %s\n", proxy_names[u->path], rc < 0 ? err.msg : "bad status");
    }
    return NULL;
}

static void run_proxy(FILE *csv, struct replica *r, enum proxy_path path, const uint8_t *obj,
                      size_t len, const uint8_t *ticket, const char *in)
{
    struct uploader u[CLIENTS];
    pthread_t t[CLIENTS];
    double t0 = now_s();
    uint64_t done = 0, failed = 0;
    for (int i = 0; i < CLIENTS; i++) {
        u[i] = (struct uploader){r, path, i, obj, ticket, len, in, t0 + seconds, 0, 0};
        pthread_create(&t[i], NULL, upload_thread, &u[i]);
    }
    for (int i = 0; i < CLIENTS; i++) {
        pthread_join(t[i], NULL);
        done += u[i].done;
        failed += u[i].failed;
    }
    double s = now_s() - t0, mbs = (double)done * (double)len / s / 1e6;
    fprintf(csv, "%s,%d,%zu,%llu,%llu,%.3f,%.1f,%d\n", proxy_names[path], CLIENTS, len,
            (unsigned long long)done, (unsigned long long)failed, s, mbs, PROXY_TARGET);
    fflush(csv);
    fprintf(stderr, "proxy %-6s 1 MiB objects: %7.1f MB/s%s\n", proxy_names[path], mbs,
            path == UPLOAD ? mbs >= PROXY_TARGET ? " (target >= 200 MB/s: met)"
                                                 : " (target >= 200 MB/s: not met)"
                           : "");
}

/* A 1 MiB object of the group "bench" built once by its member m0 with an envelope and ticket
 * of the service (*obj malloc'd), its plaintext left in the file in. */
static int proxy_object(struct replica *r, const char *in, char **obj, size_t *len,
                        uint8_t ticket[ASKY_TICKET_LEN])
{
    struct asky_remote rem = {.server = r->endpoint,
                              .mrenclave = r->mrenclave,
                              .allow_simulated = true};
    struct asky_user_keys k;
    struct cloister_err err;
    uint8_t *plain = malloc(OBJECT_PLAIN), *env = NULL, file_key[ASKY_KEY_LEN];
    size_t envlen = 0;
    FILE *m = NULL, *p = NULL;
    asky_user_keys(&k, member_key);
    int rc = plain && crypto_random(plain, OBJECT_PLAIN) == 0 &&
                     file_write_atomic(in, plain, OBJECT_PLAIN, 0600) == 0
                 ? asky_remote_envelope(&rem, "bench", "m0", member_key, ASKY_INDEXED, 0, &env,
                                        &envlen, ticket, &err)
                 : cloister_errf(&err, CLOISTER_E_SYSTEM, "cannot write %s", in);
    if (rc == CLOISTER_OK)
        rc = asky_envelope_open(ASKY_INDEXED, env, envlen, &k, file_key, &err);
    if (rc == CLOISTER_OK &&
        (!(m = open_memstream(obj, len)) || !(p = fmemopen(plain, OBJECT_PLAIN, "rb"))))
        rc = cloister_errf(&err, CLOISTER_E_NO_MEMORY, "out of memory");
    if (rc == CLOISTER_OK)
        rc = asky_object_write(m, ASKY_INDEXED, env, envlen, file_key, ASKY_CHUNK_DEFAULT, p, &err);
    if (m)
        fclose(m);
    if (p)
        fclose(p);
    if (rc != CLOISTER_OK)
        fprintf(stderr, "proxy: %s\n", err.msg);
    asky_user_keys_wipe(&k);
    crypto_wipe(file_key, sizeof file_key);
    free(env);
    free(plain);
    return rc;
}

/* The writer proxy's rows on a store of their own. */
static void bench_proxy(const char *outdir)
{
    struct replica r = {0};
    char store[PATH_MAX], in[PATH_MAX], path[PATH_MAX];
    uint8_t ticket[ASKY_TICKET_LEN];
    char *obj = NULL;
    size_t len = 0;
    snprintf(store, sizeof store, "%s/store-proxy", tmp);
    snprintf(in, sizeof in, "%s/plain.bin", tmp);
    FILE *csv = stdout;
    if (outdir) {
        snprintf(path, sizeof path, "%s/asky_proxy.csv", outdir);
        if (!(csv = fopen(path, "w")))
            return;
    }
    fprintf(csv, "path,clients,object_bytes,objects,failed,seconds,mb_per_s,target_mb_per_s\n");
    if (open_replica(&r, store, NULL) == 0 && populate(r.s) == 0 &&
        proxy_object(&r, in, &obj, &len, ticket) == 0)
        for (enum proxy_path p = HTTP_BASELINE; p <= PUT; p++)
            run_proxy(csv, &r, p, (const uint8_t *)obj, len, ticket, in);
    if (r.s)
        close_replica(&r);
    free(obj);
    if (csv != stdout)
        fclose(csv);
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
    if (!only || strstr(only, "proxy"))
        bench_proxy(argc > 1 ? argv[1] : NULL);
    crypto_wipe(member_key, sizeof member_key);
    file_remove_tree(tmp);
    return 0;
}
