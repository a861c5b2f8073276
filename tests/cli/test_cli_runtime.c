/* test_cli_runtime.c -- what every verb owes its operator, checked on the built binary: a signal
 * stops a long-running verb cleanly, inputs are refused at their limit without buffering past it,
 * secret files must be private and are never overwritten without --force, provisioning needs an
 * identity pin, status never mixes into data on stdout, the demo leaves no trace, and processes
 * that hold keys cannot be dumped. Each test works in a directory of its own under
 * $CLOISTER_HOME. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cli_run.h"
#include "util/fileio.h"

/* How a script waits for a background verb to say it is ready: up to 30 s for TEXT in FILE. */
#define WAIT_FOR(text, file)                                                                       \
    "for i in $(seq 300); do grep -q '" text "' " file " && break; sleep 0.1; done; "

static char dir[PATH_MAX];

/* An empty work directory named for the test. */
static const char *fresh(const char *name)
{
    const char *home = getenv("CLOISTER_HOME");
    snprintf(dir, sizeof dir, "%s/%s", home ? home : "/tmp/cloister-test", name);
    assert_int_equal(file_remove_tree(dir), 0);
    assert_int_equal(file_mkdirs(dir, 0700), 0);
    return dir;
}

static bool file_has(const char *name, const char *text)
{
    char *s = cli_slurp(dir, name, NULL);
    bool has = strstr(s, text) != NULL;
    free(s);
    return has;
}

static void set_mode(const char *name, mode_t mode)
{
    char path[PATH_MAX + 256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    assert_int_equal(chmod(path, mode), 0);
}

/* Nothing a crash or an interrupted call prints. */
static void assert_clean_stop(const char *err_file)
{
    assert_false(file_has(err_file, "double free"));
    assert_false(file_has(err_file, "Interrupted"));
    assert_false(file_has(err_file, "Aborted"));
}

/* A provisioned router; a subscriber stopped by SIGINT, then the router by SIGTERM: both exit 0.
 * The script's exit code is the router's, the subscriber's is in sub.rc. At CLOISTER_LOG=info
 * the router says what it did: who provisioned it, the subscriber joining and leaving. */
static void signals_stop_scbr_subscribe_and_router(void **state)
{
    fresh("signals-scbr");
    char sealed[PATH_MAX]; /* the router pins its first provider: start from no sealed secrets */
    snprintf(sealed, sizeof sealed, "%s/enclaves/scbr", getenv("CLOISTER_HOME"));
    assert_int_equal(file_remove_tree(sealed), 0);
    setenv("CLOISTER_LOG", "info", 1);
    int rc = cli_run(
        dir,
        "scbr router --tee sim --sign-key signer.key --listen 'tcp://127.0.0.1:*' >router.out "
        "2>router.err & r=$!; " WAIT_FOR(
            "MRENCLAVE", "router.out") "ep=$(awk '/listening on/{print $5}' router.out); "
                                       "mre=$(awk '/MRENCLAVE/{print $2; exit}' router.out); "
                                       "'%s' scbr provision --connect $ep --keys k --mrenclave "
                                       "$mre --allow-simulated >/dev/null "
                                       "|| exit 90; "
                                       "'%s' scbr subscribe --connect $ep --keys k --filter 'x > "
                                       "1' >sub.out 2>sub.err & s=$!; " WAIT_FOR(
                                           "subscribed",
                                           "sub.err") "kill -INT $s; wait $s; echo $? >sub.rc; "
                                                      "kill -TERM $r; wait $r",
        CLOISTER_BIN, CLOISTER_BIN);
    unsetenv("CLOISTER_LOG");
    assert_int_equal(rc, 0);
    assert_true(file_has("router.err", "provisioned by the provider "));
    assert_true(file_has("router.err", " joined"));
    assert_true(file_has("router.err", " left"));
    assert_true(file_has("sub.rc", "0\n"));
    assert_true(file_has("sub.err", "subscribed"));
    assert_clean_stop("sub.err");
    assert_clean_stop("router.err");
    assert_true(file_has("router.out", "stopped"));
}

static void signals_stop_ibbe_serve(void **state)
{
    fresh("signals-ibbe");
    assert_int_equal(cli_run(dir, "ibbe setup --store st --partition-size 4 --tee sim"), 0);
    const char *sigs[] = {"INT", "TERM"};
    for (int i = 0; i < 2; i++) {
        int rc = cli_run(dir,
                         "ibbe serve --store st --tee sim --listen 127.0.0.1:0 --token-file tok "
                         ">serve.out 2>serve.err & p=$!; " WAIT_FOR(
                             "serving", "serve.out") "kill -%s $p; wait $p",
                         sigs[i]);
        assert_int_equal(rc, 0);
        assert_true(file_has("serve.err", "stopping"));
        assert_clean_stop("serve.err");
    }
}

/* /dev/zero never ends: the verb refuses it at its limit (256 MiB), naming the limit, and no
 * process the test ran held much more than that (before: twice it). */
static void endless_input_is_refused_at_the_limit(void **state)
{
    fresh("input-limit");
    assert_int_equal(cli_run(dir, "crypto hpke-keygen --out-secret r.sk --out-public r.pk"), 0);
    assert_int_equal(cli_run(dir, "crypto hpke-seal --public r.pk --in /dev/zero --out m.bin"), 1);
    cli_assert_error_line(dir, "larger than 268435456 bytes");
    struct rusage ru;
    assert_int_equal(getrusage(RUSAGE_CHILDREN, &ru), 0);
#ifndef __SANITIZE_ADDRESS__ /* ASan keeps freed buffers in quarantine: the peak says nothing */
    assert_true(ru.ru_maxrss < 384 * 1024); /* KiB */
#endif
}

/* Every kind of secret file, made group-readable, is refused with the chmod that fixes it. */
static void loose_secret_files_are_refused(void **state)
{
    fresh("secret-modes");
    assert_int_equal(cli_run(dir, "crypto hpke-keygen --out-secret r.sk --out-public r.pk"), 0);
    assert_int_equal(cli_run(dir, "crypto hpke-seal --public r.pk --in r.pk --out m.bin"), 0);
    assert_int_equal(cli_run(dir, "enclave keygen --out signer.key"), 0);
    assert_int_equal(cli_run(dir, "ibbe setup --store st --partition-size 4 --tee sim"), 0);
    assert_int_equal(cli_run(dir, "ibbe extract --store st --tee sim --user a@x --out a.key"), 0);
    cli_spill_text(dir, "a.members", "a@x\n");
    assert_int_equal(
        cli_run(dir, "ibbe group create --store st --tee sim --group g --members a.members"), 0);
    char keys[PATH_MAX + 8];
    snprintf(keys, sizeof keys, "%s/k", dir);
    assert_int_equal(file_mkdirs(keys, 0700), 0);
    cli_spill(dir, "k/sk", "0123456789abcdef0123456789abcdef", 32); /* 0644 */
    snprintf(keys, sizeof keys, "%s/p", dir);
    assert_int_equal(file_mkdirs(keys, 0700), 0);
    assert_int_equal(cli_run(dir, "enclave keygen --out p/provider.key"), 0);
    cli_spill(dir, "p/sk", "0123456789abcdef0123456789abcdef", 32);
    set_mode("p/sk", 0600);
    set_mode("p/provider.key", 0640);
    cli_spill_text(dir, "tok", "0123456789abcdef0123456789abcdef\n");
    set_mode("r.sk", 0640);
    set_mode("signer.key", 0640);
    set_mode("a.key", 0604);

    struct {
        const char *file, *cmd;
    } cases[] = {
        {"r.sk", "crypto hpke-open --secret r.sk --in m.bin --out -"},
        {"signer.key", "scbr router --tee sim --sign-key signer.key --listen tcp://127.0.0.1:*"},
        {"a.key", "ibbe decrypt --store st --group g --user a@x --key a.key"},
        {"k/sk", "scbr subscribe --keys k --connect tcp://127.0.0.1:1 --filter 'x > 1'"},
        {"p/provider.key", "scbr provision --keys p --connect tcp://127.0.0.1:1 --mrenclave "
                           "0000000000000000000000000000000000000000000000000000000000000000"},
        {"tok", "ibbe serve --store st --tee sim --listen 127.0.0.1:0 --token-file tok"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(cli_run(dir, "%s", cases[i].cmd), 1);
        char fix[64];
        snprintf(fix, sizeof fix, "chmod 600 %s", cases[i].file);
        cli_assert_error_line(dir, fix);
    }
}

/* Without --mrenclave or --mrsigner, nothing says whose image is on disk: refused up front. */
static void provisioning_needs_an_identity_pin(void **state)
{
    fresh("provision-pin");
    cli_spill_text(dir, "s.bin", "a secret");
    set_mode("s.bin", 0600);
    assert_int_equal(cli_run(dir, "enclave provision hello --tee sim --secret k=s.bin"), 2);
    cli_assert_error_line(dir, "--mrenclave or --mrsigner");
}

/* Evidence accepted without a nonce could be a replay: the verifier says so. */
static void verify_without_nonce_warns(void **state)
{
    fresh("verify-nonce");
    assert_int_equal(cli_run(dir, "enclave verify missing.bin --ca missing.pem"), 1);
    assert_true(file_has("err.txt", "no --nonce"));
}

/* With --out -, stdout is the data and nothing else: status lines go to stderr. */
static void out_dash_is_only_data(void **state)
{
    fresh("out-dash");
    assert_int_equal(cli_run(dir, "ibbe setup --store st --partition-size 4 --tee sim"), 0);
    cli_spill_text(dir, "m.txt", "a@x\n");
    assert_int_equal(
        cli_run(dir, "ibbe group create --store st --tee sim --group g --members m.txt"), 0);
    cli_spill_text(dir, "plan.txt", "the plan");
    assert_int_equal(cli_run(dir, "ibbe seal --store st --group g --in plan.txt --out - >plan.enc"),
                     0);
    assert_true(file_has("err.txt", "sealed for group g"));
    assert_int_equal(cli_run(dir, "ibbe open --store st --group g --tee sim --in plan.enc --out -"),
                     0);
    size_t len;
    char *out = cli_slurp(dir, "out.txt", &len);
    assert_int_equal(len, 8);
    assert_memory_equal(out, "the plan", 8);
    free(out);
    assert_true(file_has("err.txt", "opened into"));
    /* a key written to stdout: the key, and the status line on stderr */
    assert_int_equal(cli_run(dir, "crypto hpke-keygen --out-secret - --out-public r.pk"), 0);
    out = cli_slurp(dir, "out.txt", &len);
    assert_true(len > 4);
    assert_memory_equal(out, "CHSK", 4);
    free(out);
    assert_true(file_has("err.txt", "public key cloister-hpke1"));
}

/* Keys users pass around are one line of text by default, survive the blanks a copy and paste
 * adds, are refused when a character changed or when of another kind; the binary form still
 * reads everywhere. */
static void keys_are_text_and_binary_still_reads(void **state)
{
    fresh("key-text");
    assert_int_equal(cli_run(dir, "crypto hpke-keygen --out-secret t.sk --out-public t.pk"), 0);
    assert_true(file_has("t.pk", "cloister-hpke1"));
    assert_int_equal(
        cli_run(dir, "crypto hpke-keygen --out-secret b.sk --out-public b.pk --format binary"), 0);
    assert_false(file_has("b.pk", "cloister-hpke1"));
    cli_spill_text(dir, "msg", "hello");
    for (int i = 0; i < 2; i++) {
        assert_int_equal(
            cli_run(dir, "crypto hpke-seal --public %s.pk --in msg --out m.bin", i ? "b" : "t"), 0);
        assert_int_equal(
            cli_run(dir, "crypto hpke-open --secret %s.sk --in m.bin --out m.out", i ? "b" : "t"),
            0);
        assert_true(file_has("m.out", "hello"));
    }
    /* pasted with blanks around it and CRLF; then with one character changed */
    char *text = cli_slurp(dir, "t.pk", NULL), pasted[256];
    text[strcspn(text, "\n")] = '\0';
    snprintf(pasted, sizeof pasted, "  %s \r\n", text);
    cli_spill_text(dir, "p.pk", pasted);
    assert_int_equal(cli_run(dir, "crypto hpke-seal --public p.pk --in msg --out m.bin"), 0);
    char *last = text + strlen(text) - 1;
    *last = *last == 'q' ? 'p' : 'q';
    cli_spill_text(dir, "x.pk", text);
    free(text);
    assert_int_equal(cli_run(dir, "crypto hpke-seal --public x.pk --in msg --out m.bin"), 1);
    cli_assert_error_line(dir, "x.pk: not an HPKE public key file: bad checksum");

    assert_int_equal(cli_run(dir, "ibbe setup --store st --partition-size 4 --tee sim"), 0);
    cli_spill_text(dir, "m.txt", "a@x\nb@x\nc@x\n");
    assert_int_equal(
        cli_run(dir, "ibbe group create --store st --tee sim --group g --members m.txt"), 0);
    assert_int_equal(cli_run(dir, "ibbe extract --store st --tee sim --user a@x --out a.key"), 0);
    assert_true(file_has("a.key", "cloister-ibbe-user1"));
    assert_int_equal(cli_run(dir, "ibbe extract --store st --tee sim --user b@x --out b.key "
                                  "--format binary"),
                     0);
    assert_false(file_has("b.key", "cloister-ibbe-user1"));
    assert_int_equal(
        cli_run(dir, "ibbe extract --store st --tee sim --user c@x --out c.key --to t.pk"), 0);
    assert_true(file_has("c.key", "cloister-ibbe-user1"));
    assert_int_equal(cli_run(dir, "ibbe decrypt --store st --group g --user a@x --key a.key"), 0);
    assert_int_equal(cli_run(dir, "ibbe decrypt --store st --group g --user b@x --key b.key"), 0);
    assert_int_equal(
        cli_run(dir, "ibbe decrypt --store st --group g --user c@x --key c.key --secret t.sk"), 0);
    set_mode("t.pk", 0600); /* read as a user key: a secret, so its mode is checked first */
    assert_int_equal(cli_run(dir, "ibbe decrypt --store st --group g --user a@x --key t.pk"), 1);
    cli_assert_error_line(dir, "t.pk: not a user key: a key of another kind");
    assert_int_equal(cli_run(dir, "crypto hpke-seal --public a.key --in msg --out m.bin"), 1);
    cli_assert_error_line(dir, "a.key: not an HPKE public key file: a key of another kind");
}

/* A key file is never replaced silently: every verb that writes one refuses without --force. */
static void keys_are_not_overwritten_without_force(void **state)
{
    fresh("force");
    assert_int_equal(cli_run(dir, "ibbe setup --store st --partition-size 4 --tee sim"), 0);
    const char *writes[] = {
        "crypto hpke-keygen --out-secret r.sk --out-public r.pk",
        "ibbe extract --store st --tee sim --user a@x --out a.key",
        "enclave keygen --out signer.key",
    };
    for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++) {
        assert_int_equal(cli_run(dir, "%s", writes[i]), 0);
        assert_int_equal(cli_run(dir, "%s", writes[i]), 1);
        cli_assert_error_line(dir, "already exists (use --force");
        assert_int_equal(cli_run(dir, "%s --force", writes[i]), 0);
    }
}

/* An identity the enclave would refuse is named as such before any enclave call. */
static void bad_identities_are_named(void **state)
{
    fresh("ids");
    assert_int_equal(cli_run(dir, "ibbe setup --store st --partition-size 4 --tee sim"), 0);
    assert_int_equal(cli_run(dir, "ibbe extract --store st --tee sim --user '' --out e.key"), 2);
    cli_assert_error_line(dir, "is not an identity (1 to 255 bytes");
    char long_id[257];
    memset(long_id, 'a', 256);
    long_id[256] = '\0';
    assert_int_equal(
        cli_run(dir, "ibbe group add --store st --tee sim --group g --user %s", long_id), 2);
    cli_assert_error_line(dir, "is not an identity (1 to 255 bytes");
}

/* A verb that holds a secret (here serve's token) runs undumpable and without core files. */
static void secret_holders_cannot_be_dumped(void **state)
{
    fresh("dumpable");
    assert_int_equal(cli_run(dir, "ibbe setup --store st --partition-size 4 --tee sim"), 0);
    int rc = cli_run(
        dir, "ibbe serve --store st --tee sim --listen 127.0.0.1:0 --token-file tok "
             ">serve.out 2>serve.err & p=$!; " WAIT_FOR(
                 "serving",
                 "serve.out") "cat /proc/$p/limits >limits.txt; stat -c %%u /proc/$p >owner.txt; "
                              "kill $p; wait $p");
    assert_int_equal(rc, 0);
    char *limits = cli_slurp(dir, "limits.txt", NULL);
    const char *core = strstr(limits, "Max core file size");
    assert_non_null(core);
    long soft = -1, hard = -1;
    assert_int_equal(sscanf(core, "Max core file size %ld %ld", &soft, &hard), 2);
    assert_int_equal(soft, 0);
    assert_int_equal(hard, 0);
    free(limits);
    /* /proc/PID of an undumpable process belongs to root: visible unless the test is root. */
    if (geteuid() != 0)
        assert_true(file_has("owner.txt", "0\n"));
}

/* The tour runs in a temporary home: a HOME it might default to stays empty. */
static void demo_leaves_no_trace(void **state)
{
    fresh("demo-home");
    char home[PATH_MAX + 8];
    snprintf(home, sizeof home, "%s/home", dir);
    assert_int_equal(file_mkdirs(home, 0700), 0);
    const char *was = getenv("CLOISTER_HOME");
    char *saved = was ? strdup(was) : NULL;
    setenv("HOME", home, 1); /* the test's own environment: HOME is not used again */
    unsetenv("CLOISTER_HOME");
    int rc = cli_run(dir, "demo && test -z \"$(ls -A '%s')\"", home);
    if (saved)
        setenv("CLOISTER_HOME", saved, 1);
    free(saved);
    assert_int_equal(rc, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(signals_stop_scbr_subscribe_and_router),
        cmocka_unit_test(signals_stop_ibbe_serve),
        cmocka_unit_test(endless_input_is_refused_at_the_limit),
        cmocka_unit_test(loose_secret_files_are_refused),
        cmocka_unit_test(provisioning_needs_an_identity_pin),
        cmocka_unit_test(verify_without_nonce_warns),
        cmocka_unit_test(out_dash_is_only_data),
        cmocka_unit_test(keys_are_text_and_binary_still_reads),
        cmocka_unit_test(keys_are_not_overwritten_without_force),
        cmocka_unit_test(bad_identities_are_named),
        cmocka_unit_test(secret_holders_cannot_be_dumped),
        cmocka_unit_test(demo_leaves_no_trace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
