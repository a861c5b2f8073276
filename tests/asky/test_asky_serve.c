/* test_asky_serve.c -- `cloister asky serve` on 127.0.0.1 (a free port), started by the test
 * with its enclave as a sandboxed process, and the member and admin verbs with --server:
 * a member's put through requests sealed to the verified enclave and a get of it by another
 * member; a non-member refused its envelope; a membership change without the bearer token
 * refused (CLI and raw HTTP), with it accepted; an enclave of another MRENCLAVE refused by the
 * client; a tampered sealed request, an object with a forged write ticket and an oversized
 * body refused with clear errors; rekey through the service (a non-member refused, a removed
 * member shut out of the rekeyed object); SIGTERM stops the service cleanly, and its log holds no
 * user name. */
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <cloister/asky_serve.h>

#include "common/cli_run.h"
#include "util/fileio.h"

static char workdir[1024];
static pid_t server = -1;
static char endpoint[64], mrenclave[65];

/* Starts the service (output to serve.out and serve.err) and reads its port and MRENCLAVE. */
static void start_serve(void)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/serve.out", workdir);
    server = fork();
    assert_true(server >= 0);
    if (server == 0) {
        if (chdir(workdir) != 0)
            _exit(127);
        int out = open("serve.out", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = open("serve.err", O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (out < 0 || err < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
            _exit(127);
        setenv("CLOISTER_LOG", "info", 1);
        execl(CLOISTER_BIN, CLOISTER_BIN, "asky", "serve", "--store", "st", "--token-file", "token",
              "--listen", "127.0.0.1:0", (char *)NULL);
        _exit(127);
    }
    for (int tries = 0; tries < 600; tries++) { /* up to a minute for the enclave to start */
        unsigned port = 0;
        char *out = access(path, F_OK) == 0 ? cli_slurp(workdir, "serve.out", NULL) : NULL;
        const char *at = out ? strstr(out, ", port ") : NULL;
        bool up = at && sscanf(at, ", port %u; enclave MRENCLAVE %64s", &port, mrenclave) == 2;
        free(out);
        if (up) {
            snprintf(endpoint, sizeof endpoint, "127.0.0.1:%u", port);
            return;
        }
        usleep(100000);
    }
    fail_msg("asky serve did not start");
}

static bool stored(const char *name)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/st/objects/%s", workdir, name);
    return access(path, F_OK) == 0;
}

static int setup(void **state)
{
    const char *home = getenv("CLOISTER_HOME");
    snprintf(workdir, sizeof workdir, "%s/asky-serve", home ? home : "/tmp/cloister-test");
    assert_int_equal(file_remove_tree(workdir), 0);
    assert_int_equal(file_mkdirs(workdir, 0700), 0);
    assert_int_equal(cli_run(workdir, "asky init --store st"), 0);
    for (const char *const *u = (const char *const[]){"alice", "bob", "carol", NULL}; *u; u++)
        assert_int_equal(
            cli_run(workdir, "asky user add --store st --user %s --out %s.key", *u, *u), 0);
    assert_int_equal(cli_run(workdir, "asky group create --store st --group eng --user alice"), 0);
    assert_int_equal(cli_run(workdir, "asky group add --store st --group eng --user bob"), 0);
    cli_spill_text(workdir, "plan.txt", "the plan\n");
    start_serve();
    return 0;
}

/* put --server as user U (trusting the service's MRENCLAVE unless mre is given). */
static int put(const char *user, const char *name, const char *mre)
{
    return cli_run(workdir,
                   "asky put --server %s --mrenclave %s --allow-simulated --group eng --user %s "
                   "--key %s.key --in plan.txt --name %s",
                   endpoint, mre ? mre : mrenclave, user, user, name);
}

/* The HTTP status of a raw request (curl), its body in reply.txt. */
static unsigned http(const char *method, const char *path, const char *auth, const char *body)
{
    cli_spill_text(workdir, "body.json", body ? body : "");
    assert_int_equal(cli_shell(workdir,
                               "curl -s -o reply.txt -w '%%{http_code}' -X %s %s%s%s "
                               "-H 'Content-Type: application/json' --data-binary @body.json "
                               "http://%s%s",
                               method, auth ? "-H 'Authorization: Bearer " : "", auth ? auth : "",
                               auth ? "'" : "", endpoint, path),
                     0);
    char *out = cli_slurp(workdir, "out.txt", NULL);
    unsigned status = (unsigned)atoi(out);
    free(out);
    return status;
}

#define ZERO_TICKET "0000000000000000000000000000000000000000000000000000000000000000"

/* PUT /v1/objects/NAME of the stored object "plan"'s bytes with the extra curl options opts (a
 * ticket header): the HTTP status. */
static unsigned object_put(const char *name, const char *opts)
{
    assert_int_equal(cli_shell(workdir,
                               "curl -s -o reply.txt -w '%%{http_code}' -X PUT -H 'Content-Type: "
                               "application/octet-stream' %s --data-binary @st/objects/plan "
                               "http://%s/v1/objects/%s",
                               opts, endpoint, name),
                     0);
    char *out = cli_slurp(workdir, "out.txt", NULL);
    unsigned status = (unsigned)atoi(out);
    free(out);
    return status;
}

static void member_put_get(void **state)
{
    assert_int_equal(put("alice", "plan", NULL), 0);
    assert_int_equal(
        cli_run(workdir, "asky get --server %s --key bob.key --name plan --out got.txt", endpoint),
        0);
    char *got = cli_slurp(workdir, "got.txt", NULL);
    assert_string_equal(got, "the plan\n");
    free(got);
    assert_int_equal(
        cli_run(workdir, "asky get --server %s --key carol.key --name plan --out x", endpoint), 1);
    cli_assert_error_line(workdir, "no entry for this key");
    assert_true(stored("plan"));
    /* the object travels as its bytes: GET answers exactly what the store holds */
    assert_int_equal(cli_shell(workdir,
                               "curl -s -o raw.bin -w '%%{content_type}' http://%s/v1/objects/plan "
                               "&& cmp raw.bin st/objects/plan",
                               endpoint),
                     0);
    char *type = cli_slurp(workdir, "out.txt", NULL);
    assert_string_equal(type, "application/octet-stream");
    free(type);
}

static void non_member_refused(void **state)
{
    assert_int_equal(put("carol", "carols", NULL), 1);
    cli_assert_error_line(workdir, "the requester is not a member");
    assert_false(stored("carols"));
    /* an enclave the client does not trust gets no request */
    char other[65];
    memcpy(other, mrenclave, sizeof other);
    other[0] = other[0] == '0' ? '1' : '0';
    assert_int_equal(put("alice", "other", other), 1);
    cli_assert_error_line(workdir, "is not among the allowed values");
}

static void admin_needs_token(void **state)
{
    cli_spill_text(workdir, "wrong", "wrong-token-wrong-token\n");
    assert_int_equal(cli_shell(workdir, "chmod 600 wrong"), 0);
    assert_int_equal(cli_run(workdir,
                             "asky group add --server %s --group eng --user carol --token-file "
                             "wrong",
                             endpoint),
                     1);
    cli_assert_error_line(workdir, "missing or wrong bearer token");
    assert_int_equal(http("POST", "/v1/groups/eng/add", NULL, "{\"user\":\"carol\"}"), 401);
    assert_int_equal(http("POST", "/v1/users/bob/remove", "nope", ""), 401);
    assert_int_equal(put("carol", "carols", NULL), 1);
    assert_int_equal(cli_run(workdir,
                             "asky group add --server %s --group eng --user carol --token-file "
                             "token",
                             endpoint),
                     0);
    assert_int_equal(put("carol", "carols", NULL), 0);
    assert_int_equal(cli_run(workdir,
                             "asky group remove --server %s --group eng --user carol "
                             "--token-file token",
                             endpoint),
                     0);
    assert_int_equal(put("carol", "carols2", NULL), 1);
}

static void tampered_refused(void **state)
{
    /* a sealed request that no offer of the enclave opens */
    assert_int_equal(http("POST", "/v1/envelope", NULL, "{\"package\":\"00112233445566778899\"}"),
                     403);
    char *reply = cli_slurp(workdir, "reply.txt", NULL);
    assert_non_null(strstr(reply, "sealed request refused"));
    free(reply);
    assert_int_equal(http("POST", "/v1/envelope", NULL, "{\"package\":\"xyz\"}"), 400);
    assert_int_equal(http("POST", "/v1/offer", NULL, "not json"), 400);
    /* an object whose write ticket the enclave did not issue, one with no ticket, and the
     * object route's other methods */
    assert_int_equal(object_put("forged", "-H '" ASKY_TICKET_HEADER ": " ZERO_TICKET "'"), 403);
    assert_int_equal(object_put("forged", ""), 400);
    assert_int_equal(object_put("forged", "-H '" ASKY_TICKET_HEADER ": 00'"), 400);
    assert_false(stored("forged"));
    assert_int_equal(http("POST", "/v1/objects/forged", NULL, "{}"), 405);
    char *out;
    /* a body over the bound */
    assert_int_equal(cli_shell(workdir,
                               "head -c 70000000 /dev/zero > big && curl -s -o reply.txt "
                               "-w '%%{http_code}' --data-binary @big http://%s/v1/offer",
                               endpoint),
                     0);
    out = cli_slurp(workdir, "out.txt", NULL);
    assert_string_equal(out, "413");
    free(out);
}

/* rekey --server: a non-member is refused; a member re-encrypts an object so that a member
 * removed since (who still opens the old version: lazy revocation) no longer opens it. */
static int rekey(const char *user, const char *name)
{
    return cli_run(workdir,
                   "asky rekey --server %s --mrenclave %s --allow-simulated --group eng --user %s "
                   "--key %s.key %s",
                   endpoint, mrenclave, user, user, name);
}

static int get_as(const char *user, const char *name)
{
    return cli_run(workdir, "asky get --server %s --key %s.key --name %s --out got.txt", endpoint,
                   user, name);
}

static void member_rekey(void **state)
{
    assert_int_equal(put("alice", "old", NULL), 0);
    assert_int_equal(rekey("carol", "old"), 1);
    cli_assert_error_line(workdir, "rekey");
    assert_int_equal(cli_run(workdir,
                             "asky group remove --server %s --group eng --user bob "
                             "--token-file token",
                             endpoint),
                     0);
    assert_int_equal(get_as("bob", "old"), 0);
    assert_int_equal(rekey("alice", "old"), 0);
    assert_int_equal(get_as("bob", "old"), 1);
    cli_assert_error_line(workdir, "no entry for this key");
    assert_int_equal(get_as("alice", "old"), 0);
    char *got = cli_slurp(workdir, "got.txt", NULL);
    assert_string_equal(got, "the plan\n");
    free(got);
    assert_int_equal(cli_run(workdir,
                             "asky group add --server %s --group eng --user bob --token-file token",
                             endpoint),
                     0);
}

static void stops_cleanly(void **state)
{
    int status = 0;
    assert_int_equal(kill(server, SIGTERM), 0);
    for (int i = 0; i < 200 && waitpid(server, &status, WNOHANG) == 0; i++)
        usleep(50000);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    server = -1;
    char *log = cli_slurp(workdir, "serve.err", NULL);
    assert_non_null(strstr(log, "stopping"));
    assert_null(strstr(log, "alice"));
    assert_null(strstr(log, "carol"));
    free(log);
}

static int teardown(void **state)
{
    if (server > 0) {
        kill(server, SIGKILL);
        waitpid(server, NULL, 0);
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(member_put_get),    cmocka_unit_test(non_member_refused),
        cmocka_unit_test(admin_needs_token), cmocka_unit_test(tampered_refused),
        cmocka_unit_test(member_rekey),      cmocka_unit_test(stops_cleanly)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
