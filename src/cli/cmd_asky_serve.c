/* cmd_asky_serve.c -- `cloister asky serve` (A-Sky's access service over HTTP+JSON, until
 * SIGINT or SIGTERM) and the remote halves of put and group (asky_serve.h). Kept apart from
 * cmd_asky.c, which works on a store directory with no server. */
#include <cloister/asky_serve.h>
#include <cloister/crypto.h>
#include <cloister/tee.h>

#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/cmd_asky.h"
#include "util/hex.h"

/* --OPT H: 32 bytes of hex into out (NULL when not given). */
static int hash_opt(const char *opt, const char *hex, uint8_t out[32], const uint8_t **set)
{
    size_t len;
    *set = NULL;
    if (cli_parse_hex(opt, hex, out, 32, &len) != CLI_OK)
        return CLI_USAGE;
    if (hex && len != 32) {
        fprintf(stderr, "--%s: expected 64 hex digits\n", opt);
        return CLI_USAGE;
    }
    *set = hex ? out : NULL;
    return CLI_OK;
}

/* The remote client's policy from the trust options (mre, mrs hold the hashes). */
static int remote_of(const char *server, const struct cli_asky_trust *t, uint8_t mre[32],
                     uint8_t mrs[32], struct asky_remote *r)
{
    *r = (struct asky_remote){.server = server, .ca = t->ca, .allow_simulated = t->allow_simulated};
    if (hash_opt("mrenclave", t->mrenclave, mre, &r->mrenclave) != CLI_OK ||
        hash_opt("mrsigner", t->mrsigner, mrs, &r->mrsigner) != CLI_OK)
        return CLI_USAGE;
    return CLI_OK;
}

int cli_asky_remote_put(const char *server, const struct cli_asky_trust *t, const char *group,
                        const char *user, const uint8_t key[ASKY_KEY_LEN], const char *in,
                        const char *name, enum asky_kind kind, unsigned pad)
{
    uint8_t mre[32], mrs[32];
    struct asky_remote r;
    if (remote_of(server, t, mre, mrs, &r) != CLI_OK)
        return CLI_USAGE;
    struct cloister_err err;
    if ((in ? asky_remote_put(&r, group, user, key, in, name, kind, pad, &err)
            : asky_remote_rekey(&r, group, user, key, name, kind, pad, &err)) != CLOISTER_OK)
        return cli_fail("%s: %s", in ? "put" : "rekey", err.msg);
    printf("%s %s on %s\n", in ? "stored" : "rekeyed", name, server);
    return CLI_OK;
}

int cli_asky_remote_user_add(const char *server, const char *token_file,
                             const struct cli_asky_trust *t, const char *user,
                             uint8_t key[ASKY_KEY_LEN])
{
    uint8_t mre[32], mrs[32];
    struct asky_remote r;
    char token[256];
    struct cloister_err err;
    if (remote_of(server, t, mre, mrs, &r) != CLI_OK)
        return CLI_USAGE;
    if (!token_file)
        return cli_fail("user add --server: --token-file (the service's token) is required");
    int rc = cli_load_token(token_file, ASKY_TOKEN_MIN, token, sizeof token);
    if (rc == CLI_OK && asky_remote_user_add(&r, token, user, key, &err) != CLOISTER_OK)
        rc = cli_fail("user add: %s", err.msg);
    crypto_wipe(token, sizeof token);
    return rc;
}

int cli_asky_remote_group(const char *server, const char *token_file, const char *op,
                          const char *group, const char *user)
{
    char token[256];
    struct cloister_err err;
    if (!token_file)
        return cli_fail("%s --server: --token-file (the service's token) is required", op);
    int rc = cli_load_token(token_file, ASKY_TOKEN_MIN, token, sizeof token);
    if (rc != CLI_OK)
        return rc;
    if (asky_remote_admin(server, token, op, group, user, &err) != CLOISTER_OK)
        rc = cli_fail("%s %s: %s", group ? "group" : "user", op, err.msg);
    else if (!group)
        printf("user %s removed\n", user);
    else
        printf("group %s: %s %s\n", group, strcmp(op, "remove") == 0 ? "removed" : "added", user);
    crypto_wipe(token, sizeof token);
    return rc;
}

/* Serves until SIGINT or SIGTERM (blocked before any thread starts, then awaited). */
static int serve_until_signal(asky_service *s, const char *listen, const char *token,
                              const char *store, unsigned threads)
{
    cli_stop_signals_block();
    asky_server *srv;
    struct cloister_err err;
    struct tee_info info;
    char mre[65];
    if (asky_server_start(s, listen, token, 0, threads, &srv, &err) != CLOISTER_OK)
        return cli_fail("serve: %s", err.msg);
    tee_get_info(asky_service_enclave(s), &info);
    hex_encode(mre, info.mrenclave, 32);
    printf("asky serving %s on %s, port %u; enclave MRENCLAVE %s\n", store, listen,
           (unsigned)asky_server_port(srv), mre);
    fflush(stdout);
    cli_stop_signals_wait("asky serve");
    asky_server_stop(srv);
    return CLI_OK;
}

int cli_asky_serve(int argc, char **argv)
{
    const char *store = NULL, *tee = NULL, *db = NULL, *listen = ASKY_SERVE_LISTEN,
               *token_file = NULL;
    long long threads = 4;
    const struct opt_def opts[] = {
        {"store", OPT_STRING, &store, "DIR", "the store directory", OPT_REQUIRED, 0, 0},
        {"tee", OPT_STRING, &tee, "proc|sim", "enclave backend (default: proc)", 0, 0, 0},
        {"db", OPT_STRING, &db, "CONNINFO",
         "a PostgreSQL membership store shared by replicas (default: SQLite DIR/asky.db)", 0, 0, 0},
        {"threads", OPT_INT, &threads, "N", "request threads (default 4)", 0, 1, 64},
        {"listen", OPT_STRING, &listen, "IP:PORT",
         "where to listen (default " ASKY_SERVE_LISTEN "; port 0: any free one)", 0, 0, 0},
        {"token-file", OPT_STRING, &token_file, "FILE",
         "bearer token of membership changes (created when missing)", OPT_REQUIRED, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "asky serve",
        "",
        "Serve the access service over HTTP+JSON until SIGINT or SIGTERM.",
        opts,
        0,
        0,
        "Members ask for envelopes with requests sealed to the enclave's attested key (put\n"
        "--server), upload the objects they build and fetch objects (get --server); membership\n"
        "changes (group --server) need the bearer token of --token-file. The host sees no user\n"
        "or group name of a member's request. Listens on loopback unless told otherwise.\n"
        "Several replicas may serve the same groups from one PostgreSQL store (--db), each\n"
        "with its own store directory for objects or a shared one.",
        "cloister asky serve --store share --token-file token --listen 127.0.0.1:8470\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    struct cli_endpoint ep;
    if (cli_parse_endpoint("--listen", listen, &ep) != CLI_OK)
        return CLI_USAGE;
    char token[256];
    if (cli_hold_secrets() != CLI_OK ||
        (rc = cli_load_token(token_file, ASKY_TOKEN_MIN, token, sizeof token)) != CLI_OK)
        return CLI_FAIL;
    if (strncmp(ep.host, "127.", 4) != 0)
        fprintf(stderr,
                "WARNING: serving plain HTTP on %s, beyond this machine: the bearer token "
                "crosses the network in clear. Put a TLS proxy in front of it.\n",
                listen);
    asky_service *s;
    if ((rc = cli_asky_open(store, tee, db, &s)) == CLI_OK) {
        rc = serve_until_signal(s, ep.host, token, store, (unsigned)threads);
        asky_service_close(s);
    }
    crypto_wipe(token, sizeof token);
    return rc;
}
