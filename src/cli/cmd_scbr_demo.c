/* cmd_scbr_demo.c -- the SCBR step of `cloister demo`: what the verbs of cmd_scbr.c do across
 * processes, in one process and a few seconds.
 *
 * First the three matching engines match a small stock workload offline and must agree. Then a
 * router runs in a thread (proc enclave, image signed with a fresh key, temporary home, loopback
 * port): the data provider verifies its evidence and provisions SK, three subscribers register
 * encrypted filters, a publisher sends three publications with payloads sealed end to end, and
 * an attacker on the wire replays the last publication and sends a tampered copy, which the
 * enclave refuses and counts. */
#include <cloister/crypto.h>
#include <cloister/scbr.h>
#include <cloister/scbr_client.h>
#include <cloister/scbr_host.h>
#include <cloister/tee_trust.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cmd_scbr.h"
#include "scbr/client/scbr_client_raw.h"
#include "util/fileio.h"

/* A small stock workload matched by all three engines, which must agree. */
static int demo_offline(void)
{
    cli_demo_heading("SCBR: content-based matching, three engines (offline)");
    char *st, *pt;
    size_t sl, pl;
    struct scbr_sub_list subs;
    struct scbr_pub_list pubs;
    struct cloister_err err;
    if (scbr_gen(SCBR_WORKLOAD_STOCK, 2000, 3, 7, &st, &sl, &pt, &pl, &err) != 0)
        return cli_fail("%s", err.msg);
    int rc = scbr_parse_subs(st, sl, "demo", &subs, &err) == 0 &&
                     scbr_parse_pubs(pt, pl, "demo", &pubs, &err) == 0
                 ? CLI_OK
                 : cli_fail("%s", err.msg);
    free(st);
    free(pt);
    if (rc != CLI_OK)
        return rc;
    scbr_index *idx[3];
    for (int k = 0; k < 3; k++) {
        idx[k] = scbr_index_create((enum scbr_index_kind)k, NULL);
        for (size_t i = 0; idx[k] && i < subs.n; i++)
            scbr_index_insert(idx[k], subs.v[i], (uint32_t)i, NULL);
    }
    char *first = scbr_sub_format(subs.v[0]);
    printf("2000 stock-quote subscriptions, e.g. [0] %s\n", first ? first : "?");
    free(first);
    uint32_t ids[3][2000];
    for (size_t p = 0; p < pubs.n && rc == CLI_OK; p++) {
        char *text = scbr_pub_format(pubs.v[p]);
        size_t n[3];
        for (int k = 0; k < 3; k++)
            n[k] = idx[k] ? scbr_index_match(idx[k], pubs.v[p], ids[k], 2000) : 0;
        printf("publication %s\n  matches %zu subscription(s):", text ? text : "?", n[2]);
        for (size_t i = 0; i < n[2]; i++)
            printf(" %u", ids[2][i]);
        bool agree = n[0] == n[1] && n[0] == n[2] &&
                     memcmp(ids[0], ids[1], n[0] * sizeof ids[0][0]) == 0 &&
                     memcmp(ids[0], ids[2], n[0] * sizeof ids[0][0]) == 0;
        printf("\n  naive, poset and fast %s\n", agree ? "agree" : "DISAGREE");
        if (!agree)
            rc = CLI_FAIL;
        free(text);
    }
    for (int k = 0; k < 3; k++)
        scbr_index_destroy(idx[k]);
    scbr_sub_list_free(&subs);
    scbr_pub_list_free(&pubs);
    return rc;
}

/* ---- demo: a router on loopback ---- */

static const char *const demo_names[] = {"alice", "bob", "carol"};
static const char *const demo_filters[] = {"symbol = \"ACME\" and price > 100", "symbol = \"ACME\"",
                                           "volume >= 5000"};
static const char *const demo_pubs[][2] = {
    {"symbol = \"ACME\", price = 120, volume = 800", "ACME up: 120"},
    {"symbol = \"ACME\", price = 95, volume = 9000", "ACME down: 95, heavy volume"},
    {"symbol = \"INIT\", price = 7, volume = 100", "INIT flat"}};

/* Provider, three subscribers, a publisher, then a replayed and a tampered message. */
static int demo_clients(const char *dir, scbr_router *r)
{
    uint8_t sk[SCBR_SK_LEN], mre[32], mrs[32];
    char keys[4200];
    snprintf(keys, sizeof keys, "%s/keys", dir);
    struct cloister_err err = {0};
    scbr_client *subs[3] = {0}, *pub = NULL;
    int rc = scbr_client_keys_create(keys, &err) == 0 &&
                     scbr_client_keys_load(keys, sk, &err) == 0 &&
                     scbr_router_identity(r, mre, mrs, &err) == 0 &&
                     scbr_client_provision_local(scbr_router_endpoint(r), mre, dir, sk,
                                                 CLI_SCBR_ANSWER_MS, &err) == 0
                 ? 0
                 : -1;
    if (rc == 0)
        printf("  data provider: evidence verified (MRENCLAVE pinned, simulated platform); SK "
               "provisioned by HPKE, sealed by the enclave\n");
    for (int i = 0; rc == 0 && i < 3; i++) {
        uint32_t id;
        struct scbr_sub *s = scbr_parse_sub(demo_filters[i], strlen(demo_filters[i]), "demo", 1,
                                            &err);
        if (!s || !(subs[i] = scbr_client_connect(scbr_router_endpoint(r), sk, &err)) ||
            scbr_client_subscribe(subs[i], s, &id, CLI_SCBR_ANSWER_MS, &err) != 0)
            rc = -1;
        else
            printf("  %-5s subscribes (encrypted filter) %s -> id %u\n", demo_names[i],
                   demo_filters[i], id);
        scbr_sub_free(s);
    }
    if (rc == 0 && !(pub = scbr_client_connect(scbr_router_endpoint(r), sk, &err)))
        rc = -1;
    for (int k = 0; rc == 0 && k < 3; k++) {
        struct scbr_pub *h = scbr_parse_pub(demo_pubs[k][0], strlen(demo_pubs[k][0]), "demo", 1,
                                            &err);
        uint8_t *sealed = NULL;
        size_t sealed_len;
        rc = h &&
                     scbr_client_payload_seal(pub, sk, demo_pubs[k][1], strlen(demo_pubs[k][1]),
                                              &sealed, &sealed_len, &err) == 0 &&
                     scbr_client_publish(pub, h, sealed, sealed_len, &err) == 0
                 ? 0
                 : -1;
        if (rc == 0)
            printf("  publisher: %s  [payload \"%s\", sealed end to end]\n", demo_pubs[k][0],
                   demo_pubs[k][1]);
        scbr_pub_free(h);
        free(sealed);
    }
    const uint8_t *last;
    size_t last_len;
    if (rc == 0 && scbr_client_last_sent(pub, &last, &last_len) == 0) { /* an attacker's copy */
        uint8_t *copy = malloc(last_len);
        if (copy) {
            memcpy(copy, last, last_len);
            scbr_client_send_raw(pub, copy, last_len, &err);
            copy[28] ^= 1; /* "CSRM" v2, kind, length, then the envelope (epoch, seq): a nonce
                            * byte */
            scbr_client_send_raw(pub, copy, last_len, &err);
            free(copy);
        }
        printf("  an attacker replays the last publication and sends a tampered copy\n");
    }
    for (int i = 0; rc == 0 && i < 3; i++) {
        printf("  %-5s received:", demo_names[i]);
        uint8_t *payload;
        size_t len;
        int n, got = 0;
        while ((n = scbr_client_receive(subs[i], &payload, &len, got ? 300 : 2000, &err)) > 0) {
            uint8_t *clear = NULL;
            size_t clear_len = 0;
            if (scbr_client_payload_open(subs[i], sk, payload, len, &clear, &clear_len, &err) == 0)
                printf(" \"%.*s\"", (int)clear_len, (const char *)clear);
            else
                printf(" (refused: %s)", err.msg);
            free(payload);
            free(clear);
            got++;
        }
        printf("%s\n", got ? "" : " nothing");
    }
    struct scbr_router_stats st;
    if (rc == 0 && scbr_client_stats(pub, &st, CLI_SCBR_ANSWER_MS, &err) == 0)
        printf("  router: %llu publications matched in the enclave, %llu deliveries, refused "
               "%llu replayed and %llu tampered\n",
               (unsigned long long)st.enclave.published, (unsigned long long)st.host.delivered,
               (unsigned long long)st.enclave.refused_replayed,
               (unsigned long long)st.enclave.refused_tampered);
    if (rc != 0)
        printf("  FAILED: %s\n", err.msg);
    crypto_wipe(sk, sizeof sk);
    scbr_client_close(pub);
    for (int i = 0; i < 3; i++)
        scbr_client_close(subs[i]);
    return rc;
}

static int demo_router(void)
{
    cli_demo_heading("SCBR: the router, matching inside a proc enclave, over ZeroMQ");
    char dir[] = "/tmp/cloister-scbr-demo-XXXXXX", image[4096], sig[4200];
    uint8_t seed[TEE_SEED_LEN], pk[TEE_PUBKEY_LEN];
    struct cloister_err err = {0};
    if (tee_image_path("scbr", image, sizeof image, &err) != CLOISTER_OK || !mkdtemp(dir)) {
        printf("  cannot start: %s\n", err.msg[0] ? err.msg : strerror(errno));
        return -1;
    }
    snprintf(sig, sizeof sig, "%s/scbr.enclave.sig", dir);
    scbr_router *r = NULL;
    struct scbr_router_options o;
    scbr_router_options_init(&o);
    o.backend = TEE_BACKEND_PROC;
    o.image = image;
    o.signature = sig;
    o.home = dir;
    int rc = crypto_ed25519_keypair(pk, seed) == 0 &&
                     scbr_router_sign(image, seed, 0, 0, sig, &err) == 0 &&
                     scbr_router_open(&o, &r, &err) == 0 && scbr_router_start(r, &err) == 0
                 ? 0
                 : -1;
    crypto_wipe(seed, sizeof seed);
    if (rc == 0) {
        printf("  router on %s, enclave image signed with a fresh key, temporary home %s\n",
               scbr_router_endpoint(r), dir);
        rc = demo_clients(dir, r);
        if (scbr_router_stop(r, &err) != 0)
            rc = -1;
    }
    if (rc != 0 && err.msg[0])
        printf("  router: %s\n", err.msg);
    scbr_router_close(r);
    file_remove_tree(dir);
    return rc;
}

int cli_scbr_demo(void)
{
    int rc = demo_offline();
    if (demo_router() != 0)
        rc = CLI_FAIL;
    return rc == CLI_OK ? cli_scbr_shard_step() : rc;
}
