/* cmd_asky.c -- `cloister asky`: anonymous group file sharing (docs/asky.md). A thin layer:
 * options in, one library call (asky_host.h, asky_client.h), the result printed. Everything
 * lives under --store DIR, the untrusted store (membership records and objects).
 *
 *   init                                     creates the store (master secret sealed)
 *   user add|remove --user U [--out KEYFILE] a user; its key delivered by HPKE, written once
 *   (--db CONNINFO: the membership store in PostgreSQL, shared by replicas; default SQLite)
 *   group create|add|remove --group G --user U
 *   put --group G --user U --key F --in F --name OBJ   through the enclave (membership checked)
 *   get --user U --key F --name OBJ --out F            no enclave
 *   ls                                                 the store's objects
 *   serve --listen IP:PORT --token-file F              the access service (cmd_asky_serve.c);
 *                                                      put, get and group take --server IP:PORT
 *
 * The demo step is in cmd_asky_demo.c. */
#include <cloister/asky_client.h>
#include <cloister/asky_serve.h>
#include <cloister/crypto.h>
#include <cloister/tee_enclave.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/cmd_asky.h"
#include "util/bech32.h"

TEE_ENCLAVE_DECLARE(asky);

#define KEY_FILE_MAX 4096

#define TEE_DB_OPTS(tee, db)                                                                       \
    {"tee", OPT_STRING, &(tee), "proc|sim", "enclave backend (default: proc)", 0, 0, 0},           \
    {                                                                                              \
        "db", OPT_STRING, &(db), "CONNINFO",                                                       \
            "a PostgreSQL membership store shared by replicas (default: SQLite DIR/asky.db)", 0,   \
            0, 0                                                                                   \
    }

static const char *const kinds[] = {"indexed", "trial", NULL};

#define SERVER_OPT(server)                                                                         \
    {                                                                                              \
        "server", OPT_STRING, &(server), "IP:PORT",                                                \
            "an access service (cloister asky serve) instead of --store", 0, 0, 0                  \
    }

/* Exactly one of --store and --server. */
static int one_place(const char *verb, const char *store, const char *server)
{
    if (!store == !server) {
        fprintf(stderr, "cloister %s: give --store DIR or --server IP:PORT (one of them)\n", verb);
        return CLI_USAGE;
    }
    return CLI_OK;
}

int cli_asky_open(const char *store, const char *tee, const char *db, asky_service **s)
{
    struct asky_service_options o = {.backend = tee,
                                     .enclave = &tee_enclave_asky,
                                     .db = db,
                                     .workers = 2};
    struct cloister_err err;
    if (asky_service_open(store, &o, s, &err) != CLOISTER_OK)
        return cli_fail("%s", err.msg);
    return CLI_OK;
}

int cli_asky_read_key(const char *path, uint8_t key[ASKY_KEY_LEN])
{
    uint8_t *data;
    size_t len, n;
    const char *why;
    int rc = cli_read_secret(path, "the user key", KEY_FILE_MAX, &data, &len);
    if (rc != CLI_OK)
        return rc;
    if (bech32_key_decode(BECH32_HRP_ASKY_USER, data, len, key, ASKY_KEY_LEN, &n, &why) != 0 ||
        n != ASKY_KEY_LEN)
        rc = cli_fail("%s: not an A-Sky user key (%s)", path, n != ASKY_KEY_LEN ? "length" : why);
    crypto_wipe(data, len);
    free(data);
    return rc;
}

static int cmd_init(int argc, char **argv)
{
    const char *store = NULL, *tee = NULL, *db = NULL, *s3 = NULL;
    const struct opt_def opts[] = {
        {"store", OPT_STRING, &store, "DIR", "the store directory", OPT_REQUIRED, 0, 0},
        TEE_DB_OPTS(tee, db),
        {"s3", OPT_STRING, &s3, "URL",
         "keep the objects in an S3 bucket (http[s]://HOST:PORT/BUCKET) instead of DIR/objects", 0,
         0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "asky init",
        "",
        "Create a store: the enclave draws the master secret and seals it there.",
        opts,
        0,
        0,
        "Creates DIR with its membership store (SQLite DIR/asky.db, or --db) and objects/.\n"
        "Running it again on an existing store only checks that the sealed master secret opens.\n"
        "With --s3 the objects go to the bucket (created when missing; credentials from\n"
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), under a manifest authenticated by\n"
        "DIR/s3.key: every verb on --store DIR then uses it.",
        "cloister asky init --store share\n"
        "AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER \\\n"
        "  cloister asky init --store share --s3 http://127.0.0.1:4568/asky\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    asky_service *s;
    if ((rc = cli_asky_open(store, tee, db, &s)) != CLI_OK)
        return rc;
    struct cloister_err err;
    if (s3 && asky_objects_init(store, s3, &err) != CLOISTER_OK) {
        asky_service_close(s);
        return cli_fail("init: %s", err.msg);
    }
    printf("A-Sky store ready in %s (membership store: %s; master secret sealed in it%s)\n", store,
           asky_service_store_kind(s), s3 ? "; objects in S3" : "");
    asky_service_close(s);
    return CLI_OK;
}

/* Prints the usage of a verb with sub-verbs; *which = the index of argv[1] in subs, or returns
 * the exit code (help, or an unknown sub-verb). */
static int pick_sub(int argc, char **argv, const char *usage, const char *const *subs, size_t n,
                    const char *verb, size_t *which)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    for (*which = 0; *which < n; (*which)++)
        if (strcmp(argv[1], subs[*which]) == 0)
            return -1;
    const char *near = opt_nearest(argv[1], subs, n);
    fprintf(stderr, "cloister asky %s: unknown sub-verb '%s'%s%s%s\n%s", verb, argv[1],
            near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "", usage);
    return CLI_USAGE;
}

/* The key of a new user: drawn in the enclave (of the store, or of the service at --server)
 * and delivered encrypted by HPKE to a key pair made here. */
static int user_new_key(const char *store, const char *tee, const char *db, const char *server,
                        const char *token_file, const struct cli_asky_trust *trust,
                        const char *user, uint8_t key[ASKY_KEY_LEN])
{
    if (server)
        return cli_asky_remote_user_add(server, token_file, trust, user, key);
    asky_service *s = NULL;
    struct cloister_err err;
    int rc = cli_asky_open(store, tee, db, &s);
    if (rc == CLI_OK && asky_user_add(s, user, key, &err) != CLOISTER_OK)
        rc = cli_fail("user add: %s", err.msg);
    asky_service_close(s);
    return rc;
}

static int cmd_user(int argc, char **argv)
{
    static const char *const usage = "usage: cloister asky user <sub-verb> [options]\n\n"
                                     "Register or remove users of a store.\n\n"
                                     "sub-verbs:\n"
                                     "  add      register a user; its key is written once\n"
                                     "  remove   remove a user: new files leave it out\n\n"
                                     "'--help' after a sub-verb shows its options and examples.\n";
    static const char *const subs[] = {"add", "remove"};
    size_t which;
    int rc = pick_sub(argc, argv, usage, subs, 2, "user", &which);
    if (rc >= 0)
        return rc;
    const char *store = NULL, *tee = NULL, *db = NULL, *user = NULL, *out = NULL, *server = NULL,
               *token_file = NULL;
    struct cli_asky_trust trust = {0};
    bool force = false, add = which == 0;
    struct opt_def opts[16] = {
        {"store", OPT_STRING, &store, "DIR", "the store directory (or --server)", 0, 0, 0},
        TEE_DB_OPTS(tee, db),
        {"user", OPT_STRING, &user, "U", "the user's name", OPT_REQUIRED, 0, 0},
        SERVER_OPT(server),
        {"token-file", OPT_STRING, &token_file, "FILE", "the service's bearer token (--server)", 0,
         0, 0},
    };
    if (add) {
        const struct opt_def more[] = {
            {"out", OPT_STRING, &out, "KEYFILE", "where to write the user key", OPT_REQUIRED, 0, 0},
            {"force", OPT_FLAG, &force, NULL, "replace an existing key file", 0, 0, 0},
            TRUST_OPTS(trust)};
        memcpy(opts + 6, more, sizeof more);
    }
    const struct opt_cmd cmd = {
        add ? "asky user add" : "asky user remove",
        "",
        add ? "Register a user: the enclave draws its key, written once to KEYFILE."
            : "Remove a user: envelopes built from now on leave it out of every group.",
        opts,
        0,
        0,
        add ? "The key leaves the enclave only encrypted by HPKE to a key pair made here (with\n"
              "--server, after the service's enclave evidence is verified: --mrenclave or\n"
              "--mrsigner, and the token of --token-file). The store keeps the key only under\n"
              "the enclave's record key and the name only as an HMAC. Hand KEYFILE to the user."
            : "Revocation is lazy: files written before stay readable to whoever could read\n"
              "them; files written after exclude the user.",
        add ? "cloister asky user add --store share --user alice --out alice.key\n"
            : "cloister asky user remove --store share --user mallory\n"};
    int nargs;
    if ((rc = opt_parse(&cmd, argc - 1, argv + 1, &nargs)) != OPT_OK)
        return opt_exit_code(rc);
    if (one_place(cmd.name, store, server) != CLI_OK)
        return CLI_USAGE;
    if (add && (cli_hold_secrets() != CLI_OK || cli_check_new_secret(out, force) != CLI_OK))
        return CLI_FAIL;
    if (!add && server)
        return cli_asky_remote_group(server, token_file, "user-remove", NULL, user);
    uint8_t key[ASKY_KEY_LEN];
    if (add) {
        rc = user_new_key(store, tee, db, server, token_file, &trust, user, key);
        if (rc == CLI_OK)
            rc = cli_write_key(out, "the user key", CLI_KEY_TEXT, BECH32_HRP_ASKY_USER, key,
                               sizeof key, 0600);
        crypto_wipe(key, sizeof key);
    } else {
        asky_service *s = NULL;
        struct cloister_err err;
        if ((rc = cli_asky_open(store, tee, db, &s)) == CLI_OK &&
            asky_user_remove(s, user, &err) != CLOISTER_OK)
            rc = cli_fail("user remove: %s", err.msg);
        asky_service_close(s);
    }
    if (rc == CLI_OK)
        printf(add ? "user %s added; key written to %s\n" : "user %s removed\n", user, out);
    return rc;
}

static int cmd_group(int argc, char **argv)
{
    static const char *const usage = "usage: cloister asky group <sub-verb> [options]\n\n"
                                     "Change a group's membership: one record updated, O(1).\n\n"
                                     "sub-verbs:\n"
                                     "  create   create a group with its first member (--user)\n"
                                     "  add      add a member\n"
                                     "  remove   remove a member (new files exclude it)\n\n"
                                     "'--help' after a sub-verb shows its options and examples.\n";
    static const char *const subs[] = {"create", "add", "remove"};
    static const char *const names[] = {"asky group create", "asky group add", "asky group remove"};
    static const char *const summaries[] = {"Create a group whose first member is --user.",
                                            "Add a member to a group.",
                                            "Remove a member from a group."};
    static const char *const examples[] = {
        "cloister asky group create --store share --group eng --user alice\n",
        "cloister asky group add --store share --group eng --user bob\n",
        "cloister asky group remove --store share --group eng --user bob\n"};
    size_t which;
    int rc = pick_sub(argc, argv, usage, subs, 3, "group", &which);
    if (rc >= 0)
        return rc;
    const char *store = NULL, *tee = NULL, *db = NULL, *group = NULL, *user = NULL, *server = NULL,
               *token_file = NULL;
    const struct opt_def opts[] = {
        {"store", OPT_STRING, &store, "DIR", "the store directory (or --server)", 0, 0, 0},
        TEE_DB_OPTS(tee, db),
        {"group", OPT_STRING, &group, "G", "the group's name", OPT_REQUIRED, 0, 0},
        {"user", OPT_STRING, &user, "U", "the member", OPT_REQUIRED, 0, 0},
        SERVER_OPT(server),
        {"token-file", OPT_STRING, &token_file, "FILE", "the service's bearer token (--server)", 0,
         0, 0},
        {0}};
    const struct opt_cmd cmd = {
        names[which],
        "",
        summaries[which],
        opts,
        0,
        0,
        "The group record (member ids, encrypted by the enclave) gets a new version, and the\n"
        "epoch record the enclave checks every group record against is rewritten with it.",
        examples[which]};
    int nargs;
    if ((rc = opt_parse(&cmd, argc - 1, argv + 1, &nargs)) != OPT_OK)
        return opt_exit_code(rc);
    if (one_place(names[which], store, server) != CLI_OK)
        return CLI_USAGE;
    if (server)
        return cli_asky_remote_group(server, token_file, subs[which], group, user);
    asky_service *s;
    if ((rc = cli_asky_open(store, tee, db, &s)) != CLI_OK)
        return rc;
    struct cloister_err err;
    int r = which == 0   ? asky_group_create(s, group, user, &err)
            : which == 1 ? asky_group_add(s, group, user, &err)
                         : asky_group_remove(s, group, user, &err);
    if (r != CLOISTER_OK)
        rc = cli_fail("group %s: %s", subs[which], err.msg);
    else
        printf("group %s: %s %s\n", group, which == 2 ? "removed" : "added", user);
    asky_service_close(s);
    return rc;
}

static int cmd_put(int argc, char **argv)
{
    const char *store = NULL, *tee = NULL, *db = NULL, *group = NULL, *user = NULL, *keyf = NULL,
               *in = NULL, *name = NULL;
    const char *server = NULL;
    struct cli_asky_trust trust = {0};
    long long pad = 0;
    struct opt_choice kind = {kinds, 0};
    const struct opt_def opts[] = {
        {"store", OPT_STRING, &store, "DIR", "the store directory (or --server)", 0, 0, 0},
        TEE_DB_OPTS(tee, db),
        SERVER_OPT(server),
        TRUST_OPTS(trust),
        {"group", OPT_STRING, &group, "G", "the group to share with", OPT_REQUIRED, 0, 0},
        {"user", OPT_STRING, &user, "U", "you (a member of the group)", OPT_REQUIRED, 0, 0},
        {"key", OPT_STRING, &keyf, "KEYFILE", "your user key", OPT_REQUIRED, 0, 0},
        {"in", OPT_STRING, &in, "FILE", "the file to share ('-': stdin)", OPT_REQUIRED, 0, 0},
        {"name", OPT_STRING, &name, "OBJECT", "the object's name in the store", OPT_REQUIRED, 0, 0},
        {"envelope", OPT_CHOICE, &kind, "KIND", "indexed (default) or trial", 0, 0, 0},
        {"pad", OPT_INT, &pad, "N",
         "pad the envelope: 1 = next power of two, N > 1 = multiple of N", 0, 0, 1000000},
        {0}};
    const struct opt_cmd cmd = {
        "asky put",
        "",
        "Encrypt a file for a group and store it.",
        opts,
        0,
        0,
        "The enclave builds an envelope of a fresh file key for the group's members after\n"
        "checking your proof of membership; the file is encrypted in chunks under that key and\n"
        "written atomically to DIR/objects/OBJECT. The store learns neither the group nor you.",
        "cloister asky put --store share --group eng --user alice --key alice.key --in plan.txt "
        "--name plan\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    if (one_place("asky put", store, server) != CLI_OK)
        return CLI_USAGE;
    uint8_t key[ASKY_KEY_LEN];
    if (cli_hold_secrets() != CLI_OK || cli_asky_read_key(keyf, key) != CLI_OK)
        return CLI_FAIL;
    asky_service *s;
    enum asky_kind k = kind.index == 0 ? ASKY_INDEXED : ASKY_TRIAL;
    if (server) {
        rc = cli_asky_remote_put(server, &trust, group, user, key, in, name, k, (unsigned)pad);
    } else if ((rc = cli_asky_open(store, tee, db, &s)) == CLI_OK) {
        struct cloister_err err;
        if (asky_put(s, group, user, key, in, name, k, (unsigned)pad, &err) != CLOISTER_OK)
            rc = cli_fail("put: %s", err.msg);
        else
            printf("stored %s in %s\n", name, store);
        asky_service_close(s);
    }
    crypto_wipe(key, sizeof key);
    return rc;
}

static int cmd_get(int argc, char **argv)
{
    const char *store = NULL, *user = NULL, *keyf = NULL, *out = NULL, *name = NULL, *server = NULL;
    const struct opt_def opts[] = {
        {"store", OPT_STRING, &store, "DIR", "the store directory (or --server)", 0, 0, 0},
        SERVER_OPT(server),
        {"user", OPT_STRING, &user, "U", "you (only named in messages)", 0, 0, 0},
        {"key", OPT_STRING, &keyf, "KEYFILE", "your user key", OPT_REQUIRED, 0, 0},
        {"name", OPT_STRING, &name, "OBJECT", "the object to read", OPT_REQUIRED, 0, 0},
        {"out", OPT_STRING, &out, "FILE", "where to write the file ('-': stdout)", OPT_REQUIRED, 0,
         0},
        {0}};
    const struct opt_cmd cmd = {
        "asky get",
        "",
        "Decrypt an object as a member, with no enclave.",
        opts,
        0,
        0,
        "Finds your entry in the object's envelope (binary search on a tag only your key\n"
        "gives), recovers the file key and decrypts the chunks, each authenticated before it\n"
        "is written. A non-member or revoked member gets 'no entry for this key'.",
        "cloister asky get --store share --user bob --key bob.key --name plan --out plan.txt\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    if (one_place("asky get", store, server) != CLI_OK)
        return CLI_USAGE;
    uint8_t key[ASKY_KEY_LEN];
    if (cli_hold_secrets() != CLI_OK || cli_asky_read_key(keyf, key) != CLI_OK)
        return CLI_FAIL;
    struct cloister_err err;
    if ((server ? asky_remote_get(server, key, name, out, &err)
                : asky_get(store, key, name, out, &err)) != CLOISTER_OK)
        rc = cli_fail("get%s%s: %s", user ? " as " : "", user ? user : "", err.msg);
    else if (strcmp(out, "-") != 0)
        printf("%s written to %s\n", name, out);
    crypto_wipe(key, sizeof key);
    return rc;
}

static int cmd_rekey(int argc, char **argv)
{
    const char *store = NULL, *tee = NULL, *db = NULL, *group = NULL, *user = NULL, *keyf = NULL;
    const char *server = NULL;
    struct cli_asky_trust trust = {0};
    long long pad = 0;
    struct opt_choice kind = {kinds, 0};
    const struct opt_def opts[] = {
        {"store", OPT_STRING, &store, "DIR", "the store directory (or --server)", 0, 0, 0},
        TEE_DB_OPTS(tee, db),
        SERVER_OPT(server),
        TRUST_OPTS(trust),
        {"group", OPT_STRING, &group, "G", "the group the objects belong to", OPT_REQUIRED, 0, 0},
        {"user", OPT_STRING, &user, "U", "you (a member of the group)", OPT_REQUIRED, 0, 0},
        {"key", OPT_STRING, &keyf, "KEYFILE", "your user key", OPT_REQUIRED, 0, 0},
        {"envelope", OPT_CHOICE, &kind, "KIND", "indexed (default) or trial", 0, 0, 0},
        {"pad", OPT_INT, &pad, "N",
         "pad the envelope: 1 = next power of two, N > 1 = multiple of N", 0, 0, 1000000},
        {0}};
    const struct opt_cmd cmd = {
        "asky rekey",
        "OBJECT...",
        "Re-encrypt a group's objects for its current members.",
        opts,
        1,
        -1,
        "Each object is read with your key and written again through the enclave under a\n"
        "fresh file key and a new envelope of the group's current members, atomically in\n"
        "place: members removed since cannot open it any more, even with the old file key\n"
        "(revocation is otherwise lazy). The store does not know which objects are a group's:\n"
        "name them. With --server the object is fetched from the service, opened here, and\n"
        "put again through it (your proof of membership, checked by its enclave, authorises\n"
        "the write).",
        "cloister asky rekey --store share --group eng --user alice --key alice.key plan\n"
        "cloister asky rekey --server 127.0.0.1:8470 --mrenclave H --allow-simulated \\\n"
        "  --group eng --user alice --key alice.key plan\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    if (one_place("asky rekey", store, server) != CLI_OK)
        return CLI_USAGE;
    uint8_t key[ASKY_KEY_LEN];
    if (cli_hold_secrets() != CLI_OK || cli_asky_read_key(keyf, key) != CLI_OK)
        return CLI_FAIL;
    asky_service *s;
    enum asky_kind k = kind.index == 0 ? ASKY_INDEXED : ASKY_TRIAL;
    for (int i = 0; server && i < nargs && rc == CLI_OK; i++)
        rc = cli_asky_remote_put(server, &trust, group, user, key, NULL, argv[i], k, (unsigned)pad);
    if (!server && (rc = cli_asky_open(store, tee, db, &s)) == CLI_OK) {
        struct cloister_err err;
        if (asky_rekey_group(s, group, user, key, (const char *const *)argv, (size_t)nargs, k,
                             (unsigned)pad, &err) != CLOISTER_OK)
            rc = cli_fail("rekey (no object changed): %s", err.msg);
        for (int i = 0; i < nargs && rc == CLI_OK; i++)
            printf("rekeyed %s in %s\n", argv[i], store);
        asky_service_close(s);
    }
    crypto_wipe(key, sizeof key);
    return rc;
}

static int cmd_ls(int argc, char **argv)
{
    const char *store = NULL;
    bool json = false;
    const struct opt_def opts[] = {
        {"store", OPT_STRING, &store, "DIR", "the store directory", OPT_REQUIRED, 0, 0},
        {"json", OPT_FLAG, &json, NULL, "print JSON", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {"asky ls",
                                "",
                                "List the store's objects.",
                                opts,
                                0,
                                0,
                                "Object names only: the store holds nothing about who wrote an "
                                "object or which group may read it.",
                                "cloister asky ls --store share --json\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    char **names;
    size_t n;
    struct cloister_err err;
    if (asky_list(store, &names, &n, &err) != CLOISTER_OK)
        return cli_fail("ls: %s", err.msg);
    json_t *arr = json ? json_array() : NULL;
    for (size_t i = 0; i < n; i++) {
        if (arr)
            json_array_append_new(arr, json_string(names[i]));
        else
            printf("%s\n", names[i]);
    }
    if (arr)
        cli_json_print(json_pack("{s:s,s:o}", "store", store, "objects", arr));
    asky_names_free(names, n);
    return CLI_OK;
}

static const struct cli_command commands[] = {
    {"init", "create a store (master secret sealed by the enclave)", cmd_init},
    {"user", "add|remove: register users (keys drawn in the enclave)", cmd_user},
    {"group", "create|add|remove: group membership (O(1) updates)", cmd_group},
    {"put", "encrypt a file for a group through the enclave", cmd_put},
    {"get", "decrypt an object as a member (no enclave)", cmd_get},
    {"rekey", "re-encrypt a group's objects for its current members", cmd_rekey},
    {"ls", "list the store's objects", cmd_ls},
    {"serve", "serve members and admins over HTTP+JSON (requests sealed to the enclave)",
     cli_asky_serve},
    {0}};

const struct cli_system cli_asky_system = {
    "asky", "A-Sky: anonymous group file sharing with enclave-built key envelopes", commands,
    cli_asky_demo};
