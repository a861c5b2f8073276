/* cmd_asky_demo.c -- the A-Sky step of `cloister demo`: in a temporary store, 1,000 users are
 * registered (keys drawn in the enclave) and put in one group; a member shares a file through
 * the enclave; the store's file names show ids, never names; a member with no enclave opens the
 * file; a member is removed, and cannot open the file written after its removal, while the
 * file written before stays readable to it (revocation is lazy). */
#include <cloister/asky_client.h>
#include <cloister/crypto.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/cmd_asky.h"
#include "util/fileio.h"

#define DEMO_MEMBERS 1000
#define DEMO_TEXT "minutes of the board meeting"

/* One member's attempt: prints the outcome; returns whether it opened with the right text. */
static bool demo_get(const char *dir, const char *user, const uint8_t *key, const char *name)
{
    char out[512];
    struct cloister_err err;
    snprintf(out, sizeof out, "%s/read.txt", dir);
    uint8_t *data = NULL;
    size_t len = 0;
    bool ok = asky_get(dir, key, name, out, &err) == CLOISTER_OK &&
              file_read_all(out, 1024, &data, &len) == 0 && len == strlen(DEMO_TEXT) &&
              memcmp(data, DEMO_TEXT, len) == 0;
    if (ok)
        printf("  %-9s opens %-8s: \"%s\"\n", user, name, DEMO_TEXT);
    else
        printf("  %-9s cannot open %s: %s\n", user, name, data ? "wrong contents" : err.msg);
    free(data);
    unlink(out);
    return ok;
}

/* Prints the first entries of DIR/sub. */
static void demo_show(const char *dir, const char *sub)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    DIR *d = opendir(path);
    struct dirent *de;
    int shown = 0;
    while (d && (de = readdir(d)) != NULL && shown < 2)
        if (de->d_name[0] != '.') {
            printf("  %s/%.24s...\n", sub, de->d_name);
            shown++;
        }
    if (d)
        closedir(d);
}

/* Whether the membership store's files (the SQLite database and its log) hold a name. */
static void demo_db_names(const char *dir)
{
    static const char *const files[] = {"asky.db", "asky.db-wal"};
    size_t total = 0;
    bool named = false;
    for (size_t i = 0; i < 2; i++) {
        char path[512];
        uint8_t *data;
        size_t len;
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        if (file_read_all(path, (size_t)1 << 28, &data, &len) != 0)
            continue;
        named |= memmem(data, len, "user0", 5) || memmem(data, len, "board", 5);
        total += len;
        free(data);
    }
    printf("  asky.db (the membership store, %zu bytes): %s\n", total,
           named ? "HOLDS A NAME" : "no user or group name in it");
}

static int demo_steps(const char *dir, asky_service *s, uint8_t (*keys)[ASKY_KEY_LEN])
{
    struct cloister_err err;
    char user[32], in[512];
    double t0 = cli_now_s();
    for (int i = 0; i < DEMO_MEMBERS; i++) {
        snprintf(user, sizeof user, "user%04d", i);
        if (asky_user_add(s, user, keys[i], &err) != CLOISTER_OK ||
            (i == 0 ? asky_group_create(s, "board", user, &err)
                    : asky_group_add(s, "board", user, &err)) != CLOISTER_OK) {
            printf("  %s: %s\n", user, err.msg);
            return -1;
        }
    }
    printf("  %d users registered and added to group \"board\" in %.2f s\n", DEMO_MEMBERS,
           cli_now_s() - t0);
    snprintf(in, sizeof in, "%s/minutes.txt", dir);
    if (file_write_atomic(in, DEMO_TEXT, strlen(DEMO_TEXT), 0600) != 0)
        return -1;
    t0 = cli_now_s();
    if (asky_put(s, "board", "user0000", keys[0], in, "minutes", ASKY_INDEXED, ASKY_PAD_POW2,
                 &err) != CLOISTER_OK) {
        printf("  put: %s\n", err.msg);
        return -1;
    }
    printf("  user0000 shares \"minutes\" through the enclave (%d-member envelope, padded to "
           "%zu entries): %.1f ms\n",
           DEMO_MEMBERS, asky_padded_count(DEMO_MEMBERS, ASKY_PAD_POW2), (cli_now_s() - t0) * 1e3);
    printf("  what the store holds (ids, no names):\n");
    demo_show(dir, "objects");
    demo_db_names(dir);
    bool ok = demo_get(dir, "user0999", keys[999], "minutes");
    if (asky_group_remove(s, "board", "user0500", &err) != CLOISTER_OK ||
        asky_put(s, "board", "user0001", keys[1], in, "minutes2", ASKY_INDEXED, ASKY_PAD_POW2,
                 &err) != CLOISTER_OK) {
        printf("  %s\n", err.msg);
        return -1;
    }
    printf("  user0500 removed from \"board\"; user0001 shares \"minutes2\"\n");
    ok &= demo_get(dir, "user0001", keys[1], "minutes2");
    ok &= !demo_get(dir, "user0500", keys[500], "minutes2");
    ok &= demo_get(dir, "user0500", keys[500], "minutes");
    return ok ? 0 : -1;
}

int cli_asky_demo(void)
{
    cli_demo_heading("A-Sky: anonymous group file sharing with enclave-built envelopes");
    char dir[] = "/tmp/cloister-asky-demo-XXXXXX";
    if (!mkdtemp(dir)) {
        printf("  cannot create a temporary directory\n");
        return -1;
    }
    uint8_t(*keys)[ASKY_KEY_LEN] = malloc(DEMO_MEMBERS * sizeof *keys);
    asky_service *s;
    int rc = -1;
    if (keys && cli_asky_open(dir, "proc", NULL, &s) == CLI_OK) {
        rc = demo_steps(dir, s, keys);
        asky_service_close(s);
    }
    if (keys)
        crypto_wipe(keys, DEMO_MEMBERS * sizeof *keys);
    free(keys);
    file_remove_tree(dir);
    return rc;
}
