/* cmd_enclave_demo.c -- the enclave step of `cloister demo`, in a temporary CLOISTER_HOME: the
 * hello image is audited and signed with a fresh key, launched sandboxed (proc backend), its
 * evidence verified against the simulated platform's CA, a key provisioned to it as `enclave
 * provision` does; the enclave MACs with that key, is restarted, and MACs again with the key it
 * unsealed from the store, which shows sealing without the provisioner. */
#include <cloister/crypto.h>
#include <cloister/tee.h>
#include <cloister/tee_trust.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/cmd_enclave.h"
#include "tee/hello/hello.h"
#include "util/fileio.h"

/* Signs the hello image with a fresh key into dir: the audit first, as `enclave sign` does. */
static int demo_sign(const char *dir, const char *image, char *sig, size_t cap)
{
    char key[4200];
    snprintf(key, sizeof key, "%s/signer.key", dir);
    snprintf(sig, cap, "%s/hello.enclave.sig", dir);
    uint8_t pk[TEE_PUBKEY_LEN], seed[TEE_SEED_LEN], *bytes = NULL, *encoded = NULL;
    size_t len, enclen;
    struct cloister_err err = {0};
    struct tee_audit a = {0};
    struct tee_config cfg;
    struct tee_sigstruct ss;
    tee_config_default(&cfg);
    int rc = -1;
    if (tee_signer_keygen(key, pk, &err) == 0 && tee_signer_load(key, seed, pk, &err) == 0 &&
        file_read_all(image, (size_t)1 << 30, &bytes, &len) == 0 &&
        tee_audit_image(&a, bytes, len, &err) == 0) {
        printf("  audit of %s: %zu ecalls declared, %zu imports, %s\n", image, a.n_ecalls,
               a.n_imports,
               tee_audit_refused(&a) ? "REFUSED"
                                     : "no process spawning or code "
                                       "loading");
        if (!tee_audit_refused(&a) && tee_sign(&ss, bytes, len, &cfg, seed, NULL) == 0 &&
            tee_sigstruct_encode(&ss, &encoded, &enclen, NULL) == 0 &&
            file_write_atomic(sig, encoded, enclen, 0644) == 0)
            rc = 0;
    }
    if (rc != 0)
        printf("  signing failed%s%s\n", err.msg[0] ? ": " : "", err.msg);
    crypto_wipe(seed, sizeof seed);
    tee_audit_free(&a);
    free(bytes);
    free(encoded);
    return rc;
}

static int demo_mac(tee_enclave *e, const uint8_t key[32], const char *when)
{
    static const char msg[] = "order #42: 3 tickets";
    uint8_t *out = NULL, want[32];
    size_t outlen;
    struct cloister_err err;
    crypto_hmac_sha256(want, key, 32, msg, sizeof msg - 1);
    int rc = tee_ecall(e, HELLO_ECALL_MAC, msg, sizeof msg - 1, &out, &outlen, &err);
    bool ok = rc == CLOISTER_OK && outlen == 32 && memcmp(out, want, 32) == 0;
    free(out);
    if (!ok) {
        printf("  %s: MAC FAILED: %s\n", when, rc == CLOISTER_OK ? "wrong MAC" : err.msg);
        return -1;
    }
    printf("  %s: the enclave MACs with the provisioned key: matches the provisioner's\n", when);
    return 0;
}

static int demo_steps(const char *dir, const char *image, const char *sig)
{
    struct tee_options o;
    tee_options_init(&o);
    o.backend = TEE_BACKEND_PROC;
    o.image = image;
    o.signature = sig;
    o.home = dir;
    o.call_timeout_ms = CMD_ENCLAVE_CALL_TIMEOUT_MS;
    tee_enclave *e = NULL;
    tee_platform *platform = NULL;
    tee_verifier *v = NULL;
    struct cloister_err err = {0};
    uint8_t key[32], nonce[32], rd[TEE_REPORT_DATA_LEN], *ev = NULL;
    size_t evlen;
    int rc = -1;
    if (crypto_random(key, sizeof key) || crypto_random(nonce, sizeof nonce)) {
        printf("  the system's random generator FAILED\n");
        return -1;
    }
    if (tee_create(&o, &e, &err) != CLOISTER_OK) {
        printf("  launch FAILED: %s\n", err.msg);
        goto out;
    }
    struct tee_info info;
    tee_get_info(e, &info);
    printf("  launched pid %d from a sealed memfd: seccomp %s, landlock ABI %d, no capabilities, "
           "not dumpable, secrets in %s\n",
           info.pid, info.sandbox.seccomp ? "on" : "off", info.sandbox.landlock_abi,
           tee_secret_memory_name(info.sandbox.secret_memory));

    tee_bind_report_data(rd, NULL, 0, nonce, sizeof nonce);
    struct tee_policy p;
    tee_policy_default(&p);
    p.mrenclave = (const uint8_t(*)[TEE_HASH_LEN])info.mrenclave;
    p.n_mrenclave = 1;
    p.allow_simulated = true;
    p.report_data = rd;
    struct tee_claims claims;
    if (tee_ecall(e, TEE_ECALL_EVIDENCE, rd, sizeof rd, &ev, &evlen, &err) != CLOISTER_OK ||
        !(platform = tee_platform_open(dir, &err)) ||
        !(v = tee_verifier_new_file(tee_platform_ca_path(platform), &err)) ||
        tee_verify_evidence(v, ev, evlen, &p, &claims, &err) != 0) {
        printf("  evidence FAILED: %s\n", err.msg);
        goto out;
    }
    printf("  evidence (%zu bytes, %s) verified against the platform CA: MRENCLAVE and nonce "
           "match, simulated flag set\n",
           evlen, tee_evidence_format_name(claims.format));

    struct tee_secret secret = {HELLO_SECRET, key, sizeof key};
    uint64_t held;
    if (cmd_enclave_provision_secrets(e, v, &p, &secret, 1, &claims, &held) != CLI_OK)
        goto out;
    printf("  provisioned '%s' by HPKE to a key bound into fresh evidence; sealed to MRENCLAVE "
           "in the host's store\n",
           HELLO_SECRET);
    if (demo_mac(e, key, "before restart") != 0)
        goto out;
    if (tee_restart(e, &err) != CLOISTER_OK) {
        printf("  restart FAILED: %s\n", err.msg);
        goto out;
    }
    tee_get_info(e, &info);
    printf("  restarted as pid %d: it unsealed its secrets from the store, no provisioner "
           "needed\n",
           info.pid);
    rc = demo_mac(e, key, "after restart");
out:
    crypto_wipe(key, sizeof key);
    free(ev);
    tee_verifier_free(v);
    tee_platform_free(platform);
    tee_destroy(e);
    return rc;
}

int cli_enclave_demo(void)
{
    cli_demo_heading("enclave: sign, launch sandboxed, attest, provision, restart, unseal");
    double t0 = cli_now_s();
    char image[4096], sig[4200], dir[] = "/tmp/cloister-demo-XXXXXX";
    struct cloister_err err;
    if (tee_image_path("hello", image, sizeof image, &err) != CLOISTER_OK) {
        printf("  %s\n", err.msg);
        return -1;
    }
    if (!mkdtemp(dir)) {
        printf("  cannot create a temporary CLOISTER_HOME: %s\n", strerror(errno));
        return -1;
    }
    printf("  temporary CLOISTER_HOME %s (simulated platform created there)\n", dir);
    int rc = demo_sign(dir, image, sig, sizeof sig);
    if (rc == 0)
        rc = demo_steps(dir, image, sig);
    file_remove_tree(dir);
    printf("  %s in %.2f s; temporary home removed\n", rc == 0 ? "done" : "FAILED",
           cli_now_s() - t0);
    return rc;
}
