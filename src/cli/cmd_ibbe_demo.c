/* cmd_ibbe_demo.c -- the IBBE-SGX step of `cloister demo`: in a temporary store, γ is drawn in
 * the enclave, a group of 10,000 members is created, three members open a file shared with the
 * group, one of them is removed, and only the two others open the file sealed afterwards; they
 * still open the file sealed before (key regression), the removed member only that one.
 *
 * The members go through ibbe_client.h, as any member program would: no enclave, only the
 * store, the public key and their own key. */
#include <cloister/crypto.h>
#include <cloister/ibbe_client.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/cmd_ibbe.h"
#include "util/fileio.h"

#define DEMO_MEMBERS 10000
#define DEMO_PARTITION 1000

/* One member's attempt at a sealed file: prints the outcome; returns whether it opened. */
static bool demo_try_open(const char *store, const char *user, const struct ibbe_usk *usk,
                          const uint8_t *buf, size_t len, const char *text)
{
    uint8_t *pt = NULL;
    size_t ptlen = 0;
    struct cloister_err err;
    bool ok = ibbe_client_open_file(store, "team", user, usk, buf, len, &pt, &ptlen, &err) ==
                  CLOISTER_OK &&
              ptlen == strlen(text) && memcmp(pt, text, ptlen) == 0;
    if (ok)
        printf("  %-22s opens it: \"%.*s\"\n", user, (int)ptlen, (const char *)pt);
    else
        printf("  %-22s cannot: %s\n", user, pt ? "wrong contents" : err.msg);
    free(pt);
    return ok;
}

static int demo_steps(const char *store, ibbe_admin *a)
{
    struct cloister_err err;
    char **ids = malloc(DEMO_MEMBERS * sizeof *ids);
    char *names = malloc(DEMO_MEMBERS * 32);
    if (!ids || !names) {
        free(ids);
        free(names);
        return -1;
    }
    for (int i = 0; i < DEMO_MEMBERS; i++) {
        ids[i] = names + 32 * i;
        snprintf(ids[i], 32, "user%05d@example.org", i);
    }
    int rc = -1;
    double t0 = cli_now_s();
    if (ibbe_admin_setup(a, DEMO_PARTITION, &err) != 0) {
        printf("  setup failed: %s\n", err.msg);
        goto out;
    }
    printf("  setup: γ drawn and sealed inside the enclave, public key with %d powers of γ "
           "(%.2f s)\n",
           DEMO_PARTITION, cli_now_s() - t0);
    printf("  partition size n = %d, chosen to keep this demo fast: members decrypt in "
           "O(n), not O(N)\n",
           DEMO_PARTITION);
    t0 = cli_now_s();
    if (ibbe_admin_create(a, "team", (const char *const *)ids, DEMO_MEMBERS, &err) != 0) {
        printf("  create failed: %s\n", err.msg);
        goto out;
    }
    printf("  group 'team' of %d members created in the enclave: %d partitions, %lld bytes "
           "in the store (%.2f s)\n",
           DEMO_MEMBERS, DEMO_MEMBERS / DEMO_PARTITION,
           ibbe_store_group_bytes(ibbe_admin_store(a), "team"), cli_now_s() - t0);
    const char *who[3] = {ids[42], ids[5000], ids[9999]};
    uint8_t *keys[3] = {0};
    size_t lens[3];
    struct ibbe_usk usk[3];
    char id[IBBE_ID_MAX + 1];
    if (ibbe_admin_extract(a, who, NULL, 3, keys, lens, &err) != 0) {
        printf("  extract failed: %s\n", err.msg);
        goto out;
    }
    for (int i = 0; i < 3; i++) {
        int bad = ibbe_usk_decode(id, &usk[i], keys[i], lens[i], NULL);
        crypto_wipe(keys[i], lens[i]);
        free(keys[i]);
        if (bad)
            goto out;
    }
    printf("  user keys extracted for %s, %s and %s (one enclave call)\n", who[0], who[1], who[2]);
    static const char first[] = "Q3 plan: ship the thing";
    static const char second[] = "Q4 plan: ship it again";
    uint8_t *f1 = NULL, *f2 = NULL;
    size_t l1, l2;
    if (ibbe_admin_seal(a, "team", (const uint8_t *)first, strlen(first), &f1, &l1, &err) != 0) {
        printf("  seal failed: %s\n", err.msg);
        goto wipe;
    }
    printf("  plan-q3.enc sealed for the group (epoch 1); each member recovers gk from its own "
           "partition:\n");
    bool ok = true;
    for (int i = 0; i < 3; i++)
        ok &= demo_try_open(store, who[i], &usk[i], f1, l1, first);
    t0 = cli_now_s();
    if (!ok || ibbe_admin_remove(a, "team", &who[2], 1, &err) != 0) {
        printf("  %s\n", ok ? err.msg : "a member could not open the file");
        goto wipe;
    }
    printf("  %s removed: fresh group key, epoch 2, %d partitions re-keyed (%.3f s)\n", who[2],
           DEMO_MEMBERS / DEMO_PARTITION, cli_now_s() - t0);
    if (ibbe_admin_seal(a, "team", (const uint8_t *)second, strlen(second), &f2, &l2, &err) != 0)
        goto wipe;
    printf("  plan-q4.enc sealed after the removal:\n");
    ok = demo_try_open(store, who[0], &usk[0], f2, l2, second) &&
         demo_try_open(store, who[1], &usk[1], f2, l2, second);
    bool leaked = demo_try_open(store, who[2], &usk[2], f2, l2, second);
    printf("  plan-q3.enc, sealed before the removal, for those who stay (the key of epoch 2 "
           "unwraps the key of epoch 1: key regression):\n");
    ok = ok && demo_try_open(store, who[0], &usk[0], f1, l1, first) &&
         demo_try_open(store, who[1], &usk[1], f1, l1, first);
    if (ok && !leaked) {
        printf("  -> the removed member cannot open files sealed after the removal; the others "
               "open those and every earlier one\n");
        rc = 0;
    }
wipe:
    crypto_wipe(usk, sizeof usk);
    free(f1);
    free(f2);
out:
    free(ids);
    free(names);
    return rc;
}

int cli_ibbe_demo(void)
{
    cli_demo_heading("ibbe: IBBE-SGX group keys, 10,000 members, a removal");
    char dir[] = "/tmp/cloister-ibbe-demo-XXXXXX";
    if (!mkdtemp(dir)) {
        printf("  cannot create a temporary directory: %s\n", strerror(errno));
        return -1;
    }
    ibbe_admin *a;
    int rc = -1;
    if (cli_ibbe_open_admin(dir, "proc", &a) == CLI_OK) {
        printf("  store %s, ibbe enclave started (proc backend, sandboxed, SIMULATED)\n", dir);
        rc = demo_steps(dir, a);
        ibbe_admin_close(a);
    }
    file_remove_tree(dir);
    return rc;
}
