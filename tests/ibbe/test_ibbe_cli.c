/* test_ibbe_cli.c -- `cloister ibbe` as an administrator and its users run it: the built binary
 * sets up a store (γ in a proc enclave, later restored into sim and proc ones), extracts keys (one
 * sealed to the user's HPKE key), creates a group from a member file, adds and removes members,
 * seals and opens files; members agree on the group key, the removed member cannot open a file
 * sealed after its removal, and mistakes get exit code 2 (usage) or 1 (refused) with one line
 * naming the problem. Writers run in parallel apply their updates one after another. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/cli_run.h"
#include "util/fileio.h"

static char workdir[PATH_MAX];

/* The group key a member prints (64 hex digits). */
static void member_gk(const char *user, const char *key, char gk[65])
{
    const char *secret = strcmp(key, "bob.key") == 0 ? " --secret bob.sk" : "";
    assert_int_equal(cli_run(workdir, "ibbe decrypt --store st --group team --user %s --key %s%s",
                             user, key, secret),
                     0);
    char *out = cli_slurp(workdir, "out.txt", NULL);
    assert_int_equal(strlen(out), 65);
    memcpy(gk, out, 64);
    gk[64] = '\0';
    free(out);
}

static void round_trip(void **state)
{
    const char *home = getenv("CLOISTER_HOME");
    snprintf(workdir, sizeof workdir, "%s/ibbe-cli", home ? home : "/tmp/cloister-test");
    assert_int_equal(file_remove_tree(workdir), 0); /* the store, and keys never overwritten */
    assert_int_equal(file_mkdirs(workdir, 0700), 0);

    /* Setup in a proc enclave; a second setup is refused. */
    assert_int_equal(cli_run(workdir, "ibbe setup --store st --partition-size 4 --tee proc"), 0);
    assert_int_equal(cli_run(workdir, "ibbe setup --store st --partition-size 4 --tee sim"), 1);
    cli_assert_error_line(workdir, "already set up");

    /* Keys: alice in clear, bob sealed to his HPKE key. */
    assert_int_equal(cli_run(workdir, "crypto hpke-keygen --out-secret bob.sk --out-public bob.pk"),
                     0);
    assert_int_equal(cli_run(workdir, "ibbe extract --store st --user alice@x --out alice.key"), 0);
    assert_int_equal(cli_run(workdir,
                             "ibbe extract --store st --user bob@x --out bob.key --to bob.pk --tee "
                             "proc"),
                     0);
    assert_int_equal(cli_run(workdir, "ibbe extract --store st --user carol@x --out carol.key"), 0);
    assert_int_equal(cli_run(workdir, "ibbe extract --store st --user dave@x --out dave.key"), 0);
    /* bob's sealed key is useless without his secret key. */
    cli_spill_text(workdir, "members.txt",
                   "# the team\nalice@x\nbob@x\r\ncarol@x\n\ne1@x\ne2@x\ne3@x\n");
    assert_int_equal(
        cli_run(workdir, "ibbe group create --store st --group team --members members.txt"), 0);
    assert_int_equal(
        cli_run(workdir, "ibbe decrypt --store st --group team --user bob@x --key bob.key"), 1);
    cli_assert_error_line(workdir, "--secret");

    /* Members agree on gk; add keeps it (dave lands in the second partition). */
    char a[65], b[65], c[65], d[65];
    member_gk("alice@x", "alice.key", a);
    member_gk("bob@x", "bob.key", b);
    member_gk("carol@x", "carol.key", c);
    assert_string_equal(a, b);
    assert_string_equal(a, c);
    assert_int_equal(
        cli_run(workdir, "ibbe group add --store st --group team --user dave@x --tee sim"), 0);
    member_gk("dave@x", "dave.key", d);
    assert_string_equal(a, d);
    assert_int_equal(cli_run(workdir, "ibbe group show --store st --group team --json"), 0);
    char *show = cli_slurp(workdir, "out.txt", NULL);
    assert_non_null(strstr(show, "\"members\": 7"));
    assert_non_null(strstr(show, "\"partitions\": 2"));
    assert_non_null(strstr(show, "\"epoch\": 1"));
    free(show);

    /* A shared file opens for members and for the admin. */
    cli_spill_text(workdir, "plan.txt", "the plan");
    assert_int_equal(
        cli_run(workdir, "ibbe seal --store st --group team --in plan.txt --out plan.enc"), 0);
    assert_int_equal(cli_run(workdir,
                             "ibbe open --store st --group team --user carol@x --key carol.key "
                             "--in plan.enc --out plan.carol"),
                     0);
    char *got = cli_slurp(workdir, "plan.carol", NULL);
    assert_string_equal(got, "the plan");
    free(got);
    assert_int_equal(cli_run(workdir,
                             "ibbe open --store st --group team --in plan.enc --out plan.admin "
                             "--tee sim"),
                     0);

    /* Remove carol: new gk, epoch 2; she cannot open what is sealed afterwards. */
    assert_int_equal(
        cli_run(workdir, "ibbe group remove --store st --group team --user carol@x --tee proc"), 0);
    member_gk("alice@x", "alice.key", b);
    assert_string_not_equal(a, b);
    cli_spill_text(workdir, "next.txt", "the next plan");
    assert_int_equal(
        cli_run(workdir, "ibbe seal --store st --group team --in next.txt --out next.enc"), 0);
    assert_int_equal(cli_run(workdir,
                             "ibbe open --store st --group team --user carol@x --key carol.key "
                             "--in next.enc --out next.carol"),
                     1);
    cli_assert_error_line(workdir, "not a member");
    assert_int_equal(cli_run(workdir,
                             "ibbe open --store st --group team --user dave@x --key dave.key "
                             "--in next.enc --out next.dave"),
                     0);
    /* The old file is of epoch 1: alice stays, and opens it by key regression. */
    assert_int_equal(cli_run(workdir,
                             "ibbe open --store st --group team --user alice@x --key alice.key "
                             "--in plan.enc --out plan.alice"),
                     0);

    /* Someone else's key, and usage mistakes. */
    assert_int_equal(
        cli_run(workdir, "ibbe decrypt --store st --group team --user alice@x --key dave.key"), 1);
    cli_assert_error_line(workdir, "not of 'alice@x'");
    assert_int_equal(cli_run(workdir, "ibbe group remove --store st --group team --user nobody@x"),
                     1);
    cli_assert_error_line(workdir, "not a member");
    assert_int_equal(cli_run(workdir, "ibbe group frobnicate --store st"), 2);
    assert_int_equal(cli_run(workdir, "ibbe setup --store st2"), 2);
    cli_assert_error_line(workdir, "--partition-size");
    assert_int_equal(cli_run(workdir, "ibbe group show --store st --group nosuch"), 1);
    cli_assert_error_line(workdir, "missing");
}

/* stderr is exactly "cloister: <want>\n". */
static void error_is(const char *want)
{
    char *err = cli_slurp(workdir, "err.txt", NULL), line[512];
    snprintf(line, sizeof line, "cloister: %s\n", want);
    if (strcmp(err, line) != 0)
        fail_msg("stderr '%s', not '%s'", err, line);
    free(err);
}

/* Refusals name the thing that was wrong (the member, the group, the store) and nothing of the
 * enclave plumbing; `group list` shows the groups. Runs after round_trip (store st, group team
 * with alice, bob, dave, e1-e3; carol removed). */
static void messages_and_list(void **state)
{
    char path[PATH_MAX + 16];
    assert_int_equal(
        cli_run(workdir, "ibbe group add --store st --group team --user dave@x --tee sim"), 1);
    error_is("dave@x is already a member of team");
    assert_int_equal(
        cli_run(workdir, "ibbe group remove --store st --group team --user nobody@x --tee sim"), 1);
    error_is("nobody@x is not a member of team");
    cli_spill_text(workdir, "dup.txt", "x1@x\nx2@x\nx1@x\n");
    assert_int_equal(
        cli_run(workdir, "ibbe group create --store st --group dup --members dup.txt --tee sim"),
        1);
    error_is("duplicate member identity x1@x");
    assert_int_equal(cli_run(workdir,
                             "ibbe open --store st --group team --user carol@x --key carol.key "
                             "--in plan.enc --out plan.carol2"),
                     1);
    error_is("carol@x is not a member of team");
    assert_int_equal(cli_run(workdir, "ibbe group show --store nowhere --group team"), 1);
    error_is("no store at nowhere (run `cloister ibbe setup --store nowhere`)");
    assert_int_equal(
        cli_run(workdir, "ibbe seal --store nowhere --group team --in plan.txt --out x.enc"), 1);
    error_is("no store at nowhere (run `cloister ibbe setup --store nowhere`)");
    snprintf(path, sizeof path, "%s/nowhere", workdir);
    assert_int_equal(access(path, F_OK), -1); /* no empty store left behind */

    cli_spill_text(workdir, "two.txt", "y1@x\ny2@x\n");
    assert_int_equal(
        cli_run(workdir, "ibbe group create --store st --group alpha --members two.txt --tee sim"),
        0);
    assert_int_equal(cli_run(workdir, "ibbe group list --store st"), 0);
    char *out = cli_slurp(workdir, "out.txt", NULL);
    assert_non_null(strstr(out, "alpha: epoch 1, 2 members in 1 partitions"));
    assert_non_null(strstr(out, "team: epoch 2, 6 members in 2 partitions"));
    assert_true(strstr(out, "alpha") < strstr(out, "team")); /* sorted */
    free(out);
    assert_int_equal(cli_run(workdir, "ibbe group list --store st --json"), 0);
    out = cli_slurp(workdir, "out.txt", NULL);
    assert_non_null(strstr(out, "\"group\": \"alpha\""));
    assert_non_null(strstr(out, "\"group\": \"team\""));
    assert_non_null(strstr(out, "\"epoch\": 2"));
    assert_non_null(strstr(out, "\"members\": 6"));
    free(out);
}

/* A small git history: authors a, b, c, a, d, b, a. The trace adds each author at the first
 * commit and removes them after the last (a, the latest author, stays); the replay through the
 * enclave leaves exactly a. */
static void git_trace(void **state)
{
    char cmd[PATH_MAX + 512];
    snprintf(cmd, sizeof cmd, "%s/repo", workdir);
    assert_int_equal(file_remove_tree(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s/st3", workdir);
    assert_int_equal(file_remove_tree(cmd), 0);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && git init -q repo && for a in a b c a d b a; do "
             "git -C repo -c user.name=$a -c user.email=$a@x.org commit -q --allow-empty "
             "-m \"by $a\" || exit 1; done",
             workdir);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(cli_run(workdir, "ibbe trace --from-git repo --out trace.txt"), 0);
    char *trace = cli_slurp(workdir, "trace.txt", NULL);
    /* --out -: the trace alone on stdout, the status line on stderr */
    assert_int_equal(cli_run(workdir, "ibbe trace --from-git repo --out -"), 0);
    char *data = cli_slurp(workdir, "out.txt", NULL), *status = cli_slurp(workdir, "err.txt", NULL);
    assert_string_equal(data, trace);
    assert_non_null(strstr(status, "trace of 7 commits"));
    free(data);
    free(status);
    const char *body = strchr(trace, '\n') + 1; /* after the comment line */
    assert_string_equal(body, "add a@x.org\nadd b@x.org\nadd c@x.org\nremove c@x.org\n"
                              "add d@x.org\nremove d@x.org\nremove b@x.org\n");
    free(trace);
    assert_int_equal(
        cli_run(workdir, "ibbe replay trace.txt --store st3 --partition-size 2 --tee sim --json"),
        0);
    char *out = cli_slurp(workdir, "out.txt", NULL);
    assert_non_null(strstr(out, "\"members\": 1,"));
    free(out);
    assert_int_equal(cli_run(workdir, "ibbe group show --store st3 --group trace --json"), 0);
    out = cli_slurp(workdir, "out.txt", NULL);
    assert_non_null(strstr(out, "\"members\": 1,"));
    assert_non_null(strstr(out, "\"epoch\": 4,"));
    free(out);
    assert_int_equal(cli_run(workdir, "ibbe trace --from-git no-such-repo"), 1);
    cli_assert_error_line(workdir, "not a git repository");
    cli_spill_text(workdir, "bad.txt", "add a@x\nfrobnicate b@x\n");
    assert_int_equal(cli_run(workdir, "ibbe replay bad.txt --store st3 --group other --tee sim"),
                     1);
    cli_assert_error_line(workdir, "operation 2");
}

/* Starts `cloister ibbe group VERB --store st4 --group crowd --user ID` in workdir. */
static pid_t spawn_group(const char *verb, const char *id)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (chdir(workdir) != 0 || null < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
            _exit(127);
        execl(CLOISTER_BIN, CLOISTER_BIN, "ibbe", "group", verb, "--store", "st4", "--group",
              "crowd", "--user", id, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Four removals and four adds at once, each its own process: every one succeeds and none is
 * lost (four re-keyings, twelve members), removed members are out, the others agree on gk, and
 * sealing works. */
static void parallel_writers(void **state)
{
    char store[PATH_MAX + 8];
    snprintf(store, sizeof store, "%s/st4", workdir);
    assert_int_equal(file_remove_tree(store), 0);
    assert_int_equal(cli_run(workdir, "ibbe setup --store st4 --partition-size 4"), 0);
    cli_spill_text(workdir, "crowd.txt", "m0\nm1\nm2\nm3\nm4\nm5\nm6\nm7\nm8\nm9\nm10\nm11\n");
    assert_int_equal(
        cli_run(workdir, "ibbe group create --store st4 --group crowd --members crowd.txt"), 0);
    const char *ids[] = {"m0", "m4", "n0"};
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(
            cli_run(workdir, "ibbe extract --store st4 --user %s --out %s.key", ids[i], ids[i]), 0);

    pid_t pids[8];
    char name[16];
    for (int i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "m%d", i);
        pids[2 * i] = spawn_group("remove", name);
        snprintf(name, sizeof name, "n%d", i);
        pids[2 * i + 1] = spawn_group("add", name);
    }
    for (int i = 0; i < 8; i++) {
        int status;
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }

    assert_int_equal(cli_run(workdir, "ibbe group show --store st4 --group crowd --json"), 0);
    char *show = cli_slurp(workdir, "out.txt", NULL);
    assert_non_null(strstr(show, "\"members\": 12"));
    assert_non_null(strstr(show, "\"epoch\": 5"));
    free(show);
    assert_int_equal(
        cli_run(workdir, "ibbe decrypt --store st4 --group crowd --user m0 --key m0.key"), 1);
    cli_assert_error_line(workdir, "not a member");
    char *gk[2];
    for (size_t i = 1; i < 3; i++) {
        assert_int_equal(cli_run(workdir,
                                 "ibbe decrypt --store st4 --group crowd --user %s --key %s.key",
                                 ids[i], ids[i]),
                         0);
        gk[i - 1] = cli_slurp(workdir, "out.txt", NULL);
    }
    assert_string_equal(gk[0], gk[1]);
    free(gk[0]);
    free(gk[1]);
    cli_spill_text(workdir, "crowd.msg", "to the crowd");
    assert_int_equal(
        cli_run(workdir, "ibbe seal --store st4 --group crowd --in crowd.msg --out crowd.enc"), 0);
    assert_int_equal(
        cli_run(workdir,
                "ibbe open --store st4 --group crowd --user n0 --key n0.key --in crowd.enc "
                "--out crowd.n0"),
        0);
}

/* Starts `cloister ibbe serve --store st5 --listen LISTEN` (proc enclave, CLOISTER_LOG=info),
 * output to serve.out and serve.err in workdir; returns its pid and the port it printed. */
static pid_t start_serve(const char *listen, uint16_t *port)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/serve.out", workdir);
    unlink(path); /* the previous daemon's */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (chdir(workdir) != 0)
            _exit(127);
        int out = open("serve.out", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = open("serve.err", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (out < 0 || err < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
            _exit(127);
        setenv("CLOISTER_LOG", "info", 1);
        execl(CLOISTER_BIN, CLOISTER_BIN, "ibbe", "serve", "--store", "st5", "--token-file",
              "token", "--listen", listen, "--tee", "proc", (char *)NULL);
        _exit(127);
    }
    for (int tries = 0; tries < 600; tries++) { /* up to a minute for the enclave to start */
        if (access(path, F_OK) != 0) {
            usleep(100000);
            continue;
        }
        char *out = cli_slurp(workdir, "serve.out", NULL), *at = strstr(out, ", port ");
        unsigned p = 0;
        bool up = at && sscanf(at, ", port %u", &p) == 1;
        free(out);
        if (up) {
            *port = (uint16_t)p;
            return pid;
        }
        usleep(100000);
    }
    fail_msg("ibbe serve did not start");
    return -1;
}

/* The exit status of pid within seconds, or -1 while it still runs. */
static int wait_exit(pid_t pid, int seconds)
{
    int status;
    for (int i = 0; i < seconds * 20; i++) {
        if (waitpid(pid, &status, WNOHANG) == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        usleep(50000);
    }
    return -1;
}

/* POSTs a create of count members to the daemon, without waiting for the answer: the socket. */
static int post_create(uint16_t port, size_t count)
{
    char *token = cli_slurp(workdir, "token", NULL), head[512];
    token[strcspn(token, "\n")] = '\0';
    size_t cap = 64 + 16 * count, len = 0;
    char *body = malloc(cap);
    assert_non_null(body);
    len += (size_t)snprintf(body, cap, "{\"group\": \"big\", \"members\": [");
    for (size_t i = 0; i < count; i++)
        len += (size_t)snprintf(body + len, cap - len, "%s\"u%zu\"", i ? "," : "", i);
    len += (size_t)snprintf(body + len, cap - len, "]}");
    int hl = snprintf(head, sizeof head,
                      "POST /v1/groups HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                      token, len);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&to, sizeof to), 0);
    assert_true(file_write_full(fd, (const uint8_t *)head, (size_t)hl) == 0);
    assert_true(file_write_full(fd, (const uint8_t *)body, len) == 0);
    free(body);
    free(token);
    return fd;
}

/* `ibbe serve` logs what it does at CLOISTER_LOG=info, warns when it listens beyond loopback,
 * and stops on SIGTERM within a few seconds even while a create of 200,000 members runs (the
 * operation is abandoned: the store keeps no trace of it but a staging directory the next
 * writer deletes). */
static void serve_signals(void **state)
{
    uint16_t port;
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/st5", workdir);
    assert_int_equal(file_remove_tree(path), 0);
    assert_int_equal(cli_run(workdir, "ibbe setup --store st5 --partition-size 1000 --tee sim"), 0);
    pid_t pid = start_serve("0.0.0.0:0", &port);
    assert_int_equal(kill(pid, SIGTERM), 0);
    assert_int_equal(wait_exit(pid, 30), 0);
    char *err = cli_slurp(workdir, "serve.err", NULL);
    assert_non_null(strstr(err, "WARNING: serving plain HTTP on 0.0.0.0:0"));
    free(err);

    pid = start_serve("127.0.0.1:0", &port);
    int fd = post_create(port, 200000);
    usleep(500000);
    assert_int_equal(kill(pid, SIGTERM), 0);
    int code = wait_exit(pid, 10);
    if (code < 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fail_msg("ibbe serve did not stop within 10 s of SIGTERM during a create");
    }
    assert_int_equal(code, 0);
    close(fd);
    err = cli_slurp(workdir, "serve.err", NULL);
    assert_null(strstr(err, "WARNING"));
    assert_non_null(strstr(err, "serving on 127.0.0.1"));
    assert_non_null(strstr(err, "stopping"));
    free(err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip), cmocka_unit_test(messages_and_list),
        cmocka_unit_test(git_trace), cmocka_unit_test(parallel_writers),
        cmocka_unit_test(serve_signals)};
    /* sim unless a command says --tee proc: the same trusted code, without a process start per
     * command (slow under the sanitizers) */
    setenv("CLOISTER_TEE", "sim", 1);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
