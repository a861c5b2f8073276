/* cmd_enclave.c -- `cloister enclave`: the system, its verb table and the verbs that run an
 * enclave. The identity and verification verbs (keygen, sign, info, verify, platform) live in
 * cmd_enclave_trust.c (declared in cmd_enclave.h), the demo step in cmd_enclave_demo.c.
 *
 *   quote      IMAGE --out FILE [--nonce HEX] [--user-data HEX]     evidence from a running enclave
 *   provision  IMAGE --secret NAME=FILE... --mrenclave H|--mrsigner H [policy]  attested key
 *                                                                   provisioning
 *   stats      IMAGE [--calls N] [--workers N] [--wait spin|block]  sandbox, identity, counters,
 *                                                                   EPC use
 *
 * All launch IMAGE (a path, or the name of an installed image such as "hello") with --tee
 * proc|sim (default: CLOISTER_TEE, else proc) and its signature file (--sig, default
 * IMAGE.sig), under $CLOISTER_HOME. A provisioned enclave keeps its secrets sealed in the
 * store, so any later launch of the same image has them without the provisioner. */
#include <cloister/crypto.h>
#include <cloister/epc.h>
#include <cloister/orch_serve.h>
#include <cloister/tee.h>
#include <cloister/tee_trust.h>
#include <cloister/wire.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/cmd_enclave.h"
#include "http/http.h"
#include "util/hex.h"

/* ---- shared by the verbs ---- */

struct launch {
    const char *image, *sig, *tee, *store;
    long long workers;
    enum tee_wait wait;
};

#define LAUNCH_OPTS(l)                                                                             \
    {"sig", OPT_STRING, &(l).sig, "SIG", "signature file (default IMAGE.sig)", 0, 0, 0},           \
        {"tee", OPT_STRING, &(l).tee, "proc|sim", "backend (default $CLOISTER_TEE, else proc)",    \
         0,     0,          0},                                                                    \
    {                                                                                              \
        "store", OPT_STRING, &(l).store, "DIR", "where sealed blobs are kept", 0, 0, 0             \
    }

static void hex_line(const char *label, const uint8_t *p, size_t n)
{
    char h[2 * 64 + 1];
    hex_encode(h, p, n < 64 ? n : 64);
    printf("  %-14s %s\n", label, h);
}

int cmd_enclave_image(const char *given, char *path, size_t cap, const char **image)
{
    struct cloister_err err;
    size_t n = strlen(given);
    bool is_path = strchr(given, '/') || (n > 8 && strcmp(given + n - 8, ".enclave") == 0);
    *image = given;
    if (is_path || access(given, F_OK) == 0)
        return CLI_OK; /* a missing file is reported by whoever opens it, naming what for */
    if (tee_image_path(given, path, cap, &err) != CLOISTER_OK)
        return cli_fail("%s", err.msg);
    *image = path;
    return CLI_OK;
}

static int start(const struct launch *l, tee_enclave **e)
{
    char path[4096];
    struct cloister_err err;
    const char *image;
    if (cmd_enclave_image(l->image, path, sizeof path, &image) != CLI_OK)
        return CLI_FAIL;
    struct tee_options o;
    tee_options_init(&o);
    if (l->tee && tee_backend_parse(l->tee, &o.backend, NULL) != 0) {
        cli_fail("--tee: expected proc or sim, got '%s'", l->tee);
        return CLI_USAGE;
    }
    o.image = image;
    o.signature = l->sig;
    o.store_dir = l->store;
    o.workers = l->workers > 0 ? (unsigned)l->workers : 1;
    o.wait = l->wait;
    o.call_timeout_ms = CMD_ENCLAVE_CALL_TIMEOUT_MS;
    if (tee_create(&o, e, &err) != CLOISTER_OK)
        return cli_fail("%s", err.msg);
    return CLI_OK;
}

static int call(tee_enclave *e, uint32_t number, const void *in, size_t inlen, uint8_t **out,
                size_t *outlen)
{
    struct cloister_err err;
    if (tee_ecall(e, number, in, inlen, out, outlen, &err) != CLOISTER_OK)
        return cli_fail("%s", err.msg);
    return CLI_OK;
}

/* ---- quote ---- */

static int cmd_enclave_quote(int argc, char **argv)
{
    struct launch l = {0};
    const char *out_path = NULL, *nonce_hex = NULL, *data_hex = NULL;
    bool json = false;
    const struct opt_def opts[] = {
        {"out", OPT_STRING, &out_path, "FILE", "where to write the evidence", OPT_REQUIRED, 0, 0},
        {"nonce", OPT_STRING, &nonce_hex, "HEX", "the verifier's nonce (default: a fresh one)", 0,
         0, 0},
        {"user-data", OPT_STRING, &data_hex, "HEX",
         "data to bind: report data = SHA-512(data || nonce)", 0, 0, 0},
        LAUNCH_OPTS(l),
        {"json", OPT_FLAG, &json, NULL, "print the result as JSON", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "enclave quote",
        "IMAGE",
        "Launch an enclave and write its evidence (cloister-sim-v1).",
        opts,
        1,
        1,
        "Launches IMAGE, asks it for evidence bound to --nonce and --user-data and writes it.\n"
        "The evidence says simulated: no SGX here (docs/tee.md).",
        "cloister enclave quote hello --sig hello.sig --out hello.evidence --nonce 00112233\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    l.image = argv[0];
    uint8_t nonce[64], data[256], rd[TEE_REPORT_DATA_LEN];
    size_t nonce_len, data_len;
    if (cli_parse_hex("nonce", nonce_hex, nonce, sizeof nonce, &nonce_len) ||
        cli_parse_hex("user-data", data_hex, data, sizeof data, &data_len))
        return CLI_USAGE;
    if (!nonce_hex) {
        nonce_len = 32;
        if (crypto_random(nonce, nonce_len) != 0)
            return cli_fail("the system's random generator failed");
    }
    tee_bind_report_data(rd, data, data_len, nonce, nonce_len);
    tee_enclave *e;
    if ((rc = start(&l, &e)) != CLI_OK)
        return rc;
    uint8_t *ev = NULL;
    size_t evlen = 0;
    struct tee_info info;
    tee_get_info(e, &info);
    rc = call(e, TEE_ECALL_EVIDENCE, rd, sizeof rd, &ev, &evlen);
    tee_destroy(e);
    if (rc == CLI_OK)
        rc = cli_write_file(out_path, "the evidence", ev, evlen, 0644);
    free(ev);
    if (rc != CLI_OK)
        return rc;
    char nonce_str[2 * 64 + 1], mr[2 * 32 + 1];
    hex_encode(nonce_str, nonce, nonce_len);
    hex_encode(mr, info.mrenclave, 32);
    if (json)
        return cli_json_print(json_pack(
            "{s:s,s:i,s:s,s:o,s:o,s:s}", "evidence", out_path, "bytes", (int)evlen, "nonce",
            nonce_str, "mrenclave", http_json_hex(info.mrenclave, 32), "mrsigner",
            http_json_hex(info.mrsigner, 32), "backend", tee_backend_name(info.backend)));
    printf("evidence of enclave '%s' (%s backend, SIMULATED) written to %s (%zu bytes)\n",
           info.name, tee_backend_name(info.backend), out_path, evlen);
    hex_line("MRENCLAVE", info.mrenclave, 32);
    hex_line("MRSIGNER", info.mrsigner, 32);
    printf("  %-14s %s\n", "nonce", nonce_str);
    printf("check it with:\n  cloister enclave verify %s --ca <platform CA> --mrenclave %s "
           "--nonce %s%s%s --allow-simulated\n",
           out_path, mr, nonce_str, data_hex ? " --user-data " : "", data_hex ? data_hex : "");
    return CLI_OK;
}

/* ---- provision ---- */

struct secrets {
    struct tee_secret list[OPT_LIST_MAX];
    char names[OPT_LIST_MAX][TEE_SECRET_NAME_MAX + 1];
    uint8_t *values[OPT_LIST_MAX];
    size_t n;
};

static void secrets_free(struct secrets *s)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->values[i]) {
            crypto_wipe(s->values[i], s->list[i].len);
            free(s->values[i]);
        }
    }
}

/* NAME=FILE arguments: each file's bytes are one secret. */
static int read_secrets(const struct opt_list *args, struct secrets *s)
{
    for (int i = 0; i < args->n; i++) {
        const char *arg = args->v[i], *eq = strchr(arg, '=');
        size_t nlen = eq ? (size_t)(eq - arg) : 0;
        if (!eq || nlen == 0 || nlen > TEE_SECRET_NAME_MAX || !eq[1]) {
            cli_fail("--secret: expected NAME=FILE (name of 1..%d bytes), got '%s'",
                     TEE_SECRET_NAME_MAX, arg);
            return CLI_USAGE;
        }
        size_t k = s->n++, len;
        memcpy(s->names[k], arg, nlen);
        s->names[k][nlen] = 0;
        char what[TEE_SECRET_NAME_MAX + 16];
        snprintf(what, sizeof what, "secret '%s'", s->names[k]);
        if (cli_read_secret(eq + 1, what, TEE_SECRET_VALUE_MAX, &s->values[k], &len) != CLI_OK)
            return CLI_FAIL;
        s->list[k] = (struct tee_secret){s->names[k], s->values[k], len};
    }
    return CLI_OK;
}

int cmd_enclave_provision_secrets(tee_enclave *e, tee_verifier *v, const struct tee_policy *policy,
                                  const struct tee_secret *secrets, size_t n,
                                  struct tee_claims *claims, uint64_t *held)
{
    uint8_t nonce[TEE_PROV_NONCE_LEN], *offer = NULL, *package = NULL, *out = NULL;
    size_t offer_len, package_len = 0, outlen = 0;
    struct cloister_err err = {0};
    int rc = tee_prov_nonce(nonce, NULL) == 0 ? CLI_OK : cli_fail("no randomness for the nonce");
    if (rc == CLI_OK)
        rc = call(e, TEE_ECALL_PROV_OFFER, nonce, sizeof nonce, &offer, &offer_len);
    if (rc == CLI_OK && tee_prov_package(v, policy, nonce, sizeof nonce, offer, offer_len, secrets,
                                         n, &package, &package_len, claims, &err) != 0)
        rc = cli_fail("the enclave's evidence was refused: %s", err.msg);
    if (rc == CLI_OK)
        rc = call(e, TEE_ECALL_PROV_ACCEPT, package, package_len, &out, &outlen);
    if (rc == CLI_OK) {
        struct wire_reader r;
        wire_reader_init(&r, out, outlen);
        *held = wire_get_varint(&r);
        if (wire_reader_finish(&r) != 0)
            rc = cli_fail("the enclave's answer is malformed: %s", wire_reader_error(&r));
    }
    free(offer);
    free(package);
    free(out);
    return rc;
}

static int cmd_enclave_provision(int argc, char **argv)
{
    struct launch l = {0};
    struct opt_list secret_args = {0}, mre = {0}, mrs = {0};
    const char *ca = NULL;
    long long product = -1, min_svn = 0;
    bool debug = false, simulated = false, json = false;
    const struct opt_def opts[] = {
        {"secret", OPT_LIST, &secret_args, "NAME=FILE", "a secret to provision", OPT_REQUIRED, 0,
         0},
        {"ca", OPT_STRING, &ca, "CERT", "trusted platform CA (default: this platform's)", 0, 0, 0},
        {"mrenclave", OPT_LIST, &mre, "H", "allowed MRENCLAVE (this or --mrsigner is required)", 0,
         0, 0},
        {"mrsigner", OPT_LIST, &mrs, "H", "allowed MRSIGNER", 0, 0, 0},
        {"product-id", OPT_INT, &product, "N", "required product id", 0, 0, 65535},
        {"min-svn", OPT_INT, &min_svn, "N", "minimum security version", 0, 0, 65535},
        {"allow-debug", OPT_FLAG, &debug, NULL, "accept a debug enclave", 0, 0, 0},
        {"allow-simulated", OPT_FLAG, &simulated, NULL,
         "accept simulated evidence (no hardware protection)", 0, 0, 0},
        LAUNCH_OPTS(l),
        {"json", OPT_FLAG, &json, NULL, "print the result as JSON", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "enclave provision",
        "IMAGE",
        "Launch an enclave, verify its evidence and provision secrets to it (kept sealed).",
        opts,
        1,
        1,
        "Launches IMAGE, verifies its evidence against the policy, and sends each secret sealed\n"
        "by HPKE to a key only that enclave holds; the enclave keeps them sealed in --store, so\n"
        "later launches have them without the provisioner.",
        "cloister enclave provision hello --sig hello.sig --secret demo-key=demo.key --mrsigner "
        "$MRSIGNER --allow-simulated --store state\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    if (cli_hold_secrets() != CLI_OK)
        return CLI_FAIL;
    l.image = argv[0];
    uint8_t mrenclave[OPT_LIST_MAX][TEE_HASH_LEN], mrsigner[OPT_LIST_MAX][TEE_HASH_LEN];
    if (cli_parse_hashes("mrenclave", &mre, mrenclave) ||
        cli_parse_hashes("mrsigner", &mrs, mrsigner))
        return CLI_USAGE;
    /* The image on disk is whatever the host put there: only a pinned identity says whose. */
    if (!mre.n && !mrs.n) {
        fprintf(stderr, "cloister enclave provision: give the enclave's --mrenclave or --mrsigner "
                        "(`cloister enclave sign` prints both)\n");
        return CLI_USAGE;
    }
    struct secrets s = {0};
    tee_enclave *e = NULL;
    tee_verifier *v = NULL;
    tee_platform *platform = NULL;
    struct cloister_err err = {0};
    if ((rc = read_secrets(&secret_args, &s)) != CLI_OK || (rc = start(&l, &e)) != CLI_OK)
        goto out;
    struct tee_info info;
    tee_get_info(e, &info);
    if (!ca && !(platform = tee_platform_open(NULL, &err))) {
        rc = cli_fail("%s", err.msg);
        goto out;
    }
    if (!(v = tee_verifier_new_file(ca ? ca : tee_platform_ca_path(platform), &err))) {
        rc = cli_fail("%s", err.msg);
        goto out;
    }
    struct tee_policy p;
    tee_policy_default(&p);
    p.mrenclave = (const uint8_t(*)[TEE_HASH_LEN])mrenclave;
    p.n_mrenclave = (size_t)mre.n;
    p.mrsigner = (const uint8_t(*)[TEE_HASH_LEN])mrsigner;
    p.n_mrsigner = (size_t)mrs.n;
    p.product_id = (int32_t)product;
    p.min_svn = (uint16_t)min_svn;
    p.allow_debug = debug;
    p.allow_simulated = simulated;
    struct tee_claims claims;
    uint64_t held = 0;
    rc = cmd_enclave_provision_secrets(e, v, &p, s.list, s.n, &claims, &held);
    if (rc == CLI_OK && !simulated && claims.simulated)
        rc = cli_fail("internal error: simulated evidence accepted without --allow-simulated");
    if (rc != CLI_OK) {
        if (!simulated)
            fprintf(stderr, "note: this platform is simulated; --allow-simulated accepts it\n");
        goto out;
    }
    if (json) {
        rc = cli_json_print(json_pack(
            "{s:b,s:i,s:I,s:o,s:o,s:b}", "provisioned", 1, "secrets", (int)s.n, "held",
            (json_int_t)held, "mrenclave", http_json_hex(claims.mrenclave, 32), "mrsigner",
            http_json_hex(claims.mrsigner, 32), "simulated", claims.simulated));
    } else {
        printf("provisioned %zu secret(s) to enclave '%s' (evidence accepted%s); it holds %llu, "
               "sealed to its MRENCLAVE in its store\n",
               s.n, info.name, claims.simulated ? ", SIMULATED" : "", (unsigned long long)held);
        hex_line("MRENCLAVE", claims.mrenclave, 32);
        hex_line("MRSIGNER", claims.mrsigner, 32);
    }
out:
    tee_destroy(e);
    tee_verifier_free(v);
    tee_platform_free(platform);
    secrets_free(&s);
    return rc;
}

/* ---- stats ---- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void print_info(const struct tee_info *i, double p50)
{
    printf("enclave '%s': %s backend, %s%s\n", i->name, tee_backend_name(i->backend),
           i->alive ? "running" : "dead",
           i->backend == TEE_BACKEND_SIM ? " in this process (no isolation)" : "");
    if (i->pid)
        printf("  %-14s %d\n", "pid", i->pid);
    hex_line("MRENCLAVE", i->mrenclave, 32);
    hex_line("MRSIGNER", i->mrsigner, 32);
    printf("  %-14s %u / %u%s\n", "product / svn", i->product_id, i->svn,
           i->debug ? " (debug)" : "");
    const struct tee_sandbox *s = &i->sandbox;
    printf("  %-14s seccomp %s, landlock %s%d, no_new_privs %s, capabilities %s, dumpable %s, "
           "core %s\n",
           "sandbox", s->seccomp ? "on" : "off", s->landlock_abi ? "ABI " : "off", s->landlock_abi,
           s->no_new_privs ? "on" : "off", s->no_capabilities ? "none" : "kept",
           s->not_dumpable ? "no" : "yes", s->no_core ? "off" : "on");
    if (s->sanitizer_allowances)
        printf("  %-14s sanitizer build: readlink and isatty allowed, open refused\n", "");
    printf("  %-14s %s\n", "secret memory", tee_secret_memory_name(s->secret_memory));
    printf("  %-14s %s, spin %u, %u worker(s), %u slot(s), messages up to %zu bytes\n", "boundary",
           i->wait == TEE_WAIT_BLOCK ? "blocking" : "spin then futex", i->spin_count, i->workers,
           i->slots, i->max_message);
    const struct tee_stats *t = &i->stats;
    printf("  %-14s %llu ecalls in %llu crossings, %llu ocalls, %llu B in, %llu B out\n",
           "counters", (unsigned long long)t->ecalls, (unsigned long long)t->crossings,
           (unsigned long long)t->ocalls, (unsigned long long)t->bytes_in,
           (unsigned long long)t->bytes_out);
    printf("  %-14s %llu switchless hits, %llu fallbacks, %llu failures, %llu restarts\n", "",
           (unsigned long long)t->switchless_hits, (unsigned long long)t->switchless_fallbacks,
           (unsigned long long)t->failures, (unsigned long long)t->restarts);
    if (p50 > 0)
        printf("  %-14s %.2f us (p50 of a built-in no-op ecall)\n", "round trip", p50);
}

static json_t *info_json(const struct tee_info *i, double p50)
{
    const struct tee_sandbox *s = &i->sandbox;
    const struct tee_stats *t = &i->stats;
    return json_pack(
        "{s:s,s:s,s:b,s:i,s:o,s:o,s:i,s:i,s:b,s:{s:b,s:i,s:b,s:b,s:b,s:b,s:b,s:s},"
        "s:{s:s,s:i,s:i,s:i,s:I},s:{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I},s:f}",
        "name", i->name, "backend", tee_backend_name(i->backend), "alive", i->alive, "pid", i->pid,
        "mrenclave", http_json_hex(i->mrenclave, 32), "mrsigner", http_json_hex(i->mrsigner, 32),
        "product_id", i->product_id, "svn", i->svn, "debug", i->debug, "sandbox", "seccomp",
        s->seccomp, "landlock_abi", s->landlock_abi, "no_new_privs", s->no_new_privs,
        "no_capabilities", s->no_capabilities, "not_dumpable", s->not_dumpable, "no_core",
        s->no_core, "sanitizer_allowances", s->sanitizer_allowances, "secret_memory",
        tee_secret_memory_name(s->secret_memory), "boundary", "wait",
        i->wait == TEE_WAIT_BLOCK ? "block" : "spin", "spin_count", (int)i->spin_count, "workers",
        (int)i->workers, "slots", (int)i->slots, "max_message", (json_int_t)i->max_message, "stats",
        "ecalls", (json_int_t)t->ecalls, "crossings", (json_int_t)t->crossings, "ocalls",
        (json_int_t)t->ocalls, "bytes_in", (json_int_t)t->bytes_in, "bytes_out",
        (json_int_t)t->bytes_out, "switchless_hits", (json_int_t)t->switchless_hits,
        "switchless_fallbacks", (json_int_t)t->switchless_fallbacks, "failures",
        (json_int_t)t->failures, "restarts", (json_int_t)t->restarts, "roundtrip_p50_us", p50);
}

/* The live EPC use of one accounting group, from the node agent that runs it. */
static int group_stats(const char *group, const char *agent, bool json)
{
    if (!agent)
        return fprintf(stderr, "cloister: enclave stats --group needs --agent IP:PORT\n"),
               CLI_USAGE;
    char path[160], *reply = NULL;
    unsigned status = 0;
    struct cloister_err err;
    snprintf(path, sizeof path, "/groups/%.100s", group);
    if (orch_request(agent, "GET", path, NULL, NULL, &status, &reply, &err) != CLOISTER_OK)
        return cli_fail("%s", err.msg);
    json_t *j = json_loads(reply, 0, NULL);
    free(reply);
    if (!j || status != 200) {
        int rc = cli_fail("group %s on %s: %s", group, agent,
                          j ? json_string_value(json_object_get(j, "error")) : "not JSON");
        json_decref(j);
        return rc;
    }
    if (json)
        return cli_json_print(j);
    printf("EPC group '%s' (pod %s): %lld of %lld pages committed (peak %lld), %lld enclave(s), "
           "%lld refusal(s)\n",
           group, json_string_value(json_object_get(j, "pod_state")),
           json_integer_value(json_object_get(j, "committed_pages")),
           json_integer_value(json_object_get(j, "limit_pages")),
           json_integer_value(json_object_get(j, "peak_committed_pages")),
           json_integer_value(json_object_get(j, "enclaves")),
           json_integer_value(json_object_get(j, "refusals")));
    if (json_object_get(j, "last_refusal"))
        printf("  last refusal: %s\n", json_string_value(json_object_get(j, "last_refusal")));
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(j, "members"), i, m)
    {
        json_t *e = json_object_get(m, "epc");
        printf("  enclave %s (pid %lld): %lld pages committed, %lld resident, %lld faults\n",
               json_string_value(json_object_get(m, "enclave")),
               json_integer_value(json_object_get(m, "pid")),
               json_integer_value(json_object_get(m, "committed_pages")),
               json_integer_value(json_object_get(e, "resident_pages")),
               json_integer_value(json_object_get(e, "faults")));
    }
    json_decref(j);
    return CLI_OK;
}

static int cmd_enclave_stats(int argc, char **argv)
{
    static const char *const wait_names[] = {"spin", "block", NULL};
    static const enum tee_wait waits[] = {TEE_WAIT_SPIN, TEE_WAIT_BLOCK};
    struct launch l = {.workers = 1};
    long long calls = 1000;
    struct opt_choice wait = {wait_names, 0};
    bool json = false;
    const char *group = NULL, *agent = NULL;
    const struct opt_def opts[] = {
        {"calls", OPT_INT, &calls, "N", "no-op round trips to make first (default 1000)", 0, 0,
         10000000},
        {"workers", OPT_INT, &l.workers, "N", "enclave worker threads (default 1)", 0, 1,
         TEE_WORKERS_MAX},
        {"wait", OPT_CHOICE, &wait, "MODE", "how callers wait", 0, 0, 0},
        LAUNCH_OPTS(l),
        {"group", OPT_STRING, &group, "G",
         "instead: the live EPC use of accounting group G (a pod) on --agent", 0, 0, 0},
        {"agent", OPT_STRING, &agent, "IP:PORT", "the node agent running --group", 0, 0, 0},
        {"json", OPT_FLAG, &json, NULL, "print the result as JSON", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "enclave stats",
        "[IMAGE]",
        "Launch an enclave, make some calls, show its sandbox, identity and counters.",
        opts,
        0,
        1,
        "Launches IMAGE, makes --calls no-op ecalls and shows the sandbox applied (seccomp,\n"
        "Landlock, ptrace), the identity, call counters and timings, and the EPC use.\n"
        "With --group G --agent IP:PORT, shows instead the EPC accounting group G of a node\n"
        "agent (cloister orch node): limit, committed pages, refusals, and per enclave its\n"
        "committed and resident pages and faults (docs/orchestration.md).",
        "cloister enclave stats hello --sig hello.sig\n"
        "cloister enclave stats hello --sig hello.sig --calls 10000 --wait block --json\n"
        "cloister enclave stats --group web-1 --agent 127.0.0.1:7101 --json\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    if (group)
        return nargs ? (fprintf(stderr, "cloister: enclave stats: IMAGE or --group, not both\n"),
                        CLI_USAGE)
                     : group_stats(group, agent, json);
    if (nargs != 1)
        return fprintf(stderr, "cloister: enclave stats: IMAGE is needed (or --group G)\n"),
               CLI_USAGE;
    l.image = argv[0];
    l.wait = waits[wait.index];
    tee_enclave *e;
    if ((rc = start(&l, &e)) != CLI_OK)
        return rc;
    double *us = calls ? malloc((size_t)calls * sizeof *us) : NULL, p50 = 0;
    for (long long i = 0; i < calls && us && rc == CLI_OK; i++) {
        uint8_t *out;
        size_t outlen;
        double t0 = cli_now_s();
        rc = call(e, TEE_ECALL_START, NULL, 0, &out, &outlen);
        us[i] = (cli_now_s() - t0) * 1e6;
        free(out);
    }
    if (rc == CLI_OK && us) {
        qsort(us, (size_t)calls, sizeof *us, cmp_double);
        p50 = us[calls / 2];
    }
    free(us);
    struct tee_info info;
    struct epc_stats epc;
    struct cloister_err err;
    tee_get_info(e, &info);
    if (rc == CLI_OK && tee_epc_stats(e, &epc, &err) != CLOISTER_OK)
        rc = cli_fail("enclave '%s': EPC counters: %s", info.name, err.msg);
    tee_destroy(e);
    if (rc != CLI_OK)
        return rc;
    if (json) {
        json_t *j = info_json(&info, p50);
        json_object_set_new(j, "epc", epc_stats_json(&epc));
        return cli_json_print(j);
    }
    print_info(&info, p50);
    printf("  EPC (emulated enclave page cache):\n");
    epc_stats_print(stdout, &epc, "    ");
    return CLI_OK;
}

static const struct cli_command enclave_commands[] = {
    {"keygen", "create an enclave signer key (MRSIGNER = SHA-256 of its public key)",
     cmd_enclave_keygen},
    {"sign", "audit an enclave image, show what is vouched for, sign it", cmd_enclave_sign},
    {"info", "show an image's identity and audit", cmd_enclave_info},
    {"quote", "launch an enclave and write its evidence", cmd_enclave_quote},
    {"verify", "verify evidence against a trusted CA and a policy", cmd_enclave_verify},
    {"provision", "verify an enclave's evidence and provision secrets to it",
     cmd_enclave_provision},
    {"stats", "launch an enclave, show its sandbox, identity, counters and EPC use",
     cmd_enclave_stats},
    {"platform", "show the simulated platform and its CA certificate", cmd_enclave_platform},
    {0}};

const struct cli_system cli_enclave_system = {
    "enclave",
    "Enclaves: signing, sandboxed launch, sealing, attestation and key provisioning.",
    enclave_commands,
    cli_enclave_demo,
};
