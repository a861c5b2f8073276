/* cmd_scbr.c -- `cloister scbr`: content-based routing workloads and offline matching.
 *
 *   gen     a deterministic workload: DIR/subs.txt and DIR/pubs.txt, written atomically
 *           (--kind stock like the original SCBR's, random with every operator and type,
 *           numeric and stock-numeric for the ASPE baseline)
 *   match   matches every publication of a file against the subscriptions of another with the
 *           chosen engine; ids are 0-based line order among the items of the file; one line per
 *           publication with its matching ids increasing (empty when none), or --json: an array
 *           of arrays
 *
 *   router     the SCBR router: the scbr enclave behind a ZeroMQ ROUTER socket, until SIGINT or
 *              SIGTERM (subscriptions persisted sealed under --state); with --nats and --shards,
 *              a front whose subscriptions live in shards
 *   shard      one shard of a front (--shard I/N): the same router, taking the front's records
 *              from NATS; provisioned like a router
 *   shard-demo one router paging beside four shards (cmd_scbr_shard_demo.c)
 *   provision  the data provider: creates KEYS/sk (and its signing key KEYS/provider.key) if
 *              missing, verifies the router enclave's evidence against the platform CA and an
 *              identity policy, provisions SK signed, which pins the provider in the router
 *   subscribe  registers a filter and prints every delivered payload, one per line
 *   publish    sends one publication and waits for the router's verdict (refused, or no router
 *              within the timeout: an error): encrypted header, payload from a file or stdin; both
 *              seal/open the payload end to end under a key derived from SK (--plain: not)
 *   stats      the router's counters (refusals counted by the enclave)
 *
 * Clients find SK in KEYS/sk (--keys, default $CLOISTER_HOME/scbr-keys): the data provider
 * creates it; subscribers and publishers get a copy of that file out of band (docs/scbr.md).
 * The demo step is in cmd_scbr_demo.c. */
#include <cloister/crypto.h>
#include <cloister/scbr.h>
#include <cloister/scbr_client.h>
#include <cloister/scbr_host.h>
#include <cloister/tee_enclave.h>
#include <cloister/tee_trust.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/cmd_scbr.h"
#include "util/fileio.h"
#include "util/hex.h"

TEE_ENCLAVE_DECLARE(scbr);

#define DEFAULT_ENDPOINT "127.0.0.1:5555"

/* Checks an endpoint option (IP:PORT, or tcp://IP:PORT) and points *text at ZeroMQ's form. */
static int zmq_endpoint(const char *opt, const char **text, struct cli_endpoint *ep)
{
    if (cli_parse_endpoint(opt, *text, ep) != CLI_OK)
        return CLI_USAGE;
    *text = ep->zmq;
    return CLI_OK;
}

#define SCBR_FILE_MAX ((size_t)1 << 31)

static int write_file(const char *dir, const char *name, const char *text, size_t len)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
        return cli_fail("--out: path too long");
    return cli_write_file(path, "the workload", text, len, 0644);
}

static int cmd_gen(int argc, char **argv)
{
    long long nsubs = 1000, npubs = 10000, seed = 1;
    const char *kind_name = "stock", *out = NULL;
    bool json = false;
    const struct opt_def opts[] = {
        {"subs", OPT_INT, &nsubs, "N", "subscriptions (default 1000)", 0, 0, 100000000},
        {"pubs", OPT_INT, &npubs, "M", "publications (default 10000)", 0, 0, 100000000},
        {"seed", OPT_INT, &seed, "S", "PRNG seed (default 1)", 0, 0, 0},
        {"kind", OPT_STRING, &kind_name, "KIND",
         "stock (default), random, numeric or stock-numeric", 0, 0, 0},
        {"out", OPT_STRING, &out, "DIR", "directory for subs.txt and pubs.txt", OPT_REQUIRED, 0, 0},
        {"json", OPT_FLAG, &json, NULL, "print what was written as JSON", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "scbr gen",
        "",
        "Generate a deterministic SCBR workload.",
        opts,
        0,
        0,
        "Writes DIR/subs.txt and DIR/pubs.txt, one filter or header a line, in the filter\n"
        "language of docs/scbr.md; the same seed gives the same files (10^6 subscriptions\n"
        "take about a second).",
        "cloister scbr gen --subs 1000 --pubs 100 --out work\n"
        "cloister scbr gen --kind random --subs 100000 --pubs 1000 --seed 7 --out big\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    int kind = scbr_workload_from_name(kind_name);
    if (kind < 0) {
        fprintf(stderr,
                "cloister scbr gen: --kind: unknown workload '%s' (stock, random, "
                "numeric, stock-numeric)\n",
                kind_name);
        return CLI_USAGE;
    }
    if (file_mkdirs(out, 0755) != 0)
        return cli_fail("cannot create %s: %s", out, strerror(errno));
    char *subs, *pubs;
    size_t sl, pl;
    struct cloister_err err;
    if (scbr_gen((enum scbr_workload)kind, (size_t)nsubs, (size_t)npubs, (uint64_t)seed, &subs, &sl,
                 &pubs, &pl, &err) != 0)
        return cli_fail("generating the workload: %s", err.msg);
    rc = write_file(out, "subs.txt", subs, sl);
    if (rc == CLI_OK)
        rc = write_file(out, "pubs.txt", pubs, pl);
    free(subs);
    free(pubs);
    if (rc != CLI_OK)
        return rc;
    if (json) {
        json_t *j = json_pack("{s:s,s:s,s:I,s:I,s:I}", "dir", out, "kind", kind_name, "subs",
                              (json_int_t)nsubs, "pubs", (json_int_t)npubs, "seed",
                              (json_int_t)seed);
        return cli_json_print(j);
    }
    printf("wrote %lld subscriptions to %s/subs.txt and %lld publications to %s/pubs.txt "
           "(%s, seed %lld)\n",
           nsubs, out, npubs, out, kind_name, seed);
    return CLI_OK;
}

static int read_text(const char *path, char **text, size_t *len)
{
    return cli_read_file(path, "the workload", SCBR_FILE_MAX, (uint8_t **)text, len);
}

/* Loads both files and registers every subscription (id = its order in the file). */
static int load(const char *subs_path, const char *pubs_path, enum scbr_index_kind kind,
                struct scbr_pub_list *pubs, scbr_index **idx, size_t *nsubs)
{
    char *st = NULL, *pt = NULL;
    size_t sl, pl;
    struct scbr_sub_list subs = {0};
    struct cloister_err err;
    *pubs = (struct scbr_pub_list){0};
    *idx = NULL;
    int rc = read_text(subs_path, &st, &sl);
    if (rc == CLI_OK)
        rc = read_text(pubs_path, &pt, &pl);
    if (rc == CLI_OK && (scbr_parse_subs(st, sl, subs_path, &subs, &err) != 0 ||
                         scbr_parse_pubs(pt, pl, pubs_path, pubs, &err) != 0))
        rc = cli_fail("%s", err.msg);
    if (rc == CLI_OK && !(*idx = scbr_index_create(kind, NULL)))
        rc = cli_fail("cannot create the index: %s", strerror(errno));
    for (size_t i = 0; rc == CLI_OK && i < subs.n; i++)
        if (scbr_index_insert(*idx, subs.v[i], (uint32_t)i, &err) != 0)
            rc = cli_fail("cannot register subscription %zu: %s", i, err.msg);
    *nsubs = subs.n;
    scbr_sub_list_free(&subs);
    free(st);
    free(pt);
    return rc;
}

/* Work above this many (subscription, publication) pairs takes long enough with the naive engine
 * (a few 10^7 pairs a second) to say that it started, and how to go faster. */
#define MATCH_LONG_PAIRS 1e9

/* Says on stderr what is about to be matched when it is long or progress is wanted, and turns
 * progress on for long runs on a terminal. */
static void announce_match(const char *index_name, size_t nsubs, size_t npubs, bool *progress)
{
    bool naive = strcmp(index_name, "naive") == 0;
    bool long_run = naive && (double)nsubs * (double)npubs >= MATCH_LONG_PAIRS;
    *progress = *progress || (long_run && isatty(2));
    if (!long_run && !*progress)
        return;
    fprintf(stderr, "scbr match: %zu publications against %zu subscriptions, %s index%s\n", npubs,
            nsubs, index_name,
            long_run ? "; naive compares every pair: --index fast gives the same answers much "
                       "faster"
                     : "");
}

static int cmd_match(int argc, char **argv)
{
    const char *subs_path = NULL, *pubs_path = NULL, *index_name = "fast";
    bool json = false, progress = false;
    const struct opt_def opts[] = {
        {"subs", OPT_STRING, &subs_path, "FILE", "subscriptions, one per line", OPT_REQUIRED, 0, 0},
        {"pubs", OPT_STRING, &pubs_path, "FILE", "publications, one per line", OPT_REQUIRED, 0, 0},
        {"index", OPT_STRING, &index_name, "KIND", "naive, poset or fast (default fast)", 0, 0, 0},
        {"json", OPT_FLAG, &json, NULL, "print an array of arrays of ids", 0, 0, 0},
        {"progress", OPT_FLAG, &progress, NULL,
         "report progress on stderr (default: for long runs, on a terminal)", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "scbr match",
        "",
        "Match publications against subscriptions, offline.",
        opts,
        0,
        0,
        "Prints, for each publication, the ids (0-based line numbers) of the subscriptions\n"
        "it matches. naive compares with every subscription (slow on large inputs: prefer\n"
        "fast); poset and fast are the indexes of docs/scbr.md. A long naive run says so on\n"
        "stderr and, with --progress or when stderr is a terminal, reports how far it is.",
        "cloister scbr match --subs work/subs.txt --pubs work/pubs.txt\n"
        "cloister scbr match --subs big/subs.txt --pubs big/pubs.txt --index naive --progress "
        "--json\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    int kind = scbr_index_kind_from_name(index_name);
    if (kind < 0) {
        fprintf(stderr, "cloister scbr match: --index: unknown engine '%s' (naive, poset, fast)\n",
                index_name);
        return CLI_USAGE;
    }
    struct scbr_pub_list pubs;
    scbr_index *idx;
    size_t nsubs;
    rc = load(subs_path, pubs_path, (enum scbr_index_kind)kind, &pubs, &idx, &nsubs);
    uint32_t *ids = rc == CLI_OK ? malloc((nsubs ? nsubs : 1) * sizeof *ids) : NULL;
    if (rc == CLI_OK && !ids)
        rc = cli_fail("out of memory");
    json_t *all = json && rc == CLI_OK ? json_array() : NULL;
    struct cli_progress bar;
    if (rc == CLI_OK)
        announce_match(index_name, nsubs, pubs.n, &progress);
    cli_progress_start(&bar, progress, "publications matched", pubs.n);
    for (size_t p = 0; rc == CLI_OK && p < pubs.n; p++) {
        cli_progress_step(&bar, p);
        size_t n = scbr_index_match(idx, pubs.v[p], ids, nsubs);
        if (json) {
            json_t *row = json_array();
            for (size_t k = 0; k < n; k++)
                json_array_append_new(row, json_integer(ids[k]));
            json_array_append_new(all, row);
            continue;
        }
        for (size_t k = 0; k < n; k++)
            printf(k ? " %u" : "%u", ids[k]);
        putchar('\n');
    }
    cli_progress_end(&bar);
    if (all) {
        json_dumpf(all, stdout, JSON_COMPACT);
        putchar('\n');
        json_decref(all);
    }
    if (rc == CLI_OK && (fflush(stdout) != 0 || ferror(stdout)))
        rc = cli_fail("cannot write the output: %s", strerror(errno));
    free(ids);
    scbr_index_destroy(idx);
    scbr_pub_list_free(&pubs);
    return rc;
}

/* ---- the router and its clients ---- */

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    stop_flag = 1;
}

static int keys_dir(const char *given, char *out, size_t cap)
{
    if (given) {
        snprintf(out, cap, "%s", given);
        return CLI_OK;
    }
    char home[4096];
    if (tee_home_dir(home, sizeof home, NULL) != 0)
        return cli_fail("--keys: no default ($CLOISTER_HOME and $HOME unset)");
    if ((size_t)snprintf(out, cap, "%s/scbr-keys", home) >= cap)
        return cli_fail("--keys: path too long");
    return CLI_OK;
}

static void print_identity(const char *label, const uint8_t *h)
{
    char hex[65];
    hex_encode(hex, h, 32);
    printf("  %-10s %s\n", label, hex);
}

/* The enclave's counters, then the host's, under their own names. */
static json_t *stats_json(const struct scbr_router_stats *st)
{
    json_t *j = json_object();
#define SCBR_JSON_(part, f) json_object_set_new(j, #f, json_integer((json_int_t)st->part.f));
#define SCBR_JSON_ENCLAVE_(f) SCBR_JSON_(enclave, f)
#define SCBR_JSON_HOST_(f) SCBR_JSON_(host, f)
    SCBR_ENCLAVE_STATS(SCBR_JSON_ENCLAVE_)
    SCBR_HOST_STATS(SCBR_JSON_HOST_)
    return j;
}

/* Each counter with what it counts: a bare "dropped 3" leaves the reader guessing what. */
static const char *stat_meaning(const char *name)
{
    static const char *const meanings[][2] = {
        {"subscriptions", "subscriptions registered now"},
        {"subscribed", "subscribe requests accepted"},
        {"unsubscribed", "unsubscribe requests accepted"},
        {"published", "publications accepted"},
        {"matched", "(publication, subscriber) pairs matched"},
        {"refused_tampered", "messages refused: authentication failed (wrong SK or altered)"},
        {"refused_replayed", "messages refused: replayed (old sequence number)"},
        {"refused_truncated", "messages refused: truncated"},
        {"refused_other", "messages refused: no SK yet, not the owner, unknown id, table full"},
        {"delivered", "deliveries handed to subscribers"},
        {"dropped", "deliveries dropped: a subscriber's queue was full or it was gone"},
        {"malformed", "client frames the host could not decode"},
        {"ecalls", "enclave calls (batches) made"},
        {"dropped_subscribers", "subscribers removed (said bye or went silent)"},
    };
    for (size_t i = 0; i < sizeof meanings / sizeof meanings[0]; i++)
        if (strcmp(name, meanings[i][0]) == 0)
            return meanings[i][1];
    return "";
}

static void print_stats(const struct scbr_router_stats *st)
{
#define SCBR_PRINT_(part, f)                                                                       \
    printf("  %-20s %10llu  %s\n", #f, (unsigned long long)st->part.f, stat_meaning(#f));
#define SCBR_PRINT_ENCLAVE_(f) SCBR_PRINT_(enclave, f)
#define SCBR_PRINT_HOST_(f) SCBR_PRINT_(host, f)
    SCBR_ENCLAVE_STATS(SCBR_PRINT_ENCLAVE_)
    SCBR_HOST_STATS(SCBR_PRINT_HOST_)
}

/* An Ed25519 key file (as `cloister enclave keygen` makes, 0600, refused when others may read
 * it), created if missing; option names it in errors. */
static int signing_key(const char *option, const char *key, uint8_t seed[TEE_SEED_LEN],
                       uint8_t pk[TEE_PUBKEY_LEN])
{
    struct cloister_err terr = {0};
    if (access(key, F_OK) != 0 && tee_signer_keygen(key, pk, &terr) != 0)
        return cli_fail("%s: %s", option, terr.msg);
    if (tee_signer_load(key, seed, pk, &terr) != 0)
        return cli_fail("%s: %s", option, terr.msg);
    return CLI_OK;
}

/* Signs the scbr image with KEY (created if missing) into dir/scbr.enclave.sig. */
static int sign_router(const char *key, const char *image, long long epc_mib, const char *dir,
                       char *sig, size_t cap)
{
    uint8_t seed[TEE_SEED_LEN], pk[TEE_PUBKEY_LEN];
    struct cloister_err err;
    if (signing_key("--sign-key", key, seed, pk) != CLI_OK)
        return CLI_FAIL;
    snprintf(sig, cap, "%s/scbr.enclave.sig", dir);
    int rc = scbr_router_sign(image, seed, (uint64_t)epc_mib << 20, 0, sig, &err) == 0
                 ? CLI_OK
                 : cli_fail("%s", err.msg);
    crypto_wipe(seed, sizeof seed);
    return rc;
}

/* `scbr router` and `scbr shard`: the same router, a shard taking its front's records. */
static int run_router(int argc, char **argv, bool shard)
{
    const char *listen = DEFAULT_ENDPOINT, *tee = NULL, *index_name = "fast", *state = NULL,
               *sig = NULL, *sign_key = NULL, *nats = NULL, *cluster = NULL, *key = NULL,
               *place = NULL;
    long long shards = 0;
    static const char *const wait_names[] = {"block", "spin", NULL};
    static const enum tee_wait waits[] = {TEE_WAIT_BLOCK, TEE_WAIT_SPIN};
    struct opt_choice wait = {wait_names, 0};
    long long epc = 0, batch = 256, queue = 10000, idle = 10000, queue_mib = 64;
    const struct opt_def opts[] = {
        {"listen", OPT_STRING, &listen, "IP:PORT",
         "where to listen (default " DEFAULT_ENDPOINT "; port 0: any free one)", 0, 0, 0},
        {"tee", OPT_STRING, &tee, "proc|sim", "backend (default $CLOISTER_TEE, else proc)", 0, 0,
         0},
        {"index", OPT_STRING, &index_name, "KIND", "naive, poset or fast (default fast)", 0, 0, 0},
        {"epc", OPT_INT, &epc, "MiB", "EPC budget of the enclave (needs --sign-key)", 0, 1, 65536},
        {"sig", OPT_STRING, &sig, "SIG", "signature of the image (default IMAGE.sig)", 0, 0, 0},
        {"sign-key", OPT_STRING, &sign_key, "KEY",
         "sign the image with this key (created if missing) before starting", 0, 0, 0},
        {"state", OPT_STRING, &state, "DIR", "persist the subscriptions (sealed) here", 0, 0, 0},
        {"batch", OPT_INT, &batch, "N", "messages per ecall (default 256)", 0, 1, 4096},
        {"queue", OPT_INT, &queue, "N", "deliveries queued per subscriber (default 10000)", 0, 1,
         10000000},
        {"queue-bytes", OPT_INT, &queue_mib, "MiB",
         "bytes of deliveries queued per subscriber (default 64)", 0, 1, 65536},
        {"idle-timeout", OPT_INT, &idle, "MS",
         "silence after which a subscriber is dropped (default 10000)", 0, 100, 86400000},
        {"wait", OPT_CHOICE, &wait, "MODE", "how host and enclave wait for each other", 0, 0, 0},
        {"nats", OPT_STRING, &nats, "URL",
         shard ? "the NATS server its front uses" : "the NATS server of its shards (with --shards)",
         shard ? OPT_REQUIRED : 0, 0, 0},
        {"cluster", OPT_STRING, &cluster, "NAME", "the front's and shards' name (default main)", 0,
         0, 0},
        {shard ? "shard" : "shards", shard ? OPT_STRING : OPT_INT,
         shard ? (void *)&place : (void *)&shards, shard ? "I/N" : "N",
         shard ? "this shard's number, of how many" : "a front: its subscriptions in N shards",
         shard ? OPT_REQUIRED : 0, 1, SCBR_SHARDS_MAX},
        {shard ? NULL : "partition-key", OPT_STRING, &key, "ATTR",
         "partition by this attribute's value (default: by subscription id)", 0, 0, 0},
        {0}};
    const struct opt_cmd router_cmd = {
        "scbr router",
        "",
        "Run the SCBR router (enclave matching) until SIGINT/SIGTERM.",
        opts,
        0,
        0,
        "Runs the router: matching inside the scbr enclave, clients over ZeroMQ. It needs SK from\n"
        "a data provider (cloister scbr provision) before it routes. --state keeps subscriptions\n"
        "sealed across restarts. Stops cleanly on SIGINT/SIGTERM. With --nats and --shards it is\n"
        "a front: its enclave re-seals each message for the shards (cloister scbr shard) that "
        "hold\n"
        "the subscriptions, and it merges their answers. Started again on its --state with\n"
        "another --shards, a front reshards first: it moves its subscriptions to the new\n"
        "number of shards (all of them running and provisioned) before it serves.",
        "cloister scbr router --tee sim --sign-key signer.key --listen 127.0.0.1:5555 --state "
        "scbr-state\n"
        "cloister scbr router --sign-key signer.key --nats nats://127.0.0.1:4222 --shards 4\n"
        "cloister scbr router --sign-key signer.key --nats nats://127.0.0.1:4222 --shards 5 "
        "--state front\n"};
    const struct opt_cmd shard_cmd = {
        "scbr shard",
        "",
        "Run one shard of a sharded SCBR router until SIGINT/SIGTERM.",
        opts,
        0,
        0,
        "Runs shard I of N: a router enclave holding part of the subscriptions, which takes the\n"
        "records its front (cloister scbr router --shards N) sends over NATS. It listens on\n"
        "--listen for its provider (cloister scbr provision gives it SK like a router) and for\n"
        "statistics; --state keeps its subscriptions sealed across restarts.",
        "cloister scbr shard --sign-key signer.key --nats nats://127.0.0.1:4222 --shard 0/4 "
        "--listen 127.0.0.1:0 --state shard-0\n"};
    int nargs, rc = opt_parse(shard ? &shard_cmd : &router_cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    unsigned index = 0, of = 0;
    char end;
    if (place && (sscanf(place, "%u/%u%c", &index, &of, &end) != 2 || of == 0 ||
                  of > SCBR_SHARDS_MAX || index >= of)) {
        fprintf(stderr, "cloister scbr shard: --shard: expected I/N with I < N <= %d, got '%s'\n",
                SCBR_SHARDS_MAX, place);
        return CLI_USAGE;
    }
    if (shards && !nats) {
        fprintf(stderr, "cloister scbr router: --shards needs --nats URL\n");
        return CLI_USAGE;
    }
    struct cli_endpoint ep;
    if (zmq_endpoint("--listen", &listen, &ep) != CLI_OK)
        return CLI_USAGE;
    struct scbr_router_options o;
    scbr_router_options_init(&o);
    int kind = scbr_index_kind_from_name(index_name);
    if (kind < 0) {
        fprintf(stderr, "cloister scbr router: --index: unknown engine '%s'\n", index_name);
        return CLI_USAGE;
    }
    if (tee && tee_backend_parse(tee, &o.backend, NULL) != 0) {
        fprintf(stderr, "cloister scbr router: --tee: expected proc or sim, got '%s'\n", tee);
        return CLI_USAGE;
    }
    o.wait = waits[wait.index];
    if (epc && !sign_key) {
        fprintf(stderr, "cloister scbr router: --epc: the EPC budget is part of the signed "
                        "config: give --sign-key too (or sign with `cloister enclave sign`)\n");
        return CLI_USAGE;
    }
    char image[4096], signed_sig[4200], home[4096];
    struct cloister_err terr;
    if (tee_image_path("scbr", image, sizeof image, &terr) != CLOISTER_OK)
        return cli_fail("%s", terr.msg);
    if (sign_key) {
        const char *dir = state;
        if (!dir && tee_home_dir(home, sizeof home, NULL) == 0)
            dir = home;
        if (!dir || file_mkdirs(dir, 0700) != 0)
            return cli_fail("no directory for the signature");
        if ((rc = sign_router(sign_key, image, epc, dir, signed_sig, sizeof signed_sig)) != CLI_OK)
            return rc;
        sig = signed_sig;
    }
    o.listen = listen;
    o.image = image;
    o.signature = sig;
    o.enclave = &tee_enclave_scbr;
    o.index = (enum scbr_index_kind)kind;
    o.state_dir = state;
    o.batch = (unsigned)batch;
    o.queue = (unsigned)queue;
    o.queue_bytes = (uint64_t)queue_mib << 20;
    o.idle_timeout_ms = (unsigned)idle;
    o.nats = nats;
    o.cluster = cluster;
    o.shards = (unsigned)shards;
    o.partition_key = key;
    o.is_shard = shard;
    o.shard_index = index;
    o.stop = &stop_flag;
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    scbr_router *r = NULL;
    struct cloister_err err;
    uint8_t mre[32], mrs[32];
    if (scbr_router_open(&o, &r, &err) != 0 || scbr_router_identity(r, mre, mrs, &err) != 0) {
        scbr_router_close(r);
        return cli_fail("%s", err.msg);
    }
    const char *bound = scbr_router_endpoint(r);
    printf("scbr %s listening on %s (%s enclave, %s index)\n", shard ? "shard" : "router",
           bound + (strncmp(bound, "tcp://", 6) == 0 ? 6 : 0), tee_backend_name(o.backend),
           index_name);
    if (shard)
        printf("shard %u/%u of cluster %s\n", index, of, cluster ? cluster : "main");
    else if (shards)
        printf("front of %lld shards, partitioned by %s\n", shards, key ? key : "subscription id");
    print_identity("MRENCLAVE", mre);
    print_identity("MRSIGNER", mrs);
    fflush(stdout);
    rc = scbr_router_run(r, &err) == 0 ? CLI_OK : cli_fail("%s", err.msg);
    struct scbr_router_stats st;
    if (scbr_router_get_stats(r, &st, &err) == 0) {
        printf("stopped; counters:\n");
        print_stats(&st);
    } else {
        fprintf(stderr, "cloister: no counters: %s\n", err.msg);
    }
    scbr_router_close(r);
    return rc;
}

static int cmd_router(int argc, char **argv)
{
    return run_router(argc, argv, false);
}

static int cmd_shard(int argc, char **argv)
{
    return run_router(argc, argv, true);
}

static int cmd_provision(int argc, char **argv)
{
    const char *connect = DEFAULT_ENDPOINT, *keys = NULL, *ca = NULL, *provider_key = NULL;
    struct opt_list mre = {0}, mrs = {0};
    bool allow_sim = false, allow_debug = false, json = false, force = false;
    const struct opt_def opts[] = {
        {"connect", OPT_STRING, &connect, "IP:PORT", "the router (default " DEFAULT_ENDPOINT ")", 0,
         0, 0},
        {"keys", OPT_STRING, &keys, "DIR",
         "SK lives in DIR/sk, created if missing (default "
         "$CLOISTER_HOME/scbr-keys)",
         0, 0, 0},
        {"provider-key", OPT_STRING, &provider_key, "KEY",
         "the provider's signing key, which the router pins at its first provisioning (default "
         "DIR/provider.key, created if missing)",
         0, 0, 0},
        {"ca", OPT_STRING, &ca, "CERT", "trusted platform CA (default: this host's platform)", 0, 0,
         0},
        {"mrenclave", OPT_LIST, &mre, "H", "allowed router MRENCLAVE (64 hex digits)", 0, 0, 0},
        {"mrsigner", OPT_LIST, &mrs, "H", "allowed router MRSIGNER", 0, 0, 0},
        {"allow-simulated", OPT_FLAG, &allow_sim, NULL, "accept simulated evidence (no SGX)", 0, 0,
         0},
        {"allow-debug", OPT_FLAG, &allow_debug, NULL, "accept a debug enclave", 0, 0, 0},
        {"json", OPT_FLAG, &json, NULL, "print the accepted claims as JSON", 0, 0, 0},
        {"force", OPT_FLAG, &force, NULL,
         "replace another SK the router holds (its subscriptions are dropped)", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "scbr provision",
        "",
        "Verify the router enclave's evidence, then provision SK.",
        opts,
        0,
        0,
        "The data provider's step: creates SK in KEYS/sk if missing, verifies the router "
        "enclave's\n"
        "evidence (CA, identity) and sends SK sealed to it. Give a copy of KEYS/sk to subscribers\n"
        "and publishers out of band.",
        "cloister scbr provision --connect 127.0.0.1:5555 --keys keys --mrsigner $MRSIGNER "
        "--allow-simulated\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    struct cli_endpoint ep;
    if (zmq_endpoint("--connect", &connect, &ep) != CLI_OK)
        return CLI_USAGE;
    if (cli_hold_secrets() != CLI_OK)
        return CLI_FAIL;
    uint8_t mrenclave[OPT_LIST_MAX][TEE_HASH_LEN], mrsigner[OPT_LIST_MAX][TEE_HASH_LEN];
    if (cli_parse_hashes("mrenclave", &mre, mrenclave) != CLI_OK ||
        cli_parse_hashes("mrsigner", &mrs, mrsigner) != CLI_OK)
        return CLI_USAGE;
    if (!mre.n && !mrs.n) {
        fprintf(stderr, "cloister scbr provision: give the router's --mrenclave or --mrsigner "
                        "(the router prints both)\n");
        return CLI_USAGE;
    }
    char dir[4096];
    if ((rc = keys_dir(keys, dir, sizeof dir)) != CLI_OK)
        return rc;
    struct cloister_err err;
    struct cloister_err terr = {0};
    uint8_t sk[SCBR_SK_LEN], seed[TEE_SEED_LEN], pk[TEE_PUBKEY_LEN];
    char key_path[4200], fp[17];
    snprintf(key_path, sizeof key_path, "%s/provider.key", dir);
    if (scbr_client_keys_create(dir, &err) != 0 || scbr_client_keys_load(dir, sk, &err) != 0)
        return cli_fail("%s", err.msg);
    if (signing_key("--provider-key", provider_key ? provider_key : key_path, seed, pk) != CLI_OK) {
        crypto_wipe(sk, sizeof sk);
        return CLI_FAIL;
    }
    scbr_provider_fingerprint(fp, pk);
    tee_platform *platform = NULL;
    tee_verifier *v = NULL;
    if (!ca && !(platform = tee_platform_open(NULL, &terr)))
        rc = cli_fail("%s", terr.msg);
    else if (!(v = tee_verifier_new_file(ca ? ca : tee_platform_ca_path(platform), &terr)))
        rc = cli_fail("%s", terr.msg);
    struct tee_policy p;
    tee_policy_default(&p);
    p.mrenclave = (const uint8_t(*)[TEE_HASH_LEN])mrenclave;
    p.n_mrenclave = (size_t)mre.n;
    p.mrsigner = (const uint8_t(*)[TEE_HASH_LEN])mrsigner;
    p.n_mrsigner = (size_t)mrs.n;
    p.allow_simulated = allow_sim;
    p.allow_debug = allow_debug;
    struct tee_claims claims;
    scbr_client *c = rc == CLI_OK ? scbr_client_connect(connect, NULL, &err) : NULL;
    struct scbr_client_key_info key = {0};
    if (rc == CLI_OK && (!c || scbr_client_router_key(c, sk, &key, CLI_SCBR_ANSWER_MS, &err) != 0))
        rc = cli_fail("%s", err.msg);
    char pinned[17] = "";
    if (rc == CLI_OK && key.pinned)
        scbr_provider_fingerprint(pinned, key.provider);
    if (rc == CLI_OK && key.pinned && !crypto_memeq(key.provider, pk, sizeof pk))
        rc = cli_fail("the router is pinned to another data provider (key %s; yours is %s): only "
                      "that provider can provision it (docs/scbr.md: resetting a router)",
                      pinned, fp);
    else if (rc == CLI_OK && key.has_key && !key.same && !force)
        rc = cli_fail("the router holds another SK: provisioning %s/sk replaces it, drops all its "
                      "subscriptions (their subscribers are told) and every client with the old "
                      "SK is refused; give --force to do it",
                      dir);
    else if (rc == CLI_OK && key.has_key && !key.same)
        fprintf(stderr, "replacing the router's SK: all its subscriptions are dropped\n");
    if (rc == CLI_OK &&
        scbr_client_provision(c, v, &p, sk, seed, &claims, CLI_SCBR_ANSWER_MS, &err) != 0)
        rc = cli_fail("%s", err.msg);
    crypto_wipe(sk, sizeof sk);
    crypto_wipe(seed, sizeof seed);
    if (rc == CLI_OK && json) {
        char h[65];
        hex_encode(h, claims.mrenclave, 32);
        rc = cli_json_print(json_pack("{s:s,s:s,s:b,s:s}", "keys", dir, "mrenclave", h, "simulated",
                                      claims.simulated, "provider", fp));
    } else if (rc == CLI_OK) {
        printf("provisioned SK (%s/sk) to the router enclave after verifying its evidence%s\n", dir,
               claims.simulated ? " (SIMULATED platform)" : "");
        printf("the router is pinned to this provider (key %s)%s\n", fp,
               key.pinned ? "" : ": from now on only it can provision the router");
        print_identity("MRENCLAVE", claims.mrenclave);
    }
    scbr_client_close(c);
    tee_verifier_free(v);
    tee_platform_free(platform);
    return rc;
}

/* A client with SK from the key directory; sk is kept for the payloads (wipe it). */
static int connect_with_key(const char *endpoint, const char *keys, scbr_client **c,
                            uint8_t sk[SCBR_SK_LEN])
{
    char dir[4096];
    struct cloister_err err;
    int rc = keys_dir(keys, dir, sizeof dir);
    if (rc == CLI_OK && scbr_client_keys_load(dir, sk, &err) != 0)
        rc = cli_fail("%s", err.msg);
    if (rc == CLI_OK && !(*c = scbr_client_connect(endpoint, sk, &err)))
        rc = cli_fail("%s", err.msg);
    return rc;
}

static int cmd_subscribe(int argc, char **argv)
{
    const char *connect = DEFAULT_ENDPOINT, *keys = NULL, *filter = NULL;
    long long count = 0, timeout = 0;
    bool plain = false;
    const struct opt_def opts[] = {
        {"connect", OPT_STRING, &connect, "IP:PORT", "the router (default " DEFAULT_ENDPOINT ")", 0,
         0, 0},
        {"keys", OPT_STRING, &keys, "DIR", "where SK is (DIR/sk)", 0, 0, 0},
        {"filter", OPT_STRING, &filter, "EXPR",
         "subscription, e.g. 'symbol = \"ACME\" and "
         "price > 10'",
         OPT_REQUIRED, 0, 0},
        {"max-deliveries", OPT_INT, &count, "N", "exit after N deliveries (default: never)", 0, 0,
         1000000000},
        {"count", OPT_INT, &count, "N", "the old name of --max-deliveries", 0, 0, 1000000000},
        {"timeout", OPT_INT, &timeout, "S", "exit after S seconds (default: never)", 0, 0,
         31536000},
        {"plain", OPT_FLAG, &plain, NULL, "print payloads as delivered (not sealed end to end)", 0,
         0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "scbr subscribe",
        "",
        "Register a filter and print each delivered payload on a line.",
        opts,
        0,
        0,
        "Registers --filter (language in docs/scbr.md) and prints each matching publication's\n"
        "payload on a line until --max-deliveries, --timeout or SIGINT.",
        "cloister scbr subscribe --keys keys --filter 'symbol = \"ACME\" and price > 10'\n"
        "cloister scbr subscribe --keys keys --filter 'exists volume' --max-deliveries 1 --timeout "
        "30\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    struct cli_endpoint ep;
    if (zmq_endpoint("--connect", &connect, &ep) != CLI_OK)
        return CLI_USAGE;
    if (cli_hold_secrets() != CLI_OK)
        return CLI_FAIL;
    struct cloister_err err;
    struct scbr_sub *s = scbr_parse_sub(filter, strlen(filter), "--filter", 1, &err);
    if (!s) {
        fprintf(stderr, "cloister scbr subscribe: %s\n", err.msg);
        return CLI_USAGE;
    }
    scbr_client *c = NULL;
    uint32_t id;
    uint8_t sk[SCBR_SK_LEN];
    rc = connect_with_key(connect, keys, &c, sk);
    if (rc == CLI_OK && scbr_client_subscribe(c, s, &id, CLI_SCBR_ANSWER_MS, &err) != 0)
        rc = cli_fail("%s", err.msg);
    scbr_sub_free(s);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (rc == CLI_OK) {
        fprintf(stderr, "subscribed as subscription %u\n", id);
        fflush(stderr);
    }
    /* one second per wait: the heartbeat keeps the router from dropping a quiet subscriber */
    for (long long got = 0, waited = 0;
         rc == CLI_OK && !stop_flag && (!count || got < count) && (!timeout || waited < timeout);) {
        uint8_t *payload = NULL;
        size_t len;
        int n = scbr_client_receive(c, &payload, &len, 1000, &err);
        if (n < 0 && stop_flag)
            break; /* the signal interrupted the wait: stopping is what it asked for */
        if (n < 0)
            rc = cli_fail("%s", err.msg);
        if (n == 0) {
            waited++;
            if (scbr_client_heartbeat(c, &err) != 0)
                rc = cli_fail("%s", err.msg);
            continue;
        }
        uint8_t *clear = NULL;
        size_t clear_len;
        if (n > 0 && !plain &&
            scbr_client_payload_open(c, sk, payload, len, &clear, &clear_len, &err) != 0) {
            fprintf(stderr, "a delivery was refused: %s\n", err.msg); /* and not counted */
        } else if (n > 0) {
            fwrite(plain ? payload : clear, 1, plain ? len : clear_len, stdout);
            putchar('\n');
            fflush(stdout);
            got++;
        }
        free(payload);
        free(clear);
    }
    crypto_wipe(sk, sizeof sk);
    scbr_client_close(c);
    return rc;
}

static int cmd_publish(int argc, char **argv)
{
    const char *connect = DEFAULT_ENDPOINT, *keys = NULL, *header = NULL, *payload_path = NULL;
    bool plain = false;
    const struct opt_def opts[] = {
        {"connect", OPT_STRING, &connect, "IP:PORT", "the router (default " DEFAULT_ENDPOINT ")", 0,
         0, 0},
        {"keys", OPT_STRING, &keys, "DIR", "where SK is (DIR/sk)", 0, 0, 0},
        {"header", OPT_STRING, &header, "EXPR",
         "publication header, e.g. 'symbol = \"ACME\", "
         "price = 12'",
         OPT_REQUIRED, 0, 0},
        {"payload", OPT_STRING, &payload_path, "FILE|-", "payload (opaque to the router)",
         OPT_REQUIRED, 0, 0},
        {"plain", OPT_FLAG, &plain, NULL, "send the payload as is, not sealed end to end", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "scbr publish",
        "",
        "Publish one message through the router.",
        opts,
        0,
        0,
        "Sends one publication: the header encrypted under SK (the router matches it inside the\n"
        "enclave), the payload sealed end to end. Fails when the router refuses it or is not "
        "there.",
        "echo 'ACME up' | cloister scbr publish --keys keys --header 'symbol = \"ACME\", price = "
        "12' --payload -\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    struct cli_endpoint ep;
    if (zmq_endpoint("--connect", &connect, &ep) != CLI_OK)
        return CLI_USAGE;
    if (cli_hold_secrets() != CLI_OK)
        return CLI_FAIL;
    struct cloister_err err;
    struct scbr_pub *p = scbr_parse_pub(header, strlen(header), "--header", 1, &err);
    if (!p) {
        fprintf(stderr, "cloister scbr publish: %s\n", err.msg);
        return CLI_USAGE;
    }
    uint8_t *payload = NULL;
    size_t len = 0;
    const char *from = strcmp(payload_path, "-") == 0 ? "/dev/stdin" : payload_path;
    if (file_read_all(from, 16u << 20, &payload, &len) != 0)
        rc = cli_fail("cannot read %s: %s", payload_path, strerror(errno));
    scbr_client *c = NULL;
    uint8_t sk[SCBR_SK_LEN], *sealed = NULL;
    size_t sealed_len = 0;
    if (rc == CLI_OK)
        rc = connect_with_key(connect, keys, &c, sk);
    if (rc == CLI_OK && !plain &&
        scbr_client_payload_seal(c, sk, payload, len, &sealed, &sealed_len, &err) != 0)
        rc = cli_fail("%s", err.msg);
    if (rc == CLI_OK &&
        scbr_client_publish(c, p, plain ? payload : sealed, plain ? len : sealed_len, &err) != 0)
        rc = cli_fail("%s", err.msg);
    if (rc == CLI_OK && scbr_client_sync(c, CLI_SCBR_ANSWER_MS, &err) != 0)
        rc = cli_fail("%s%s", err.msg,
                      err.code == CLOISTER_E_STATE    ? " (run `cloister scbr provision` first)"
                      : err.code == CLOISTER_E_DENIED ? " (is --keys the data provider's SK?)"
                                                      : "");
    crypto_wipe(sk, sizeof sk);
    scbr_client_close(c); /* lingers until the message is out */
    scbr_pub_free(p);
    free(payload);
    free(sealed);
    return rc;
}

static int cmd_stats(int argc, char **argv)
{
    const char *connect = DEFAULT_ENDPOINT;
    bool json = false;
    const struct opt_def opts[] = {{"connect", OPT_STRING, &connect, "IP:PORT",
                                    "the router (default " DEFAULT_ENDPOINT ")", 0, 0, 0},
                                   {"json", OPT_FLAG, &json, NULL, "print JSON", 0, 0, 0},
                                   {0}};
    const struct opt_cmd cmd = {
        "scbr stats",
        "",
        "Show the router's counters.",
        opts,
        0,
        0,
        "Shows what the router counted: subscribers, publications, deliveries and refusals\n"
        "(tampered, wrong key, not provisioned).",
        "cloister scbr stats --connect 127.0.0.1:5555 --json\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    struct cli_endpoint ep;
    if (zmq_endpoint("--connect", &connect, &ep) != CLI_OK)
        return CLI_USAGE;
    struct cloister_err err;
    struct scbr_router_stats st;
    scbr_client *c = scbr_client_connect(connect, NULL, &err);
    if (!c || scbr_client_stats(c, &st, CLI_SCBR_ANSWER_MS, &err) != 0)
        rc = cli_fail("%s", err.msg);
    scbr_client_close(c);
    if (rc == CLI_OK && json) {
        rc = cli_json_print(stats_json(&st));
    } else if (rc == CLI_OK) {
        print_stats(&st);
    }
    return rc;
}

static int cmd_reshard(int argc, char **argv)
{
    const char *connect = DEFAULT_ENDPOINT, *keys = NULL, *provider_key = NULL;
    long long shards = 0, timeout = 120;
    const struct opt_def opts[] = {
        {"connect", OPT_STRING, &connect, "IP:PORT", "the front (default " DEFAULT_ENDPOINT ")", 0,
         0, 0},
        {"keys", OPT_STRING, &keys, "DIR", "where SK is (DIR/sk)", 0, 0, 0},
        {"provider-key", OPT_STRING, &provider_key, "KEY",
         "the data provider's signing key, which the front is pinned to (default "
         "DIR/provider.key)",
         0, 0, 0},
        {"shards", OPT_INT, &shards, "N", "the shards to move the subscriptions to", 1, 1,
         SCBR_SHARDS_MAX},
        {"timeout", OPT_INT, &timeout, "S", "wait at most S seconds for the move (default 120)", 0,
         1, 3600},
        {0}};
    const struct opt_cmd cmd = {
        "scbr reshard",
        "",
        "Move a running front's subscriptions to N shards.",
        opts,
        0,
        0,
        "The data provider's step: asks a running front (cloister scbr router --shards) to move\n"
        "its subscriptions to shards 0..N-1, which must run and hold SK. The command is sealed\n"
        "under SK and signed with the provider's key, which the front is pinned to. The front\n"
        "moves the subscriptions between two batches (clients' messages wait meanwhile) and\n"
        "keeps the new partition in its --state.",
        "cloister scbr reshard --connect 127.0.0.1:5555 --keys keys --shards 5\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    struct cli_endpoint ep;
    if (zmq_endpoint("--connect", &connect, &ep) != CLI_OK)
        return CLI_USAGE;
    if (cli_hold_secrets() != CLI_OK)
        return CLI_FAIL;
    char dir[4096], key_path[4200];
    if ((rc = keys_dir(keys, dir, sizeof dir)) != CLI_OK)
        return rc;
    snprintf(key_path, sizeof key_path, "%s/provider.key", dir);
    struct cloister_err err = {0};
    uint8_t sk[SCBR_SK_LEN], seed[TEE_SEED_LEN], pk[TEE_PUBKEY_LEN];
    scbr_client *c = NULL;
    if (tee_signer_load(provider_key ? provider_key : key_path, seed, pk, &err) != 0)
        return cli_fail("--provider-key: %s", err.msg);
    rc = connect_with_key(connect, keys, &c, sk);
    crypto_wipe(sk, sizeof sk);
    if (rc == CLI_OK &&
        scbr_client_reshard(c, seed, (unsigned)shards, (int)timeout * 1000, &err) != 0)
        rc = cli_fail("%s", err.msg);
    crypto_wipe(seed, sizeof seed);
    scbr_client_close(c);
    if (rc == CLI_OK)
        printf("the front at %s forwards to %lld shards\n", connect, shards);
    return rc;
}

static const struct cli_command scbr_commands[] = {
    {"gen", "generate a deterministic workload (subs.txt, pubs.txt)", cmd_gen},
    {"match", "match publications against subscriptions offline", cmd_match},
    {"router", "run the SCBR router (matching inside an enclave)", cmd_router},
    {"shard", "run one shard of a router sharded over NATS", cmd_shard},
    {"shard-demo", "one router paging beside four shards, the rates side by side",
     cli_scbr_shard_demo},
    {"provision", "verify the router enclave and provision the key SK", cmd_provision},
    {"subscribe", "register a filter and print what is delivered", cmd_subscribe},
    {"publish", "publish a message (encrypted header, opaque payload)", cmd_publish},
    {"stats", "the router's counters, refusals included", cmd_stats},
    {"reshard", "move a running front's subscriptions to N shards", cmd_reshard},
    {0}};

const struct cli_system cli_scbr_system = {
    "scbr", "secure content-based routing: workloads, matching engines, the enclave router",
    scbr_commands, cli_scbr_demo};
