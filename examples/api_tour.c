/* api_tour.c -- one program against an installed libcloister that calls the public API of every
 * layer a program outside the project may use: pairing, the EPC heap, the runtime's host and
 * relying-party sides, SCBR (matching, client, host) and IBBE (records, store, member, traces).
 * tests/install/check_install.sh builds it with pkg-config alone and runs it, so a header that
 * declares what the library does not export, or a missing CLOISTER_API, fails the install check.
 *
 *     cc api_tour.c $(pkg-config --cflags --libs cloister) -o api_tour && ./api_tour
 *
 * Steps that need an enclave image show the error convention instead: a caller-owned
 * struct cloister_err with a code and a message. */
#define _XOPEN_SOURCE 700 /* nftw */

#include <cloister/epc.h>
#include <cloister/error.h>
#include <cloister/ibbe.h>
#include <cloister/ibbe_admin.h>
#include <cloister/ibbe_client.h>
#include <cloister/ibbe_trace.h>
#include <cloister/orch.h>
#include <cloister/pairing.h>
#include <cloister/scbr.h>
#include <cloister/scbr_client.h>
#include <cloister/scbr_host.h>
#include <cloister/tee.h>
#include <cloister/tee_verify.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int step(const char *what, int ok)
{
    printf("%-8s %s\n", ok ? "ok" : "FAILED", what);
    return ok ? 0 : 1;
}

/* e(g1, g2) is not the identity: the pairing is non-degenerate. */
static int pairing(void)
{
    bls_g1 p;
    bls_g2 q;
    bls_gt e;
    bls_g1_generator(&p);
    bls_g2_generator(&q);
    bls_pairing(&e, &p, &q);
    return step("pairing: e(g1, g2) != 1", !bls_gt_is_one(&e));
}

static int epc(void)
{
    struct epc_config c = {.size = 1 << 20,
                           .budget = EPC_BUDGET_UNLIMITED,
                           .pager = EPC_PAGER_AUTO};
    epc_heap *h = epc_heap_create(&c);
    char *p = h ? epc_malloc(h, 100) : NULL;
    int ok = p && epc_heap_owner(p) == h;
    if (p)
        epc_free(h, p);
    epc_heap_destroy(h);
    return step("epc: a budgeted heap allocates and owns its blocks", ok);
}

/* No image at that path: tee_create refuses with a code and a message naming it. */
static int runtime(void)
{
    struct tee_options o;
    tee_options_init(&o);
    o.image = "/nonexistent/hello.enclave";
    tee_enclave *e = NULL;
    struct cloister_err err;
    int rc = tee_create(&o, &e, &err);
    uint8_t nonce[TEE_PROV_NONCE_LEN];
    struct tee_policy policy;
    tee_policy_default(&policy);
    return step("tee: a missing image is refused with a message",
                rc != CLOISTER_OK && err.code == rc && strstr(err.msg, "hello.enclave")) |
           step("tee_verify: a provisioning nonce", tee_prov_nonce(nonce, &err) == CLOISTER_OK);
}

static int scbr(const char *dir)
{
    static const char subs[] = "symbol = \"IBM\" and price > 100\nsymbol = \"SAP\"\n";
    static const char pubs[] = "symbol = \"IBM\", price = 120\n";
    struct scbr_sub_list sl = {0};
    struct scbr_pub_list pl = {0};
    struct cloister_err err;
    scbr_index *idx = scbr_index_create(SCBR_INDEX_FAST, NULL);
    uint32_t ids[2];
    size_t n = 0;
    if (idx && scbr_parse_subs(subs, strlen(subs), "subs", &sl, &err) == CLOISTER_OK &&
        scbr_parse_pubs(pubs, strlen(pubs), "pubs", &pl, &err) == CLOISTER_OK &&
        scbr_index_insert(idx, sl.v[0], 1, &err) == CLOISTER_OK &&
        scbr_index_insert(idx, sl.v[1], 2, &err) == CLOISTER_OK)
        n = scbr_index_match(idx, pl.v[0], ids, 2);
    scbr_index_destroy(idx);
    scbr_sub_list_free(&sl);
    scbr_pub_list_free(&pl);
    struct scbr_router_options ro;
    scbr_router_options_init(&ro);
    return step("scbr: the fast index matches subscription 1 only", n == 1 && ids[0] == 1) |
           step("scbr_client: a fresh SK file", scbr_client_keys_create(dir, &err) == CLOISTER_OK);
}

static int ibbe(const char *dir)
{
    char members[] = "alice@example.org\nbob@example.org\n";
    char **ids = NULL;
    size_t count = 0;
    struct cloister_err err;
    int parsed = ibbe_members_parse(members, strlen(members), &ids, &count, &err) == CLOISTER_OK;
    free(ids);
    ibbe_store *s = NULL;
    int opened = ibbe_store_open(dir, &s, &err) == CLOISTER_OK;
    ibbe_store_close(s);
    struct ibbe_usk usk;
    int missing = ibbe_client_load_key("/nonexistent/alice.key", NULL, "alice@example.org", &usk,
                                       &err) == CLOISTER_E_NOT_FOUND;
    char *trace = NULL;
    size_t len;
    struct ibbe_trace_stats st;
    int refused = ibbe_trace_from_git(dir, &trace, &len, &st, &err) != CLOISTER_OK;
    free(trace);
    return step("ibbe: a member list", parsed && count == 2) | step("ibbe: a store", opened) |
           step("ibbe_client: a missing key is NOT_FOUND", missing) |
           step("ibbe_trace: a directory that is no git repository is refused", refused);
}

static int orch(void)
{
    const char spec[] = "{\"name\": \"web-1\", \"sgx\": true, \"epc\": \"8Mi\"}";
    struct orch_pod p;
    struct cloister_err err;
    int parsed = orch_pod_parse(&p, spec, strlen(spec), &err) == CLOISTER_OK;
    struct orch_node n = {.name = "sgx-1", .sgx = true, .epc_alloc = ORCH_EPC_SGX1};
    tee_epc_group *g = tee_epc_group_new("web-1", 2048, &err);
    struct tee_epc_group_stats gs = {0};
    if (g)
        tee_epc_group_stats(g, &gs);
    tee_epc_group_free(g);
    return step("orch: a pod spec", parsed && p.epc_request == 8u << 20) |
           step("orch: it fits an SGX1 node", orch_fits(&n, &p, 1.0)) |
           step("tee: an EPC accounting group", gs.limit_pages == 2048);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

int main(void)
{
    char dir[] = "/tmp/cloister-api-tour-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char scbr_dir[sizeof dir + 8], ibbe_dir[sizeof dir + 8];
    snprintf(scbr_dir, sizeof scbr_dir, "%s/scbr", dir);
    snprintf(ibbe_dir, sizeof ibbe_dir, "%s/ibbe", dir);
    int failed = pairing() | epc() | runtime() | scbr(scbr_dir) | ibbe(ibbe_dir) | orch();
    return nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 || failed;
}
