/* cmd_mapreduce_demo.c -- the MapReduce step of `cloister demo`: word count of a generated
 * corpus in three proc worker enclaves, then k-means converging round by round, in a temporary
 * home with the worker image signed by a fresh key.
 *
 * It shows what the host sees: every shuffle chunk the host stores is searched for the
 * corpus's most frequent word (present thousands of times in clear in the input) and never
 * contains it; and what a fault costs: a worker enclave is killed (SIGKILL) mid-job, restarted
 * by its host, and its task re-run, with the same counts as a C counter. The same job then runs
 * with its tasks, results and shuffle through a local nats-server (skipped without one). */
#include <cloister/crypto.h>
#include <cloister/mapreduce.h>
#include <cloister/tee.h>
#include <cloister/tee_enclave.h>

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/fileio.h"

TEE_ENCLAVE_DECLARE(mapreduce);

/* examples/mapreduce/{wordcount,kmeans}.lua, embedded by the build (mr_examples.c). */
extern const unsigned char cli_mr_wordcount[], cli_mr_kmeans[];

struct watch {
    char word[64];
    size_t chunks, bytes, hits;
    int killed;
};

/* The host's view: every shuffle chunk it reads back from its store. */
static void host_reads(void *arg, uint8_t **chunk, size_t *len)
{
    struct watch *w = arg;
    w->chunks++;
    w->bytes += *len;
    size_t n = strlen(w->word);
    for (size_t i = 0; i + n <= *len; i++)
        w->hits += memcmp(*chunk + i, w->word, n) == 0;
}

static void kill_one(void *arg, uint64_t maps_done, const int *pids, unsigned n)
{
    struct watch *w = arg;
    if (!w->killed && maps_done == 3 && n > 1 && pids[1] > 0) {
        kill(pids[1], SIGKILL);
        w->killed = pids[1];
    }
}

/* The first word of the corpus, which Zipf makes the most frequent one in its first line. */
static void first_word(const char *path, char *out, size_t cap)
{
    FILE *f = fopen(path, "r");
    int c;
    size_t n = 0;
    while (f && (c = fgetc(f)) != EOF && isalpha(c) && n + 1 < cap)
        out[n++] = (char)c;
    out[n] = 0;
    if (f)
        fclose(f);
}

static size_t count_in(const char *path, const char *word)
{
    uint8_t *t;
    size_t len, hits = 0, n = strlen(word);
    if (file_read_all(path, (size_t)1 << 30, &t, &len) != 0)
        return 0;
    for (size_t i = 0; i + n <= len; i++)
        hits += memcmp(t + i, word, n) == 0 && (i == 0 || !isalpha(t[i - 1])) &&
                (i + n == len || !isalpha(t[i + n]));
    free(t);
    return hits;
}

/* Writes the embedded example job to DIR/NAME and points o at it. */
static void options(struct mr_options *o, const char *home, const char *sig, const char *job,
                    const char *const *input, const char *out)
{
    static char jobp[4200];
    const char *text = (const char *)(strcmp(job, "kmeans.lua") == 0 ? cli_mr_kmeans
                                                                     : cli_mr_wordcount);
    snprintf(jobp, sizeof jobp, "%s/%s", home, job);
    if (file_write_atomic(jobp, text, strlen(text), 0600) != 0)
        fprintf(stderr, "cloister: %s: %s\n", jobp, strerror(errno));
    mr_options_init(o);
    o->job = jobp;
    o->inputs = input;
    o->ninputs = 1;
    o->output = out;
    o->workers = 3;
    o->reducers = 3;
    o->tee = MR_TEE_PROC;
    o->allow_simulated = true;
    o->home = home;
    o->signature = sig;
    o->enclave = &tee_enclave_mapreduce;
    o->inproc = &mr_inproc_worker;
}

static int demo_wordcount(const char *dir, const char *sig, uint64_t *results)
{
    cli_demo_heading("MapReduce: word count in three proc worker enclaves");
    char corpus[4200], out[4200], part[4300];
    snprintf(corpus, sizeof corpus, "%s/corpus.txt", dir);
    snprintf(out, sizeof out, "%s/wordcount", dir);
    const char *inputs[] = {corpus};
    struct cloister_err err;
    FILE *f = fopen(corpus, "w");
    if (!f || mr_gen_text(f, 8 << 20, 2026, &err) != 0)
        return cli_fail("cannot generate the corpus");
    fclose(f);
    struct watch w = {0};
    first_word(corpus, w.word, sizeof w.word);
    printf("  corpus: 8 MiB of Zipf-distributed English; '%s' occurs %zu times in clear\n", w.word,
           count_in(corpus, w.word));
    struct mr_options o;
    struct mr_summary s;
    options(&o, dir, sig, "wordcount.lua", inputs, out);
    o.split_bytes = 512 << 10;
    o.on_shuffle_get = host_reads;
    o.on_map_done = kill_one;
    o.hook_arg = &w;
    if (mr_run(&o, &s, &err) != 0)
        return cli_fail("%s", err.msg);
    printf(
        "  %llu map tasks (with re-runs), %llu pairs shuffled after combine, %llu results over 3 "
        "reducers in %.2f s (%.1f MB/s), %llu ecalls for %llu lines\n",
        (unsigned long long)s.map_tasks, (unsigned long long)s.map_pairs,
        (unsigned long long)s.results, s.seconds, (double)s.input_bytes / 1e6 / s.seconds,
        (unsigned long long)s.ecalls, (unsigned long long)s.records_in);
    printf("  workers' evidence verified (%s platform), job key provisioned by attested HPKE\n",
           s.simulated ? "SIMULATED" : "hardware");
    printf("  host side: %zu shuffle chunks (%zu bytes) read back from its store; '%s' found "
           "in them %zu times\n",
           w.chunks, w.bytes, w.word, w.hits);
    printf("  worker killed mid-job (pid %d): %llu restart, %llu task(s) re-run, output "
           "complete\n",
           w.killed, (unsigned long long)s.worker_restarts, (unsigned long long)s.retries);
    size_t want = count_in(corpus, w.word);
    char line[256], *got = NULL;
    for (int p = 0; p < 3 && !got; p++) {
        snprintf(part, sizeof part, "%s/part-%d.jsonl", out, p);
        FILE *pf = fopen(part, "r");
        char key[80];
        snprintf(key, sizeof key, "{\"key\":\"%s\",", w.word);
        while (pf && fgets(line, sizeof line, pf))
            if (strncmp(line, key, strlen(key)) == 0) {
                got = line;
                break;
            }
        if (pf)
            fclose(pf);
    }
    printf("  %s", got ? got : "(word missing from the output)\n");
    char expect[64];
    snprintf(expect, sizeof expect, "\"value\":%zu}", want);
    bool ok = got && strstr(got, expect) && w.hits == 0 && w.killed && s.worker_restarts == 1;
    *results = s.results;
    printf("  count equals a C count of the corpus: %s\n",
           got && strstr(got, expect) ? "yes" : "NO");
    return ok ? CLI_OK : cli_fail("mapreduce demo: unexpected result");
}

/* The same word count with tasks, results and the shuffle through a local nats-server. */
static int demo_nats(const char *dir, const char *sig, uint64_t results)
{
    cli_demo_heading("MapReduce: the same word count over NATS JetStream");
    char corpus[4200], out[4200];
    snprintf(corpus, sizeof corpus, "%s/corpus.txt", dir);
    snprintf(out, sizeof out, "%s/wordcount-nats", dir);
    const char *inputs[] = {corpus}, *why, *nats = cli_demo_nats(&why);
    struct cloister_err err;
    if (!nats) {
        printf("  skipped: %s\n", why);
        return CLI_OK;
    }
    struct watch w = {0};
    struct mr_options o;
    struct mr_summary s;
    options(&o, dir, sig, "wordcount.lua", inputs, out);
    o.split_bytes = 512 << 10;
    o.nats = nats;
    o.on_map_done = kill_one;
    o.hook_arg = &w;
    int rc = mr_run(&o, &s, &err);
    if (rc == 0) {
        printf("  nats-server at %s: tasks on a work-queue stream, results and %llu sealed "
               "shuffle bytes on streams of the job, deleted at the end\n",
               o.nats, (unsigned long long)s.shuffle_bytes);
        printf("  worker killed mid-job (pid %d), its task re-run; %llu results in %.2f s (%s "
               "the embedded run)\n",
               w.killed, (unsigned long long)s.results, s.seconds,
               s.results == results ? "same as" : "DIFFERENT FROM");
    }
    if (rc != 0)
        return cli_fail("%s", err.msg);
    return s.results == results ? CLI_OK : cli_fail("mapreduce demo: unexpected result");
}

static int demo_kmeans(const char *dir, const char *sig)
{
    cli_demo_heading("MapReduce: k-means, round by round (next_round on the client)");
    char points[4200], out[4200];
    snprintf(points, sizeof points, "%s/points.csv", dir);
    snprintf(out, sizeof out, "%s/kmeans", dir);
    const char *inputs[] = {points};
    struct cloister_err err;
    FILE *f = fopen(points, "w");
    if (!f || mr_gen_points(f, 100000, 8, 2, 2026, &err) != 0)
        return cli_fail("cannot generate the points");
    fclose(f);
    printf("  100,000 points around 8 centres\n");
    struct mr_options o;
    struct mr_summary s;
    options(&o, dir, sig, "kmeans.lua", inputs, out);
    o.log = stdout;
    if (mr_run(&o, &s, &err) != 0)
        return cli_fail("%s", err.msg);
    printf("  converged after %u rounds in %.2f s; %llu tasks, %llu chunks refused\n", s.rounds,
           s.seconds, (unsigned long long)(s.map_tasks + s.reduce_tasks),
           (unsigned long long)s.refused_chunks);
    return CLI_OK;
}

int cli_mapreduce_demo(void)
{
    char dir[] = "/tmp/cloister-mr-demo-XXXXXX", image[4096], sig[4200];
    uint8_t seed[TEE_SEED_LEN], pk[TEE_PUBKEY_LEN];
    struct cloister_err err = {0};
    if (tee_image_path("mapreduce", image, sizeof image, &err) != 0 || !mkdtemp(dir))
        return cli_fail("mapreduce demo: %s", err.msg[0] ? err.msg : strerror(errno));
    snprintf(sig, sizeof sig, "%s/mapreduce.enclave.sig", dir);
    int rc = crypto_ed25519_keypair(pk, seed) == 0 &&
                     mr_sign_image(image, seed, 0, 0, sig, &err) == 0
                 ? CLI_OK
                 : cli_fail("mapreduce demo: %s", err.msg);
    crypto_wipe(seed, sizeof seed);
    uint64_t results = 0;
    if (rc == CLI_OK)
        rc = demo_wordcount(dir, sig, &results);
    if (rc == CLI_OK)
        rc = demo_nats(dir, sig, results);
    if (rc == CLI_OK)
        rc = demo_kmeans(dir, sig);
    file_remove_tree(dir);
    return rc;
}
