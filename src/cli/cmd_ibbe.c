/* cmd_ibbe.c -- `cloister ibbe`: IBBE-SGX group access control (docs/ibbe.md). A thin layer:
 * options in, one library call, the result printed. The admin verbs call ibbe_admin.h (and
 * ibbe_serve.h), the user verbs ibbe_client.h, the workloads ibbe_trace.h. State lives under
 * --store DIR (the untrusted cloud: public key, sealed master secret, group records).
 *
 *   admin side (drives the ibbe enclave, --tee proc|sim):
 *     setup    --partition-size N          γ drawn and sealed in the enclave
 *     extract  --user ID --out F [--to P]  a user key, optionally HPKE-sealed to the user; one
 *                                          line of text (cloister-ibbe-user1...) unless
 *                                          --format binary
 *     group    create|add|remove|show      membership (create --members FILE; add/remove --user)
 *     seal     --group G --in F --out F.enc
 *     serve    --listen 127.0.0.1:PORT --token-file F   the admin operations over HTTP+JSON
 *   user side (no enclave: the public key, the store, one's own key):
 *     decrypt  --group G --user ID --key F prints gk in hex
 *     open     --group G --user ID --key F --in F.enc --out F (without --user/--key: the admin)
 *   workloads:
 *     trace    --from-git REPO             membership trace from a git history
 *     replay   TRACE                       replays a trace against a store, reports times
 *
 * The demo step is in cmd_ibbe_demo.c. */
#include <cloister/crypto.h>
#include <cloister/hpke.h>
#include <cloister/ibbe_admin.h>
#include <cloister/ibbe_client.h>
#include <cloister/ibbe_serve.h>
#include <cloister/ibbe_trace.h>
#include <cloister/tee_enclave.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/cmd_ibbe.h"
#include "util/bech32.h"
#include "util/fileio.h"
#include "util/hex.h"

TEE_ENCLAVE_DECLARE(ibbe);

#define DATA_FILE_MAX ((size_t)1 << 30)
/* A group this large takes seconds to create: create says it started. */
#define LONG_GROUP 1000000
#define MEMBERS_FILE_MAX ((size_t)1 << 30)

/* --store and --tee, shared by the admin verbs. */
#define ADMIN_OPTS(store, tee)                                                                     \
    {"store", OPT_STRING, &(store), "DIR", "the store directory", OPT_REQUIRED, 0, 0},             \
    {                                                                                              \
        "tee", OPT_STRING, &(tee), "proc|sim",                                                     \
            "enclave backend (default $CLOISTER_TEE, else proc)", 0, 0, 0                          \
    }

/* A verb that needs a set-up store says so when there is none, rather than creating an empty
 * directory and failing on a missing file. */
static int need_store(const char *store)
{
    char pk[4096];
    snprintf(pk, sizeof pk, "%s/ibbe.pk", store);
    if (access(pk, F_OK) != 0)
        return cli_fail("no store at %s (run `cloister ibbe setup --store %s`)", store, store);
    return CLI_OK;
}

int cli_ibbe_open_admin(const char *store, const char *tee, ibbe_admin **a)
{
    struct ibbe_admin_options o = {.backend = tee, .enclave = &tee_enclave_ibbe};
    struct cloister_err err;
    if (ibbe_admin_open(store, &o, a, &err) != 0)
        return cli_fail("%s", err.msg);
    return CLI_OK;
}

/* ---- setup, extract ------------------------------------------------------------------------ */

static int cmd_setup(int argc, char **argv)
{
    const char *store = NULL, *tee = NULL;
    long long n = 0;
    bool json = false;
    const struct opt_def opts[] = {
        ADMIN_OPTS(store, tee),
        {"partition-size", OPT_INT, &n, "N", "members per partition (1..65536)", OPT_REQUIRED, 1,
         IBBE_PARTITION_MAX},
        {"json", OPT_FLAG, &json, NULL, "print the result as JSON", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "ibbe setup",
        "",
        "Create the master secret in the enclave (sealed into the store) "
        "and the public key.",
        opts,
        0,
        0,
        "Creates the store: the enclave draws the master secret and seals it there, with the\n"
        "public key. --partition-size n bounds the cost of a member's decryption (O(n)) against\n"
        "the metadata (one record per n members).",
        "cloister ibbe setup --store team --partition-size 1000\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    ibbe_admin *a;
    if ((rc = cli_ibbe_open_admin(store, tee, &a)) != CLI_OK)
        return rc;
    struct cloister_err err;
    double t0 = cli_now_s();
    if (ibbe_admin_setup(a, (size_t)n, &err) != 0)
        rc = cli_fail("setup: %s", err.msg);
    double took = cli_now_s() - t0;
    if (rc == CLI_OK && json)
        cli_json_print(json_pack("{s:s,s:I,s:f}", "store", store, "partition_size", (json_int_t)n,
                                 "seconds", took));
    else if (rc == CLI_OK)
        printf("IBBE-SGX set up in %s: partition size %lld, public key %s/ibbe.pk, master "
               "secret sealed in %s/ibbe.msk.sealed (%.3f s)\n",
               store, n, store, store, took);
    ibbe_admin_close(a);
    return rc;
}

/* Identities are checked before they reach the enclave, so a mistake is named as one rather than
 * as a malformed message. */
static int check_ids(const char *verb, const char *const *ids, int n)
{
    for (int i = 0; i < n; i++) {
        if (!ibbe_id_valid(ids[i])) {
            fprintf(stderr,
                    "cloister ibbe %s: --user: '%.40s%s' is not an identity (1 to %d bytes, no "
                    "newline)\n",
                    verb, ids[i], strlen(ids[i]) > 40 ? "..." : "", IBBE_ID_MAX);
            return CLI_USAGE;
        }
    }
    return CLI_OK;
}

static int cmd_extract(int argc, char **argv)
{
    const char *store = NULL, *tee = NULL, *user = NULL, *out = NULL, *to = NULL;
    bool force = false;
    struct opt_choice format = {cli_key_formats, CLI_KEY_TEXT};
    const struct opt_def opts[] = {
        ADMIN_OPTS(store, tee),
        {"user", OPT_STRING, &user, "ID", "the user's identity", OPT_REQUIRED, 0, 0},
        {"out", OPT_STRING, &out, "FILE", "where to write the user key", OPT_REQUIRED, 0, 0},
        {"force", OPT_FLAG, &force, NULL, "replace an existing key file", 0, 0, 0},
        {"format", OPT_CHOICE, &format, "F", "the key file's form", 0, 0, 0},
        {"to", OPT_STRING, &to, "HPKE_PUBLIC_KEY",
         "seal the key to this HPKE public key file (cloister crypto hpke-keygen)", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "ibbe extract",
        "",
        "Extract a user's key in the enclave (optionally sealed to the "
        "user's HPKE key).",
        opts,
        0,
        0,
        "Derives a user's key from their identity in the enclave. With --to, the key is sealed to\n"
        "the user's HPKE public key (text or binary), so only they can use it.",
        "cloister ibbe extract --store team --user alice@x.org --out alice.key\n"
        "cloister ibbe extract --store team --user bob@x.org --to bob.pub --out bob.key\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    if (cli_hold_secrets() != CLI_OK)
        return CLI_FAIL;
    if (check_ids("extract", &user, 1) != CLI_OK)
        return CLI_USAGE;
    if (cli_check_new_secret(out, force) != CLI_OK)
        return CLI_FAIL;
    uint8_t pk[HPKE_PUBLIC_LEN];
    const uint8_t *recipient = NULL;
    if (to) {
        if ((rc = cli_read_hpke_public(to, pk)) != CLI_OK)
            return rc;
        recipient = pk;
    }
    ibbe_admin *a;
    if ((rc = need_store(store)) != CLI_OK || (rc = cli_ibbe_open_admin(store, tee, &a)) != CLI_OK)
        return rc;
    uint8_t *key;
    size_t len;
    struct cloister_err err;
    const char *ids[1] = {user};
    if (ibbe_admin_extract(a, ids, &recipient, 1, &key, &len, &err) != 0) {
        rc = cli_fail("%s", err.msg);
    } else {
        rc = cli_write_key(out, "the user key", format.index, BECH32_HRP_IBBE_USER, key, len, 0600);
        crypto_wipe(key, len);
        free(key);
    }
    if (rc == CLI_OK)
        fprintf(stderr, "user key of '%s' written to %s%s\n", user, out,
                to ? " (HPKE-sealed to the given public key)" : "");
    ibbe_admin_close(a);
    return rc;
}

/* ---- groups ---------------------------------------------------------------------------------- */

static int show_group(const char *store, const char *group, bool json)
{
    ibbe_store *s;
    ibbe_group *g;
    struct cloister_err err;
    if (ibbe_store_open(store, &s, &err) != 0)
        return cli_fail("%s", err.msg);
    if (ibbe_store_load_group(s, group, &g, &err) != 0) {
        ibbe_store_close(s);
        return cli_fail("%s", err.msg);
    }
    size_t m = ibbe_group_partitions(g);
    long long bytes = ibbe_store_group_bytes(s, group);
    if (json) {
        json_t *parts = json_array();
        for (size_t i = 0; i < m; i++)
            json_array_append_new(parts, json_pack("{s:I,s:I}", "index", (json_int_t)i, "members",
                                                   (json_int_t)ibbe_group_partition_size(g, i)));
        cli_json_print(
            json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:o}", "group", group, "epoch",
                      (json_int_t)ibbe_group_epoch(g), "members", (json_int_t)ibbe_group_size(g),
                      "partition_size", (json_int_t)ibbe_group_capacity(g), "partitions",
                      (json_int_t)m, "bytes", (json_int_t)bytes, "crypto_bytes",
                      (json_int_t)(m * (IBBE_HEADER_BYTES + IBBE_WRAP_BYTES)), "sizes", parts));
    } else {
        printf("group %s: epoch %llu, %zu members in %zu partitions of at most %zu\n", group,
               (unsigned long long)ibbe_group_epoch(g), ibbe_group_size(g), m,
               ibbe_group_capacity(g));
        printf("store: %lld bytes (%zu bytes of headers and wrapped keys, %d per partition)\n",
               bytes, m * (IBBE_HEADER_BYTES + IBBE_WRAP_BYTES),
               IBBE_HEADER_BYTES + IBBE_WRAP_BYTES);
        for (size_t i = 0; i < m; i++)
            printf("  p%zu: %zu members\n", i, ibbe_group_partition_size(g, i));
    }
    ibbe_group_free(g);
    ibbe_store_close(s);
    return CLI_OK;
}

static int list_groups(const char *store, bool json)
{
    ibbe_store *s;
    char **names;
    size_t count;
    struct cloister_err err;
    if (ibbe_store_open(store, &s, &err) != 0)
        return cli_fail("%s", err.msg);
    if (ibbe_store_list_groups(s, &names, &count, &err) != 0) {
        ibbe_store_close(s);
        return cli_fail("%s", err.msg);
    }
    json_t *arr = json ? json_array() : NULL;
    for (size_t i = 0; i < count; i++) {
        struct ibbe_group_summary g;
        if (ibbe_store_group_summary(s, names[i], &g, &err) != CLOISTER_OK) {
            if (json)
                json_array_append_new(arr,
                                      json_pack("{s:s,s:s}", "group", names[i], "error", err.msg));
            else
                printf("%s: %s\n", names[i], err.msg);
        } else if (json) {
            json_array_append_new(
                arr, json_pack("{s:s,s:I,s:I,s:I,s:I,s:I}", "group", names[i], "epoch",
                               (json_int_t)g.epoch, "oldest_epoch", (json_int_t)g.oldest_epoch,
                               "members", (json_int_t)g.members, "partitions",
                               (json_int_t)g.partitions, "bytes", (json_int_t)g.bytes));
        } else {
            printf("%s: epoch %llu, %zu members in %zu partitions, %lld bytes\n", names[i],
                   (unsigned long long)g.epoch, g.members, g.partitions, g.bytes);
        }
    }
    if (json)
        cli_json_print(json_pack("{s:s,s:o}", "store", store, "groups", arr));
    else if (count == 0)
        printf("no group in %s\n", store);
    ibbe_store_free_names(names, count);
    ibbe_store_close(s);
    return CLI_OK;
}

static int cmd_group(int argc, char **argv)
{
    static const char
        *const usage = "usage: cloister ibbe group <sub-verb> [options]\n\n"
                       "Manage a group's membership; the group key changes only on removal.\n\n"
                       "sub-verbs:\n"
                       "  create   create a group from a member list (one identity a line)\n"
                       "  add      add members (the group key is unchanged)\n"
                       "  remove   remove members (a fresh group key, every partition re-keyed)\n"
                       "  show     show a group's partitions, epoch and store size\n"
                       "  list     list the store's groups with their epoch and size\n\n"
                       "'--help' after a sub-verb shows its options and examples.\n";
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    const char *sub = argv[1], *store = NULL, *tee = NULL, *group = NULL, *members = NULL;
    struct opt_list users = {0};
    bool json = false;
    bool create = strcmp(sub, "create") == 0, add = strcmp(sub, "add") == 0,
         remove = strcmp(sub, "remove") == 0, show = strcmp(sub, "show") == 0,
         list = strcmp(sub, "list") == 0;
    if (!create && !add && !remove && !show && !list) {
        static const char *const subs[] = {"create", "add", "remove", "show", "list"};
        const char *near = opt_nearest(sub, subs, sizeof subs / sizeof subs[0]);
        fprintf(stderr, "cloister ibbe group: unknown sub-verb '%s'%s%s%s\n%s", sub,
                near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "", usage);
        return CLI_USAGE;
    }
    struct opt_def opts[8] = {
        ADMIN_OPTS(store, tee),
        {"group", OPT_STRING, &group, "G", "the group's name", OPT_REQUIRED, 0, 0},
    };
    int k = list ? 2 : 3;
    if (create)
        opts[k++] = (struct opt_def){
            "members", OPT_STRING, &members, "FILE", "one identity per line", OPT_REQUIRED, 0, 0};
    if (add || remove)
        opts[k++] = (struct opt_def){
            "user",       OPT_LIST, &users, "ID", "a member (repeat for a batch: one enclave call)",
            OPT_REQUIRED, 0,        0};
    if (show || list)
        opts[k++] = (struct opt_def){"json", OPT_FLAG, &json, NULL, "print JSON", 0, 0, 0};
    char name[32];
    snprintf(name, sizeof name, "ibbe group %s", sub);
    static const char *const summaries[] = {
        "Create a group in the enclave: ⌈N/n⌉ partitions sharing a fresh group key.",
        "Add members: O(1) each, the group key is unchanged.",
        "Remove members: a fresh group key, every partition re-keyed (one batch, one re-keying).",
        "Show a group's partitions, epoch and store size (no enclave).",
        "List the store's groups with their epoch and size (no enclave)."};
    static const char *const descriptions[] = {
        "Reads one identity a line and creates the group, members split in partitions of the\n"
        "store's partition size, all sharing one fresh group key.",
        "Adds members to a partition with room (or a new one); the group key stays the same, so\n"
        "files already sealed stay readable by everyone.",
        "Removes members and re-keys the group: removed members cannot open what is sealed\n"
        "afterwards, while the members who stay still open every earlier epoch's files (the old\n"
        "key is wrapped under the new one). Repeat --user to remove a batch with one re-keying.",
        "Shows the group's epoch, partitions and store size from the store alone.",
        "Lists every group of the store with its epoch, oldest reachable epoch, members,\n"
        "partitions and bytes, from the store alone."};
    static const char *const examples[] = {
        "cloister ibbe group create --store team --group eng --members members.txt\n",
        "cloister ibbe group add --store team --group eng --user carol@x.org --user dave@x.org\n",
        "cloister ibbe group remove --store team --group eng --user dave@x.org\n",
        "cloister ibbe group show --store team --group eng --json\n",
        "cloister ibbe group list --store team\n"};
    int which = create ? 0 : add ? 1 : remove ? 2 : show ? 3 : 4;
    const struct opt_cmd cmd = {name, "", summaries[which],    opts,
                                0,    0,  descriptions[which], examples[which]};
    int nargs, rc = opt_parse(&cmd, argc - 1, argv + 1, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    if ((rc = need_store(store)) != CLI_OK)
        return rc;
    if (show)
        return show_group(store, group, json);
    if (list)
        return list_groups(store, json);
    if (check_ids(name + 5, users.v, users.n) != CLI_OK)
        return CLI_USAGE;
    char *text = NULL, **ids = NULL;
    size_t count = 0;
    if (create) {
        uint8_t *data;
        size_t len;
        struct cloister_err err;
        if ((rc = cli_read_file(members, "the member list", MEMBERS_FILE_MAX, &data, &len)) !=
            CLI_OK)
            return rc;
        text = (char *)data;
        if (ibbe_members_parse(text, len, &ids, &count, &err) != CLOISTER_OK) {
            free(text);
            return cli_fail("%s: %s", members, err.msg);
        }
        if (count == 0) {
            free(text);
            return cli_fail("%s: no member listed", members);
        }
        if (count >= LONG_GROUP) /* about 10 s a million: say it started */
            fprintf(stderr, "ibbe group create: %zu members in partitions of the store's size...\n",
                    count);
    }
    ibbe_admin *a;
    if ((rc = cli_ibbe_open_admin(store, tee, &a)) != CLI_OK) {
        free(ids);
        free(text);
        return rc;
    }
    struct cloister_err err;
    double t0 = cli_now_s();
    int bad = create ? ibbe_admin_create(a, group, (const char *const *)ids, count, &err)
              : add  ? ibbe_admin_add(a, group, users.v, (size_t)users.n, &err)
                     : ibbe_admin_remove(a, group, users.v, (size_t)users.n, &err);
    double took = cli_now_s() - t0;
    if (bad)
        rc = cli_fail("%s", err.msg);
    else
        printf("group %s: %s %zu member%s in %.3f s\n", group,
               create ? "created with"
               : add  ? "added"
                      : "removed",
               create ? count : (size_t)users.n, (create ? count : (size_t)users.n) == 1 ? "" : "s",
               took);
    ibbe_admin_close(a);
    free(ids);
    free(text);
    return rc;
}

/* ---- user side --------------------------------------------------------------------------------- */

/* The member's key (--key, --secret): a sealed key given without --secret is the usual
 * mistake, so the refusal names the option. */
static int member_key(const char *key, const char *secret, const char *user, struct ibbe_usk *usk,
                      struct cloister_err *err)
{
    int rc = ibbe_client_load_key(key, secret, user, usk, err);
    if (rc == CLOISTER_E_DENIED && !secret) {
        char why[CLOISTER_ERR_MAX];
        snprintf(why, sizeof why, "%s", err->msg);
        cloister_errf(err, rc, "%.200s (give --secret FILE)", why);
    }
    return rc;
}

#define USER_OPTS(store, group, user, key, secret)                                                 \
    {"store", OPT_STRING, &(store), "DIR", "the store directory", OPT_REQUIRED, 0, 0},             \
        {"group", OPT_STRING, &(group), "G", "the group", OPT_REQUIRED, 0, 0},                     \
        {"user", OPT_STRING, &(user), "ID", "your identity", 0, 0, 0},                             \
        {"key", OPT_STRING, &(key), "FILE", "your user key (cloister ibbe extract)", 0, 0, 0},     \
    {                                                                                              \
        "secret", OPT_STRING, &(secret), "FILE",                                                   \
            "your HPKE secret key, when the user key was extracted --to you", 0, 0, 0              \
    }

static int cmd_decrypt(int argc, char **argv)
{
    const char *store = NULL, *group = NULL, *user = NULL, *key = NULL, *secret = NULL;
    bool json = false;
    const struct opt_def opts[] = {USER_OPTS(store, group, user, key, secret),
                                   {"json", OPT_FLAG, &json, NULL, "print JSON", 0, 0, 0},
                                   {0}};
    const struct opt_cmd cmd = {
        "ibbe decrypt",
        "",
        "Recover the group key as a member (no enclave) and print it in "
        "hex.",
        opts,
        0,
        0,
        "Computes the group key as a member from the public key, the group's records and one's\n"
        "own user key, without the enclave or the admin. Prints it in hex.",
        "cloister ibbe decrypt --store team --group eng --user alice@x.org --key alice.key\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    if (cli_hold_secrets() != CLI_OK)
        return CLI_FAIL;
    if (!user || !key) {
        fprintf(stderr, "cloister ibbe decrypt: --user and --key are required\n");
        return CLI_USAGE;
    }
    if ((rc = need_store(store)) != CLI_OK)
        return rc;
    struct ibbe_usk usk;
    uint8_t gk[IBBE_KEY_LEN];
    uint64_t epoch = 0;
    struct cloister_err err;
    double t0 = cli_now_s();
    if (member_key(key, secret, user, &usk, &err) != CLOISTER_OK ||
        ibbe_client_group_key(store, group, user, &usk, gk, &epoch, &err) != CLOISTER_OK)
        rc = cli_fail("%s", err.msg);
    double took = cli_now_s() - t0;
    if (rc == CLI_OK) {
        char hex[2 * IBBE_KEY_LEN + 1];
        hex_encode(hex, gk, IBBE_KEY_LEN);
        if (json)
            cli_json_print(json_pack("{s:s,s:s,s:I,s:s,s:f}", "group", group, "user", user, "epoch",
                                     (json_int_t)epoch, "gk", hex, "seconds", took));
        else
            printf("%s\n", hex);
        crypto_wipe(hex, sizeof hex);
    }
    crypto_wipe(gk, sizeof gk);
    crypto_wipe(&usk, sizeof usk);
    return rc;
}

static int cmd_seal(int argc, char **argv)
{
    const char *store = NULL, *tee = NULL, *group = NULL, *in = NULL, *out = NULL;
    const struct opt_def opts[] = {
        ADMIN_OPTS(store, tee),
        {"group", OPT_STRING, &group, "G", "the group to share with", OPT_REQUIRED, 0, 0},
        {"in", OPT_STRING, &in, "FILE", "the file to seal", OPT_REQUIRED, 0, 0},
        {"out", OPT_STRING, &out, "FILE", "the sealed file", OPT_REQUIRED, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "ibbe seal",
        "",
        "Seal a file for a group's current epoch (AES-256-GCM, file key "
        "derived from the group key in the enclave).",
        opts,
        0,
        0,
        "Seals a file for the group's current members: a file key derived from the group key\n"
        "in the enclave, AES-256-GCM.",
        "cloister ibbe seal --store team --group eng --in plan.txt --out plan.txt.ibbe\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    uint8_t *pt, *ct;
    size_t len, ctlen;
    struct cloister_err err;
    if ((rc = need_store(store)) != CLI_OK ||
        (rc = cli_read_file(in, "the file to seal", DATA_FILE_MAX, &pt, &len)) != CLI_OK)
        return rc;
    ibbe_admin *a;
    if ((rc = cli_ibbe_open_admin(store, tee, &a)) == CLI_OK) {
        if (ibbe_admin_seal(a, group, pt, len, &ct, &ctlen, &err) != 0) {
            rc = cli_fail("%s", err.msg);
        } else {
            rc = cli_write_file(out, "the sealed file", ct, ctlen, 0644);
            free(ct);
        }
        ibbe_admin_close(a);
    }
    if (rc == CLI_OK)
        fprintf(stderr, "%s sealed for group %s into %s (%zu bytes)\n", in, group, out, ctlen);
    free(pt);
    return rc;
}

static int cmd_open(int argc, char **argv)
{
    const char *store = NULL, *group = NULL, *user = NULL, *key = NULL, *secret = NULL, *tee = NULL,
               *in = NULL, *out = NULL;
    const struct opt_def opts[] = {
        USER_OPTS(store, group, user, key, secret),
        {"tee", OPT_STRING, &tee, "proc|sim", "enclave backend, when opening as the admin", 0, 0,
         0},
        {"in", OPT_STRING, &in, "FILE", "the sealed file", OPT_REQUIRED, 0, 0},
        {"out", OPT_STRING, &out, "FILE", "where to write the plaintext", OPT_REQUIRED, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "ibbe open",
        "",
        "Open a sealed file as a member (--user and --key), or as the "
        "admin through the enclave (neither).",
        opts,
        0,
        0,
        "Opens a file sealed by ibbe seal. A member gives --user and --key (and --secret when\n"
        "the key was extracted --to them); without them the admin opens it through the enclave.",
        "cloister ibbe open --store team --group eng --user alice@x.org --key alice.key --in "
        "plan.txt.ibbe --out plan.txt\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    if (cli_hold_secrets() != CLI_OK)
        return CLI_FAIL;
    if (!user != !key) {
        fprintf(stderr, "cloister ibbe open: give both --user and --key, or neither (admin)\n");
        return CLI_USAGE;
    }
    uint8_t *buf, *pt = NULL;
    size_t len, ptlen = 0;
    if ((rc = need_store(store)) != CLI_OK ||
        (rc = cli_read_file(in, "the sealed file", DATA_FILE_MAX + 4096, &buf, &len)) != CLI_OK)
        return rc;
    if (user) {
        struct ibbe_usk usk;
        struct cloister_err err;
        if (member_key(key, secret, user, &usk, &err) != CLOISTER_OK ||
            ibbe_client_open_file(store, group, user, &usk, buf, len, &pt, &ptlen, &err) !=
                CLOISTER_OK)
            rc = cli_fail("%s", err.msg);
        crypto_wipe(&usk, sizeof usk);
    } else {
        ibbe_admin *a;
        struct cloister_err err;
        struct ibbe_file_header h;
        if (ibbe_file_parse(&h, buf, len, &err) != 0)
            rc = cli_fail("%s: %s", in, err.msg);
        else if (strcmp(h.group, group) != 0)
            rc = cli_fail("%s is sealed for group '%s', not '%s'", in, h.group, group);
        else if ((rc = cli_ibbe_open_admin(store, tee, &a)) == CLI_OK) {
            if (ibbe_admin_open_file(a, buf, len, &pt, &ptlen, &err) != 0)
                rc = cli_fail("%s", err.msg);
            ibbe_admin_close(a);
        }
    }
    if (rc == CLI_OK)
        rc = cli_write_file(out, "the opened file", pt, ptlen, 0600);
    if (rc == CLI_OK)
        fprintf(stderr, "%s opened into %s (%zu bytes)\n", in, out, ptlen);
    if (pt)
        crypto_wipe(pt, ptlen);
    free(pt);
    free(buf);
    return rc;
}

/* ---- serve ------------------------------------------------------------------------------------ */

static int cmd_serve(int argc, char **argv)
{
    const char *store = NULL, *tee = NULL, *listen = IBBE_SERVE_LISTEN, *token_file = NULL;
    const struct opt_def opts[] = {
        ADMIN_OPTS(store, tee),
        {"listen", OPT_STRING, &listen, "IP:PORT",
         "where to listen (default " IBBE_SERVE_LISTEN "; port 0: any free one)", 0, 0, 0},
        {"token-file", OPT_STRING, &token_file, "FILE",
         "bearer token clients must send (created when missing)", OPT_REQUIRED, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "ibbe serve",
        "",
        "Serve the admin operations over HTTP+JSON with the enclave kept "
        "warm, until SIGINT or SIGTERM.",
        opts,
        0,
        0,
        "Serves group creation, additions, removals, listing and key extraction over HTTP+JSON\n"
        "for scripts and other hosts (docs/ibbe.md); every request carries the bearer token of\n"
        "--token-file. Listens on loopback unless told otherwise (plain HTTP: put TLS in front\n"
        "of it elsewhere). Stops cleanly on SIGINT/SIGTERM.",
        "cloister ibbe serve --store team --token-file token\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    struct cli_endpoint ep;
    if (cli_parse_endpoint("--listen", listen, &ep) != CLI_OK)
        return CLI_USAGE;
    if (cli_hold_secrets() != CLI_OK)
        return CLI_FAIL;
    if ((rc = need_store(store)) != CLI_OK)
        return rc;
    char token[256];
    if ((rc = cli_load_token(token_file, IBBE_TOKEN_MIN, token, sizeof token)) != CLI_OK)
        return rc;
    if (strncmp(listen, "127.", 4) != 0)
        fprintf(stderr,
                "WARNING: serving plain HTTP on %s, beyond this machine: the bearer token and the "
                "user keys cross the network in clear. Listen on 127.0.0.1 behind a TLS proxy "
                "instead.\n",
                listen);
    struct rlimit files; /* idle connections must not run the daemon out of descriptors */
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        setrlimit(RLIMIT_NOFILE, &files);
    }
    cli_stop_signals_block();
    ibbe_admin *a;
    ibbe_server *srv;
    struct cloister_err err;
    if ((rc = cli_ibbe_open_admin(store, tee, &a)) != CLI_OK) {
        crypto_wipe(token, sizeof token);
        return rc;
    }
    if (ibbe_server_start(a, ep.host, token, &srv, &err) != 0) {
        rc = cli_fail("serve: %s", err.msg);
    } else {
        printf("ibbe admin serving %s on %s, port %u (Authorization: Bearer <token in %s>)\n",
               store, listen, (unsigned)ibbe_server_port(srv), token_file);
        fflush(stdout);
        cli_stop_signals_wait("ibbe serve");
        if (ibbe_server_stop_within(srv, 1000) != CLOISTER_OK) {
            /* an operation still runs: leave it to the exit (the store keeps the group as it
             * was, as after a crash) rather than make the signal wait for it */
            crypto_wipe(token, sizeof token);
            fprintf(stderr, "stopped with an operation abandoned\n");
            fflush(NULL);
            _exit(rc); /* not exit(): the server's threads still run */
        }
    }
    crypto_wipe(token, sizeof token);
    ibbe_admin_close(a);
    return rc;
}

/* ---- traces ----------------------------------------------------------------------------------- */

static int cmd_trace(int argc, char **argv)
{
    const char *repo = NULL, *out = NULL;
    const struct opt_def opts[] = {
        {"from-git", OPT_STRING, &repo, "REPO", "a git repository", OPT_REQUIRED, 0, 0},
        {"out", OPT_STRING, &out, "FILE", "write the trace here (default stdout)", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "ibbe trace",
        "",
        "Derive a membership trace from a git history: an author is "
        "added at their first commit and removed after their last.",
        opts,
        0,
        0,
        "Turns a git history into a membership trace (one 'add ID' or 'remove ID' a line), the\n"
        "workload of the paper's evaluation; replay runs it.",
        "cloister ibbe trace --from-git ~/src/linux --out linux.trace\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    char *text;
    size_t len;
    struct ibbe_trace_stats st;
    struct cloister_err err;
    if (ibbe_trace_from_git(repo, &text, &len, &st, &err) != CLOISTER_OK)
        return cli_fail("%s", err.msg);
    if (out)
        rc = cli_write_file(out, "the trace", text, len, 0644);
    else
        rc = fwrite(text, 1, len, stdout) == len ? CLI_OK : cli_fail("cannot write stdout");
    if (rc == CLI_OK && out) /* status on stderr: with --out -, stdout is the trace */
        fprintf(stderr, "trace of %zu commits: %zu adds, %zu removals written to %s\n", st.commits,
                st.adds, st.removes, out);
    free(text);
    return rc;
}

static json_t *times_json(const struct ibbe_replay_times *t)
{
    return json_pack("{s:I,s:f,s:f,s:f}", "operations", (json_int_t)t->count, "total_seconds",
                     t->total, "median_seconds", t->median, "max_seconds", t->max);
}

static void print_replay(const char *trace, const char *group, const struct ibbe_replay *r,
                         long long bytes, bool json)
{
    if (json) {
        cli_json_print(json_pack(
            "{s:s,s:s,s:I,s:I,s:I,s:f,s:o,s:o}", "trace", trace, "group", group, "members",
            (json_int_t)r->members, "skipped", (json_int_t)r->skipped, "bytes", (json_int_t)bytes,
            "seconds", r->seconds, "add", times_json(&r->add), "remove", times_json(&r->remove)));
        return;
    }
    printf("replayed %s into group %s: %zu adds, %zu removals (%zu skipped) in %.3f s; "
           "%zu members, %lld bytes in the store\n",
           trace, group, r->add.count, r->remove.count, r->skipped, r->seconds, r->members, bytes);
    printf("  add:    median %.3f ms, max %.3f ms\n", r->add.median * 1e3, r->add.max * 1e3);
    printf("  remove: median %.3f ms, max %.3f ms\n", r->remove.median * 1e3, r->remove.max * 1e3);
}

static int cmd_replay(int argc, char **argv)
{
    const char *store = NULL, *tee = NULL, *group = "trace";
    long long n = 0;
    bool json = false;
    const struct opt_def opts[] = {
        ADMIN_OPTS(store, tee),
        {"group", OPT_STRING, &group, "G", "the group to replay into (default trace)", 0, 0, 0},
        {"partition-size", OPT_INT, &n, "N", "set the store up first with this partition size", 0,
         1, IBBE_PARTITION_MAX},
        {"json", OPT_FLAG, &json, NULL, "print the report as JSON", 0, 0, 0},
        {0}};
    const struct opt_cmd cmd = {
        "ibbe replay",
        "TRACE",
        "Replay a membership trace (cloister ibbe trace) through the "
        "enclave and report times.",
        opts,
        1,
        1,
        "Runs a trace's additions and removals through the enclave and reports the time per\n"
        "operation.",
        "cloister ibbe replay linux.trace --store replay --partition-size 1000 --json\n"};
    int nargs, rc = opt_parse(&cmd, argc, argv, &nargs);
    if (rc != OPT_OK)
        return opt_exit_code(rc);
    uint8_t *data;
    size_t len;
    if ((rc = cli_read_file(argv[0], "the trace", MEMBERS_FILE_MAX, &data, &len)) != CLI_OK)
        return rc;
    ibbe_admin *a;
    struct ibbe_replay r;
    struct cloister_err err;
    if ((rc = cli_ibbe_open_admin(store, tee, &a)) == CLI_OK) {
        if (n > 0 && ibbe_admin_setup(a, (size_t)n, &err) != CLOISTER_OK)
            rc = cli_fail("setup: %s", err.msg);
        else if (ibbe_trace_replay(a, group, (char *)data, len, &r, &err) != CLOISTER_OK)
            rc = cli_fail("%s: %s", argv[0], err.msg);
        else
            print_replay(argv[0], group, &r, ibbe_store_group_bytes(ibbe_admin_store(a), group),
                         json);
        ibbe_admin_close(a);
    }
    free(data);
    return rc;
}

static const struct cli_command commands[] = {
    {"setup", "create the master secret (in the enclave) and the public key", cmd_setup},
    {"extract", "extract a user's key (optionally sealed to the user)", cmd_extract},
    {"group", "create|add|remove|show|list: group membership", cmd_group},
    {"decrypt", "recover the group key as a member (no enclave)", cmd_decrypt},
    {"seal", "seal a file for a group", cmd_seal},
    {"open", "open a sealed file as a member (or as the admin)", cmd_open},
    {"serve", "serve the admin operations over HTTP+JSON (enclave kept warm)", cmd_serve},
    {"trace", "derive a membership trace from a git history", cmd_trace},
    {"replay", "replay a membership trace through the enclave and report times", cmd_replay},
    {0}};

const struct cli_system cli_ibbe_system = {
    "ibbe", "IBBE-SGX: group access control with the master secret in an enclave", commands,
    cli_ibbe_demo};
