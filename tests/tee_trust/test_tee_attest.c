/* test_tee_attest.c -- local reports, cloister-sim-v1 evidence and the verifier: the SGX body
 * layout at its documented offsets, claims, every policy rule, and refusal of tampered
 * evidence, a wrong CA, simulated evidence by default, stale nonces and unknown formats. */
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
#include <cloister/wire.h>

#include "helpers.h"

static tee_platform *plat, *plat2;
static tee_verifier *ver, *ver2;

static tee_verifier *verifier_for(tee_platform *p)
{
    struct cloister_err err = {0};
    tee_verifier *v = tee_verifier_new_file(tee_platform_ca_path(p), &err);
    if (!v)
        fail_msg("%s", err.msg);
    return v;
}

static int setup(void **state)
{
    plat = th_platform("attest-platform");
    plat2 = th_platform("attest-platform-2");
    ver = verifier_for(plat);
    ver2 = verifier_for(plat2);
    return 0;
}

static int teardown(void **state)
{
    tee_verifier_free(ver);
    tee_verifier_free(ver2);
    tee_platform_free(plat);
    tee_platform_free(plat2);
    return 0;
}

static void local_reports(void **state)
{
    tee_self *a = th_self(plat, "reporter", 1, 1, 0x60);
    tee_self *b = th_self(plat, "target", 2, 2, 0x61);
    tee_self *b_elsewhere = th_self(plat2, "target", 2, 2, 0x61);
    uint8_t target[32], data[64], report[TEE_REPORT_LEN];
    tee_self_target(b, target);
    memset(data, 0xab, sizeof data);
    assert_int_equal(tee_report_create(a, target, data, report, NULL), 0);
    struct tee_report_body body;
    struct cloister_err err = {0};
    if (tee_report_verify(b, report, &body, &err))
        fail_msg("%s", err.msg);
    assert_memory_equal(body.mrenclave, tee_self_identity(a)->mrenclave, 32);
    assert_memory_equal(body.mrsigner, tee_self_identity(a)->mrsigner, 32);
    assert_int_equal(body.product_id, 1);
    assert_memory_equal(body.report_data, data, 64);
    assert_true(body.attributes & TEE_ATTR_SIMULATED);
    /* Twice (cached keys) and for a second target. */
    assert_int_equal(tee_report_create(a, target, data, report, NULL), 0);
    assert_int_equal(tee_report_verify(b, report, &body, &err), 0);
    uint8_t self_target[32], report2[TEE_REPORT_LEN];
    tee_self_target(a, self_target);
    assert_int_equal(tee_report_create(a, self_target, data, report2, NULL), 0);
    assert_int_equal(tee_report_verify(a, report2, &body, &err), 0);

    /* Only the target can check it; any change breaks it. */
    assert_int_equal(tee_report_verify(a, report, &body, &err), CLOISTER_E_DENIED);
    assert_non_null(strstr(err.msg, "MAC is wrong"));
    assert_int_equal(tee_report_verify(b_elsewhere, report, &body, &err), CLOISTER_E_DENIED);
    for (size_t i = 0; i < TEE_REPORT_LEN; i += 7) {
        report[i] ^= 4;
        assert_int_equal(tee_report_verify(b, report, &body, &err), CLOISTER_E_DENIED);
        report[i] ^= 4;
    }
    assert_int_equal(tee_report_verify(b, report, &body, &err), 0);
    tee_self_free(a);
    tee_self_free(b);
    tee_self_free(b_elsewhere);
}

static uint8_t *evidence(tee_self *s, const uint8_t rd[64], size_t *len)
{
    uint8_t *ev;
    assert_int_equal(tee_evidence_make(s, rd, &ev, len, NULL), 0);
    return ev;
}

static struct tee_policy allow_sim(void)
{
    struct tee_policy p;
    tee_policy_default(&p);
    p.allow_simulated = true;
    p.allow_any_identity = true;
    return p;
}

static void expect_refused(tee_verifier *v, const uint8_t *ev, size_t len,
                           const struct tee_policy *p, const char *want)
{
    struct tee_claims c;
    struct cloister_err err = {0};
    th_refused(tee_verify_evidence(v, ev, len, p, &c, &err), &err);
    if (!strstr(err.msg, want))
        fail_msg("got '%s', want '%s'", err.msg, want);
    uint8_t zero[sizeof c];
    memset(zero, 0, sizeof zero);
    assert_memory_equal(&c, zero, sizeof c); /* no claims from refused evidence */
}

static void evidence_layout_and_claims(void **state)
{
    tee_self *s = th_self(plat, "quoted", 0x1234, 0x0506, 0x62);
    const struct tee_identity *id = tee_self_identity(s);
    uint8_t rd[64];
    assert_int_equal(crypto_random(rd, sizeof rd), 0);
    size_t len;
    uint8_t *ev = evidence(s, rd, &len);

    struct tee_evidence_view v;
    struct cloister_err err = {0};
    assert_int_equal(tee_evidence_decode(&v, ev, len, &err), 0);
    assert_int_equal(v.format, TEE_EVIDENCE_SIM_V1);
    assert_int_equal(v.evidence_len, 384 + 64);
    assert_int_equal(v.n_endorsements, 2);
    const uint8_t *b = v.evidence;
    uint64_t attrs = 0;
    for (int i = 7; i >= 0; i--)
        attrs = attrs << 8 | b[48 + i];
    assert_true(attrs == (TEE_ATTR_INIT | TEE_ATTR_MODE64BIT | TEE_ATTR_SIMULATED));
    assert_memory_equal(b + 64, id->mrenclave, 32);
    assert_memory_equal(b + 128, id->mrsigner, 32);
    assert_int_equal(b[256] | b[257] << 8, 0x1234);
    assert_int_equal(b[258] | b[259] << 8, 0x0506);
    assert_memory_equal(b + 320, rd, 64);
    uint8_t pk[32];
    tee_platform_attestation_key(plat, pk);
    uint8_t msg[16 + 384];
    memcpy(msg, "cloister-sim-v1", 16);
    memcpy(msg + 16, b, 384);
    assert_int_equal(crypto_ed25519_verify(b + 384, msg, sizeof msg, pk), 0);

    struct tee_policy p = allow_sim();
    p.mrenclave = (const uint8_t(*)[32])id->mrenclave;
    p.n_mrenclave = 1;
    p.report_data = rd;
    struct tee_claims c;
    if (tee_verify_evidence(ver, ev, len, &p, &c, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(c.format, TEE_EVIDENCE_SIM_V1);
    assert_memory_equal(c.mrenclave, id->mrenclave, 32);
    assert_memory_equal(c.mrsigner, id->mrsigner, 32);
    assert_int_equal(c.product_id, 0x1234);
    assert_int_equal(c.svn, 0x0506);
    assert_true(c.simulated);
    assert_false(c.debug);
    assert_memory_equal(c.report_data, rd, 64);
    assert_memory_equal(c.platform_key, pk, 32);
    /* Again: the chain now comes from the cache. */
    assert_int_equal(tee_verify_evidence(ver, ev, len, &p, &c, &err), 0);
    free(ev);
    tee_self_free(s);
}

static void tampered_evidence_refused(void **state)
{
    tee_self *s = th_self(plat, "tampered", 0, 0, 0x63);
    uint8_t rd[64] = {1};
    size_t len;
    uint8_t *ev = evidence(s, rd, &len);
    struct tee_policy p = allow_sim();
    struct tee_claims c;
    struct cloister_err err;
    assert_int_equal(tee_verify_evidence(ver, ev, len, &p, &c, &err), 0);
    for (size_t i = 0; i < len; i++) {
        ev[i] ^= 0x10;
        th_refused(tee_verify_evidence(ver, ev, len, &p, &c, &err), &err);
        ev[i] ^= 0x10;
    }
    for (size_t n = 0; n < len; n += 3)
        expect_refused(ver, ev, n, &p, "malformed");
    struct tee_evidence_view v;
    assert_int_equal(tee_evidence_decode(&v, ev, len, &err), 0);
    size_t body = (size_t)(v.evidence - ev);
    ev[body + 100] ^= 1; /* inside the body: MRENCLAVE area */
    expect_refused(ver, ev, len, &p, "signature does not verify");
    ev[body + 100] ^= 1;
    ev[body + 400] ^= 1; /* inside the signature */
    expect_refused(ver, ev, len, &p, "signature does not verify");
    ev[body + 400] ^= 1;
    /* Right platform certificate, wrong trusted CA. */
    expect_refused(ver2, ev, len, &p, "does not chain to the trusted CA");
    free(ev);
    tee_self_free(s);
}

static void policies(void **state)
{
    tee_self *s = th_self(plat, "policy", 4, 7, 0x64);
    const struct tee_identity *id = tee_self_identity(s);
    uint8_t rd[64] = {0};
    size_t len;
    uint8_t *ev = evidence(s, rd, &len);
    struct tee_policy p;
    struct tee_claims c;
    struct cloister_err err;

    tee_policy_default(&p); /* simulated not allowed by default */
    p.allow_any_identity = true;
    expect_refused(ver, ev, len, &p, "evidence is simulated (cloister-sim-v1");
    p = allow_sim();
    p.allow_any_identity = false;
    expect_refused(ver, ev, len, &p, "allows no MRENCLAVE or MRSIGNER");

    uint8_t others[2][32];
    memset(others, 0x77, sizeof others);
    p.mrenclave = (const uint8_t(*)[32])others;
    p.n_mrenclave = 2;
    expect_refused(ver, ev, len, &p, "MRENCLAVE");
    memcpy(others[1], id->mrenclave, 32);
    assert_int_equal(tee_verify_evidence(ver, ev, len, &p, &c, &err), 0);
    p.mrsigner = (const uint8_t(*)[32])others;
    p.n_mrsigner = 1;
    expect_refused(ver, ev, len, &p, "MRSIGNER");
    p.mrsigner = (const uint8_t(*)[32])id->mrsigner;
    assert_int_equal(tee_verify_evidence(ver, ev, len, &p, &c, &err), 0);

    p.product_id = 5;
    expect_refused(ver, ev, len, &p, "product id 4, the policy requires 5");
    p.product_id = 4;
    p.min_svn = 8;
    expect_refused(ver, ev, len, &p, "security version 7 is below the policy's minimum 8");
    p.min_svn = 7;
    assert_int_equal(tee_verify_evidence(ver, ev, len, &p, &c, &err), 0);

    /* Freshness: report data bound to a nonce; a replay for another nonce is refused. */
    uint8_t n1[32], n2[32], rd1[64], rd2[64];
    assert_int_equal(crypto_random(n1, sizeof n1), 0);
    assert_int_equal(crypto_random(n2, sizeof n2), 0);
    tee_bind_report_data(rd1, NULL, 0, n1, sizeof n1);
    tee_bind_report_data(rd2, NULL, 0, n2, sizeof n2);
    size_t len1;
    uint8_t *ev1 = evidence(s, rd1, &len1);
    p.report_data = rd1;
    assert_int_equal(tee_verify_evidence(ver, ev1, len1, &p, &c, &err), 0);
    p.report_data = rd2;
    expect_refused(ver, ev1, len1, &p, "stale or replayed evidence, or a wrong nonce");
    expect_refused(ver, ev, len, &p, "report data does not match");
    uint8_t oracle[64];
    crypto_sha512(oracle, n1, sizeof n1);
    assert_memory_equal(oracle, rd1, 64);
    free(ev1);
    free(ev);
    tee_self_free(s);

    /* Debug enclaves only when allowed. */
    struct tee_config cfg;
    tee_config_default(&cfg);
    cfg.debug = true;
    struct tee_identity did;
    th_identity(&did, "debug image", &cfg, 0x65);
    tee_self *d = tee_self_new(&did, plat, &err);
    assert_non_null(d);
    ev = evidence(d, rd, &len);
    p = allow_sim();
    expect_refused(ver, ev, len, &p, "debug enclave");
    p.allow_debug = true;
    assert_int_equal(tee_verify_evidence(ver, ev, len, &p, &c, &err), 0);
    assert_true(c.debug);
    assert_true(c.attributes & TEE_ATTR_DEBUG);
    assert_int_equal(tee_verify_evidence(ver, ev, len, NULL, &c, &err), CLOISTER_E_INVALID);
    free(ev);
    tee_self_free(d);
}

static uint8_t *envelope(const char *format, size_t *len)
{
    struct wire_writer w;
    wire_writer_init(&w);
    wire_put_header(&w, "CLEV", 1);
    wire_put_str(&w, format);
    wire_put_bytes(&w, "x", 1);
    wire_put_varint(&w, 0);
    return wire_writer_take(&w, len);
}

static void formats(void **state)
{
    struct tee_policy p = allow_sim();
    size_t len;
    uint8_t *ev = envelope("foo-v9", &len);
    expect_refused(ver, ev, len, &p, "unknown evidence format 'foo-v9'");
    free(ev);
    const char *reserved[] = {"sgx-dcap", "tdx", "snp"};
    for (size_t i = 0; i < 3; i++) {
        ev = envelope(reserved[i], &len);
        struct tee_evidence_view v;
        struct cloister_err err;
        assert_int_equal(tee_evidence_decode(&v, ev, len, &err), 0);
        assert_string_equal(tee_evidence_format_name(v.format), reserved[i]);
        expect_refused(ver, ev, len, &p, "reserved but not supported");
        free(ev);
    }
    ev = envelope("cloister-sim-v1", &len);
    expect_refused(ver, ev, len, &p, "must be 448 bytes");
    free(ev);
}

static void trusted_ca_checks(void **state)
{
    struct cloister_err err = {0};
    char path[4200];
    snprintf(path, sizeof path, "%s/attest-platform/platform/platform.pem",
             getenv("CLOISTER_HOME"));
    assert_null(tee_verifier_new_file(path, &err));
    assert_non_null(strstr(err.msg, "not a CA certificate"));
    assert_null(tee_verifier_new("garbage", 7, &err));
    assert_non_null(strstr(err.msg, "not an X.509 certificate"));
    assert_null(tee_verifier_new_file("/nonexistent/ca.pem", &err));
    assert_non_null(strstr(err.msg, "/nonexistent/ca.pem"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(local_reports),
        cmocka_unit_test(evidence_layout_and_claims),
        cmocka_unit_test(tampered_evidence_refused),
        cmocka_unit_test(policies),
        cmocka_unit_test(formats),
        cmocka_unit_test(trusted_ca_checks),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
