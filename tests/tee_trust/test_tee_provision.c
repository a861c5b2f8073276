/* test_tee_provision.c -- attested provisioning end to end: offer, package, accept, restart and
 * restore; and refusal of a wrong nonce, a substituted key, a policy mismatch, a replayed or
 * misdirected package, a tampered package, another identity's sealed table and bad secrets;
 * a pinned provider (signed requests and packages) and what a stranger can no longer do. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cloister/crypto.h>
#include <cloister/tee_trust.h>

#include "helpers.h"

static tee_platform *plat;
static tee_verifier *ver;

static int setup(void **state)
{
    plat = th_platform("prov-platform");
    struct cloister_err err;
    ver = tee_verifier_new_file(tee_platform_ca_path(plat), &err);
    return ver ? 0 : -1;
}

static int teardown(void **state)
{
    tee_verifier_free(ver);
    tee_platform_free(plat);
    return 0;
}

static const struct tee_secret two[] = {
    {"db/key", (const uint8_t *)"0123456789abcdef0123456789abcdef", 32},
    {"api-token", (const uint8_t *)"tok", 3},
};

static uint8_t *offer(tee_self *s, const uint8_t nonce[32], size_t *len)
{
    uint8_t *o;
    struct cloister_err err = {0};
    if (tee_prov_offer(s, nonce, 32, &o, len, &err))
        fail_msg("%s", err.msg);
    return o;
}

static uint8_t *package(const struct tee_policy *p, const uint8_t nonce[32], const uint8_t *o,
                        size_t olen, const struct tee_secret *v, size_t n, size_t *len)
{
    uint8_t *pkg;
    struct tee_claims c;
    struct cloister_err err = {0};
    if (tee_prov_package(ver, p, nonce, 32, o, olen, v, n, &pkg, len, &c, &err))
        fail_msg("%s", err.msg);
    assert_true(c.simulated);
    return pkg;
}

static void expect_package_refused(const struct tee_policy *p, const uint8_t *nonce,
                                   const uint8_t *o, size_t olen, const struct tee_secret *v,
                                   size_t n, const char *want)
{
    uint8_t *pkg = NULL;
    size_t len;
    struct cloister_err err = {0};
    th_refused(tee_prov_package(ver, p, nonce, 32, o, olen, v, n, &pkg, &len, NULL, &err), &err);
    assert_null(pkg);
    if (!strstr(err.msg, want))
        fail_msg("got '%s', want '%s'", err.msg, want);
}

static void expect_secret(tee_self *s, const char *name, const void *want, size_t want_len)
{
    uint8_t buf[64];
    size_t len;
    assert_int_equal(tee_secret_get(s, name, buf, sizeof buf, &len, NULL), 0);
    assert_int_equal(len, want_len);
    assert_memory_equal(buf, want, len);
}

static void round_trip_and_restart(void **state)
{
    tee_self *s = th_self(plat, "provisioned", 1, 1, 0x70);
    struct tee_policy p = th_policy_pinned(s);
    uint8_t nonce[32];
    assert_int_equal(tee_prov_nonce(nonce, NULL), 0);
    size_t olen, plen, sealed_len;
    uint8_t *o = offer(s, nonce, &olen);
    uint8_t *pkg = package(&p, nonce, o, olen, two, 2, &plen);
    uint8_t *sealed;
    struct cloister_err err = {0};
    if (tee_prov_accept(s, pkg, plen, TEE_SEAL_MRENCLAVE, &sealed, &sealed_len, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(tee_secret_count(s), 2);
    expect_secret(s, "db/key", two[0].value, 32);
    expect_secret(s, "api-token", "tok", 3);
    uint8_t small[2];
    size_t len;
    assert_int_equal(tee_secret_get(s, "db/key", small, sizeof small, &len, NULL),
                     CLOISTER_E_TOO_BIG);
    assert_int_equal(len, 32);
    assert_int_equal(tee_secret_get(s, "nope", small, sizeof small, &len, NULL),
                     CLOISTER_E_NOT_FOUND);

    /* Replaying the package: the offer was used once. */
    uint8_t *again;
    size_t again_len;
    assert_int_equal(tee_prov_accept(s, pkg, plen, TEE_SEAL_MRENCLAVE, &again, &again_len, &err),
                     CLOISTER_E_STATE);
    assert_non_null(strstr(err.msg, "no provisioning offer is pending"));

    /* Restart: a fresh tee_self of the same identity restores from the sealed table alone. */
    tee_self *restarted = th_self(plat, "provisioned", 1, 1, 0x70);
    assert_int_equal(tee_secret_count(restarted), 0);
    if (tee_secrets_restore(restarted, sealed, sealed_len, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(tee_secret_count(restarted), 2);
    expect_secret(restarted, "api-token", "tok", 3);

    /* Another identity cannot. */
    tee_self *other = th_self(plat, "another image", 1, 1, 0x70);
    assert_int_equal(tee_secrets_restore(other, sealed, sealed_len, &err), CLOISTER_E_DENIED);
    assert_non_null(strstr(err.msg, "authentication failed"));
    assert_int_equal(tee_secret_count(other), 0);

    /* A second provisioning merges: replaces one secret, adds one. */
    const struct tee_secret more[] = {{"api-token", (const uint8_t *)"new", 3},
                                      {"extra", (const uint8_t *)"", 0}};
    assert_int_equal(tee_prov_nonce(nonce, NULL), 0);
    free(o);
    free(pkg);
    o = offer(restarted, nonce, &olen);
    pkg = package(&p, nonce, o, olen, more, 2, &plen);
    uint8_t *sealed2;
    assert_int_equal(
        tee_prov_accept(restarted, pkg, plen, TEE_SEAL_MRSIGNER, &sealed2, &sealed_len, &err), 0);
    assert_int_equal(tee_secret_count(restarted), 3);
    expect_secret(restarted, "api-token", "new", 3);
    expect_secret(restarted, "extra", "", 0);
    /* MRSIGNER-sealed table: another image of the same signer restores it. */
    assert_int_equal(tee_secrets_restore(other, sealed2, sealed_len, &err), 0);
    expect_secret(other, "db/key", two[0].value, 32);

    free(o);
    free(pkg);
    free(sealed);
    free(sealed2);
    tee_self_free(s);
    tee_self_free(restarted);
    tee_self_free(other);
}

static void provisioner_refusals(void **state)
{
    tee_self *s = th_self(plat, "checked", 2, 3, 0x71);
    struct tee_policy p = th_policy_pinned(s);
    uint8_t nonce[32], other_nonce[32];
    assert_int_equal(tee_prov_nonce(nonce, NULL), CLOISTER_OK);
    assert_int_equal(tee_prov_nonce(other_nonce, NULL), CLOISTER_OK);
    size_t olen;
    uint8_t *o = offer(s, nonce, &olen);

    /* A stale offer (made for another nonce) or a substituted key breaks the binding. */
    expect_package_refused(&p, other_nonce, o, olen, two, 2, "report data does not match");
    uint8_t *swapped = malloc(olen);
    memcpy(swapped, o, olen);
    swapped[7] ^= 1; /* inside the public key */
    expect_package_refused(&p, nonce, swapped, olen, two, 2, "report data does not match");
    free(swapped);
    expect_package_refused(&p, nonce, o, olen - 1, two, 2, "offer is malformed");

    /* The provisioner's policy. */
    struct tee_policy strict = p;
    strict.min_svn = 4;
    expect_package_refused(&strict, nonce, o, olen, two, 2, "below the policy's minimum 4");
    strict = p;
    strict.allow_simulated = false;
    expect_package_refused(&strict, nonce, o, olen, two, 2, "simulated");
    uint8_t wrong[32] = {9};
    strict = p;
    strict.mrenclave = (const uint8_t(*)[32])wrong;
    expect_package_refused(&strict, nonce, o, olen, two, 2, "is not among the allowed values");
    expect_package_refused(NULL, nonce, o, olen, two, 2, "no verification policy");

    /* Bad secrets. */
    const struct tee_secret bad_name[] = {{"white space", (const uint8_t *)"x", 1}};
    expect_package_refused(&p, nonce, o, olen, bad_name, 1, "must be 1 to 64 characters");
    const struct tee_secret empty_name[] = {{"", (const uint8_t *)"x", 1}};
    expect_package_refused(&p, nonce, o, olen, empty_name, 1, "must be 1 to 64 characters");
    const struct tee_secret dup[] = {{"a", (const uint8_t *)"x", 1},
                                     {"a", (const uint8_t *)"y", 1}};
    expect_package_refused(&p, nonce, o, olen, dup, 2, "given twice");
    uint8_t *huge = calloc(1, TEE_SECRET_VALUE_MAX + 1);
    const struct tee_secret big[] = {{"big", huge, TEE_SECRET_VALUE_MAX + 1}};
    expect_package_refused(&p, nonce, o, olen, big, 1, "more than 65536");
    free(huge);
    free(o);

    /* Offer nonce bounds. */
    uint8_t *x;
    size_t xl;
    struct cloister_err err = {0};
    assert_int_equal(tee_prov_offer(s, nonce, 8, &x, &xl, &err), -1);
    assert_non_null(strstr(err.msg, "16 to 64 bytes"));
    tee_self_free(s);
}

static void enclave_refusals(void **state)
{
    tee_self *s = th_self(plat, "receiver", 0, 0, 0x72);
    struct tee_policy p = th_policy_pinned(s);
    uint8_t n1[32], n2[32];
    assert_int_equal(tee_prov_nonce(n1, NULL), CLOISTER_OK);
    assert_int_equal(tee_prov_nonce(n2, NULL), CLOISTER_OK);
    size_t l1, l2, pl;
    uint8_t *o1 = offer(s, n1, &l1);
    uint8_t *pkg1 = package(&p, n1, o1, l1, two, 2, &pl);
    for (int i = 0; i < TEE_PROV_PENDING - 1; i++) /* newer offers replace it: a bounded few */
        free(offer(s, n2, &l2));
    uint8_t *o2 = offer(s, n2, &l2);
    uint8_t *sealed;
    size_t sl;
    struct cloister_err err = {0};
    assert_int_equal(tee_prov_accept(s, pkg1, pl, TEE_SEAL_MRENCLAVE, &sealed, &sl, &err),
                     CLOISTER_E_DENIED);
    assert_non_null(strstr(err.msg, "does not open"));

    uint8_t *pkg2 = package(&p, n2, o2, l2, two, 1, &pl);
    for (size_t i = 0; i < pl; i += 5) {
        pkg2[i] ^= 2;
        th_refused(tee_prov_accept(s, pkg2, pl, TEE_SEAL_MRENCLAVE, &sealed, &sl, &err), &err);
        pkg2[i] ^= 2;
    }
    assert_int_equal(tee_prov_accept(s, pkg2, pl, (enum tee_seal_policy)0, &sealed, &sl, &err), -1);
    /* Failed attempts left the offer pending: the genuine package still opens. */
    assert_int_equal(tee_prov_accept(s, pkg2, pl, TEE_SEAL_MRENCLAVE, &sealed, &sl, &err), 0);
    assert_int_equal(tee_secret_count(s), 1);

    /* A package for another enclave's offer. */
    tee_self *t = th_self(plat, "bystander", 0, 0, 0x72);
    uint8_t *o3 = offer(t, n1, &l1);
    struct tee_policy pt = th_policy_pinned(t);
    uint8_t *pkg3 = package(&pt, n1, o3, l1, two, 2, &pl);
    uint8_t *o4 = offer(s, n2, &l2);
    uint8_t *sealed2;
    assert_int_equal(tee_prov_accept(s, pkg3, pl, TEE_SEAL_MRENCLAVE, &sealed2, &sl, &err),
                     CLOISTER_E_DENIED);
    assert_non_null(strstr(err.msg, "does not open"));

    /* A tampered sealed table is refused on restore, even by the same identity. */
    tee_self *restarted = th_self(plat, "receiver", 0, 0, 0x72);
    assert_int_equal(tee_secrets_restore(restarted, sealed, sl, &err), 0);
    sealed[sl - 1] ^= 1;
    assert_int_equal(tee_secrets_restore(restarted, sealed, sl, &err), CLOISTER_E_DENIED);
    assert_non_null(strstr(err.msg, "authentication failed"));
    tee_self_free(restarted);

    free(o1);
    free(o2);
    free(o3);
    free(o4);
    free(pkg1);
    free(pkg2);
    free(pkg3);
    free(sealed);
    tee_self_free(s);
    tee_self_free(t);
}

/* tee_prov_take: the named secret handed out, nothing kept in the table, the offer used once;
 * every pending offer (all TEE_PROV_PENDING of them) still takes its own package. */
static void take_one(void **state)
{
    (void)state;
    tee_self *s = th_self(plat, "taker", 0, 0, 0x73);
    struct tee_policy p = th_policy_pinned(s);
    enum { N = TEE_PROV_PENDING };
    static uint8_t nonces[N][32];
    uint8_t *offers[N], *pkgs[N], out[32];
    size_t olen, plen[N], len;
    struct cloister_err err = {0};
    for (int i = 0; i < N; i++) {
        assert_int_equal(tee_prov_nonce(nonces[i], NULL), CLOISTER_OK);
        offers[i] = offer(s, nonces[i], &olen);
        pkgs[i] = package(&p, nonces[i], offers[i], olen, two, 2, &plen[i]);
    }
    for (int i = N - 1; i >= 0; i--) {
        assert_int_equal(tee_prov_take(s, pkgs[i], plen[i], "db/key", out, sizeof out, &len, &err),
                         CLOISTER_OK);
        assert_int_equal(len, 32);
        assert_memory_equal(out, two[0].value, 32);
    }
    assert_int_equal(tee_secret_count(s), 0);
    assert_int_not_equal(tee_prov_take(s, pkgs[0], plen[0], "db/key", out, sizeof out, &len, &err),
                         CLOISTER_OK);
    for (int i = 0; i < N; i++) {
        free(offers[i]);
        free(pkgs[i]);
    }
    uint8_t n[32];
    assert_int_equal(tee_prov_nonce(n, NULL), CLOISTER_OK);
    uint8_t *o = offer(s, n, &olen), *pkg = package(&p, n, o, olen, two, 2, &plen[0]);
    assert_int_equal(tee_prov_take(s, pkg, plen[0], "nope", out, sizeof out, &len, &err),
                     CLOISTER_E_NOT_FOUND);
    assert_int_equal(tee_prov_take(s, pkg, plen[0], "db/key", out, 2, &len, &err),
                     CLOISTER_E_TOO_BIG);
    free(o);
    free(pkg);
    tee_self_free(s);
}

/* A provider that signs is pinned by its first package: afterwards a stranger gets no offer
 * (unsigned or signed by another key), a captured request is not answered again, packages
 * unsigned, signed by another key or with a broken signature are refused, the pin survives a
 * restart, and the genuine provider re-provisions. A flood of strangers' offers takes no slot. */
static uint8_t *signed_offer(tee_self *s, const uint8_t seed[32], const uint8_t nonce[32],
                             size_t *len, uint8_t **req, size_t *req_len)
{
    uint8_t *o;
    struct cloister_err err = {0};
    if (tee_prov_request(seed, nonce, 32, req, req_len, &err) ||
        tee_prov_offer(s, *req, *req_len, &o, len, &err))
        fail_msg("%s", err.msg);
    return o;
}

static uint8_t *signed_package(const struct tee_policy *p, const uint8_t seed[32],
                               const uint8_t nonce[32], const uint8_t *o, size_t olen, size_t *len)
{
    size_t plen;
    uint8_t *pkg = package(p, nonce, o, olen, two, 1, &plen), *out;
    struct cloister_err err = {0};
    if (tee_prov_sign(seed, o, olen, pkg, plen, &out, len, &err))
        fail_msg("%s", err.msg);
    free(pkg);
    return out;
}

static void expect_denied(int rc, const struct cloister_err *err, const char *want)
{
    assert_int_equal(rc, CLOISTER_E_DENIED);
    if (!strstr(err->msg, want))
        fail_msg("got '%s', want '%s'", err->msg, want);
}

static void pinned_provider(void **state)
{
    tee_self *s = th_self(plat, "pinned", 0, 0, 0x74);
    struct tee_policy p = th_policy_pinned(s);
    uint8_t genuine[32], stranger[32], pk[32], nonce[32], *req, *req2, *o, *pkg, *sealed, *x;
    size_t req_len, req2_len, olen, plen, sl, xl;
    struct cloister_err err = {0};
    assert_int_equal(crypto_ed25519_keypair(pk, stranger), 0);
    assert_int_equal(crypto_ed25519_keypair(pk, genuine), 0);
    assert_int_equal(tee_prov_nonce(nonce, NULL), 0);

    o = signed_offer(s, genuine, nonce, &olen, &req, &req_len);
    pkg = signed_package(&p, genuine, nonce, o, olen, &plen);
    assert_int_equal(tee_prov_accept(s, pkg, plen, TEE_SEAL_MRENCLAVE, &sealed, &sl, &err), 0);
    expect_secret(s, TEE_PROVIDER_SECRET, pk, 32);
    free(o);
    free(pkg);

    /* Strangers get no offer, the captured request is not answered again. */
    expect_denied(tee_prov_offer(s, nonce, 32, &x, &xl, &err), &err, "pinned to its provider");
    assert_int_equal(tee_prov_request(stranger, nonce, 32, &req2, &req2_len, &err), 0);
    expect_denied(tee_prov_offer(s, req2, req2_len, &x, &xl, &err), &err, "pinned");
    expect_denied(tee_prov_offer(s, req, req_len, &x, &xl, &err), &err, "not newer");
    free(req);
    free(req2);

    /* A genuine offer; packages unsigned, a stranger's, broken: refused, the offer kept. */
    o = signed_offer(s, genuine, nonce, &olen, &req, &req_len);
    for (int i = 0; i < 100; i++) /* the flood: no slot taken */
        assert_int_equal(tee_prov_offer(s, nonce, 32, &x, &xl, NULL), CLOISTER_E_DENIED);
    pkg = package(&p, nonce, o, olen, two, 1, &plen);
    expect_denied(tee_prov_accept(s, pkg, plen, TEE_SEAL_MRENCLAVE, &x, &xl, &err), &err,
                  "must be signed");
    free(pkg);
    pkg = signed_package(&p, stranger, nonce, o, olen, &plen);
    expect_denied(tee_prov_accept(s, pkg, plen, TEE_SEAL_MRENCLAVE, &x, &xl, &err), &err,
                  "another provider");
    free(pkg);
    pkg = signed_package(&p, genuine, nonce, o, olen, &plen);
    pkg[plen - 1] ^= 1;
    expect_denied(tee_prov_accept(s, pkg, plen, TEE_SEAL_MRENCLAVE, &x, &xl, &err), &err,
                  "signature does not verify");
    pkg[plen - 1] ^= 1;
    free(sealed);
    assert_int_equal(tee_prov_accept(s, pkg, plen, TEE_SEAL_MRENCLAVE, &sealed, &sl, &err), 0);
    free(o);
    free(pkg);
    free(req);

    /* The pin is sealed with the secrets: a restarted instance is still pinned. */
    tee_self *restarted = th_self(plat, "pinned", 0, 0, 0x74);
    assert_int_equal(tee_secrets_restore(restarted, sealed, sl, &err), 0);
    expect_denied(tee_prov_offer(restarted, nonce, 32, &x, &xl, &err), &err, "pinned");
    expect_secret(restarted, TEE_PROVIDER_SECRET, pk, 32);
    tee_self_free(restarted);
    free(sealed);
    tee_self_free(s);
}

/* A package naming a "tee:" secret is refused: the pin cannot be overwritten by a package. */
static void reserved_names_refused(void **state)
{
    tee_self *s = th_self(plat, "reserved", 0, 0, 0x75);
    struct tee_policy p = th_policy_pinned(s);
    uint8_t nonce[32], *x;
    size_t olen, plen, xl;
    struct cloister_err err = {0};
    assert_int_equal(tee_prov_nonce(nonce, NULL), 0);
    const struct tee_secret pin = {TEE_PROVIDER_SECRET,
                                   (const uint8_t *)"0123456789abcdef0123456789abcdef", 32};
    uint8_t *o = offer(s, nonce, &olen);
    uint8_t *pkg = package(&p, nonce, o, olen, &pin, 1, &plen);
    assert_int_equal(tee_prov_accept(s, pkg, plen, TEE_SEAL_MRENCLAVE, &x, &xl, &err),
                     CLOISTER_E_INVALID);
    assert_non_null(strstr(err.msg, "runtime's"));
    assert_int_equal(tee_secret_count(s), 0);
    free(o);
    free(pkg);
    tee_self_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_and_restart), cmocka_unit_test(provisioner_refusals),
        cmocka_unit_test(enclave_refusals),       cmocka_unit_test(pinned_provider),
        cmocka_unit_test(reserved_names_refused), cmocka_unit_test(take_one),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
