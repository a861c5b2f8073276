/* test_tee_crash.c -- an enclave process that dies, hangs or lies never hangs its host: a crash,
 * an outside SIGKILL during a pending call, a call past its timeout and a corrupted ring slot
 * each give a clear error on the pending call and CLOISTER_E_DEAD on the following ones, and a
 * restart recovers; an enclave whose host dies exits by itself. Its state survives: a secret
 * provisioned through attested provisioning is restored after a crash and a restart, and even
 * by the sim backend (same identity, same seal).
 * Evidence verifies against the platform CA under a policy and fails under a wrong one. */
#include <cloister/crypto.h>
#include <cloister/tee.h>

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fixture.h"
#include "test_enclave.h"

static struct fixture fx;

static tee_enclave *create(unsigned timeout_ms)
{
    struct tee_options o;
    fixture_options(&fx, &o, TEE_BACKEND_PROC);
    o.call_timeout_ms = timeout_ms;
    return fixture_create(&o);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void assert_dead_then_restart(tee_enclave *e)
{
    uint8_t *out;
    size_t outlen;
    double t0 = now_s();
    struct cloister_err err;
    assert_int_equal(tee_ecall(e, TEST_ECALL_ECHO, "x", 1, &out, &outlen, &err), CLOISTER_E_DEAD);
    assert_true(now_s() - t0 < 1.0);
    assert_non_null(strstr(err.msg, "tee_restart"));
    assert_int_equal(tee_restart(e, NULL), CLOISTER_OK);
    assert_int_equal(tee_ecall(e, TEST_ECALL_ECHO, "x", 1, &out, &outlen, NULL), CLOISTER_OK);
    free(out);
}

static void crash(void **state)
{
    tee_enclave *e = create(0);
    uint8_t *out;
    size_t outlen;
    struct cloister_err err;
    assert_int_equal(tee_ecall(e, TEST_ECALL_CRASH, NULL, 0, &out, &outlen, &err), CLOISTER_E_DEAD);
    /* SIGSEGV, or the sanitizer's report, then exit or abort, in an ASan build. */
    const char *why = err.msg;
    if (!strstr(why, "SIGSEGV") && !strstr(why, "exited") && !strstr(why, "SIGABRT"))
        fail_msg("%s", err.msg);
    assert_dead_then_restart(e);
    tee_destroy(e);
}

struct pending {
    tee_enclave *e;
    int rc;
    struct cloister_err err;
};

static void *loop_main(void *arg)
{
    struct pending *p = arg;
    uint8_t *out;
    size_t outlen;
    p->rc = tee_ecall(p->e, TEST_ECALL_LOOP, NULL, 0, &out, &outlen, &p->err);
    return NULL;
}

static void killed_while_pending(void **state)
{
    tee_enclave *e = create(0);
    struct tee_info info;
    tee_get_info(e, &info);
    struct pending p = {.e = e};
    pthread_t t;
    pthread_create(&t, NULL, loop_main, &p);
    usleep(100 * 1000);
    double t0 = now_s();
    kill(info.pid, SIGKILL);
    pthread_join(t, NULL);
    assert_int_equal(p.rc, CLOISTER_E_DEAD);
    assert_true(now_s() - t0 < 2.0);
    assert_non_null(strstr(p.err.msg, "SIGKILL"));
    assert_dead_then_restart(e);
    tee_destroy(e);
}

static void timeout(void **state)
{
    tee_enclave *e = create(300);
    uint8_t *out;
    size_t outlen;
    double t0 = now_s();
    assert_int_equal(tee_ecall(e, TEST_ECALL_LOOP, NULL, 0, &out, &outlen, NULL),
                     CLOISTER_E_TIMEOUT);
    double took = now_s() - t0;
    assert_true(took >= 0.29 && took < 3.0);
    assert_dead_then_restart(e);
    tee_destroy(e);
}

/* The host dies: its enclave notices (its parent changed) and exits within seconds. The test
 * process is a subreaper, so the orphan becomes its child and can be waited for. */
static void host_dies(void **state)
{
    assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t host = fork();
    if (host == 0) {
        struct tee_options o;
        fixture_options(&fx, &o, TEE_BACKEND_PROC);
        tee_enclave *e;
        struct tee_info info = {0};
        if (tee_create(&o, &e, NULL) == CLOISTER_OK)
            tee_get_info(e, &info);
        if (write(fds[1], &info.pid, sizeof info.pid) != (ssize_t)sizeof info.pid)
            _exit(1);
        pause();
        _exit(0);
    }
    int pid = 0;
    assert_int_equal(read(fds[0], &pid, sizeof pid), sizeof pid);
    close(fds[0]);
    close(fds[1]);
    assert_true(pid > 0);
    kill(host, SIGKILL);
    assert_int_equal(waitpid(host, NULL, 0), host);
    double t0 = now_s();
    pid_t reaped = 0;
    while (reaped != pid && now_s() - t0 < 5.0) {
        reaped = waitpid(pid, NULL, WNOHANG);
        usleep(20 * 1000);
    }
    assert_int_equal(reaped, pid);
    prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
}

static void scribbles(void **state)
{
    const uint8_t modes[] = {SCRIBBLE_STATE, SCRIBBLE_LENGTH, SCRIBBLE_GARBAGE};
    for (size_t i = 0; i < sizeof modes; i++) {
        tee_enclave *e = create(5000);
        uint8_t *out;
        size_t outlen;
        struct cloister_err err;
        assert_int_equal(tee_ecall(e, TEST_ECALL_SCRIBBLE, &modes[i], 1, &out, &outlen, &err),
                         CLOISTER_E_PROTOCOL);
        assert_non_null(strstr(err.msg, "killed"));
        assert_dead_then_restart(e);
        tee_destroy(e);
    }
}

/* Provisions `value` as secret `name` through the full protocol; returns the secret count. */
static void provision(tee_enclave *e, const char *name, const uint8_t *value, size_t len)
{
    uint8_t nonce[TEE_PROV_NONCE_LEN], *offer, *package, *out;
    size_t offer_len, package_len, outlen;
    assert_int_equal(tee_prov_nonce(nonce, NULL), 0);
    assert_int_equal(
        tee_ecall(e, TEE_ECALL_PROV_OFFER, nonce, sizeof nonce, &offer, &offer_len, NULL),
        CLOISTER_OK);
    tee_platform *platform = tee_platform_open(fx.home, NULL);
    assert_non_null(platform);
    tee_verifier *v = tee_verifier_new_file(tee_platform_ca_path(platform), NULL);
    assert_non_null(v);
    struct tee_policy policy;
    tee_policy_default(&policy);
    policy.mrenclave = (const uint8_t(*)[32])fx.id.mrenclave;
    policy.n_mrenclave = 1;
    policy.allow_simulated = true;
    struct tee_secret secret = {name, value, len};
    struct tee_claims claims;
    struct cloister_err err = {0};
    if (tee_prov_package(v, &policy, nonce, sizeof nonce, offer, offer_len, &secret, 1, &package,
                         &package_len, &claims, &err) != 0)
        fail_msg("tee_prov_package: %s", err.msg);
    assert_memory_equal(claims.mrenclave, fx.id.mrenclave, 32);
    assert_int_equal(tee_ecall(e, TEE_ECALL_PROV_ACCEPT, package, package_len, &out, &outlen, NULL),
                     CLOISTER_OK);
    free(out);
    free(offer);
    free(package);
    tee_verifier_free(v);
    tee_platform_free(platform);
}

static void check_digest(tee_enclave *e, const char *name, const uint8_t *value, size_t len)
{
    uint8_t want[32], *out;
    size_t outlen;
    crypto_sha256(want, value, len);
    struct cloister_err err;
    int rc = tee_ecall(e, TEE_ECALL_SECRET_DIGEST, name, strlen(name), &out, &outlen, &err);
    if (rc != CLOISTER_OK)
        fail_msg("secret digest: %s", err.msg);
    assert_int_equal(outlen, 32);
    assert_memory_equal(out, want, 32);
    free(out);
}

static void secrets_survive(void **state)
{
    tee_enclave *e = create(0);
    uint8_t value[32], *out;
    size_t outlen;
    assert_int_equal(crypto_random(value, sizeof value), 0);
    assert_int_equal(tee_ecall(e, TEE_ECALL_SECRET_DIGEST, "db-key", 6, &out, &outlen, NULL),
                     CLOISTER_E_NOT_FOUND);
    provision(e, "db-key", value, sizeof value);
    check_digest(e, "db-key", value, sizeof value);
    assert_int_equal(tee_ecall(e, TEST_ECALL_CRASH, NULL, 0, &out, &outlen, NULL), CLOISTER_E_DEAD);
    assert_int_equal(tee_restart(e, NULL), CLOISTER_OK);
    check_digest(e, "db-key", value, sizeof value);
    tee_destroy(e);

    /* Same identity, same platform: the sim backend unseals what the proc backend sealed. */
    struct tee_options o;
    fixture_options(&fx, &o, TEE_BACKEND_SIM);
    e = fixture_create(&o);
    check_digest(e, "db-key", value, sizeof value);
    tee_destroy(e);

    /* Another identity (same signer, higher svn) cannot unseal them: pointed at the same
     * store it refuses to start, and with its own store it has no secret. */
    struct fixture other;
    fixture_resign(&other, &fx, "crash-v2", 2);
    fixture_options(&other, &o, TEE_BACKEND_PROC);
    o.store_dir = fx.store;
    e = NULL;
    struct cloister_err err;
    assert_int_equal(tee_create(&o, &e, &err), CLOISTER_E_DENIED);
    assert_non_null(strstr(err.msg, "stored secrets"));
    fixture_options(&other, &o, TEE_BACKEND_PROC);
    e = fixture_create(&o);
    assert_int_equal(tee_ecall(e, TEE_ECALL_SECRET_DIGEST, "db-key", 6, &out, &outlen, NULL),
                     CLOISTER_E_NOT_FOUND);
    tee_destroy(e);
}

static void evidence(void **state)
{
    tee_enclave *e = create(0);
    uint8_t report_data[TEE_REPORT_DATA_LEN], *ev;
    size_t evlen;
    assert_int_equal(crypto_random(report_data, sizeof report_data), 0);
    assert_int_equal(
        tee_ecall(e, TEE_ECALL_EVIDENCE, report_data, sizeof report_data, &ev, &evlen, NULL),
        CLOISTER_OK);
    tee_platform *platform = tee_platform_open(fx.home, NULL);
    tee_verifier *v = tee_verifier_new_file(tee_platform_ca_path(platform), NULL);
    assert_non_null(v);
    struct tee_policy policy;
    tee_policy_default(&policy);
    policy.mrenclave = (const uint8_t(*)[32])fx.id.mrenclave;
    policy.n_mrenclave = 1;
    policy.report_data = report_data;
    struct tee_claims claims;
    /* Simulated evidence is refused unless the policy says otherwise. */
    assert_int_not_equal(tee_verify_evidence(v, ev, evlen, &policy, &claims, NULL), 0);
    policy.allow_simulated = true;
    assert_int_equal(tee_verify_evidence(v, ev, evlen, &policy, &claims, NULL), 0);
    assert_true(claims.simulated);
    assert_memory_equal(claims.mrenclave, fx.id.mrenclave, 32);
    assert_memory_equal(claims.mrsigner, fx.id.mrsigner, 32);
    /* Another nonce (replay) and another identity are refused. */
    uint8_t other[TEE_REPORT_DATA_LEN] = {1};
    policy.report_data = other;
    assert_int_not_equal(tee_verify_evidence(v, ev, evlen, &policy, &claims, NULL), 0);
    policy.report_data = report_data;
    uint8_t wrong[1][32] = {{0}};
    policy.mrenclave = (const uint8_t(*)[32])wrong;
    assert_int_not_equal(tee_verify_evidence(v, ev, evlen, &policy, &claims, NULL), 0);
    /* The wrong report data length is refused by the enclave. */
    uint8_t *out;
    size_t outlen;
    assert_int_equal(tee_ecall(e, TEE_ECALL_EVIDENCE, report_data, 10, &out, &outlen, NULL),
                     CLOISTER_E_INVALID);
    free(ev);
    tee_verifier_free(v);
    tee_platform_free(platform);
    tee_destroy(e);
}

static int setup(void **state)
{
    fixture_sign(&fx, "test", "crash", 3, 1);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crash),     cmocka_unit_test(killed_while_pending),
        cmocka_unit_test(timeout),   cmocka_unit_test(host_dies),
        cmocka_unit_test(scribbles), cmocka_unit_test(secrets_survive),
        cmocka_unit_test(evidence),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
